"""Readiness: are the table and the bucket reachable? Cheap calls, cached for a few seconds.

Never a Scan. The probe clients do not retry and time out in a second, so a
dependency that is down makes /readyz answer 503 quickly instead of hanging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients
from .store import AVATAR_PREFIX, error_code

CACHE_SECONDS = 5.0
PROBE_KEY = f"{AVATAR_PREFIX}readiness-probe"


class Readiness:
    def __init__(
        self,
        clients_factory: Callable[[], AwsClients],
        table: str,
        bucket: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients_factory = clients_factory
        self._clients: AwsClients | None = None
        self._table = table
        self._bucket = bucket
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._result: dict[str, bool] = {}

    def check(self) -> dict[str, bool]:
        """{"table": ok, "bucket": ok}, at most CACHE_SECONDS old."""
        with self._lock:
            now = self._clock()
            if now - self._checked_at >= CACHE_SECONDS:
                if self._clients is None:  # made on first use: keeps them off the start-up path
                    self._clients = self._clients_factory()
                self._result = {"table": self._table_ok(self._clients), "bucket": self._bucket_ok(self._clients)}
                self._checked_at = now
            return dict(self._result)

    def _table_ok(self, clients: AwsClients) -> bool:
        """A GetItem of a key that never exists: cheap, and allowed by the app's own IAM policy."""
        try:
            clients.dynamodb.get_item(TableName=self._table, Key={"email": {"S": "readiness-probe"}})
        except (ClientError, BotoCoreError):
            return False
        return True

    def _bucket_ok(self, clients: AwsClients) -> bool:
        """A GET of a missing key under the avatar prefix.

        NoSuchKey (or AccessDenied, which S3 answers instead when the role may
        not list the bucket) proves the bucket exists; NoSuchBucket or no
        answer does not. Needs no permission beyond the app's own.
        """
        try:
            clients.s3.get_object(Bucket=self._bucket, Key=PROBE_KEY)
        except ClientError as exc:
            return error_code(exc) in {"NoSuchKey", "AccessDenied"}
        except BotoCoreError:
            return False
        return True
