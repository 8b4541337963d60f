"""The fargate backend under Pulumi mocks: its resource graph, the task role's policy, the autoscaling target and
policy, the ALB's health check on /livez, and the outputs the load tests and the comparison read."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pulumi_awsx as awsx
import pytest

from backends import known_backends, load_plugin
from backends.config import ConfigError, parse
from backends.plugin import AVATAR_PREFIX, CONTAINER_PORT
from flask_platform_fargate import Backend, FargateSettings, plugin
from flask_platform_fargate.scaling import ECS_SERVICE, keep_autoscaled_desired_count
from tests.infra.conftest import FARGATE_ALB_HOSTNAME, IMAGE_DIGEST, REGION, Recorded, RecordingMocks, stack_config
from users_api import gunicorn_conf

ROOT = Path(__file__).resolve().parents[3]
SERVICE_NAME = "users-api"  # the service is named after the app, unique in the stack's own cluster
SCALING_KEYS = {
    "kind": str,
    "clusterName": str,
    "serviceName": str,
    "minTasks": int,
    "maxTasks": int,
    "cpuTargetPercent": int,
    "scaleOutCooldownSeconds": int,
    "scaleInCooldownSeconds": int,
    "taskCpuUnits": int,
    "taskMemoryMiB": int,
    "architecture": str,
}


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)


def deploy(mocks: RecordingMocks, app: dict[str, Any] | None = None, **fargate: Any) -> dict[str, Any]:
    spec = parse({"backend": "fargate", **(app or {}), "fargate": fargate}, stack="test", region=REGION)
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        backend = Backend("users-api", spec)
        return pulumi.Output.all(**backend.deployment.outputs()).apply(resolved.update)

    run()
    return resolved


@pytest.fixture
def outputs(mocks: RecordingMocks) -> dict[str, Any]:
    return deploy(mocks)


def physical_id(resource: Recorded) -> str:
    """The ID the mock engine gave a resource (what a reference to it is sent as)."""
    return f"{resource.name}-1a2b3c-id"


def service_inputs(mocks: RecordingMocks) -> dict[str, Any]:
    return mocks.one("awsx:ecs:FargateService").inputs


def container(mocks: RecordingMocks) -> dict[str, Any]:
    definition: dict[str, Any] = service_inputs(mocks)["taskDefinitionArgs"]["container"]
    return definition


def test_installed_it_is_found_through_the_entry_point() -> None:
    assert "fargate" in known_backends()
    assert load_plugin("fargate") is plugin
    assert plugin.settings is FargateSettings


def test_the_graph_has_the_network_the_alb_the_cluster_the_service_and_its_autoscaling(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    types = {resource.typ for resource in mocks.resources}

    assert types >= {
        "flask-platform:backends:Fargate",
        "flask-platform:storage:Storage",
        "awsx:ec2:Vpc",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:lb/listener:Listener",
        "aws:ecs/cluster:Cluster",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:ecr/repository:Repository",
        "docker-build:index:Image",
        "awsx:ecs:FargateService",
        "aws:appautoscaling/target:Target",
        "aws:appautoscaling/policy:Policy",
    }
    assert not any(typ.startswith(("eks:", "kubernetes:", "aws:lambda")) for typ in types)


def test_the_task_role_holds_exactly_the_apps_statements(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    role = mocks.one("aws:iam/role:Role")
    policy = json.loads(mocks.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    table_arn = mocks.one("aws:dynamodb/table:Table").outputs["arn"]
    bucket_arn = mocks.one("aws:s3/bucket:Bucket").outputs["arn"]

    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert policy["Statement"] == [
        {
            "Sid": "UsersTable",
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"],
            "Resource": table_arn,
        },
        {
            "Sid": "AvatarObjects",
            "Effect": "Allow",
            "Action": [
                "s3:DeleteObject",
                "s3:DeleteObjectTagging",
                "s3:GetObject",
                "s3:GetObjectTagging",
                "s3:PutObject",
                "s3:PutObjectTagging",
            ],
            "Resource": f"{bucket_arn}/{AVATAR_PREFIX}*",
        },
    ]
    task_definition = service_inputs(mocks)["taskDefinitionArgs"]
    assert task_definition["taskRole"] == {"roleArn": role.outputs["arn"]}


def test_the_alb_checks_livez_on_the_apps_port_and_forwards_http(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    alb = mocks.one("aws:lb/loadBalancer:LoadBalancer")
    target_group = mocks.one("aws:lb/targetGroup:TargetGroup")
    listener = mocks.one("aws:lb/listener:Listener").inputs

    # /livez, not /readyz: on ECS a failed ALB check replaces the task, so a DynamoDB or S3 outage must not cycle them
    assert target_group.inputs["healthCheck"]["path"] == "/livez"
    assert target_group.inputs["healthCheck"]["matcher"] == "200"
    assert (target_group.inputs["port"], target_group.inputs["protocol"]) == (CONTAINER_PORT, "HTTP")
    assert target_group.inputs["targetType"] == "ip"
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": target_group.outputs["arn"]}]
    assert listener["loadBalancerArn"] == alb.outputs["arn"]
    assert (alb.inputs["loadBalancerType"], alb.inputs["internal"]) == ("application", False)
    assert alb.inputs["subnets"] == ["subnet-0pub1", "subnet-0pub2"]
    assert outputs["url"] == f"http://{FARGATE_ALB_HOSTNAME}"


CERTIFICATE = f"arn:aws:acm:{REGION}:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def test_with_a_certificate_the_alb_serves_https_and_redirects_http(mocks: RecordingMocks) -> None:
    outputs = deploy(mocks, certificateArn=CERTIFICATE, hostname="API.Example.com.")
    listeners = {resource.name: resource.inputs for resource in mocks.of_type("aws:lb/listener:Listener")}
    target_group = mocks.one("aws:lb/targetGroup:TargetGroup")
    alb_group = mocks.one_named("aws:ec2/securityGroup:SecurityGroup", "users-api-alb")

    https, http = listeners["users-api-https"], listeners["users-api-http"]
    assert (https["port"], https["protocol"], https["certificateArn"]) == (443, "HTTPS", CERTIFICATE)
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"  # not the API's TLS 1.0 default
    assert https["defaultActions"] == [{"type": "forward", "targetGroupArn": target_group.outputs["arn"]}]
    assert http["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]
    assert sorted(rule["fromPort"] for rule in alb_group["ingress"]) == [80, 443]
    assert outputs["url"] == "https://api.example.com"


def test_without_a_certificate_there_is_one_http_listener_and_no_https_port(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    (listener,) = mocks.of_type("aws:lb/listener:Listener")
    alb_group = mocks.one_named("aws:ec2/securityGroup:SecurityGroup", "users-api-alb")

    assert listener.inputs["protocol"] == "HTTP"
    assert [rule["fromPort"] for rule in alb_group["ingress"]] == [80]


def test_the_tasks_take_traffic_only_from_the_alb_in_private_subnets(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    groups = {resource.name: resource for resource in mocks.of_type("aws:ec2/securityGroup:SecurityGroup")}
    alb_group, task_group = groups["users-api-alb"], groups["users-api-tasks"]
    network = service_inputs(mocks)["networkConfiguration"]

    (ingress,) = task_group.inputs["ingress"]

    assert mocks.one("aws:lb/loadBalancer:LoadBalancer").inputs["securityGroups"] == [physical_id(alb_group)]
    assert (ingress["fromPort"], ingress["toPort"], ingress["securityGroups"]) == (
        CONTAINER_PORT,
        CONTAINER_PORT,
        [physical_id(alb_group)],
    )
    assert "cidrBlocks" not in ingress
    assert [(rule["fromPort"], rule["toPort"]) for rule in task_group.inputs["egress"]] == [(443, 443)]
    assert [rule["cidrBlocks"] for rule in alb_group.inputs["egress"]] == [["10.0.0.0/16"]]
    assert network == {
        "subnets": ["subnet-0priv1", "subnet-0priv2"],
        "securityGroups": [physical_id(task_group)],
        "assignPublicIp": False,
    }


def test_the_container_runs_the_built_image_by_digest_read_only_with_the_apps_environment(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    app = container(mocks)
    repository = mocks.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    environment = {pair["name"]: pair["value"] for pair in app["environment"]}

    assert app["image"] == f"{repository}@{IMAGE_DIGEST}"
    assert app["readonlyRootFilesystem"] is True
    assert app["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp"}]
    assert app["portMappings"][0]["containerPort"] == CONTAINER_PORT
    assert app["portMappings"][0]["targetGroup"] == physical_id(mocks.one("aws:lb/targetGroup:TargetGroup"))
    assert set(environment) == {"AWS_REGION", "DYNAMODB_TABLE", "S3_BUCKET", "TRUSTED_PROXIES"}
    assert environment["DYNAMODB_TABLE"] == outputs["tableName"]


def test_the_app_settings_the_user_set_reach_the_container(mocks: RecordingMocks) -> None:
    deploy(mocks, app={"logLevel": "debug", "maxAvatarBytes": "4194304"})
    environment = {pair["name"]: pair["value"] for pair in container(mocks)["environment"]}

    assert (environment["LOG_LEVEL"], environment["MAX_AVATAR_BYTES"]) == ("DEBUG", "4194304")


def test_a_prebuilt_image_skips_ecr_and_the_build(mocks: RecordingMocks) -> None:
    reference = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/users-api:1.4.2"
    deploy(mocks, image=reference)

    assert mocks.of_type("aws:ecr/repository:Repository") == []
    assert mocks.of_type("docker-build:index:Image") == []
    assert container(mocks)["image"] == reference


@pytest.mark.parametrize(("architecture", "platform"), [("X86_64", "linux/amd64"), ("ARM64", "linux/arm64")])
def test_the_task_size_and_architecture_reach_the_task_and_the_image(
    mocks: RecordingMocks, architecture: str, platform: str
) -> None:
    deploy(mocks, taskCpuUnits=1024, taskMemoryMiB=3072, architecture=architecture)
    task = service_inputs(mocks)["taskDefinitionArgs"]

    assert (task["cpu"], task["memory"]) == ("1024", "3072")
    assert task["runtimePlatform"] == {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"}
    assert mocks.one("docker-build:index:Image").inputs["platforms"] == [platform]


def test_autoscaling_tracks_cpu_between_min_and_max_tasks(mocks: RecordingMocks) -> None:
    deploy(mocks, minTasks=3, maxTasks=12, cpuTargetPercent=60, scaleOutCooldownSeconds=30, scaleInCooldownSeconds=600)
    target = mocks.one("aws:appautoscaling/target:Target").inputs
    policy = mocks.one("aws:appautoscaling/policy:Policy").inputs
    cluster = mocks.one("aws:ecs/cluster:Cluster").outputs["name"]

    assert target == {
        "serviceNamespace": "ecs",
        "scalableDimension": "ecs:service:DesiredCount",
        "resourceId": f"service/{cluster}/{SERVICE_NAME}",
        "minCapacity": 3,
        "maxCapacity": 12,
    }
    assert policy["policyType"] == "TargetTrackingScaling"
    assert (policy["resourceId"], policy["scalableDimension"]) == (target["resourceId"], "ecs:service:DesiredCount")
    assert policy["targetTrackingScalingPolicyConfiguration"] == {
        "targetValue": 60.0,
        "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"},
        "scaleOutCooldown": 30,
        "scaleInCooldown": 600,
    }
    assert service_inputs(mocks)["desiredCount"] == 3  # at creation; the transform leaves it to the autoscaler


def child_service(opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceTransformArgs:
    """What the engine hands a transform for awsx's child service (awsx/ecs/fargateService.ts: ``{parent: this}``)."""
    props = {"desiredCount": 2, "name": SERVICE_NAME}
    return pulumi.ResourceTransformArgs(True, ECS_SERVICE, "users-api-service", props, opts or pulumi.ResourceOptions())


