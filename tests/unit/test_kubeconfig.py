"""`make kubeconfig`: the eks stack's kubeconfig in a file only its owner can read, and the export line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import REPO_ROOT
from tests.unit.test_address import EKS_OUTPUTS, fake_pulumi


def kubeconfig(path: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.kubeconfig", *arguments],
        cwd=REPO_ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("existing_mode", [None, 0o644], ids=["new-file", "replaces-a-readable-file"])
def test_the_kubeconfig_is_written_private_and_the_export_line_printed(
    tmp_path: Path, existing_mode: int | None
) -> None:
    fake_pulumi(tmp_path, "prod", EKS_OUTPUTS)
    target = tmp_path / "out" / "prod.json"
    if existing_mode is not None:
        target.parent.mkdir()
        target.write_text("stale")
        target.chmod(existing_mode)

    result = kubeconfig(f"{tmp_path}{os.pathsep}/usr/bin:/bin", "--file", str(target))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"export KUBECONFIG={target}\n"
    assert target.read_text() == '{"apiVersion": "v1"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("outputs", "says"),
    [
        ('{"url": "http://192.168.49.2:30080", "backend": "minikube"}', "kubectl config use-context minikube"),
        ('{"url": "https://x.execute-api", "backend": "lambda"}', "only the eks backend exports one"),
        ("{}", "not deployed yet"),
    ],
)
def test_a_stack_without_a_kubeconfig_says_which_backend_it_is(tmp_path: Path, outputs: str, says: str) -> None:
    fake_pulumi(tmp_path, "dev", outputs)

    result = kubeconfig(f"{tmp_path}{os.pathsep}/usr/bin:/bin", "--file", str(tmp_path / "k.json"))

    assert result.returncode == 1
    assert result.stdout == ""
    assert says in result.stderr
    assert not (tmp_path / "k.json").exists()


def test_without_a_stack_it_says_how_to_select_one(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, None, "{}")

    result = kubeconfig(f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    assert result.returncode == 2
    assert "pulumi stack select" in result.stderr
