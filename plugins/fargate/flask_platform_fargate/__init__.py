"""The fargate backend: the app's image on ECS Fargate behind an ALB, scaled by CPU between min and max tasks.

A separate package that imports only the plugin API (``backends.plugin``), as any third-party backend must;
the registry finds it through the ``flask_platform.backends`` entry point (pyproject.toml) once installed.
Serverless containers, no cluster to run: the middle ground between the lambda and eks backends.

What it builds, with awsx (pulumi-awsx 3.11.0, whose SDK signatures these calls follow) and pulumi-aws 7.51:
an awsx VPC (public subnets for the ALB, private ones for the tasks), an ECS cluster, an ALB whose target group
checks ``/livez`` (network.py), an awsx ``FargateService`` whose task role holds exactly the app's statements,
a log group with the stack's retention, and Application Auto Scaling: a scalable target (min..max tasks) with
a CPU target-tracking policy (scaling.py).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from backends.plugin import (
    CONTAINER_PORT,
    AppImage,
    AppSpec,
    BackendPlugin,
    ConfigError,
    Deployment,
    Storage,
    app_policy_statements,
    build_and_push,
    prebuilt,
    stack_region,
)

from .network import application_load_balancer, create_vpc, load_balancer_security_group, task_security_group
from .scaling import autoscaling, keep_autoscaled_desired_count
from .settings import FargateSettings

__all__ = ["Backend", "FargateSettings", "container_image", "plugin", "task_role_policy"]
CONTAINER_NAME = "app"
HEALTH_CHECK_GRACE_SECONDS = 60  # a new task's first health checks are not held against it
# SIGTERM to SIGKILL: gunicorn's graceful_timeout (25 s, app/users_api/gunicorn_conf.py) must fit. Fargate's default
# is 30 s too (ContainerDefinition.stopTimeout, ECS API reference); said here so the pairing is visible and tested.
STOP_TIMEOUT_SECONDS = 30


def aws_region() -> str:
    region = stack_region()
    if not region:
        raise ConfigError("the fargate backend needs a region: `pulumi config set aws:region us-east-1`")
    return region


def task_assume_role_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def task_role_policy(table_arn: str, bucket_arn: str) -> str:
    """The task role's one policy: exactly the app's statements (its table, its avatar objects), nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": app_policy_statements(table_arn, bucket_arn)})


def container_image(image: AppImage) -> pulumi.Output[str]:
    """repository@digest when the digest is known (a task only ever runs the bytes built), else repository:tag."""
    return pulumi.Output.all(image.repository, image.tag, image.digest).apply(
        lambda parts: f"{parts[0]}@{parts[2]}" if parts[2] else f"{parts[0]}:{parts[1]}"
    )


