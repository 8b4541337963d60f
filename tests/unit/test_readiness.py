"""Readiness is cheap: never a Scan, and cached for a few seconds."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest

from tests.conftest import BUCKET, TABLE
from tests.support import REGION, settings
from users_api.aws import AwsClients, make_clients
from users_api.readiness import CACHE_SECONDS, Readiness


class CountingClients:
    """Real in-process moto clients that count the calls made through them."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        real = make_clients(settings(TABLE, BUCKET), probing=True)
        self.clients = cast(AwsClients, SimpleNamespace(dynamodb=self._wrap(real.dynamodb), s3=self._wrap(real.s3)))

    def _wrap(self, client: Any) -> Any:
        calls = self.calls

        class Counting:
            def __getattr__(self, name: str) -> Any:
                calls.append(name)
                return getattr(client, name)

        return Counting()


@pytest.fixture
def counting(mocked_aws: None) -> CountingClients:
    return CountingClients()


def test_checks_are_cached_for_a_few_seconds_and_never_scan(counting: CountingClients) -> None:
    now = [100.0]
    readiness = Readiness(lambda: counting.clients, TABLE, BUCKET, clock=lambda: now[0])

    assert readiness.check() == {"table": True, "bucket": True}
    now[0] += CACHE_SECONDS - 0.1
    readiness.check()
    assert counting.calls == ["get_item", "get_object"], "the second check came from the cache"

    now[0] += 0.2
    readiness.check()
    assert counting.calls == ["get_item", "get_object"] * 2
    assert "scan" not in counting.calls


def test_a_missing_bucket_is_not_ready(counting: CountingClients) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_bucket(Bucket=BUCKET)

    readiness = Readiness(lambda: counting.clients, TABLE, BUCKET)

    assert readiness.check() == {"table": True, "bucket": False}


def test_a_missing_table_is_not_ready(counting: CountingClients) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=TABLE)

    assert Readiness(lambda: counting.clients, TABLE, BUCKET).check() == {"table": False, "bucket": True}
