"""make localdev: the steps it takes, with fake minikube, docker and pulumi (none runs here) and fake emulators.

The fake minikube answers as v1.38.1 does (tests/unit/minikube_cli.py). The fake LocalStack answers
``/_localstack/health`` with the services map its docs describe ("checks the available and running AWS services");
anything else on the port answers 404 there and on moto's ``/moto-api/``. moto server itself, real, is in
tests/integration/test_localdev_emulator.py.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.plugin import context_digest
from devtools import localdev
from devtools.emulator_probe import LOCALSTACK_HEALTH as LOCALSTACK_PATH
from devtools.emulator_probe import Emulator, EmulatorError
from devtools.minikube_profile import ProfileError, start_command
from devtools.processes import free_port
from tests.unit.minikube_cli import NODE_IPS, profile_list, write_fake_minikube

real_app_answers = localdev.app_answers
real_which = shutil.which  # the autouse fixture below replaces it

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
        pulumi_backend: str | None = "file://~",
        bound: str = "",
        daemon_info: dict[str, Any] | None = None,
        config: dict[str, str] | None = None,
        network: str | None = None,
    ) -> None:
        self.bound = bound  # `docker port <profile> <port>/tcp`'s stdout; "" = "no public port ..." (exit 1)
        self.daemon_info = daemon_info or {"OperatingSystem": "Ubuntu 24.04 LTS", "SecurityOptions": []}
        self.config = config or {}
        self.commands: list[list[str]] = []
        self.options: list[dict[str, Any]] = []  # each command's keyword arguments (capture, stdin)
        self.pulumi_backend = pulumi_backend  # None: not logged in
        self.minikube_running, self.stack_exists = minikube_running, stack_exists
        self.profiles = profile_list(driver, name=profile, ports=ports, cpus=cpus, network=network)
        self.driver, self.from_node, self.profile = driver, from_node, profile

    def __call__(self, command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        self.options.append(options)
        rest = command[1:]
        code, out, err = 0, "", ""
        if rest[:2] == ["-p", self.profile]:
            rest = rest[2:]
        if rest[:1] == ["whoami"]:
            if self.pulumi_backend is None:  # pulumi/pulumi#3202: what a first-time user sees without a terminal
                code, err = (
                    255,
                    "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions\n",
                )
            else:  # pkg/cmd/pulumi/whoami: whoAmIJSON
                out = json.dumps({"user": "dev", "organizations": [], "url": self.pulumi_backend})
        elif rest[:1] == ["port"]:  # docker port: "0.0.0.0:30080" lines, or "Error: No public port ..." and exit 1
            code, out = (0, self.bound) if self.bound else (1, "")
        elif rest[:3] == ["system", "info", "--format"]:
            out = json.dumps(self.daemon_info)
        elif rest == ["status"]:
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
            key = rest[-1]
            code, out = (0, self.config[key]) if key in self.config else (255, "")  # unset: "error: ... not found"
        return subprocess.CompletedProcess(command, code, out, err)

    def options_of(self, *words: str) -> dict[str, Any]:
        (found,) = [
            o for c, o in zip(self.commands, self.options, strict=True) if tuple(c[1 : 1 + len(words)]) == words
        ]
        return found

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
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "local-dev")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr("devtools.localdev.app_answers", lambda url: True)  # the real probe: tests below


def test_pulumi_not_logged_in_is_refused_before_anything_is_created(localstack_port: int) -> None:
    tools = FakeTools(pulumi_backend=None)

    with pytest.raises(
        localdev.LocaldevError, match=r"not logged in \(error: PULUMI_ACCESS_TOKEN .*pulumi login --local"
    ):
        localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert tools.commands == [["pulumi", "whoami", "--json", "--non-interactive"]], "nothing else ran"


@pytest.mark.parametrize(
    ("pulumi_script", "says"),
    [
        pytest.param(
            'echo "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions" >&2; exit 255',
            "pulumi login --local",
            id="not-logged-in",
        ),
        pytest.param(
            """echo '{"user": "dev", "organizations": [], "url": "file://~"}'""",
            "export PULUMI_CONFIG_PASSPHRASE=...",
            id="local-backend-no-passphrase",
        ),
    ],
)
def test_make_localdevs_check_step_refuses_a_pulumi_that_cannot_run_unattended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pulumi_script: str, says: str
) -> None:
    monkeypatch.setattr("devtools.localdev.shutil.which", real_which)  # the fakes below, found on PATH
    write_fake_minikube(tmp_path, "docker")
    pulumi = tmp_path / "pulumi"
    pulumi.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path / "pulumi.log"}"\n{pulumi_script}\n')
    pulumi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")

    assert localdev.main(["--check"]) == 2

    assert says in capsys.readouterr().err
    assert (tmp_path / "pulumi.log").read_text() == "whoami --json --non-interactive\n", "nothing else was asked"


@pytest.mark.parametrize("backend", ["file://~", "file:///srv/state", "s3://team-state"])
def test_a_diy_backend_without_a_passphrase_is_refused_with_the_export(
    localstack_port: int, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    tools = FakeTools(pulumi_backend=backend)

    with pytest.raises(localdev.LocaldevError, match=r"export PULUMI_CONFIG_PASSPHRASE=\.\.\."):
        localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert not tools.ran("stack", "select")


@pytest.mark.parametrize(
    ("backend", "variable"),
    [
        ("https://api.pulumi.com", None),  # Pulumi Cloud: its own secrets provider
        ("file://~", "PULUMI_CONFIG_PASSPHRASE_FILE"),
        ("file://~", "PULUMI_CONFIG_PASSPHRASE"),  # set, even empty: a valid passphrase
    ],
)
def test_a_backend_that_can_encrypt_without_a_terminal_goes_ahead(
    localstack_port: int, monkeypatch: pytest.MonkeyPatch, backend: str, variable: str | None
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    if variable:
        monkeypatch.setenv(variable, "")
    tools = FakeTools(pulumi_backend=backend)

    localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert tools.ran("up", "--yes", "--refresh")


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
    assert not any(command[:2] == ["docker", "run"] for command in tools.commands), "an emulator already answers"


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
    ("driver", "system", "bound", "host"),
    [  # `docker port`'s output: one <ip>:<port> line per binding, IPv4 and IPv6 for an all-interfaces one
        pytest.param("docker", "darwin", "127.0.0.1:30080\n", "127.0.0.1", id="docker-macos-published"),
        pytest.param("docker", "windows", "0.0.0.0:30080\n[::]:30080\n", "127.0.0.1", id="docker-windows-all"),
        pytest.param("podman", "wsl", "127.0.0.1:30080\n", "127.0.0.1", id="podman-wsl-published"),
        pytest.param("hyperkit", "darwin", "", "192.168.64.5", id="hyperkit-macos-node-ip"),
        pytest.param("qemu2", "darwin", "", "192.168.105.2", id="qemu-macos-node-ip"),
    ],
)
def test_the_url_is_an_address_this_machine_reaches_on_each_driver(
    localstack_port: int, driver: str, system: str, bound: str, host: str
) -> None:
    tools = FakeTools(driver=driver, bound=bound)

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


def test_ports_recorded_on_an_existing_cluster_but_not_bound_are_refused_with_delete_first(
    localstack_port: int,
) -> None:
    # `minikube start --ports=...` on an existing profile: in ExposedPorts (start_flags.go:879), not in docker's -p
    tools = FakeTools(driver="docker", ports=("127.0.0.1:30080:30080",), bound="")

    with pytest.raises(ProfileError) as refused:
        localdev.localdev("minikube", localstack_port, run=tools, system="darwin")

    assert tools.ran("port", "minikube", "30080/tcp")
    assert "recorded, never published" in str(refused.value)
    assert "minikube -p minikube delete && minikube start" in str(refused.value)
    assert not tools.ran("up", "--yes", "--refresh")


@pytest.mark.parametrize(
    ("daemon_info", "environ", "why"),
    [  # `docker system info --format '{{json .}}'` fields minikube reads (pkg/drivers/kic/oci/info.go)
        ({"OperatingSystem": "Docker Desktop", "SecurityOptions": ["name=seccomp,profile=unconfined"]}, {}, "desktop"),
        ({"OperatingSystem": "Ubuntu 24.04 LTS", "SecurityOptions": ["name=seccomp", "name=rootless"]}, {}, "rootless"),
        (
            {"OperatingSystem": "Ubuntu 24.04 LTS", "SecurityOptions": []},
            {"DOCKER_HOST": "tcp://10.0.0.5:2376"},
            "remote",
        ),
    ],
)
def test_linux_docker_that_hides_the_node_ip_uses_the_published_port_or_is_refused(
    localstack_port: int,
    monkeypatch: pytest.MonkeyPatch,
    daemon_info: dict[str, Any],
    environ: dict[str, str],
    why: str,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    published = FakeTools(driver="docker", bound="127.0.0.1:30080\n", daemon_info=daemon_info)
    localdev.localdev("minikube", localstack_port, run=published, system="linux")
    assert published.config_set("minikube.ip") == "127.0.0.1", why

    with pytest.raises(ProfileError, match=r"--driver=docker --ports=127.0.0.1:30080:30080"):
        localdev.localdev(
            "minikube", localstack_port, run=FakeTools(driver="docker", daemon_info=daemon_info), system="linux"
        )


@pytest.mark.parametrize("network", ["builtin", "user"])
def test_qemu_on_its_builtin_network_is_refused_naming_socket_vmnet(localstack_port: int, network: str) -> None:
    tools = FakeTools(driver="qemu2", network=network)

    with pytest.raises(ProfileError) as refused:
        localdev.localdev("minikube", localstack_port, run=tools, system="darwin")

    assert "--driver=qemu2 --network socket_vmnet" in str(refused.value)
    assert "--driver=vfkit" in str(refused.value)
    assert "--driver=docker --ports=127.0.0.1:30080:30080" in str(refused.value)
    assert not any("build" in command or "stack" in command for command in tools.commands), "refused at step 1"


def test_linux_docker_engine_keeps_the_node_ip_even_with_a_unix_docker_host(
    localstack_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/docker.sock")
    tools = FakeTools(driver="docker")

    localdev.localdev("minikube", localstack_port, run=tools, system="linux")

    assert tools.config_set("minikube.ip") == "192.168.49.2"
    assert not tools.ran("port", "minikube", "30080/tcp")


def test_an_address_that_does_not_answer_after_pulumi_up_names_delete_and_ports(
    localstack_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    nothing_there = free_port()
    monkeypatch.setattr("devtools.localdev.app_answers", lambda url: real_app_answers(url, attempts=2, pause=0.1))
    tools = FakeTools(
        driver="docker", bound=f"127.0.0.1:{nothing_there}\n", config={"minikube.nodePort": str(nothing_there)}
    )

    with pytest.raises(localdev.LocaldevError) as refused:
        localdev.localdev("minikube", localstack_port, run=tools, system="darwin")

    assert tools.ran("up", "--yes", "--refresh")
    assert f"http://127.0.0.1:{nothing_there}/livez does not answer" in str(refused.value)
    assert (
        f"minikube delete -p minikube && minikube start --cpus 4 --memory 6g --driver=docker "
        f"--ports=127.0.0.1:{nothing_there}:{nothing_there}" in str(refused.value)
    )


def test_an_address_whose_livez_answers_is_reported_up(
    localstack_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("devtools.localdev.app_answers", lambda url: real_app_answers(url, attempts=2, pause=0.1))
    for app_port in serve({"/livez": (200, b'{"status": "ok"}')}):
        tools = FakeTools(driver="docker", bound=f"127.0.0.1:{app_port}\n", config={"minikube.nodePort": str(app_port)})
        localdev.localdev("minikube", localstack_port, run=tools, system="darwin")

    assert f"The app is up at http://127.0.0.1:{app_port}" in capsys.readouterr().out


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

    (docker,) = [command for command in tools.commands if command[:2] == ["docker", "run"]]
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


def test_minikube_ssh_gets_no_terminal_and_long_commands_stream_their_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = FakeTools()
    port = free_port()
    monkeypatch.setattr("devtools.localdev.wait_for_emulator", lambda _port: Emulator("LocalStack", LOCALSTACK_PATH))

    localdev.localdev("minikube", port, run=tools, system="linux")

    assert tools.options_of("-p", "minikube", "ssh", "--")["stdin"] is subprocess.DEVNULL
    for long_running in (("run", "--detach"), ("-p", "minikube", "image", "build")):  # an image pull, a build
        options = tools.options_of(*long_running)
        assert "capture_output" not in options, f"{long_running} is shown as it runs"
        assert "stdout" not in options


def test_a_failed_command_shows_the_end_of_what_it_said_not_just_its_last_line() -> None:
    stderr = "\n".join(f"line {number}" for number in range(1, 31))
    failure = subprocess.CalledProcessError(255, ["pulumi", "config", "set", "backend", "minikube"], "", stderr)

    message = localdev.failure_message(failure)

    assert message.startswith("make localdev: `pulumi config set backend minikube` failed (exit code 255):")
    assert message.splitlines()[1:] == [f"  line {number}" for number in range(16, 31)]
    streamed = subprocess.CalledProcessError(1, ["minikube", "image", "build"])
    assert localdev.failure_message(streamed).endswith("its output is above)")
