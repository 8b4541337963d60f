"""Fixtures for every layer. No test may reach real AWS: credentials are fake and scoped to the test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from devtools.processes import free_port, start_emulator, stop
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


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator's endpoint URL; one process for the session, a fresh table and bucket per test."""
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("ab")
    port = free_port()
    process = start_emulator(port, log=log)
    yield f"http://127.0.0.1:{port}"
    stop(process)
    log.close()


@pytest.fixture
def names(moto_server: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:12]
    table, bucket = f"users-{suffix}", f"avatars-{suffix}"
    create_resources(moto_server, REGION, table, bucket)
    return table, bucket
