"""Fixtures for every layer. No test may reach real AWS: credentials are fake and scoped to the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from devtools.resources import create_resources
from tests.support import REGION, settings
from users_api import create_app

TABLE = "users"
BUCKET = "users-avatars"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    """In-process moto with the users table and avatar bucket, for fast unit tests."""
    with mock_aws():
        create_resources(None, REGION, TABLE, BUCKET)
        yield


@pytest.fixture
def app(mocked_aws: None) -> Flask:
    return create_app(settings(TABLE, BUCKET))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def bucket_keys(mocked_aws: None) -> Callable[[], list[str]]:
    """A callable listing the avatar bucket's keys, to prove nothing is orphaned."""

    def keys() -> list[str]:
        listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
        return [item["Key"] for item in listing.get("Contents", [])]

    return keys
