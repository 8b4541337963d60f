"""gunicorn with the container's settings, as a real process, where the root filesystem cannot be written.

In the pod the root filesystem is read-only and HOME (/nonexistent) cannot be created; only /tmp is writable.
gunicorn 25.1+ opens a control socket under $HOME/.gunicorn/ unless told not to, and logs a failure when it
cannot: the settings must not ask for anything outside /tmp.
"""

from __future__ import annotations

import os
import subprocess
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
        gunicorn_command(port, workers=2, threads=1),
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
    assert created.json()["avatar_url"].startswith(f"http://127.0.0.1:{port}/")
    assert created.headers["Location"].startswith("http://")
