"""The Pulumi program under pulumi.runtime.set_mocks: no engine, no cloud; every resource is recorded."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest

warnings.filterwarnings("ignore", category=DeprecationWarning)

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    provider: str | None = None  # the provider reference (urn::id) managing it, when explicit


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs and adds the computed outputs the program reads (ARNs, names, URLs)."""

    resources: list[Recorded] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs), args.provider or None))
        physical = f"{args.name}-1a2b3c"
        state = dict(args.inputs)
        service = args.typ.split(":")[1].split("/")[0] if args.typ.count(":") >= 2 else "component"
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}")
        if args.typ == "aws:s3/bucket:Bucket":
            state.setdefault("bucket", physical)
            state["arn"] = f"arn:aws:s3:::{physical}"
        if args.typ in {"aws:dynamodb/table:Table", "aws:lambda/function:Function"}:
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
        return f"{physical}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.typ == typ]

    def one(self, typ: str) -> Recorded:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="flask-platform", stack="test", preview=False)
    return recording
