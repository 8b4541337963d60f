"""Failures of the real emulator: down, back again, a table that vanished mid-request."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from devtools.processes import free_port, start_emulator, stop
from devtools.resources import create_resources, dynamodb_client
from tests.support import REGION, settings, signup_form
from users_api import create_app

pytestmark = pytest.mark.integration

TABLE, BUCKET = "users", "avatars"


@pytest.fixture
def own_emulator() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """An emulator this test may kill and restart on the same port."""
    port = free_port()
    processes = [start_emulator(port)]
    create_resources(f"http://127.0.0.1:{port}", REGION, TABLE, BUCKET)
    yield port, processes
    for process in processes:
        stop(process)


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_emulator_down_is_a_503_and_the_app_recovers_when_it_is_back(
    own_emulator: tuple[int, list[subprocess.Popen[bytes]]],
) -> None:
    port, processes = own_emulator
    endpoint = f"http://127.0.0.1:{port}"
    client = create_app(settings(TABLE, BUCKET, endpoint_url=endpoint)).test_client()
    assert client.get("/users").status_code == 200

    stop(processes[0])
    down = client.get("/users")
    not_ready = client.get("/readyz")

    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.get_json()["error"]["code"] == "dependency_unavailable"
    assert not_ready.status_code == 503
    assert not_ready.get_json()["checks"] == {"table": "unreachable", "bucket": "unreachable"}
    assert client.get("/livez").status_code == 200, "the process survives"

    processes.append(start_emulator(port))
    create_resources(endpoint, REGION, TABLE, BUCKET)  # moto keeps no state across restarts

    assert client.get("/users").status_code == 200
    assert wait_until(lambda: client.get("/readyz").status_code == 200), "readiness recovers after its cache expires"


def test_a_table_that_is_gone_is_a_503_and_the_upload_is_rolled_back(
    server_app: Flask, moto_server: str, names: tuple[str, str], bucket_keys_on_server: Callable[[], list[str]]
) -> None:
    dynamodb_client(moto_server, REGION).delete_table(TableName=names[0])

    response = server_app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 503
    assert bucket_keys_on_server() == []
