"""The eks backend under Pulumi mocks: network, cluster, nodes, IRSA, controllers, image, the app and its outputs.

awsx and eks are multi-language components: under mocks each is one resource whose outputs are what AWS would
report (tests/infra/conftest.py), so these tests pin the arguments we give them, not what they create inside.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml

import backends.eks as eks_backend
from backends.base import AVATAR_PREFIX
from backends.config import ConfigError, parse
from backends.eks import addons, alb_url
from backends.eks.cluster import NodeScaling, admin_access_entries, node_scaling
from backends.eks.settings import EksSettings
from backends.image import context_digest
from backends.kubernetes_app import CHART, CHART_DIR
from backends.settings import app_setting_keys
from tests.infra.conftest import (
    ACCOUNT,
    ALB_HOSTNAME,
    CALLS,
    IMAGE_DIGEST,
    MULTI_LANGUAGE_COMPONENTS,
    OIDC_ISSUER,
    REGION,
    RecordingMocks,
)

CLUSTER_OUTPUTS = MULTI_LANGUAGE_COMPONENTS["eks:index:Cluster"]
VPC_OUTPUTS = MULTI_LANGUAGE_COMPONENTS["awsx:ec2:Vpc"]
ECR_URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/users-api-app-1a2b3c"
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)


def deploy(mocks: RecordingMocks, component: str = "users-api", **config: str) -> dict[str, Any]:
    """The eks backend deployed under mocks; ``config`` holds app settings (logLevel) and eks ones (nodeMax)."""
    app = {key: value for key, value in config.items() if key in app_setting_keys()}
    eks = {key: value for key, value in config.items() if key not in app}
    spec = parse({"backend": "eks", **app, "eks": eks}, stack="prod")
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        backend = eks_backend.Backend(component, spec)
        resolved["kubeconfig is secret"] = backend.deployment.extras["kubeconfig"]
        return pulumi.Output.all(**backend.deployment.outputs()).apply(resolved.update)

    run()
    return resolved


@pytest.fixture
def outputs(mocks: RecordingMocks) -> dict[str, Any]:
    return deploy(mocks)


def releases(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    return {resource.inputs["name"]: resource.inputs for resource in mocks.of_type(RELEASE)}


def inline_policy(mocks: RecordingMocks, role: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(mocks.one_named("aws:iam/rolePolicy:RolePolicy", f"{role}-policy")["policy"])
    return document


# -- network -------------------------------------------------------------------------------------------------------


def test_the_vpc_spans_zones_with_tagged_subnets_dns_one_nat_and_gateway_endpoints(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    vpc = mocks.one("awsx:ec2:Vpc").inputs
    specs = {spec["type"]: spec for spec in vpc["subnetSpecs"]}

    assert vpc["numberOfAvailabilityZones"] == 2
    assert vpc["enableDnsHostnames"] is True
    assert vpc["subnetStrategy"] == "Auto"
    assert vpc["natGateways"] == {"strategy": "Single"}
    assert specs["Public"]["tags"]["kubernetes.io/role/elb"] == "1"
    assert specs["Private"]["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert (specs["Private"]["cidrMask"], specs["Public"]["cidrMask"]) == (19, 22), "pods take VPC addresses"
    assert vpc["vpcEndpointStrategy"] == "Auto", "Auto puts the gateway endpoints in the VPC's route tables"
    assert sorted((spec["serviceName"], spec["vpcEndpointType"]) for spec in vpc["vpcEndpointSpecs"]) == [
        (f"com.amazonaws.{REGION}.dynamodb", "Gateway"),
        (f"com.amazonaws.{REGION}.s3", "Gateway"),
    ]


@pytest.mark.parametrize(("choice", "strategy"), [("single", "Single"), ("onePerAz", "OnePerAz")])
def test_the_nat_strategy_and_zone_count_come_from_config(mocks: RecordingMocks, choice: str, strategy: str) -> None:
    deploy(mocks, natGateways=choice, availabilityZones="3", vpcCidr="10.20.0.0/20")
    vpc = mocks.one("awsx:ec2:Vpc").inputs

    assert vpc["natGateways"] == {"strategy": strategy}
    assert vpc["numberOfAvailabilityZones"] == 3
    assert vpc["cidrBlock"] == "10.20.0.0/20"
    assert sorted(spec["cidrMask"] for spec in vpc["subnetSpecs"]) == [23, 26]


# -- cluster and nodes -----------------------------------------------------------------------------------------------


def test_the_cluster_uses_access_entries_oidc_private_nodes_and_the_configured_endpoint_and_logs(
    mocks: RecordingMocks,
) -> None:
    deploy(
        mocks,
        publicAccessCidrs="203.0.113.0/24, 198.51.100.0/24",
        logTypes="api,audit",
        kubernetesVersion="1.34",
    )
    cluster = mocks.one("eks:index:Cluster").inputs

    assert cluster["authenticationMode"] == "API"
    assert cluster["createOidcProvider"] is True
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["name"] == "users-api-prod"
    assert cluster["version"] == "1.34"
    assert cluster["vpcId"] == VPC_OUTPUTS["vpcId"]
    assert cluster["privateSubnetIds"] == VPC_OUTPUTS["privateSubnetIds"]
    assert cluster["publicSubnetIds"] == VPC_OUTPUTS["publicSubnetIds"]
    assert cluster["nodeAssociatePublicIpAddress"] is False
    assert (cluster["endpointPublicAccess"], cluster["endpointPrivateAccess"]) == (True, True)
    assert cluster["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.0/24"]
    assert cluster["enabledClusterLogTypes"] == ["api", "audit"]


ADMINS = (f"arn:aws:iam::{ACCOUNT}:role/ci/deployer", "arn:aws:iam::210987654321:user/alice")


def test_admin_principals_become_cluster_admin_access_entries(mocks: RecordingMocks) -> None:
    """Without them only the creator can ever manage the cluster: CI or a teammate could not run up or destroy."""
    deploy(mocks, adminPrincipals=",".join(ADMINS))
    entries = mocks.one("eks:index:Cluster").inputs["accessEntries"]

    assert sorted(entry["principalArn"] for entry in entries.values()) == sorted(ADMINS)
    for entry in entries.values():
        assert entry["type"] == "STANDARD"
        assert entry["accessPolicies"] == {
            "cluster-admin": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster"},
            }
        }
    assert all(re.fullmatch(r"admin-(role|user)-[A-Za-z0-9-]+-[0-9a-f]{8}", key) for key in entries)


def test_an_admin_keeps_its_access_entry_when_another_is_added_before_it() -> None:
    """The entries' keys name their resources: taken from the ARN, not the position, nothing is replaced."""
    alone = admin_access_entries(ADMINS[1:])
    both = admin_access_entries(ADMINS)

    assert set(alone) < set(both)


