"""The AWS clients: the fast Scan path gives exactly what botocore's own parser gives."""

from __future__ import annotations

from typing import Any

import boto3

from tests.conftest import BUCKET, TABLE
from tests.support import REGION, settings
from users_api.aws import make_clients

ITEM: dict[str, Any] = {
    "email": {"S": "types@example.com"},
    "name": {"S": "Ünïcode “quoted” name"},
    "age": {"N": "42.50"},
    "verified": {"BOOL": True},
    "nothing": {"NULL": True},
    "tags": {"SS": ["a", "b"]},
    "scores": {"NS": ["1", "2.5"]},
    "profile": {"M": {"city": {"S": "Oslo"}, "langs": {"L": [{"S": "no"}, {"N": "7"}]}}},
}


def test_scanned_items_equal_botocores_own_parse_for_every_non_binary_type(mocked_aws: None) -> None:
    plain = boto3.client("dynamodb", region_name=REGION)
    for i in range(5):
        plain.put_item(TableName=TABLE, Item={**ITEM, "email": {"S": f"types{i}@example.com"}})
    fast = make_clients(settings(TABLE, BUCKET)).dynamodb

    ours = fast.scan(TableName=TABLE, Limit=3)
    theirs = plain.scan(TableName=TABLE, Limit=3)

    assert ours["Items"] == theirs["Items"]
    assert ours["LastEvaluatedKey"] == theirs["LastEvaluatedKey"]
    assert ours["Count"] == theirs["Count"] == 3


def test_the_s3_client_is_made_on_first_use_only(mocked_aws: None) -> None:
    clients = make_clients(settings(TABLE, BUCKET))

    assert clients._s3 is None
    assert clients.s3 is clients.s3
    assert clients.s3.meta.config.signature_version == "s3v4"  # type: ignore[attr-defined]
