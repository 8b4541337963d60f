"""`make minikube-image`: the image built into Minikube, or one line saying what is missing and where to get it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from backends.plugin import context_digest
from tests.integration.make import make, recipe_status, said, user_environment

pytestmark = pytest.mark.integration

MINIKUBE_STATES = {  # what a fake `minikube status` answers
    "missing": None,
    "stopped": 7,  # the real CLI's code for a stopped host
    "running": 0,
}


def path_with(folder: Path, minikube_status: int | None) -> str:
    """A PATH holding bash (the Makefile's shell) and, unless None, a fake `minikube` that logs its arguments."""
    (folder / "bash").symlink_to(shutil.which("bash") or "/bin/bash")
    if minikube_status is not None:
        script = folder / "minikube"
        script.write_text(
            f'#!{shutil.which("sh") or "/bin/sh"}\necho "$@" >> {folder / "minikube.log"}\n'
            f'[ "$3" = status ] && exit {minikube_status}\nexit 0\n'
        )
        script.chmod(0o755)
    return str(folder)


def minikube_image(folder: Path, state: str) -> tuple[int | None, list[str], list[str]]:
    """(make's recipe status, the stderr lines, the minikube commands run) for `make minikube-image`."""
    env = {**user_environment(), "PATH": path_with(folder, MINIKUBE_STATES[state])}
    result = make("minikube-image", f"PYTHON={sys.executable}", env=env)
    log = folder / "minikube.log"
    return recipe_status(result.stderr), said(result.stderr), log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("missing", "minikube is not on PATH: install it from https://minikube.sigs.k8s.io/docs/start/"),
        ("stopped", "Minikube profile 'minikube' is not running: start it with `minikube start --cpus 4 --memory 6g`"),
    ],
)
def test_without_a_running_minikube_it_says_what_is_missing_and_how_to_get_it(
    tmp_path: Path, state: str, says: str
) -> None:
    status, lines, commands = minikube_image(tmp_path, state)

    assert status == 2
    assert lines == [f"make minikube-image: {says}"]
    assert not any("image build" in command for command in commands), "no build was attempted"


def test_with_minikube_running_it_builds_the_app_image_into_it(tmp_path: Path) -> None:
    status, lines, commands = minikube_image(tmp_path, "running")

    assert status is None, lines
    assert commands[-1] == f"-p minikube image build --tag flask-platform/users-api:{context_digest()} app"


def test_a_non_default_profile_is_built_into(tmp_path: Path) -> None:
    env = {**user_environment(), "PATH": path_with(tmp_path, MINIKUBE_STATES["running"])}

    result = make("minikube-image", f"PYTHON={sys.executable}", "MINIKUBE_PROFILE=lab", env=env)

    assert recipe_status(result.stderr) is None, said(result.stderr)
    commands = (tmp_path / "minikube.log").read_text().splitlines()
    assert commands[0] == "-p lab status"
    assert commands[-1].startswith("-p lab image build --tag flask-platform/users-api:")


@pytest.mark.parametrize("state", ["missing", "stopped"])
def test_make_localdev_says_what_is_missing_before_installing_the_toolchain(tmp_path: Path, state: str) -> None:
    venv = tmp_path / "venv"
    env = {**user_environment(), "PATH": path_with(tmp_path, MINIKUBE_STATES[state])}

    result = make("localdev", f"PYTHON={sys.executable}", f"VENV={venv}", env=env)

    assert recipe_status(result.stderr) == 2
    assert said(result.stderr)[0].startswith("make localdev: ")
    assert "inikube" in said(result.stderr)[0]
    assert not venv.exists(), "nothing was installed for a command that cannot run"