def test_no_admin_principals_leaves_access_to_the_creator(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    assert "accessEntries" not in mocks.one("eks:index:Cluster").inputs


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/session-1", f"arn:aws:iam::{ACCOUNT}:role/ci"),
        (f"arn:aws:iam::{ACCOUNT}:group/admins", "is not the ARN of an IAM role or user"),
        ("ci-deployer", "is not the ARN of an IAM role or user"),
        (f"{ADMINS[0]},{ADMINS[0]}", "lists a principal twice"),
    ],
)
def test_bad_admin_principals_are_named_with_the_fix(given: str, says: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "eks", "eks": {"adminPrincipals": given}})

    assert str(failure.value).startswith("eks.adminPrincipals=")
    assert says in str(failure.value)
    assert "`pulumi config set --path eks.adminPrincipals arn:aws:iam::" in str(failure.value)


def record_options(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], pulumi.ResourceOptions]:
    """Every resource's options by (type, name), as the program gave them (components' included)."""
    options: dict[tuple[str, str], pulumi.ResourceOptions] = {}
    real_init = pulumi.Resource.__init__

    def recording(self: pulumi.Resource, t: str, name: str, custom: bool, *args: Any, **kwargs: Any) -> None:
        given = kwargs.get("opts") or (args[1] if len(args) > 1 else None)  # (props, opts, ...)
        options[(t, name)] = given or pulumi.ResourceOptions()
        real_init(self, t, name, custom, *args, **kwargs)

    monkeypatch.setattr(pulumi.Resource, "__init__", recording)
    return options


@pytest.mark.parametrize(("config", "days"), [({}, 14), ({"logRetentionDays": "30"}, 30)])
def test_the_control_plane_log_group_is_made_first_with_a_retention_so_eks_does_not_make_its_own(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], days: int
) -> None:
    """EKS creates /aws/eks/<cluster>/cluster itself, kept forever and left by destroy, unless it exists first."""
    options = record_options(monkeypatch)
    deploy(mocks, **config)
    group = mocks.one("aws:cloudwatch/logGroup:LogGroup")
    cluster_waits_for = options[("eks:index:Cluster", "users-api-cluster")].depends_on

    assert group.inputs["name"] == "/aws/eks/users-api-prod/cluster"
    assert group.inputs["retentionInDays"] == days
    assert group.inputs["tags"]["stack"] == "prod"
    assert isinstance(cluster_waits_for, list)
    assert [resource._name for resource in cluster_waits_for] == [group.name]


