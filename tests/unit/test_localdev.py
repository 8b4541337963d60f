"""make localdev: the steps it takes, with fake minikube, docker and pulumi (none runs here)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from devtools import localdev
from devtools.processes import free_port


class FakeTools:
    """Answers like the real CLIs would and records every command."""

    def __init__(self, minikube_running: bool = True, stack_exists: bool = True) -> None:
        self.commands: list[list[str]] = []
        self.minikube_running, self.stack_exists = minikube_running, stack_exists

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        rest = command[1:]
        code, out = 0, ""
        if rest == ["status"]:
            code = 0 if self.minikube_running else 7
        elif rest == ["ip"]:
            out = "192.168.49.2\n"
        elif rest[:2] == ["stack", "select"] and not self.stack_exists:
            code = 255
        return subprocess.CompletedProcess(command, code, out, "")

    def ran(self, *words: str) -> bool:
        return any(command[1 : 1 + len(words)] == list(words) for command in self.commands)


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devtools.localdev.shutil.which", lambda tool: tool)


@pytest.fixture
def emulator_port() -> Iterator[int]:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        yield int(listening.getsockname()[1])


def test_one_step_configures_the_stack_builds_the_image_and_deploys(emulator_port: int) -> None:
    tools = FakeTools(stack_exists=False)

    localdev.localdev("minikube", emulator_port, run=tools)

    assert tools.ran("addons", "enable", "metrics-server")
    assert tools.ran("image", "build", "--tag", "flask-platform/users-api:dev", "app")
    assert tools.ran("stack", "init", "minikube")
    assert tools.ran("config", "set", "backend", "minikube")
    assert tools.ran("config", "set", "--path", "minikube.ip", "192.168.49.2")
    assert tools.ran(
        "config", "set", "--path", "minikube.emulatorUrlFromPods", f"http://host.minikube.internal:{emulator_port}"
    )
    assert tools.ran("config", "rm", "minikubeIp")  # an older stack's flat key, which the program now refuses
    assert tools.commands[-1] == ["pulumi", "up", "--yes"]
    assert not any(command[0] == "docker" for command in tools.commands), "an emulator already answers"


def test_with_no_emulator_localstack_4_14_is_started() -> None:
    tools = FakeTools()
    port = free_port()

    localdev.localdev("minikube", port, run=tools)

    (docker,) = [command for command in tools.commands if command[0] == "docker"]
    assert docker[-1] == "localstack/localstack:4.14.0"
    assert f"{port}:4566" in docker


@pytest.mark.parametrize(
    ("missing", "says"),
    [("minikube", "install it from"), ("pulumi", "install the Pulumi CLI")],
)
def test_a_missing_tool_is_named_with_where_to_get_it(monkeypatch: pytest.MonkeyPatch, missing: str, says: str) -> None:
    monkeypatch.setattr("devtools.localdev.shutil.which", lambda tool: None if tool == missing else tool)

    with pytest.raises(localdev.LocaldevError, match=says):
        localdev.localdev("minikube", 4566, run=FakeTools())


def test_a_stopped_minikube_says_how_to_start_it() -> None:
    with pytest.raises(localdev.LocaldevError, match="minikube start"):
        localdev.localdev("minikube", 4566, run=FakeTools(minikube_running=False))
