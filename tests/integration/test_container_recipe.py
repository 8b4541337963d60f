"""The container's recipe without a Docker engine: the Dockerfile's install steps, then its CMD.

No Docker engine runs here, so this replays what app/Dockerfile does in a fresh
virtual environment: binary wheels only from app/requirements.txt, a regular
(not editable) install of the app, and gunicorn started exactly as the image's
CMD starts it. It catches what an editable install hides (package data left
out of the wheel) and proves SIGTERM ends every gunicorn process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from devtools.processes import REPO_ROOT, free_port, spawn, wait_for_http

pytestmark = pytest.mark.integration

APP = REPO_ROOT / "app"
DOCKERFILE = (APP / "Dockerfile").read_text()


def exec_form(instruction: str) -> list[str]:
    match = re.search(rf"^{instruction} (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert match, f"{instruction} must be in exec form (a JSON list), so that gunicorn is PID 1 and gets SIGTERM"
    command: list[str] = json.loads(match.group(1))
    return command


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert users, "the image must set USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_the_install_steps_build_a_working_server(tmp_path: Path, moto_server: str, names: tuple[str, str]) -> None:
    assert "pip install --only-binary=:all: --requirement requirements.txt" in DOCKERFILE
    assert "pip install --no-deps ." in DOCKERFILE
    venv = tmp_path / "venv"
    source = tmp_path / "src"
    shutil.copytree(APP, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--only-binary=:all:", "--requirement", "requirements.txt"], cwd=source, check=True)
    subprocess.run([*pip, "--no-deps", "."], cwd=source, check=True)

    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_WORKER_CONNECTIONS": "50",
        "AWS_REGION": "us-east-1",
        "DYNAMODB_TABLE": names[0],
        "S3_BUCKET": names[1],
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    command = exec_form("CMD")
    command[0] = str(venv / "bin" / command[0])
    server = spawn(command, env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", server, timeout=60)
        wait_for_http(f"http://127.0.0.1:{port}/openapi.json", server, timeout=10)
        workers = psutil.Process(server.pid).children()
        assert len(workers) == 2
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=40)
    assert exit_code == 0, "gunicorn drains and exits cleanly on SIGTERM"
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)
