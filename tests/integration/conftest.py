"""Integration fixtures: a real moto server process, reached over HTTP on a free port."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from devtools.resources import s3_client
from tests.support import REGION, settings
from users_api import create_app


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
