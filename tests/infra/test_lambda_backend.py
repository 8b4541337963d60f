"""The lambda backend and the shared storage, under Pulumi mocks: the wiring, resource by resource."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from backends.config import parse
from backends.settings import app_setting_keys
from backends.storage import PENDING_AVATAR_TAG
from tests.infra.conftest import ACCOUNT, REGION, RecordingMocks
from users_api.store import PENDING, STATE_TAG

lambda_backend = importlib.import_module("backends.lambda")
package = importlib.import_module("backends.lambda.package")

TAGGABLE = {
    "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:iam/role:Role",
    "aws:lambda/function:Function",
    "aws:apigatewayv2/api:Api",
    "aws:apigatewayv2/stage:Stage",
}
NOT_TAGGABLE = {
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/route:Route",
    "aws:lambda/permission:Permission",
}
COMPONENTS = {"flask-platform:backends:Lambda", "flask-platform:storage:Storage"}


def fake_package(spec: Any) -> Any:
    return package.Package(Path("users-api.zip"), 1234, "c2hhMjU2", True)


def deploy(mocks: RecordingMocks, **config: str) -> dict[str, Any]:
    """Build the backend under mocks from app settings (logLevel) and its own (memoryMb); return its outputs."""
    app = {key: value for key, value in config.items() if key in app_setting_keys()}
    own = {key: value for key, value in config.items() if key not in app}
    spec = parse({"backend": "lambda", **app, "lambda": own}, stack="test")
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        backend = lambda_backend.Backend("users-api", spec, packager=fake_package)
        outputs = backend.deployment.outputs()
        return pulumi.Output.all(**outputs).apply(resolved.update)

    run()
    return resolved


@pytest.fixture
def outputs(mocks: RecordingMocks) -> dict[str, Any]:
    return deploy(mocks)


def test_the_users_table_is_on_demand_keyed_by_email_recoverable_and_encrypted(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    table = mocks.one("aws:dynamodb/table:Table").inputs

    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "email"
    assert table["attributes"] == [{"name": "email", "type": "S"}]
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}
    assert table["deletionProtectionEnabled"] is True


def test_the_bucket_blocks_all_four_public_access_paths(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs

    assert {key: block[key] for key in block if key != "bucket"} == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def test_the_bucket_is_owner_enforced_encrypted_and_drops_incomplete_uploads(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    ownership = mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    encryption = mocks.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs
    lifecycle = mocks.one(LIFECYCLE).inputs

    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert lifecycle["rules"][0]["status"] == "Enabled"
    assert lifecycle["rules"][0]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_the_bucket_expires_pending_avatars_after_a_day(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    """The app tags an avatar state=pending until its user is confirmed (issue 11): unresolved ones expire."""
    rules = {rule["id"]: rule for rule in mocks.one(LIFECYCLE).inputs["rules"]}

    assert rules["expire-pending-avatars"] == {
        "id": "expire-pending-avatars",
        "status": "Enabled",
        "filter": {"and": {"prefix": "avatars/", "tags": {"state": "pending"}}},
        "expiration": {"days": 1},
    }
    assert (STATE_TAG, PENDING) == PENDING_AVATAR_TAG, "the tag the app writes is the one the rule matches"


def test_the_bucket_policy_denies_every_request_without_tls(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    bucket_arn = f"arn:aws:s3:::{outputs['bucketName']}"
    policy = json.loads(mocks.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])

    assert policy["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_the_function_role_may_do_exactly_what_the_app_does(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    log_group = next(
        group for group in mocks.of_type("aws:cloudwatch/logGroup:LogGroup") if group.name == "users-api-function-logs"
    )
    log_group_arn = (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group.inputs['namePrefix']}users-api-function-logs-1a2b3c"
    )
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:users-api-users-1a2b3c"
    bucket_arn = f"arn:aws:s3:::{outputs['bucketName']}"
    policy = json.loads(mocks.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    trust = json.loads(mocks.one("aws:iam/role:Role").inputs["assumeRolePolicy"])

    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
            },
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
                "Resource": f"{bucket_arn}/avatars/*",
            },
        ],
    }
    for statement in policy["Statement"]:
        assert "*" not in statement["Action"]
        assert statement["Resource"] != "*"
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_the_function_runs_the_handler_with_its_settings_and_no_reserved_variables(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    function = mocks.one("aws:lambda/function:Function").inputs
    variables = function["environment"]["variables"]

    assert function["handler"] == "users_api.lambda_handler.handler"
    assert (function["runtime"], function["architectures"]) == ("python3.12", ["arm64"])
    assert (function["memorySize"], function["timeout"]) == (512, 15)
    assert function["reservedConcurrentExecutions"] == -1
    assert function["sourceCodeHash"] == "c2hhMjU2"
    assert set(variables) == {"DYNAMODB_TABLE", "S3_BUCKET", "TRUSTED_PROXIES"}  # the app keeps its own defaults
    assert variables["DYNAMODB_TABLE"] == outputs["tableName"]
    assert not any(name.startswith("AWS_") for name in variables)
    assert function["loggingConfig"]["logGroup"] == outputs["functionLogGroup"]


def test_the_http_api_uses_payload_2_and_the_default_stage(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    integration = mocks.one("aws:apigatewayv2/integration:Integration").inputs
    route = mocks.one("aws:apigatewayv2/route:Route").inputs
    stage = mocks.one("aws:apigatewayv2/stage:Stage").inputs
    access_logs = next(
        group
        for group in mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
        if group.name == "users-api-api-access-logs"
    )

    assert (integration["integrationType"], integration["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration["timeoutMilliseconds"] == 16_000
    assert route["routeKey"] == "$default"
    assert route["target"].startswith("integrations/")
    assert (stage["name"], stage["autoDeploy"]) == ("$default", True)
    assert stage["defaultRouteSettings"] == {"throttlingBurstLimit": 200, "throttlingRateLimit": 100.0}
    assert stage["accessLogSettings"]["destinationArn"].endswith(
        access_logs.inputs["namePrefix"] + "users-api-api-access-logs-1a2b3c"
    )
    assert json.loads(stage["accessLogSettings"]["format"])["status"] == "$context.status"


def test_only_this_api_may_invoke_the_function(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    permission = mocks.one("aws:lambda/permission:Permission").inputs

    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"] == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api123/*/*"


def test_both_log_groups_keep_logs_for_the_configured_days(mocks: RecordingMocks) -> None:
    deploy(mocks, logRetentionDays="30")

    groups = mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 2
    assert {group.inputs["retentionInDays"] for group in groups} == {30}


def test_every_taggable_resource_carries_the_common_tags(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    expected = {
        "project": "flask-platform",
        "app": "users-api",
        "stack": "test",
        "backend": "lambda",
        "managed-by": "pulumi",
    }
    types = {resource.typ for resource in mocks.resources}

    assert types <= TAGGABLE | NOT_TAGGABLE | COMPONENTS, "classify every new resource type here"
    for resource in mocks.resources:
        if resource.typ in TAGGABLE:
            assert resource.inputs.get("tags") == expected, resource.name


def test_the_outputs_fill_the_contract(outputs: dict[str, Any]) -> None:
    assert {"url", "backend", "tableName", "bucketName", "scaling"} <= set(outputs)
    assert outputs["url"] == f"https://api123.execute-api.{REGION}.amazonaws.com"
    assert outputs["backend"] == "lambda"
    assert outputs["scaling"]["kind"] == "lambda"
    assert outputs["functionName"]


def test_the_app_settings_the_user_set_reach_the_function(mocks: RecordingMocks) -> None:
    deploy(mocks, maxAvatarBytes="1048576", logLevel="warning")
    variables = mocks.one("aws:lambda/function:Function").inputs["environment"]["variables"]

    assert (variables["MAX_AVATAR_BYTES"], variables["LOG_LEVEL"]) == ("1048576", "WARNING")


def test_reserved_concurrency_reaches_the_function_and_the_scaling_output(mocks: RecordingMocks) -> None:
    outputs = deploy(mocks, reservedConcurrency="50", architecture="x86_64")

    function = mocks.one("aws:lambda/function:Function").inputs
    assert function["reservedConcurrentExecutions"] == 50
    assert function["architectures"] == ["x86_64"]
    assert outputs["scaling"]["reservedConcurrency"] == 50
    assert outputs["scaling"]["architecture"] == "x86_64"  # the load tests' cost model prices by architecture


def test_reserved_concurrency_past_a_default_accounts_ceiling_deploys_with_a_note(
    mocks: RecordingMocks, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"):
        deploy(mocks, reservedConcurrency="1500")

    assert mocks.one("aws:lambda/function:Function").inputs["reservedConcurrentExecutions"] == 1500
    assert any("needs an account concurrency quota of at least 1600" in record.message for record in caplog.records)


def test_deletion_protection_off_lets_destroy_empty_the_bucket(mocks: RecordingMocks) -> None:
    deploy(mocks, deletionProtection="false")

    assert mocks.one("aws:dynamodb/table:Table").inputs["deletionProtectionEnabled"] is False
    assert mocks.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is True
