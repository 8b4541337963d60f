"""The reconciler: resolves pending avatars that no request resolved (see store.py and ARCHITECTURE.md).

For every object under ``avatars/`` tagged ``state=pending`` for longer than
``min_age_seconds``: when its owner (object metadata) is a user pointing at
it, the tags are removed (the user keeps its avatar); otherwise the object is
deleted. The age must exceed the longest time a request's write can still land:
AWS refuses a SigV4-signed request that reaches it more than 15 minutes after
its signing time (S3 answers RequestTimeTooSkewed; IAM's "Signing AWS API
requests": a request must reach AWS within five minutes of its time stamp, in
most cases), and the app signs each attempt within its request deadline. So
past 20 minutes the user item is final, and this decision cannot race a late write.

The deployed bucket has a lifecycle rule that expires pending objects after a
day (``backends/storage.py``); this job is what ``make local`` runs (moto does
not run lifecycle rules), and what finalises avatars whose user exists.

    python -m users_api.reconcile [--min-age SECONDS] [--every SECONDS]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients
from .store import AVATAR_PREFIX, OWNER_METADATA, PENDING, PENDING_SINCE_TAG, STATE_TAG, error_code, owner_from_metadata

log = logging.getLogger("users_api")

DEFAULT_MIN_AGE_SECONDS = 20 * 60
DEFAULT_EVERY_SECONDS = 60


@dataclass
class Outcome:
    finalised: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    too_young: list[str] = field(default_factory=list)


def reconcile(
    clients: AwsClients,
    table: str,
    bucket: str,
    min_age_seconds: float = DEFAULT_MIN_AGE_SECONDS,
    now: Callable[[], float] = time.time,
) -> Outcome:
    outcome = Outcome()
    s3 = clients.s3
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=AVATAR_PREFIX):
        for listed in page.get("Contents", []):
            key = listed["Key"]
            try:
                tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
            except ClientError as exc:
                if error_code(exc) in {"NoSuchKey", "404"}:
                    continue  # deleted since it was listed
                raise
            if tags.get(STATE_TAG) != PENDING:
                continue
            if now() - _pending_since(tags, listed["LastModified"]) < min_age_seconds:
                outcome.too_young.append(key)
                continue
            if _owner_points_at(clients, table, bucket, key):
                s3.delete_object_tagging(Bucket=bucket, Key=key)
                outcome.finalised.append(key)
                log.info("reconciler finalised a pending avatar", extra={"avatar_key": key})
            else:
                s3.delete_object(Bucket=bucket, Key=key)
                outcome.deleted.append(key)
                log.info("reconciler deleted a pending avatar no user points at", extra={"avatar_key": key})
    return outcome


def _pending_since(tags: dict[str, str], last_modified: datetime) -> float:
    raw = tags.get(PENDING_SINCE_TAG, "")
    return float(raw) if raw.isdigit() else last_modified.timestamp()


def _owner_points_at(clients: AwsClients, table: str, bucket: str, key: str) -> bool:
    try:
        metadata: dict[str, Any] = clients.s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
    except ClientError as exc:
        if error_code(exc) in {"NoSuchKey", "404"}:
            return False
        raise
    email = owner_from_metadata(metadata.get(OWNER_METADATA, ""))
    if not email:
        return False
    item = clients.dynamodb.get_item(TableName=table, Key={"email": {"S": email}}, ConsistentRead=True).get("Item")
    return item is not None and item.get("avatar_key", {}).get("S") == key


def main(argv: list[str] | None = None) -> int:
    from . import ConfigError, Settings
    from .aws import make_clients
    from .observability import configure_logging

    parser = argparse.ArgumentParser(prog="users_api.reconcile", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--min-age", type=float, default=DEFAULT_MIN_AGE_SECONDS, help="seconds pending before acting")
    parser.add_argument("--every", type=float, default=0, help="repeat every SECONDS until SIGTERM (0: once)")
    args = parser.parse_args(argv)
    if args.min_age < 0 or args.every < 0:
        parser.error("--min-age and --every take seconds, 0 or more")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"users_api.reconcile: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    clients = make_clients(settings)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            outcome = reconcile(clients, settings.table_name, settings.bucket_name, args.min_age)
            log.info(
                "reconciled",
                extra={
                    "finalised": len(outcome.finalised),
                    "deleted": len(outcome.deleted),
                    "pending_too_young": len(outcome.too_young),
                },
            )
        except (ClientError, BotoCoreError) as exc:
            log.warning("reconcile pass failed", extra={"aws_error": type(exc).__name__})
        if not args.every or stopping.wait(args.every):
            return 0


if __name__ == "__main__":
    sys.exit(main())