def test_awsxs_child_service_leaves_the_count_to_the_autoscaler_and_is_deleted_before_it_is_replaced() -> None:
    changed = keep_autoscaled_desired_count(child_service())

    assert changed is not None
    assert changed.opts is not None
    assert changed.opts.ignore_changes == ["desiredCount"]
    # A named ECS service cannot be created while the old one of that name is ACTIVE: delete first.
    assert changed.opts.delete_before_replace is True
    assert changed.props == {"desiredCount": 2, "name": SERVICE_NAME}


def test_the_transform_keeps_what_the_child_already_had() -> None:
    parent = pulumi.ResourceOptions(ignore_changes=["tags"], protect=False)
    changed = keep_autoscaled_desired_count(child_service(parent))

    assert changed is not None
    assert changed.opts is not None
    assert changed.opts.ignore_changes == ["tags", "desiredCount"]
    assert changed.opts.protect is False


@pytest.mark.parametrize(
    "typ", ["aws:ecs/taskDefinition:TaskDefinition", "aws:iam/role:Role", "aws:ec2/securityGroup:SecurityGroup"]
)
def test_the_transform_leaves_awsxs_other_children_alone(typ: str) -> None:
    other = pulumi.ResourceTransformArgs(True, typ, "users-api-service", {}, pulumi.ResourceOptions())

    assert keep_autoscaled_desired_count(other) is None


