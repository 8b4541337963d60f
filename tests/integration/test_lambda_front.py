"""The local Lambda front over real HTTP: the exact Lambda code path, with API Gateway's limits."""

from __future__ import annotations

import json
import socket
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


def raw_exchange(base: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes on a real socket; return the status line, the headers and the body of the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"NONSENSE\r\n\r\n", 400, "bad_request"),
        (b"GET /users HTTP/1.x\r\n\r\n", 400, "bad_request"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "request_uri_too_long"),
        (b"GET /users HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(101)) + b"\r\n", 431, None),
        (b"GET /users HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431, None),
        (b"GET /users HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"),
    ],
)
def test_the_servers_own_errors_come_in_the_apis_json_shape_with_a_request_id(
    start_front: Start, request_bytes: bytes, status: int, code: str | None
) -> None:
    """Item 12 of issue 11: werkzeug's server (Python's http.server underneath) answered these with an HTML page."""
    status_line, headers, body = raw_exchange(start_front(), request_bytes)

    assert status_line.split()[1] == str(status)
    assert headers["content-type"] == "application/json"
    assert len(headers["x-request-id"]) == 32
    assert headers["x-content-type-options"] == "nosniff"
    error = json.loads(body)["error"]
    assert error["code"] == (code or "request_header_fields_too_large")
    assert "a" * 100 not in error["message"]
    assert "NONSENSE" not in error["message"]