@pytest.mark.parametrize(
    ("instance_types", "ami_type"),
    [("t3.medium,t3a.medium", "AL2023_x86_64_STANDARD"), ("t4g.medium,m7g.large", "AL2023_ARM_64_STANDARD")],
)
def test_the_node_group_scales_from_config_and_pulumi_leaves_its_desired_size_alone(
    mocks: RecordingMocks, instance_types: str, ami_type: str
) -> None:
    deploy(mocks, instanceTypes=instance_types, nodeMin="2", nodeDesired="3", nodeMax="8")
    nodes = mocks.one("eks:index:ManagedNodeGroup").inputs

    assert nodes["scalingConfig"] == {"minSize": 2, "desiredSize": 3, "maxSize": 8}
    assert nodes["ignoreScalingChanges"] is True
    assert nodes["instanceTypes"] == instance_types.split(",")
    assert nodes["amiType"] == ami_type
    assert nodes["subnetIds"] == VPC_OUTPUTS["privateSubnetIds"]
    assert nodes["launchTemplate"]["version"] == "1"
    assert nodes["version"] == "1.35", "with a launch template pulumi-eks leaves the nodes' version unset"


LIVE_GROUP = "users-api-nodes-3f9a2c1"  # Pulumi's autoname: the ManagedNodeGroup's name and a random suffix
# What backends/config.py tags everything of this test stack with (the owner tags among them).
STACK_TAGS = {
    "project": "flask-platform",
    "app": "users-api",
    "stack": "prod",
    "backend": "eks",
    "managed-by": "pulumi",
}


def a_running_node_group(
    monkeypatch: pytest.MonkeyPatch, min_size: int, desired: int, max_size: int, tags: dict[str, str] = STACK_TAGS
) -> None:
    """What EKS answers once the cluster and its node group exist (cluster-autoscaler moved the desired size)."""
    monkeypatch.setitem(CALLS, "aws:eks/getClusters:getClusters", {"id": REGION, "names": ["other", "users-api-prod"]})
    monkeypatch.setitem(
        CALLS, "aws:eks/getCluster:getCluster", {"id": "users-api-prod", "name": "users-api-prod", "tags": tags}
    )
    monkeypatch.setitem(
        CALLS,
        "aws:eks/getNodeGroups:getNodeGroups",
        {"id": "users-api-prod", "clusterName": "users-api-prod", "names": ["other-nodes-0a1b2c3", LIVE_GROUP]},
    )
    monkeypatch.setitem(
        CALLS,
        "aws:eks/getNodeGroup:getNodeGroup",
        {
            "id": f"users-api-prod:{LIVE_GROUP}",
            "clusterName": "users-api-prod",
            "nodeGroupName": LIVE_GROUP,
            "status": "ACTIVE",
            "tags": tags,
            "scalingConfigs": [{"minSize": min_size, "desiredSize": desired, "maxSize": max_size}],
        },
    )