def test_the_transform_is_a_transforms_option_so_it_reaches_the_remote_components_child(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """awsx's FargateService is a multi-language component: the legacy ``transformations`` never reach its
    children, the ``transforms`` option does (the engine calls it back for each child)."""
    seen: list[pulumi.ResourceOptions] = []
    original = awsx.ecs.FargateService.__init__

    def recording(self: awsx.ecs.FargateService, resource_name: str, *args: Any, **kwargs: Any) -> None:
        seen.append(kwargs["opts"])
        original(self, resource_name, *args, **kwargs)

    monkeypatch.setattr(awsx.ecs.FargateService, "__init__", recording)
    deploy(mocks)

    (opts,) = seen
    assert opts.transforms == [keep_autoscaled_desired_count]
    assert not opts.transformations


def test_a_leaving_task_finishes_its_requests_before_it_is_stopped(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    """The ALB drains a deregistered task, then ECS sends SIGTERM, then SIGKILL after the stop timeout: the drain
    covers gunicorn's longest request, and gunicorn's graceful shutdown fits in the stop timeout."""
    target_group = mocks.one("aws:lb/targetGroup:TargetGroup").inputs

    assert target_group["deregistrationDelay"] >= gunicorn_conf.timeout
    assert container(mocks)["stopTimeout"] > gunicorn_conf.graceful_timeout
    assert container(mocks)["stopTimeout"] <= 120  # Fargate's ceiling for stopTimeout (ECS API reference)


def test_the_logs_keep_the_stacks_retention(mocks: RecordingMocks) -> None:
    deploy(mocks, app={"logRetentionDays": "30"})
    logs = mocks.one("aws:cloudwatch/logGroup:LogGroup")

    assert logs.inputs["retentionInDays"] == 30
    assert service_inputs(mocks)["taskDefinitionArgs"]["logGroup"] == {"existing": {"name": logs.outputs["name"]}}


def test_the_outputs_fill_the_contract_and_the_scaling_output_is_exactly_the_ecs_one(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    scaling = outputs["scaling"]

    assert outputs["backend"] == "fargate"
    assert outputs["tableName"]
    assert outputs["bucketName"]
    assert set(scaling) == set(SCALING_KEYS)
    assert all(isinstance(scaling[key], kind) for key, kind in SCALING_KEYS.items())
    assert scaling == {
        "kind": "ecs",
        "clusterName": mocks.one("aws:ecs/cluster:Cluster").outputs["name"],
        "serviceName": SERVICE_NAME,
        "minTasks": 2,
        "maxTasks": 10,
        "cpuTargetPercent": 70,
        "scaleOutCooldownSeconds": 60,
        "scaleInCooldownSeconds": 300,
        "taskCpuUnits": 512,
        "taskMemoryMiB": 1024,
        "architecture": "X86_64",
    }


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"taskCpuUnits": 256, "taskMemoryMiB": 4096}, "taskMemoryMiB=4096 is not a Fargate size for taskCpuUnits=256"),
        ({"minTasks": 5, "maxTasks": 4}, "minTasks=5 is above maxTasks=4"),
        ({"taskCpuUnits": 300}, "fargate.taskCpuUnits=300"),
        ({"architecture": "arm64"}, "fargate.architecture='arm64': Input should be 'X86_64' or 'ARM64'"),
        ({"vpcCidr": "10.0.0.0/24"}, "must be a /16 to /20 block"),
        ({"image": "https://registry/app"}, "is not an image reference"),
        ({"desiredTasks": 3}, "fargate.desiredTasks is not a setting of the fargate backend"),
        ({"certificateArn": CERTIFICATE}, "certificateArn needs hostname"),
        (
            {"certificateArn": "arn:aws:iam::123456789012:server-certificate/x", "hostname": "api.example.com"},
            "is not an ACM certificate ARN",
        ),
        (
            {"certificateArn": CERTIFICATE.replace(REGION, "eu-west-1"), "hostname": "api.example.com"},
            f"is a certificate in eu-west-1, but the stack (aws:region) is in {REGION}",
        ),
        ({"certificateArn": CERTIFICATE, "hostname": "not a name"}, "is not a DNS name"),
    ],
)
def test_bad_settings_are_named_with_the_fix(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "fargate", "fargate": settings}, region=REGION)

    assert says in str(failure.value)


def test_the_root_program_deploys_it_from_stack_config(mocks: RecordingMocks) -> None:
    stack_config({"backend": "fargate", "fargate": {"maxTasks": 6}})

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    program()

    assert mocks.one("aws:appautoscaling/target:Target").inputs["maxCapacity"] == 6
    assert "flask-platform:index:FlaskPlatform" in {resource.typ for resource in mocks.resources}


def test_an_unknown_backends_error_lists_it() -> None:
    from backends import UnknownBackend

    with pytest.raises(UnknownBackend, match=r"choose one of eks, fargate, lambda, minikube"):
        load_plugin("nomad")
