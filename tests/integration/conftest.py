"""Integration fixtures: a real moto server process, reached over HTTP on a free port."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from devtools.processes import free_port, start_emulator, stop
from devtools.resources import create_resources, s3_client
from tests.support import REGION, settings
from users_api import create_app


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


@pytest.fixture
def server_app(moto_server: str, names: tuple[str, str]) -> Flask:
    return create_app(settings(*names, endpoint_url=moto_server))


@pytest.fixture
def bucket_keys_on_server(moto_server: str, names: tuple[str, str]) -> Callable[[], list[str]]:
    def keys() -> list[str]:
        listing = s3_client(moto_server, REGION).list_objects_v2(Bucket=names[1])
        return [item["Key"] for item in listing.get("Contents", [])]

    return keys


@pytest.fixture
def avatar_file() -> Path:
    return Path(__file__).resolve().parents[2] / "support" / "test-avatar.png"
