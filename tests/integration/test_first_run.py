"""A newcomer's first `make local`: a fresh virtual environment with only the app and its emulator, then serving.

Runs the real Makefile with ``VENV`` pointing at an empty folder, so the install step runs as on a fresh
clone (pip's cache, if any, still helps). The time and size are printed for the record, never asserted:
machines and networks differ.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools.processes import REPO_ROOT, free_port
from tests.integration.make import ctrl_c, start_in_terminal
from tests.integration.output import ProcessOutput

pytestmark = pytest.mark.integration

# The whole toolchain: none of it may be needed to serve the API.
NOT_NEEDED_TO_SERVE = ("pulumi", "pulumi_aws", "locust", "matplotlib", "helm_python", "kubernetes_validate", "mypy")


def folder_megabytes(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


@pytest.mark.timeout(900)
def test_the_first_make_local_installs_only_what_serves_the_api(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    port, emulator_port = free_port(), free_port()
    started = time.monotonic()
    process = start_in_terminal(
        "local", f"VENV={venv}", f"PORT={port}", f"EMULATOR_PORT={emulator_port}", f"PYTHON={sys.executable}"
    )
    output = ProcessOutput(process)
    try:
        output.line_starting("export HOST_ADDRESS=", timeout=600)
        seconds = time.monotonic() - started
        base = f"http://127.0.0.1:{port}"
        with (REPO_ROOT / "support" / "avatar.jpg").open("rb") as avatar:
            created = requests.post(
                f"{base}/user",
                data={"name": "First Run", "email": "first-run@example.com"},
                files={"avatar": ("avatar.jpg", avatar, "image/jpeg")},
                timeout=60,
            )
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.lower()
    finally:
        ctrl_c(process)
        process.wait(timeout=60)

    print(f"\nfirst make local: {seconds:.0f} s to serving, .venv {folder_megabytes(venv):.0f} MB")
    assert created.status_code == 201, created.text
    names = {line.split("==")[0].replace("-", "_") for line in installed.splitlines()}
    assert "moto" in names
    assert "gunicorn" in names
    assert names.isdisjoint(NOT_NEEDED_TO_SERVE), names & set(NOT_NEEDED_TO_SERVE)
    assert "stopped: every process make local started has exited." in output.rest(timeout=30)
