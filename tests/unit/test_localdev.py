"""make localdev: the steps it takes, with fake minikube, docker and pulumi (none runs here) and fake emulators.

The fake minikube answers as v1.38.1 does (tests/unit/minikube_cli.py). The fake LocalStack answers
``/_localstack/health`` with the services map its docs describe ("checks the available and running AWS services");
anything else on the port answers 404 there and on moto's ``/moto-api/``. moto server itself, real, is in
tests/integration/test_localdev_emulator.py.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from backends.plugin import context_digest
from devtools import localdev
from devtools.emulator_probe import LOCALSTACK_HEALTH as LOCALSTACK_PATH
from devtools.emulator_probe import Emulator, EmulatorError
from devtools.minikube_profile import ProfileError, start_command
from devtools.processes import free_port
from tests.unit.minikube_cli import NODE_IPS, profile_list

LOCALSTACK_HEALTH = {
    "services": {"dynamodb": "available", "s3": "running", "sqs": "available"},
    "edition": "community",
    "version": "4.14.0",
}


class FakeTools:
    """Answers like the real CLIs would and records every command."""

    def __init__(
        self,
        minikube_running: bool = True,
        stack_exists: bool = True,
        driver: str = "docker",
        ports: tuple[str, ...] = (),
        cpus: int = 4,
        from_node: str = "200",
        profile: str = "minikube",
    ) -> None:
        self.commands: list[list[str]] = []
        self.minikube_running, self.stack_exists = minikube_running, stack_exists
        self.profiles = profile_list(driver, name=profile, ports=ports, cpus=cpus)
        self.driver, self.from_node, self.profile = driver, from_node, profile

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        rest = command[1:]
        code, out = 0, ""
        if rest[:2] == ["-p", self.profile]:
            rest = rest[2:]
        if rest == ["status"]:
            code = 0 if self.minikube_running else 7
        elif rest == ["profile", "list", "-o", "json"]:
            out = self.profiles
        elif rest == ["ip"]:
            out = NODE_IPS[self.driver] + "\n"
        elif rest[:2] == ["ssh", "--"]:
            out = self.from_node
        elif rest[:2] == ["stack", "select"] and not self.stack_exists:
            code = 255
        elif rest[:2] == ["config", "get"]:
            code = 255  # `pulumi config get` of an unset key: "error: configuration key ... not found"
        return subprocess.CompletedProcess(command, code, out, "")

    def ran(self, *words: str) -> bool:
        return any(words == tuple(command[1 : 1 + len(words)]) for command in self.commands)

    def config_set(self, key: str) -> str:
        (value,) = [c[-1] for c in self.commands if c[1:4] == ["config", "set", "--path"] and c[4] == key]
        return value


def serve(routes: dict[str, tuple[int, bytes]]) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def localstack_port() -> Iterator[int]:
    yield from serve({"/_localstack/health": (200, json.dumps(LOCALSTACK_HEALTH).encode())})


@pytest.fixture
def not_an_emulator_port() -> Iterator[int]:
    yield from serve({"/": (200, b"<html>some dev server</html>")})


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devtools.localdev.shutil.which", lambda tool: tool)


def test_one_step_configures_the_stack_builds_the_image_and_deploys(localstack_port: int) -> None:
    tools = FakeTools(stack_exists=False)

    localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert tools.ran("-p", "minikube", "addons", "enable", "metrics-server")
    assert tools.ran("stack", "init", "minikube")
    assert tools.ran("config", "set", "backend", "minikube")
    assert tools.config_set("minikube.ip") == "192.168.49.2"  # docker on Linux: the node IP answers
    assert tools.config_set("minikube.context") == "minikube"
    assert tools.config_set("minikube.emulatorUrlFromPods") == f"http://host.minikube.internal:{localstack_port}"
    assert tools.ran("config", "rm", "minikubeIp")  # an older stack's flat key, which the program now refuses
    assert not any(command[0] == "docker" for command in tools.commands), "an emulator already answers"


def test_the_image_is_tagged_with_the_apps_content_digest_not_dev(localstack_port: int) -> None:
    tools = FakeTools()

    localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    (build,) = [command for command in tools.commands if "build" in command]
    assert build[1:] == [
        "-p",
        "minikube",
        "image",
        "build",
        "--tag",
        f"flask-platform/users-api:{context_digest()}",
        "app",
    ]


def test_a_rerun_refreshes_so_what_an_emulator_restart_lost_is_created_again(localstack_port: int) -> None:
    tools = FakeTools()

    localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert tools.commands[-1] == ["pulumi", "up", "--yes", "--refresh"]


def test_a_non_default_profile_is_used_for_every_minikube_command_and_is_the_stacks_context(
    localstack_port: int,
) -> None:
    tools = FakeTools(profile="lab")

    localdev.localdev("minikube", localstack_port, profile="lab", run=tools, system="linux")

    minikube_commands = [c for c in tools.commands if c[0] == "minikube" and c[1:] != ["profile", "list", "-o", "json"]]
    assert minikube_commands
    assert all(command[1:3] == ["-p", "lab"] for command in minikube_commands)
    assert tools.config_set("minikube.context") == "lab"


@pytest.mark.parametrize(
    ("driver", "system", "ports", "host"),
    [
        pytest.param("docker", "darwin", ("127.0.0.1:30080:30080",), "127.0.0.1", id="docker-macos-published"),
        pytest.param("docker", "windows", ("30080:30080",), "127.0.0.1", id="docker-windows-published-all"),
        pytest.param("podman", "wsl", ("127.0.0.1:30080:30080/tcp",), "127.0.0.1", id="podman-wsl-published"),
        pytest.param("hyperkit", "darwin", (), "192.168.64.5", id="hyperkit-macos-node-ip"),
        pytest.param("qemu2", "darwin", (), "192.168.105.2", id="qemu-macos-node-ip"),
    ],
)
def test_the_url_is_an_address_this_machine_reaches_on_each_driver(
    localstack_port: int, driver: str, system: str, ports: tuple[str, ...], host: str
) -> None:
    tools = FakeTools(driver=driver, ports=ports)

    localdev.localdev("minikube", localstack_port, run=tools, system=system)

    assert tools.config_set("minikube.ip") == host


@pytest.mark.parametrize("system", ["darwin", "windows", "wsl"])
def test_docker_driver_without_a_published_port_is_refused_with_both_fixes(localstack_port: int, system: str) -> None:
    tools = FakeTools(driver="docker", ports=("127.0.0.1:8080:8080",))

    with pytest.raises(ProfileError) as refused:
        localdev.localdev("minikube", localstack_port, run=tools, system=system)

    assert "minikube -p minikube service -n users-api users-api --url" in str(refused.value)
    assert "--driver=docker --ports=127.0.0.1:30080:30080" in str(refused.value)
    assert not tools.ran("up", "--yes", "--refresh")


def test_something_that_is_not_an_emulator_on_the_port_is_refused(not_an_emulator_port: int) -> None:
    tools = FakeTools()

    with pytest.raises(EmulatorError, match=r"is not an AWS emulator .* EMULATOR_PORT="):
        localdev.localdev("minikube", not_an_emulator_port, run=tools, system="linux")

    assert not tools.ran("stack", "select"), "nothing is created in a process the pods cannot reach"


def test_an_emulator_the_pods_cannot_reach_is_refused_with_the_fix(localstack_port: int) -> None:
    tools = FakeTools(from_node="000")  # curl from the node: no connection (it listens on 127.0.0.1 only)

    with pytest.raises(EmulatorError, match="answers on this machine but not from Minikube"):
        localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert not tools.ran("up", "--yes", "--refresh")


def test_localstack_without_dynamodb_or_s3_is_refused() -> None:
    health = {**LOCALSTACK_HEALTH, "services": {"dynamodb": "disabled", "s3": "running"}}
    for port in serve({"/_localstack/health": (200, json.dumps(health).encode())}):
        with pytest.raises(EmulatorError, match="does not offer dynamodb"):
            localdev.localdev("minikube", port, run=FakeTools(), system="linux")


def test_too_few_cpus_for_the_hpas_maximum_is_warned_with_the_documented_start(
    localstack_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    localdev.localdev("minikube", localstack_port, run=FakeTools(cpus=2), system="linux")

    assert "has 2 CPUs" in capsys.readouterr().err
    assert "minikube start --cpus 4 --memory 6g" in start_command("minikube", 30080, "linux", "docker")


def test_with_no_emulator_localstack_4_14_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = FakeTools()
    port = free_port()
    monkeypatch.setattr("devtools.localdev.wait_for_emulator", lambda _port: Emulator("LocalStack", LOCALSTACK_PATH))

    localdev.localdev("minikube", port, run=tools, system="linux")

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
