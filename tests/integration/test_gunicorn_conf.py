"""gunicorn with the container's settings, as a real process, where the root filesystem cannot be written.

In the pod the root filesystem is read-only and HOME (/nonexistent) cannot be created; only /tmp is writable.
gunicorn 25.1+ opens a control socket under $HOME/.gunicorn/ unless told not to, and logs a failure when it
cannot: the settings must not ask for anything outside /tmp.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools.processes import REPO_ROOT, free_port, gunicorn_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from tests.support import REGION, image_bytes

pytestmark = pytest.mark.integration


def test_gunicorn_writes_nothing_under_an_unwritable_home_and_logs_no_control_socket_error(tmp_path: Path) -> None:
    # A HOME whose subdirectories cannot be created, even by root (these tests may run as root, where a mode of
    # 0o555 stops nothing): a regular file where the directory would be.
    home = tmp_path / "home"
    home.write_text("not a directory\n")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "XDG_RUNTIME_DIR"}
    env |= {
        "HOME": str(home),
        "AWS_REGION": "us-east-1",
        "DYNAMODB_TABLE": "users",
        "S3_BUCKET": "avatars",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    process = subprocess.Popen(
        gunicorn_command(port, workers=2),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, "gunicorn exited at start"
            assert time.monotonic() < deadline, "gunicorn did not answer /livez within 30 s"
            time.sleep(0.2)
        time.sleep(1)  # both workers spawned
    finally:
        process.terminate()
        log, _ = process.communicate(timeout=60)

    # gunicorn 27 logs "Control server error: [Errno 20] Not a directory: '<HOME>/.gunicorn'" (and on a read-only
    # root filesystem, "[Errno 30] Read-only file system") from the control socket's thread.
    assert "control server" not in log.lower(), log
    assert ".gunicorn" not in log, log
    assert "[ERROR]" not in log, log


def test_gunicorn_does_not_let_a_local_client_forge_the_scheme(moto_server: str, names: tuple[str, str]) -> None:
    """Item 8: with TRUSTED_PROXIES=0 nobody's X-Forwarded-Proto counts, not even a peer on 127.0.0.1."""
    port = free_port()
    process = spawn(gunicorn_command(port), env=app_environment(moto_server, REGION, *names, trusted_proxies=0))
    try:
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        created = requests.post(
            f"http://127.0.0.1:{port}/user",
            data={"name": "Forger", "email": "forger@example.com"},
            files={"avatar": ("a.png", image_bytes(), "image/png")},
            headers={"X-Forwarded-Proto": "https"},
            timeout=30,
        )
    finally:
        stop(process)

    assert created.status_code == 201, created.text
    assert created.json()["avatar_url"] == "/users/forger@example.com/avatar"  # no PUBLIC_URL: relative
    assert created.headers["Location"] == "/users/forger@example.com"


def test_a_forged_host_never_reaches_the_apis_own_urls(moto_server: str, names: tuple[str, str]) -> None:
    """Item 8: over a real socket, a client's Host is not the API's name: PUBLIC_URL is."""
    port = free_port()
    env = {**app_environment(moto_server, REGION, *names, trusted_proxies=0), "PUBLIC_URL": "https://api.example.com"}
    process = spawn(gunicorn_command(port), env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        forged = {"Host": "evil.example"}
        created = requests.post(
            f"http://127.0.0.1:{port}/user",
            data={"name": "Forger", "email": "host@example.com"},
            files={"avatar": ("a.png", image_bytes(), "image/png")},
            headers=forged,
            timeout=30,
        )
        docs = requests.get(f"http://127.0.0.1:{port}/docs", headers=forged, allow_redirects=False, timeout=30)
    finally:
        stop(process)

    assert created.status_code == 201, created.text
    assert created.json()["avatar_url"] == "https://api.example.com/users/host@example.com/avatar"
    assert created.headers["Location"] == "https://api.example.com/users/host@example.com"
    assert docs.headers["Location"] == "https://api.example.com/docs/"


@pytest.mark.parametrize(
    ("deadline", "graceful", "refused"),
    [("25", None, True), ("24", None, False), ("12", "12", True), ("11", "12", False)],
)
def test_gunicorn_refuses_a_request_deadline_that_outlasts_its_graceful_drain(
    deadline: str, graceful: str | None, refused: bool
) -> None:
    """A request still running at SIGTERM must end within the drain: the master stops at start, with one line."""
    env = {
        **os.environ,
        "AWS_REGION": "us-east-1",
        "DYNAMODB_TABLE": "users",
        "S3_BUCKET": "avatars",
        "REQUEST_DEADLINE_SECONDS": deadline,
    }
    env.pop("GUNICORN_GRACEFUL_TIMEOUT", None)
    if graceful:
        env["GUNICORN_GRACEFUL_TIMEOUT"] = graceful
    # on_starting is gunicorn's first hook in the master: run it as gunicorn would, in a fresh interpreter.
    result = subprocess.run(
        [sys.executable, "-c", "from users_api import gunicorn_conf; gunicorn_conf.on_starting(None)"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    if refused:
        assert result.returncode == 2
        assert f"REQUEST_DEADLINE_SECONDS={deadline} is not below gunicorn's graceful timeout" in result.stderr
        assert f"at most {int(graceful or 25) - 1}" in result.stderr
    else:
        assert (result.returncode, result.stderr) == (0, "")
