"""A load test against a stack with authentication on: Locust sends LOCUST_AUTH_TOKEN with every request, the
sign-ups succeed, and the clean-up's deletes (authenticated too) leave no user behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.local_issuer import LocalIssuer, auth_environment
from devtools.processes import REPO_ROOT, free_port, gunicorn_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from tests.support import REGION

pytestmark = pytest.mark.integration


@pytest.fixture
def protected_server(moto_server: str, names: tuple[str, str]) -> Iterator[tuple[str, LocalIssuer]]:
    with LocalIssuer() as issuer:
        port = free_port()
        env = auth_environment(app_environment(moto_server, REGION, *names, log_level="WARNING"), issuer)
        server = spawn(gunicorn_command(port, workers=1), env=env)
        wait_for_http(f"http://127.0.0.1:{port}/readyz", server, timeout=60)
        yield f"http://127.0.0.1:{port}", issuer
        stop(server)


def test_a_smoke_run_with_a_token_signs_up_and_cleans_up(
    tmp_path: Path, protected_server: tuple[str, LocalIssuer]
) -> None:
    base, issuer = protected_server
    environment = {key: value for key, value in os.environ.items() if key != "HOST_ADDRESS"}
    environment.update(HOST_ADDRESS=base, LOCUST_AUTH_TOKEN=issuer.mint())

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.run",
            "--scenario",
            "smoke",
            "--time-scale",
            "0.2",
            "--results",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sign_ups,) = [e for e in json.loads((tmp_path / "locust.json").read_text()) if e["name"] == "POST /user"]
    assert sign_ups["num_requests"] > 0
    assert sign_ups["num_failures"] == 0
    assert requests.get(f"{base}/users", timeout=10).json() == [], "the clean-up's authenticated deletes ran"
