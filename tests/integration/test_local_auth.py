"""`make local AUTH=on` and `make token` for real: the README's authenticated curl lines against a running stack."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from devtools.processes import REPO_ROOT, free_port, port_in_use
from tests.integration.make import make, recipe_status, said
from tests.integration.output import ProcessOutput
from tests.support import image_bytes

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_with_auth() -> Iterator[tuple[subprocess.Popen[str], ProcessOutput, int, int]]:
    port, emulator_port, issuer_port = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "devtools.local_stack", "--port", str(port), "--emulator-port", str(emulator_port)),
            *("--workers", "1", "--auth", "on", "--issuer-port", str(issuer_port)),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, ProcessOutput(process), port, issuer_port
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _signup(base: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{base}/user",
        data={"name": "Test User", "email": "test-user@example.com"},
        files={"avatar": ("face.png", image_bytes(), "image/png")},
        headers=headers,
        timeout=30,
    )


def test_make_token_gives_a_token_the_local_stack_accepts_for_writes(
    stack_with_auth: tuple[subprocess.Popen[str], ProcessOutput, int, int],
) -> None:
    process, output, port, issuer_port = stack_with_auth
    lines = output.until("export TOKEN=", timeout=90)
    assert lines[-1].strip().startswith(f"export TOKEN=$(make token ISSUER_PORT={issuer_port})")
    base = f"http://127.0.0.1:{port}"

    token = make("token", f"ISSUER_PORT={issuer_port}").stdout.strip()
    read_only = make("token", f"ISSUER_PORT={issuer_port}", "SCOPE=users:read").stdout.strip()
    anonymous = _signup(base, {})
    without_scope = _signup(base, {"Authorization": f"Bearer {read_only}"})
    created = _signup(base, {"Authorization": f"Bearer {token}"})

    assert token.count(".") == 2, token
    assert (anonymous.status_code, without_scope.status_code, created.status_code) == (401, 403, 201)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert not port_in_use(issuer_port)


def test_make_token_without_a_running_issuer_says_how_to_start_one() -> None:
    issuer_port = free_port()

    result = make("token", f"ISSUER_PORT={issuer_port}")

    assert recipe_status(result.stderr) == 1, result.stderr
    [line] = said(result.stderr)
    assert f"no local issuer answers on 127.0.0.1:{issuer_port}" in line
    assert "make local AUTH=on" in line
    assert result.stdout == ""
