"""The local Lambda front over real HTTP: the exact Lambda code path, with API Gateway's limits."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from devtools.processes import free_port, lambda_front_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from tests.support import REGION

pytestmark = pytest.mark.integration

Start = Callable[..., str]


@pytest.fixture
def start_front(moto_server: str, names: tuple[str, str]) -> Iterator[Start]:
    """Starts the front with the given timeout; returns its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(timeout_seconds: float = 15.0) -> str:
        port = free_port()
        env = app_environment(moto_server, REGION, *names, log_level="WARNING", trusted_proxies=1)
        env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # as make local sets it
        process = spawn(lambda_front_command(port, timeout_seconds), env=env)
        started.append(process)
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        stop(process)


def test_the_readme_commands_work_through_the_lambda_handler(start_front: Start, avatar_file: Path) -> None:
    base = start_front()

    with avatar_file.open("rb") as avatar:
        created = requests.post(
            f"{base}/user",
            data={"name": "Test User", "email": "test-user@example.com"},
            files={"avatar": ("test-avatar.png", avatar, "image/png")},
            timeout=30,
        )
    listed = requests.get(f"{base}/users", timeout=30)
    redirect = requests.get(f"{base}/users/test-user@example.com/avatar", allow_redirects=False, timeout=30)

    assert created.status_code == 201, created.text
    assert created.json()["avatar_url"] == f"{base}/users/test-user@example.com/avatar"
    assert [user["email"] for user in listed.json()] == ["test-user@example.com"]
    assert listed.headers["Server-Timing"].startswith("app;dur=")
    assert redirect.status_code == 302
    assert requests.get(redirect.headers["Location"], timeout=30).content.startswith(b"\x89PNG")


@pytest.mark.parametrize("megabytes", [7, 11])
def test_a_body_past_the_payload_limits_gets_api_gateways_413(start_front: Start, megabytes: int) -> None:
    base = start_front()

    response = requests.post(
        f"{base}/user",
        files={"avatar": ("big.png", b"\x89PNG" + b"0" * (megabytes * 1024 * 1024), "image/png")},
        data={"name": "Big", "email": "big@example.com"},
        timeout=60,
    )

    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}, "API Gateway's answer, not the app's"


def test_a_handler_past_the_function_timeout_gets_a_503(start_front: Start) -> None:
    base = start_front(timeout_seconds=0.001)

    response = requests.get(f"{base}/users", timeout=30)

    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}
