"""boto3 clients, created once per process (they are thread-safe; sessions are not shared)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from .config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# Requests served by the API: a few quick retries, never the 60 s botocore defaults.
SERVING = {"connect_timeout": 2.0, "read_timeout": 5.0, "max_attempts": 3}
# Readiness probes must answer fast and must not retry: the caller polls again anyway.
PROBING = {"connect_timeout": 1.0, "read_timeout": 1.0, "max_attempts": 1}


@dataclass(frozen=True)
class AwsClients:
    dynamodb: DynamoDBClient
    s3: S3Client


def make_clients(settings: Settings, *, probing: bool = False, session: boto3.Session | None = None) -> AwsClients:
    profile = PROBING if probing else SERVING
    config = Config(
        region_name=settings.region,
        connect_timeout=profile["connect_timeout"],
        read_timeout=profile["read_timeout"],
        retries={"mode": "standard", "total_max_attempts": int(profile["max_attempts"])},
        max_pool_connections=32,
    )
    s3_config = config.merge(
        Config(
            # SigV4 presigned URLs (X-Amz-Expires), valid in every region.
            signature_version="s3v4",
            # Emulators (moto, LocalStack) answer on one host name: virtual-hosted buckets would not resolve.
            s3={"addressing_style": "path"} if settings.endpoint_url else {},
        )
    )
    session = session or boto3.Session()
    return AwsClients(
        dynamodb=session.client("dynamodb", endpoint_url=settings.endpoint_url, config=config),
        s3=session.client("s3", endpoint_url=settings.endpoint_url, config=s3_config),
    )