class Backend(pulumi.ComponentResource):
    """Storage, the network, the ALB, the cluster, the service and its autoscaling, in the order AWS needs them."""

    def __init__(self, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flask-platform:backends:Fargate", name, None, opts)
        settings = spec.settings_as(FargateSettings)
        region = aws_region()
        tags = dict(spec.tags)
        child = pulumi.ResourceOptions(parent=self)

        storage = Storage(name, tags=tags, deletion_protection=spec.deletion_protection, opts=child)
        vpc = create_vpc(name, settings, region, tags, parent=self)
        alb_group = load_balancer_security_group(name, vpc, settings, tags, parent=self)
        tasks_group = task_security_group(name, vpc, alb_group, tags, parent=self)
        target_group, load_balancer = application_load_balancer(
            name, vpc, alb_group, settings.certificate_arn, tags, parent=self
        )
        cluster = aws.ecs.Cluster(f"{name}-cluster", tags=tags, opts=child)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name_prefix=f"/ecs/{name}-",
            retention_in_days=spec.log_retention_days,
            tags=tags,
            opts=child,
        )
        task_role = aws.iam.Role(
            f"{name}-task-role", assume_role_policy=task_assume_role_policy(), tags=tags, opts=child
        )
        task_policy = aws.iam.RolePolicy(
            f"{name}-task-policy",
            role=task_role.id,
            policy=pulumi.Output.all(storage.table.arn, storage.bucket.arn).apply(lambda arns: task_role_policy(*arns)),
            opts=pulumi.ResourceOptions(parent=task_role),
        )
        image = (
            prebuilt(settings.image)
            if settings.image
            else build_and_push(name, settings.image_architecture, spec.deletion_protection, tags, parent=self)
        )
        environment: dict[str, pulumi.Input[str]] = {
            "AWS_REGION": region,
            "DYNAMODB_TABLE": storage.table.name,
            "S3_BUCKET": storage.bucket.bucket,
            **spec.app_environment(),  # the app's settings the user set; the app keeps its defaults for the rest
            "TRUSTED_PROXIES": "1",  # the ALB is the one proxy in front
        }
        service = awsx.ecs.FargateService(
            f"{name}-service",
            # Named, so the scaling target and the load tests know it without reading awsx's resource outputs;
            # unique within this stack's own cluster.
            name=spec.name,
            cluster=cluster.arn,
            desired_count=settings.min_tasks,  # at creation; then Application Auto Scaling owns it (scaling.py)
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=vpc.private_subnet_ids, security_groups=[tasks_group.id], assign_public_ip=False
            ),
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            propagate_tags="SERVICE",
            task_definition_args=awsx.ecs.FargateServiceTaskDefinitionArgs(
                cpu=str(settings.task_cpu_units),
                memory=str(settings.task_memory_mib),
                runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                    cpu_architecture=settings.architecture, operating_system_family="LINUX"
                ),
                task_role=awsx.awsx.DefaultRoleWithPolicyArgs(role_arn=task_role.arn),
                log_group=awsx.awsx.DefaultLogGroupArgs(existing=awsx.awsx.ExistingLogGroupArgs(name=logs.name)),
                volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],  # task storage: gunicorn's worker files
                container=awsx.ecs.TaskDefinitionContainerDefinitionArgs(
                    name=CONTAINER_NAME,
                    image=container_image(image),
                    essential=True,
                    readonly_root_filesystem=True,
                    stop_timeout=STOP_TIMEOUT_SECONDS,
                    mount_points=[awsx.ecs.TaskDefinitionMountPointArgs(source_volume="tmp", container_path="/tmp")],
                    port_mappings=[
                        awsx.ecs.TaskDefinitionPortMappingArgs(container_port=CONTAINER_PORT, target_group=target_group)
                    ],
                    environment=[
                        awsx.ecs.TaskDefinitionKeyValuePairArgs(name=key, value=value)
                        for key, value in environment.items()
                    ],
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[task_policy], transforms=[keep_autoscaled_desired_count]
            ),
        )
        service_name = spec.name
        autoscaling(name, settings, cluster.name, service_name, parent=self, depends_on=[service])
        hostname = load_balancer.dns_name
        scaling: dict[str, Any] = {
            "kind": "ecs",
            "clusterName": cluster.name,
            "serviceName": service_name,
            "minTasks": settings.min_tasks,
            "maxTasks": settings.max_tasks,
            "cpuTargetPercent": settings.cpu_target_percent,
            "scaleOutCooldownSeconds": settings.scale_out_cooldown_seconds,
            "scaleInCooldownSeconds": settings.scale_in_cooldown_seconds,
            "taskCpuUnits": settings.task_cpu_units,
            "taskMemoryMiB": settings.task_memory_mib,
            "architecture": settings.architecture,
        }
        self.deployment = Deployment(
            url=(
                f"https://{settings.hostname}"  # the name the certificate covers, not the ALB's own
                if settings.certificate_arn
                else hostname.apply(lambda host: f"http://{host}" if host else "")
            ),
            backend="fargate",
            table_name=storage.table.name,
            bucket_name=storage.bucket.bucket,
            scaling=scaling,
            extras={
                "clusterName": cluster.name,
                "serviceName": service_name,
                "logGroup": logs.name,
                "albHostname": hostname,
                "region": region,
            },
        )
        self.register_outputs(self.deployment.outputs())


plugin = BackendPlugin(
    name="fargate",
    settings=FargateSettings,
    factory=Backend,
    description="ECS Fargate behind an ALB, with CPU target-tracking autoscaling between min and max tasks.",
)
