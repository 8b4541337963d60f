"""The users table and avatar bucket, created in an AWS emulator with the key schema the infrastructure uses.

The deployed table is made by the platform (backends/storage.py): partition key
``email`` (string), on-demand billing, encryption. Keep the two in step.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

USERS_TABLE_KEY = "email"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def app_environment(
    endpoint_url: str, region: str, table: str, bucket: str, log_level: str = "INFO", trusted_proxies: int = 0
) -> dict[str, str]:
    """This process's environment, minus any real AWS settings, plus the app's configuration on the emulator."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(EMULATOR_CREDENTIALS)
    env.update(
        AWS_REGION=region,
        AWS_ENDPOINT_URL=endpoint_url,
        DYNAMODB_TABLE=table,
        S3_BUCKET=bucket,
        LOG_LEVEL=log_level,
        TRUSTED_PROXIES=str(trusted_proxies),  # 0: nothing stands in front of the app on this machine
    )
    return env


def _client_options(endpoint_url: str | None, region: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint_url,
        "region_name": region,
        "aws_access_key_id": EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "config": Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    }


def dynamodb_client(endpoint_url: str | None, region: str) -> DynamoDBClient:
    return boto3.client("dynamodb", **_client_options(endpoint_url, region))


def s3_client(endpoint_url: str | None, region: str) -> S3Client:
    return boto3.client("s3", **_client_options(endpoint_url, region))


def create_users_table(endpoint_url: str | None, region: str, table: str) -> None:
    dynamodb = dynamodb_client(endpoint_url, region)
    try:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": USERS_TABLE_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": USERS_TABLE_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def create_avatar_bucket(endpoint_url: str | None, region: str, bucket: str) -> None:
    s3 = s3_client(endpoint_url, region)
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item,unused-ignore]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def create_resources(endpoint_url: str | None, region: str, table: str, bucket: str) -> None:
    """Idempotent: an existing table or bucket is kept."""
    create_users_table(endpoint_url, region, table)
    create_avatar_bucket(endpoint_url, region, bucket)
