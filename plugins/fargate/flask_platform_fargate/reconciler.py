"""The reconciler on Fargate: the app's image running ``RECONCILE_COMMAND`` (one pass) as a task that an EventBridge
rule starts every ``RECONCILE_EVERY_MINUTES`` in the service's cluster, subnets and security group.

Three roles, each for one party: the task's (exactly ``reconciler_policy_statements``), the execution role (pull
the image, write the log group: AWS's managed AmazonECSTaskExecutionRolePolicy, as awsx gives the service), and
EventBridge's (``ecs:RunTask`` of this task definition in this cluster only, and passing those two roles).
EventBridge's ECS target: AWS EventBridge user guide, "Amazon ECS tasks as targets" (RunTask with the target's
EcsParameters; the rule's role needs ecs:RunTask and iam:PassRole).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from backends.plugin import (
    RECONCILE_COMMAND,
    RECONCILE_EVERY_MINUTES,
    Storage,
    reconciler_policy_statements,
)

CONTAINER_NAME = "reconciler"
CPU_UNITS = 256  # Fargate's smallest task: one pass is a listing and a few calls per pending object
MEMORY_MIB = 512
SCHEDULE = f"rate({RECONCILE_EVERY_MINUTES} minutes)"
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def task_policy(table_arn: str, bucket_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": reconciler_policy_statements(table_arn, bucket_arn)})


def events_policy(task_definition_arn: str, cluster_arn: str, task_role_arn: str, execution_role_arn: str) -> str:
    """Run this task definition (any revision of its family) in this cluster, and hand it its two roles."""
    family = task_definition_arn.rsplit(":", 1)[0]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "RunReconciler",
                    "Effect": "Allow",
                    "Action": "ecs:RunTask",
                    "Resource": f"{family}:*",
                    "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
                },
                {
                    "Sid": "PassItsRoles",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": [task_role_arn, execution_role_arn],
                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                },
            ],
        }
    )


def container_definitions(image: str, environment: Mapping[str, str], log_group: str, region: str, arch: str) -> str:
    return json.dumps(
        [
            {
                "name": CONTAINER_NAME,
                "image": image,
                "essential": True,
                "command": list(RECONCILE_COMMAND),
                "readonlyRootFilesystem": True,
                "environment": [{"name": key, "value": value} for key, value in sorted(environment.items())],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": region,
                        "awslogs-stream-prefix": CONTAINER_NAME,
                    },
                },
            }
        ]
    )


def scheduled_reconciler(
    name: str,
    *,
    storage: Storage,
    cluster: aws.ecs.Cluster,
    image: pulumi.Input[str],
    environment: Mapping[str, pulumi.Input[str]],
    log_group: aws.cloudwatch.LogGroup,
    region: str,
    architecture: str,
    subnets: pulumi.Input[Sequence[str]],
    security_group: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.EventRule:
    child = pulumi.ResourceOptions(parent=parent)
    task_role = aws.iam.Role(
        f"{name}-reconciler-task-role", assume_role_policy=trust("ecs-tasks.amazonaws.com"), tags=dict(tags), opts=child
    )
    aws.iam.RolePolicy(
        f"{name}-reconciler-task-policy",
        role=task_role.id,
        policy=pulumi.Output.all(storage.table.arn, storage.bucket.arn).apply(lambda arns: task_policy(*arns)),
        opts=pulumi.ResourceOptions(parent=task_role),
    )
    execution_role = aws.iam.Role(
        f"{name}-reconciler-execution-role",
        assume_role_policy=trust("ecs-tasks.amazonaws.com"),
        tags=dict(tags),
        opts=child,
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-reconciler-execution-policy",
        role=execution_role.name,
        policy_arn=EXECUTION_POLICY_ARN,
        opts=pulumi.ResourceOptions(parent=execution_role),
    )
    task_definition = aws.ecs.TaskDefinition(
        f"{name}-reconciler",
        family=f"{name}-reconciler",
        cpu=str(CPU_UNITS),
        memory=str(MEMORY_MIB),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            cpu_architecture=architecture, operating_system_family="LINUX"
        ),
        task_role_arn=task_role.arn,
        execution_role_arn=execution_role.arn,
        container_definitions=pulumi.Output.all(image, log_group.name, pulumi.Output.all(**environment)).apply(
            lambda found: container_definitions(found[0], found[2], found[1], region, architecture)
        ),
        tags=dict(tags),
        opts=child,
    )
    events_role = aws.iam.Role(
        f"{name}-reconciler-events-role",
        assume_role_policy=trust("events.amazonaws.com"),
        tags=dict(tags),
        opts=child,
    )
    events_role_policy = aws.iam.RolePolicy(
        f"{name}-reconciler-events-policy",
        role=events_role.id,
        policy=pulumi.Output.all(task_definition.arn, cluster.arn, task_role.arn, execution_role.arn).apply(
            lambda arns: events_policy(*arns)
        ),
        opts=pulumi.ResourceOptions(parent=events_role),
    )
    rule = aws.cloudwatch.EventRule(
        f"{name}-reconciler-schedule",
        description="Resolve pending avatars (app/users_api/reconcile.py)",
        schedule_expression=SCHEDULE,
        tags=dict(tags),
        opts=child,
    )
    aws.cloudwatch.EventTarget(
        f"{name}-reconciler-target",
        rule=rule.name,
        arn=cluster.arn,
        role_arn=events_role.arn,
        ecs_target=aws.cloudwatch.EventTargetEcsTargetArgs(
            task_definition_arn=task_definition.arn,
            launch_type="FARGATE",
            task_count=1,
            network_configuration=aws.cloudwatch.EventTargetEcsTargetNetworkConfigurationArgs(
                subnets=subnets, security_groups=[security_group], assign_public_ip=False
            ),
        ),
        opts=pulumi.ResourceOptions(parent=rule, depends_on=[events_role_policy]),
    )
    return rule
