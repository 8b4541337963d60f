"""The Pulumi program under pulumi.runtime.set_mocks: no engine, no cloud; every resource is recorded."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
import pytest
from pulumi.runtime.proto import resource_pb2

warnings.filterwarnings("ignore", category=DeprecationWarning)

ACCOUNT = "123456789012"
REGION = "us-east-1"


OIDC_ISSUER = f"oidc.eks.{REGION}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ALB_HOSTNAME = f"k8s-usersapi-usersapi-0123456789-1234567890.{REGION}.elb.amazonaws.com"
IMAGE_DIGEST = "sha256:" + "ab" * 32
FARGATE_ALB_HOSTNAME = f"users-api-alb-1234567890.{REGION}.elb.amazonaws.com"
# What AWS gives the awsx and eks components (one resource each under mocks), as their real outputs are named.
MULTI_LANGUAGE_COMPONENTS: dict[str, dict[str, Any]] = {
    "awsx:ec2:Vpc": {
        "vpcId": "vpc-0a1b2c3d4e5f60718",
        "publicSubnetIds": ["subnet-0pub1", "subnet-0pub2"],
        "privateSubnetIds": ["subnet-0priv1", "subnet-0priv2"],
        "isolatedSubnetIds": [],
    },
    "eks:index:Cluster": {
        "kubeconfigJson": json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "users-api"}]}),
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_ISSUER}",
        "oidcIssuer": OIDC_ISSUER,
        "clusterSecurityGroupId": "sg-0cluster",
        "nodeSecurityGroupId": "sg-0nodes",
    },
    "eks:index:ManagedNodeGroup": {},
    # awsx's FargateService: its service and task definition are resource outputs (awsx/ecs/fargateService.ts),
    # which this mock monitor (no resource references) cannot send; the backend reads neither.
    "awsx:ecs:FargateService": {},
}
# Outputs AWS or Kubernetes compute for ordinary resources.
COMPUTED: dict[str, dict[str, Any]] = {
    "aws:ecr/repository:Repository": {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/users-api-app-1a2b3c",
        "registryId": ACCOUNT,
    },
    "aws:ec2/launchTemplate:LaunchTemplate": {"latestVersion": 1},
    "docker-build:index:Image": {"digest": IMAGE_DIGEST},
    "aws:lb/loadBalancer:LoadBalancer": {"dnsName": FARGATE_ALB_HOSTNAME},
    "kubernetes:networking.k8s.io/v1:Ingress": {"status": {"loadBalancer": {"ingress": [{"hostname": ALB_HOSTNAME}]}}},
}
CALLS: dict[str, dict[str, Any]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/sre",
        "id": ACCOUNT,
        "userId": "AIDAEXAMPLE",
    },
    "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
        "userName": "AWS",
        "password": "not-a-real-token",
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
    },
}


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    provider: str | None = None  # the provider reference (urn::id) managing it, when explicit
    outputs: dict[str, Any] = field(default_factory=dict)  # what the mock answered


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs and adds the computed outputs the program reads (ARNs, names, URLs)."""

    resources: list[Recorded] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        recorded = Recorded(args.typ, args.name, dict(args.inputs), args.provider or None)
        self.resources.append(recorded)
        physical = f"{args.name}-1a2b3c"
        if args.typ in MULTI_LANGUAGE_COMPONENTS:  # only their outputs: echoing inputs back crashes the SDK
            recorded.outputs = MULTI_LANGUAGE_COMPONENTS[args.typ]
            return f"{physical}-id", MULTI_LANGUAGE_COMPONENTS[args.typ]
        state = dict(args.inputs)
        service = args.typ.split(":")[1].split("/")[0] if args.typ.count(":") >= 2 else "component"
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}")
        if args.typ == "aws:s3/bucket:Bucket":
            state.setdefault("bucket", physical)
            state["arn"] = f"arn:aws:s3:::{physical}"
        if args.typ in {"aws:dynamodb/table:Table", "aws:lambda/function:Function", "aws:ecs/cluster:Cluster"}:
            state.setdefault("name", physical)
        if args.typ == "aws:cloudwatch/logGroup:LogGroup":
            state.setdefault("name", f"{args.inputs.get('namePrefix', '/aws/')}{physical}")
            state["arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{state['name']}"
        if args.typ == "aws:lambda/function:Function":
            state["invokeArn"] = (
                f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
            )
        if args.typ == "aws:apigatewayv2/api:Api":
            state["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api123"
            state["apiEndpoint"] = f"https://api123.execute-api.{REGION}.amazonaws.com"
        if args.typ == "aws:apigatewayv2/stage:Stage":
            state["invokeUrl"] = f"https://api123.execute-api.{REGION}.amazonaws.com/"
        state.update(COMPUTED.get(args.typ, {}))
        if args.typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{physical}"
        if args.typ == "aws:ecs/taskDefinition:TaskDefinition":  # a family's revision, as ECS names it
            state["arn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{args.inputs.get('family', physical)}:1"
        recorded.outputs = state
        return (args.resource_id or f"{physical}-id"), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return dict(CALLS.get(args.token, {})), []  # no check failures (None is not accepted here)

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.typ == typ]

    def one_named(self, typ: str, name: str) -> dict[str, Any]:
        """The inputs of the resource of this type and logical name, plus the arn the mock gave it."""
        found = [resource for resource in self.of_type(typ) if resource.name == name]
        assert len(found) == 1, f"expected one {typ} named {name}, got {[r.name for r in self.of_type(typ)]}"
        return {**found[0].inputs, "arn": found[0].outputs.get("arn")}

    def one(self, typ: str) -> Recorded:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


class _MonitorWithoutResourceReferences(pulumi.runtime.mocks.MockMonitor):
    """The SDK's mock monitor, told that it does not take resource references: a resource passed as an input
    (eks.ManagedNodeGroup's cluster and node_role) is then sent as its ID or URN. With references on, the mock
    monitor rebuilds such resources on its own thread's event loop, which the program's loop cannot await."""

    def SupportsFeature(self, request: Any) -> Any:
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)  # type: ignore[no-untyped-call]

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)  # type: ignore[no-untyped-call]
        info.supportedFeatures.remove(resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES)
        return info


RecordingOf = TypeVar("RecordingOf", bound=RecordingMocks)


def install_mocks(monkeypatch: pytest.MonkeyPatch, recording: RecordingOf) -> RecordingOf:
    """Run the Pulumi program under ``recording`` (a RecordingMocks, or a subclass that computes the outputs of
    resource types this one does not know): what the ``mocks`` fixture does, for a backend package's own fixture."""
    monkeypatch.setattr(pulumi.runtime.mocks, "MockMonitor", _MonitorWithoutResourceReferences)
    pulumi.runtime.set_mocks(recording, project="flask-platform", stack="test", preview=False)
    return recording


@pytest.fixture
def mocks(monkeypatch: pytest.MonkeyPatch) -> RecordingMocks:
    return install_mocks(monkeypatch, RecordingMocks())


def stack_config(config: dict[str, Any]) -> None:
    """Set the stack's config as `pulumi config set` stores it: strings, and a backend's object as JSON."""
    pulumi.runtime.set_all_config(
        {
            f"flask-platform:{key}": json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in config.items()
        }
    )