def test_a_cluster_of_the_same_name_owned_by_another_stack_is_refused(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_running_node_group(monkeypatch, 2, 3, 5, tags={**STACK_TAGS, "stack": "prod-eu"})

    with pytest.raises(Exception, match="clusterName") as refused:
        deploy(mocks, nodeMin="4")

    assert "prod-eu" in str(refused.value)


def test_a_node_group_named_like_ours_without_our_tags_is_not_read(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_running_node_group(monkeypatch, 2, 3, 5)
    group = dict(CALLS["aws:eks/getNodeGroup:getNodeGroup"])
    monkeypatch.setitem(CALLS, "aws:eks/getNodeGroup:getNodeGroup", {**group, "tags": {"stack": "someone-else"}})

    deploy(mocks, nodeMin="2", nodeDesired="2", nodeMax="5")

    nodes = mocks.one("eks:index:ManagedNodeGroup").inputs
    assert nodes["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 5}, "treated as a new group"
    assert nodes["ignoreScalingChanges"] is True


CONTROL_PLANE_LOGS = "/aws/eks/users-api-prod/cluster"


@pytest.mark.parametrize(
    ("tags", "managed"),
    [(STACK_TAGS, True), ({}, False), ({**STACK_TAGS, "stack": "dev"}, False)],
    ids=["ours", "made-by-eks", "another-stack"],
)
def test_an_existing_control_plane_log_group_is_managed_only_when_it_is_this_stacks(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, tags: dict[str, str], managed: bool
) -> None:
    """EKS makes the group itself for older stacks, and again after a destroy: creating it then would fail."""
    monkeypatch.setitem(
        CALLS, "aws:cloudwatch/getLogGroups:getLogGroups", {"id": REGION, "logGroupNames": [CONTROL_PLANE_LOGS]}
    )
    monkeypatch.setitem(
        CALLS,
        "aws:cloudwatch/getLogGroup:getLogGroup",
        {
            "id": CONTROL_PLANE_LOGS,
            "name": CONTROL_PLANE_LOGS,
            "arn": "arn:aws:logs:x",
            "retentionInDays": 0,
            "tags": tags,
        },
    )

    deploy(mocks)

    groups = [
        r for r in mocks.of_type("aws:cloudwatch/logGroup:LogGroup") if r.inputs.get("name") == CONTROL_PLANE_LOGS
    ]
    assert len(groups) == int(managed)


@pytest.mark.parametrize(
    ("live", "config", "sent"),
    [
        # raising the minimum above the autoscaler's size: EKS refused the creation-time desired size below it
        ((2, 3, 5), {"nodeMin": "4"}, {"minSize": 4, "desiredSize": 4, "maxSize": 5}),
        # lowering the maximum below it: the desired size must come down with it
        ((2, 4, 5), {"nodeMax": "3"}, {"minSize": 2, "desiredSize": 3, "maxSize": 3}),
        # raising the maximum: the autoscaler's 4 nodes stay (the creation-time 2 was sent before)
        ((2, 4, 5), {"nodeMax": "8"}, {"minSize": 2, "desiredSize": 4, "maxSize": 8}),
    ],
)
def test_changing_the_node_bounds_sends_the_autoscalers_size_moved_into_them(
    mocks: RecordingMocks,
    monkeypatch: pytest.MonkeyPatch,
    live: tuple[int, int, int],
    config: dict[str, str],
    sent: dict[str, int],
) -> None:
    a_running_node_group(monkeypatch, *live)
    deploy(mocks, **config)
    nodes = mocks.one("eks:index:ManagedNodeGroup").inputs

    assert nodes["scalingConfig"] == sent
    assert nodes["ignoreScalingChanges"] is False, "an ignored desired size is sent as it was at creation"


def test_unchanged_node_bounds_leave_the_autoscalers_size_alone(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_running_node_group(monkeypatch, 2, 4, 5)
    asked: list[dict[str, Any]] = []
    real_call = mocks.call

    def recording(args: pulumi.runtime.MockCallArgs) -> Any:
        if args.token == "aws:eks/getNodeGroup:getNodeGroup":
            asked.append(dict(args.args))
        return real_call(args)

    monkeypatch.setattr(mocks, "call", recording)
    deploy(mocks, nodeMin="2", nodeMax="5", nodeDesired="2")

    assert asked == [{"clusterName": "users-api-prod", "nodeGroupName": LIVE_GROUP}], "this stack's group only"
    nodes = mocks.one("eks:index:ManagedNodeGroup").inputs

    assert nodes["ignoreScalingChanges"] is True
    assert nodes["scalingConfig"] == {"minSize": 2, "desiredSize": 4, "maxSize": 5}


@pytest.mark.parametrize("live_desired", range(2, 11))
@pytest.mark.parametrize(("node_min", "node_max"), [(1, 1), (1, 5), (3, 6), (5, 10), (11, 12)])
def test_what_is_sent_is_always_within_the_bounds_eks_checks(live_desired: int, node_min: int, node_max: int) -> None:
    """EKS keeps min <= desired <= max on a live group; whatever the new bounds, the update satisfies them too."""
    eks = {"nodeMin": str(node_min), "nodeMax": str(node_max)}
    settings = parse({"backend": "eks", "eks": eks}).settings_as(EksSettings)
    within = min(max(live_desired, node_min), node_max)
    for live in (None, NodeScaling(2, live_desired, 10), NodeScaling(node_min, within, node_max)):
        sent, _ = node_scaling(settings, live)
        assert sent.min_size <= sent.desired_size <= sent.max_size


def test_nodes_require_imdsv2_with_one_hop_so_pods_cannot_reach_the_node_role(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    template = mocks.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    root = template["blockDeviceMappings"][0]

    assert template["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    assert (root["deviceName"], root["ebs"]["encrypted"], root["ebs"]["volumeType"]) == ("/dev/xvda", "true", "gp3")
    assert "enableImdSv2" not in mocks.one("eks:index:ManagedNodeGroup").inputs, "conflicts with a launch template"


def test_the_node_role_has_only_the_node_policies(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    attached = sorted(
        attachment.inputs["policyArn"]
        for attachment in mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )

    assert attached == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]


# -- IRSA ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("users-api-app", "system:serviceaccount:users-api:users-api"),
        ("users-api-lb-controller", "system:serviceaccount:kube-system:aws-load-balancer-controller"),
        ("users-api-cluster-autoscaler", "system:serviceaccount:kube-system:cluster-autoscaler"),
    ],
)
def test_each_irsa_role_trusts_exactly_one_service_account_of_this_cluster(
    mocks: RecordingMocks, outputs: dict[str, Any], role: str, subject: str
) -> None:
    trust = json.loads(mocks.one_named("aws:iam/role:Role", f"{role}-role")["assumeRolePolicy"])
    (statement,) = trust["Statement"]

    assert statement["Principal"] == {"Federated": CLUSTER_OUTPUTS["oidcProviderArn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {f"{OIDC_ISSUER}:sub": subject, f"{OIDC_ISSUER}:aud": "sts.amazonaws.com"}
    }


def test_the_app_role_reaches_only_its_table_and_the_avatar_prefix(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    table = mocks.one("aws:dynamodb/table:Table")
    statements = {statement["Sid"]: statement for statement in inline_policy(mocks, "users-api-app")["Statement"]}
    bucket = outputs["bucketName"]

    assert statements["UsersTable"]["Resource"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:{table.name}-1a2b3c"
    assert statements["AvatarObjects"]["Resource"] == f"arn:aws:s3:::{bucket}/{AVATAR_PREFIX}*"
    assert all("*" not in action for statement in statements.values() for action in statement["Action"])


def test_the_autoscaler_may_only_resize_this_clusters_groups(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in inline_policy(mocks, "users-api-cluster-autoscaler")["Statement"]}
    resize = statements["ResizeOnlyThisClustersGroups"]

    assert resize["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/users-api-prod": "owned"}
    }
    assert statements["DescribeThisClustersNodeGroups"]["Resource"] == (
        f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/users-api-prod/*"
    )
    for statement in statements.values():  # "*" only where AWS allows nothing narrower, or under the tag condition
        if statement["Resource"] == "*" and "Condition" not in statement:
            assert all(action.split(":")[1].startswith(("Describe", "Get")) for action in statement["Action"])


def test_the_load_balancer_controller_gets_its_projects_official_policy(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    assert inline_policy(mocks, "users-api-lb-controller") == addons.load_balancer_controller_policy()
    assert len(json.dumps(addons.load_balancer_controller_policy(), separators=(",", ":"))) < 10_240, (
        "an inline role policy holds at most 10,240 characters"
    )


# -- controllers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", [addons.LOAD_BALANCER_CONTROLLER, addons.CLUSTER_AUTOSCALER, addons.METRICS_SERVER])
def test_every_controller_is_its_official_chart_pinned_in_kube_system(
    mocks: RecordingMocks, outputs: dict[str, Any], chart: addons.Chart
) -> None:
    release = releases(mocks)[chart.name]

    assert release["chart"] == chart.name
    assert release["version"] == chart.version
    assert chart.version[0].isdigit(), "an exact version, not a range"
    assert release["repositoryOpts"] == {"repo": chart.repository}
    assert release["namespace"] == "kube-system"


def test_the_load_balancer_controller_knows_its_cluster_region_vpc_and_role(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    values = releases(mocks)["aws-load-balancer-controller"]["values"]
    role = mocks.one_named("aws:iam/role:Role", "users-api-lb-controller-role")

    assert (values["clusterName"], values["region"], values["vpcId"]) == (
        "users-api-prod",
        REGION,
        VPC_OUTPUTS["vpcId"],
    )
    assert values["serviceAccount"]["name"] == "aws-load-balancer-controller"
    assert values["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role["arn"]}


@pytest.mark.parametrize("version", ["1.33", "1.34", "1.35"])
def test_the_autoscaler_discovers_this_cluster_with_an_image_of_its_minor(mocks: RecordingMocks, version: str) -> None:
    deploy(mocks, kubernetesVersion=version)
    values = releases(mocks)["cluster-autoscaler"]["values"]

    assert values["autoDiscovery"] == {"clusterName": "users-api-prod"}
    assert values["awsRegion"] == REGION
    assert values["image"]["tag"].startswith(f"v{version}.")
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert "eks.amazonaws.com/role-arn" in values["rbac"]["serviceAccount"]["annotations"]


def test_every_supported_kubernetes_version_has_an_autoscaler_image() -> None:
    from backends.eks.settings import EKS_VERSIONS

    assert set(addons.CLUSTER_AUTOSCALER_IMAGES) == set(EKS_VERSIONS)


# -- the app ---------------------------------------------------------------------------------------------------------


def test_the_image_is_built_for_the_nodes_and_pushed_to_a_private_repository(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    repository = mocks.one("aws:ecr/repository:Repository").inputs
    image = mocks.one("docker-build:index:Image").inputs

    assert repository["imageTagMutability"] == "MUTABLE", "deployed by digest: a rebuild may push its tag again"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert image["push"] is True
    assert image["buildOnPreview"] is False
    assert image["platforms"] == ["linux/amd64"]
    assert image["tags"] == [f"{ECR_URL}:{context_digest()}"]
    assert (image["context"]["location"], image["dockerfile"]["location"]) == ("app", "app/Dockerfile"), (
        "relative to the project: another checkout of the same app is no change"
    )
    assert image["registries"][0]["address"] == ECR_URL


def test_the_app_release_gets_the_image_irsa_env_ingress_and_hpa(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    release = releases(mocks)["users-api"]
    values = release["values"]
    role = mocks.one_named("aws:iam/role:Role", "users-api-app-role")

    assert release["chart"] == CHART.as_posix()
    assert release["namespace"] == "users-api"
    assert values["image"] == {
        "repository": ECR_URL,
        "tag": context_digest(),
        "digest": IMAGE_DIGEST,
        "pullPolicy": "IfNotPresent",
    }
    assert values["serviceAccount"] == {"enabled": True, "name": "users-api", "roleArn": role["arn"]}
    assert values["env"]["AWS_REGION"] == REGION
    assert (values["env"]["DYNAMODB_TABLE"], values["env"]["S3_BUCKET"]) == (
        outputs["tableName"],
        outputs["bucketName"],
    )
    assert values["env"]["AWS_ENDPOINT_URL"] == ""
    assert "AWS_ACCESS_KEY_ID" not in values["env"], "IRSA: no static credentials"
    assert values["env"]["TRUSTED_PROXIES"] == "1"
    assert values["service"] == {"type": "ClusterIP", "port": 80}
    assert values["ingress"] == {"enabled": True, "className": "alb", "scheme": "internet-facing", "certificateArn": ""}
    assert values["hpa"] == {"enabled": True, "minReplicas": 2, "maxReplicas": 10, "cpuTargetPercent": 70}


def overlay(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values: maps merge key by key, anything else replaces."""
    merged = dict(defaults)
    for key, value in given.items():
        both_maps = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = overlay(merged[key], value) if both_maps else value
    return merged


def test_the_app_releases_values_pass_the_charts_own_schema(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    values = releases(mocks)["users-api"]["values"]

    # What `helm install` checks first: the chart's defaults overlaid with the values the backend really passes.
    jsonschema.validate(overlay(yaml.safe_load((CHART_DIR / "values.yaml").read_text()), values), schema)
    assert values["serviceAccount"]["roleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")


@pytest.mark.parametrize("protected", [True, False])
def test_protected_data_is_retained_by_destroy_instead_of_stopping_it_halfway(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, protected: bool
) -> None:
    retained: dict[str, bool | None] = {}
    real_init = pulumi.CustomResource.__init__

    def recording(self: pulumi.CustomResource, t: str, name: str, *args: Any, **kwargs: Any) -> None:
        opts = kwargs.get("opts") or (args[1] if len(args) > 1 else None)  # (props, opts, ...)
        retained[t] = getattr(opts, "retain_on_delete", None)
        real_init(self, t, name, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", recording)
    deploy(mocks, deletionProtection=str(protected).lower())

    for typ in (
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:ecr/repository:Repository",
    ):
        assert retained[typ] is protected, typ
    # pulumi-docker-build deletes the tags it pushed when its Image is deleted or replaced: kept in both cases, the
    # protected repository keeps its images and a replaced image's digest stays pullable by the pods running it.
    assert retained["docker-build:index:Image"] is True
    # Adopted with upsert for good, the namespace would be deleted, app and all, by a rename's
    # create-then-delete: Pulumi never deletes it (it goes with the cluster).
    assert retained["kubernetes:core/v1:Namespace"] is True


def test_a_prebuilt_image_skips_ecr_and_the_build(mocks: RecordingMocks) -> None:
    reference = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/users-api:1.4.2"
    deploy(mocks, image=reference, minReplicas="3", maxReplicas="30", cpuTargetPercent="60")
    values = releases(mocks)["users-api"]["values"]

    assert mocks.of_type("aws:ecr/repository:Repository") == []
    assert mocks.of_type("docker-build:index:Image") == []
    assert values["image"]["repository"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/users-api"
    assert (values["image"]["tag"], values["image"]["digest"]) == ("1.4.2", "")
    assert values["hpa"] == {"enabled": True, "minReplicas": 3, "maxReplicas": 30, "cpuTargetPercent": 60}


def test_the_app_release_waits_for_the_load_balancer_controller_and_metrics_server(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits_for: list[str] = []
    real_release_app = eks_backend.release_app

    def recording(*args: Any, **kwargs: Any) -> Any:
        waits_for.extend(resource._name for resource in kwargs["depends_on"])
        return real_release_app(*args, **kwargs)

    monkeypatch.setattr(eks_backend, "release_app", recording)
    deploy(mocks)

    assert sorted(waits_for) == [
        "users-api-app-policy",
        "users-api-app-role",
        "users-api-aws-load-balancer-controller",
        "users-api-metrics-server",
        "users-api-namespace",  # labelled for the controller's pod readiness gate (test_eks_addons.py)
    ]


@pytest.mark.parametrize(
    ("chart", "role", "also"),
    [
        (addons.LOAD_BALANCER_CONTROLLER, "users-api-lb-controller", []),
        # its Service is admitted by the controller's webhook (test_eks_addons.py)
        (addons.CLUSTER_AUTOSCALER, "users-api-cluster-autoscaler", ["users-api-aws-load-balancer-controller"]),
    ],
)
def test_each_controller_waits_for_the_nodes_and_its_roles_policy_which_so_outlive_it(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, chart: addons.Chart, role: str, also: list[str]
) -> None:
    waits_for: dict[str, list[str]] = {}
    real_release = addons.release

    def recording(name: str, released: addons.Chart, *args: Any, **kwargs: Any) -> Any:
        waits_for[released.name] = sorted(resource._name for resource in kwargs["depends_on"])
        return real_release(name, released, *args, **kwargs)

    monkeypatch.setattr(addons, "release", recording)
    deploy(mocks)

    assert waits_for[chart.name] == sorted(["users-api-nodes", f"{role}-role", f"{role}-policy", *also])


# -- outputs ---------------------------------------------------------------------------------------------------------


def test_the_outputs_fill_the_contract_and_the_kubernetes_extras(outputs: dict[str, Any]) -> None:
    assert outputs["url"] == f"http://{ALB_HOSTNAME}"
    assert outputs["backend"] == "eks"
    assert outputs["scaling"] == {
        "kind": "kubernetes",
        "minReplicas": 2,
        "maxReplicas": 10,
        "cpuTargetPercent": 70,
        "metricsResolutionSeconds": 15,
    }
    assert outputs["kubeconfig"] == CLUSTER_OUTPUTS["kubeconfigJson"]
    assert (outputs["clusterName"], outputs["namespace"], outputs["releaseName"]) == (
        "users-api-prod",
        "users-api",
        "users-api",
    )


INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def ingress_without_address_for(mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, reads: int) -> None:
    """The controller writes the ALB's address into the Ingress's status only after `reads` reads of it."""
    real_new_resource = mocks.new_resource

    def answering(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = real_new_resource(args)
        if args.typ == INGRESS and len(mocks.of_type(INGRESS)) <= reads:
            state = {**state, "status": {"loadBalancer": {}}}
            mocks.resources[-1].outputs = state
        return resource_id, state

    monkeypatch.setattr(mocks, "new_resource", answering)
    waited: list[float] = []

    async def no_wait(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(
        eks_backend, "wait", no_wait, raising=False
    )  # raising=False: the test also runs on code without it


def test_the_first_up_waits_for_the_albs_address_so_url_is_never_empty(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Helm does not wait for the Ingress's status and a .get does not await it: the backend reads until it is there."""
    ingress_without_address_for(mocks, monkeypatch, reads=2)
    outputs = deploy(mocks)
    reads = mocks.of_type(INGRESS)

    assert outputs["url"] == f"http://{ALB_HOSTNAME}"
    assert outputs["albHostname"] == ALB_HOSTNAME
    assert [read.name for read in reads] == ["users-api-ingress", "users-api-ingress-1", "users-api-ingress-2"]
    assert all("::users-api-kubernetes::" in (read.provider or "") for read in reads), "the cluster's provider"


def test_the_wait_for_the_albs_address_is_bounded_and_says_where_to_look(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ingress_without_address_for(mocks, monkeypatch, reads=10_000)
    with caplog.at_level("INFO"):
        outputs = deploy(mocks)
    attempts = eks_backend.INGRESS_WAIT_SECONDS // eks_backend.INGRESS_POLL_SECONDS + 1

    assert outputs["url"] == ""
    assert len(mocks.of_type(INGRESS)) == attempts
    messages = [record.message for record in caplog.records]
    assert any("waiting for the load balancer controller" in message for message in messages), "progress"
    assert any("has no address after 300 s" in message and "kubectl" in message for message in messages)


def test_a_preview_reads_the_ingress_once_and_never_waits(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preview must stay quick: where the release is unchanged its Ingress is read (as before), once."""
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)  # what the backend asks; mocks keep real reads
    ingress_without_address_for(mocks, monkeypatch, reads=10_000)
    outputs = deploy(mocks)

    assert len(mocks.of_type(INGRESS)) == 1
    assert outputs["url"] == ""


def test_the_release_is_named_after_the_app_so_the_load_tests_find_its_hpa_whatever_the_component_is_called(
    mocks: RecordingMocks,
) -> None:
    outputs = deploy(mocks, component="platform", appName="shop-api")
    release = releases(mocks)["shop-api"]

    assert outputs["releaseName"] == "shop-api"
    assert release["values"]["fullnameOverride"] == "shop-api", "the HPA, Service and Ingress bear this name"


def test_the_kubeconfig_output_is_a_secret(mocks: RecordingMocks) -> None:
    secret = deploy(mocks)["kubeconfig is secret"]
    seen: list[bool] = []

    async def read() -> None:
        seen.append(await secret.is_secret())

    @pulumi.runtime.test
    def check() -> pulumi.Output[None]:
        return pulumi.Output.from_input(asyncio.ensure_future(read()))

    check()
    assert seen == [True]


CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0f5e9b7c-3a1d-4c2e-9d8f-1b2a3c4d5e6f"


def test_a_certificate_serves_https_on_the_name_it_covers(mocks: RecordingMocks) -> None:
    outputs = deploy(mocks, certificateArn=CERTIFICATE, hostname="API.example.com.")

    assert outputs["url"] == "https://api.example.com", "no certificate covers the ALB's own amazonaws.com name"
    assert outputs["albHostname"] == ALB_HOSTNAME, "where the name's DNS record must point"
    assert releases(mocks)["users-api"]["values"]["ingress"]["certificateArn"] == CERTIFICATE


def test_a_hostname_without_a_certificate_stays_http(mocks: RecordingMocks) -> None:
    assert deploy(mocks, hostname="api.example.com")["url"] == "http://api.example.com"


def test_a_certificate_without_the_name_it_covers_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^eks: certificateArn needs hostname") as failure:
        parse({"backend": "eks", "eks": {"certificateArn": CERTIFICATE}})

    assert "set hostname to it" in str(failure.value)


@pytest.mark.parametrize(
    "status",
    [None, {}, {"loadBalancer": {}}, {"loadBalancer": {"ingress": []}}, {"loadBalancer": {"ingress": [{"ip": ""}]}}],
)
def test_no_alb_yet_leaves_the_url_empty_for_make_address_to_explain(status: Any) -> None:
    assert alb_url(status, https=False) == ""


def test_without_a_region_the_backend_says_how_to_set_one(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")

    with pytest.raises(ConfigError, match="pulumi config set aws:region"):
        deploy(mocks)


# -- config ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "says", "key"),
    [
        ({"instanceTypes": "t3.medium,t4g.medium"}, "mixes arm64 (Graviton) and x86_64", "instanceTypes"),
        ({"instanceTypes": "large"}, "is not an EC2 instance type", "instanceTypes"),
        ({"publicAccessCidrs": "10.0.0.1/8"}, "is not an IPv4 CIDR block", "publicAccessCidrs"),
        ({"publicAccessCidrs": "none"}, "should have at least 1 item", "publicAccessCidrs"),
        ({"vpcCidr": "10.0.0.0/24"}, "must be a /16 to /20 block", "vpcCidr"),
        (
            {"logTypes": "api,kubelet"},
            "'api', 'audit', 'authenticator', 'controllerManager' or 'scheduler'",
            "logTypes",
        ),
        ({"kubernetesVersion": "1.29"}, "'1.33', '1.34' or '1.35'", "kubernetesVersion"),
        ({"natGateways": "three"}, "'single' or 'onePerAz'", "natGateways"),
        ({"availabilityZones": "1"}, "greater than or equal to 2", "availabilityZones"),
        ({"availabilityZones": "5"}, "less than or equal to 4", "availabilityZones"),
        ({"hostname": "not a name"}, "is not a DNS name", "hostname"),
        ({"clusterName": "-bad"}, "must be 1-100 letters", "clusterName"),
        ({"image": "https://registry/app"}, "is not an image reference", "image"),
        ({"certificateArn": "arn:aws:iam::1:cert/x"}, "is not an ACM certificate ARN", "certificateArn"),
    ],
)
def test_bad_eks_settings_are_named_with_the_fix(config: dict[str, str], says: str, key: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "eks", "eks": config})

    message = str(failure.value)
    assert message.startswith(f"eks.{key}=")
    assert says in message
    assert f"`pulumi config set --path eks.{key} " in message


@pytest.mark.parametrize(
    "config", [{"nodeMin": "3", "nodeMax": "2"}, {"nodeDesired": "9", "nodeMax": "4"}], ids=["min", "desired"]
)
def test_node_bounds_out_of_order_are_refused_naming_all_three(config: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^eks: the node group needs nodeMin <= nodeDesired <= nodeMax"):
        parse({"backend": "eks", "eks": config})


def test_eks_defaults_are_cheap_and_safe() -> None:
    settings = parse({"backend": "eks"}, stack="dev").settings_as(EksSettings)

    assert (settings.cluster_name, settings.kubernetes_version) == ("users-api-dev", "1.35")
    assert (settings.availability_zones, settings.nat_gateways) == (2, "single")
    assert (settings.node_min, settings.node_desired, settings.node_max) == (2, 2, 5)
    assert settings.instance_types == ("t3.medium",)
    assert settings.architecture == "x86_64"
    assert settings.log_types == ("api", "audit", "authenticator")


def test_the_alb_is_read_from_the_sdks_own_ingress_status_type() -> None:
    from pulumi_kubernetes.networking.v1 import outputs as networking

    status = networking.IngressStatus(
        load_balancer=networking.IngressLoadBalancerStatus(
            ingress=[networking.IngressLoadBalancerIngress(hostname=ALB_HOSTNAME)]
        )
    )

    assert alb_url(status, https=True) == f"https://{ALB_HOSTNAME}"
