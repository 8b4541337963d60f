"""`make address`: the selected stack's url output, else the local address, else a clear message."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.processes import REPO_ROOT
from tests.unit.minikube_cli import write_fake_minikube


def fake_pulumi(folder: Path, stack: str | None, outputs: str) -> None:
    """A `pulumi` on PATH that answers `stack --show-name` and `stack output --json` like the real CLI."""
    script = folder / "pulumi"
    show_name = f'echo "{stack}"' if stack else 'echo "error: no stack selected" >&2; exit 255'
    script.write_text('#!/bin/sh\nif [ "$2" = "--show-name" ]; then ' + show_name + f"; exit 0; fi\necho '{outputs}'\n")
    script.chmod(0o755)


def address(path: str, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": path, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "devtools.address", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_pulumi_the_local_address_is_printed(tmp_path: Path) -> None:
    result = address(str(tmp_path), "--port", "5123")

    assert result.returncode == 0
    assert result.stdout == "export HOST_ADDRESS=http://127.0.0.1:5123\n"
    assert "make local" in result.stderr, "nothing listens there: say how to start it"


def test_the_selected_stacks_url_output_is_printed(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, "dev", '{"url": "https://abc.execute-api.eu-west-1.amazonaws.com", "backend": "lambda"}')

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    assert result.stdout == "export HOST_ADDRESS=https://abc.execute-api.eu-west-1.amazonaws.com\n"


def test_a_plugin_backends_url_output_is_printed_like_any_other(tmp_path: Path) -> None:
    """make address reads only the core outputs: a fargate stack (a plugin package) needs nothing of its own."""
    fake_pulumi(tmp_path, "fargate-dev", '{"url": "http://users-api-alb-1.elb.amazonaws.com", "backend": "fargate"}')

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    assert result.stdout == "export HOST_ADDRESS=http://users-api-alb-1.elb.amazonaws.com\n"


def test_with_no_stack_selected_the_local_address_is_printed(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, None, "{}")

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    assert result.stdout == "export HOST_ADDRESS=http://127.0.0.1:5000\n"
    assert "no Pulumi stack selected" in result.stderr, "said whether or not make local is running"


def test_a_running_make_local_is_reported_as_answering(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        result = address(str(tmp_path), "--port", str(port))

    assert result.stdout == f"export HOST_ADDRESS=http://127.0.0.1:{port}\n"
    assert "answers there" in result.stderr


def test_a_stack_without_a_url_yet_says_so(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, "dev", '{"backend": "lambda"}')

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    assert result.returncode != 0
    assert result.stdout == ""
    assert "has no `url` output yet" in result.stderr
    assert "a few minutes" in result.stderr


@pytest.mark.parametrize("port", ["0", "http", "99999", "５０００"])
def test_a_bad_port_is_refused(tmp_path: Path, port: str) -> None:
    result = address(str(tmp_path), "--port", port)

    assert result.returncode == 2
    assert "is not a TCP port" in result.stderr


MINIKUBE_OUTPUTS = (
    '{{"url": "{url}", "backend": "minikube", "nodePort": 30080, "kubeContext": "{profile}", '
    '"namespace": "users-api", "releaseName": "users-api"}}'
)
NOT_WSL = {"WSL_DISTRO_NAME": "", "WSLPATH": ""}


@pytest.mark.parametrize(
    ("driver", "profile", "bound", "env", "expected"),
    [
        pytest.param("docker", "minikube", "", NOT_WSL, "http://192.168.49.2:30080", id="docker-linux-node-ip"),
        pytest.param("qemu2", "lab", "", NOT_WSL, "http://192.168.105.2:30080", id="vm-driver-profile-lab"),
        pytest.param(
            "docker",
            "minikube",
            "127.0.0.1:30080\n",
            {"WSL_DISTRO_NAME": "Ubuntu"},
            "http://127.0.0.1:30080",
            id="docker-wsl-published-port",
        ),
        pytest.param(
            "docker",
            "lab",
            "0.0.0.0:30080\n[::]:30080\n",
            {**NOT_WSL, "DOCKER_HOST": "ssh://me@builder"},
            "http://127.0.0.1:30080",
            id="docker-remote-daemon-published-port",
        ),
    ],
)
def test_a_minikube_stack_is_reached_where_this_machine_reaches_its_node_port(
    tmp_path: Path, driver: str, profile: str, bound: str, env: dict[str, str], expected: str
) -> None:
    fake_pulumi(tmp_path, "minikube", MINIKUBE_OUTPUTS.format(url="http://10.0.0.9:30080", profile=profile))
    write_fake_minikube(tmp_path, driver, name=profile, bound=bound)

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin", env=env)

    assert result.stdout == f"export HOST_ADDRESS={expected}\n", result.stderr


def test_docker_driver_on_wsl_without_a_published_port_names_both_fixes(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, "minikube", MINIKUBE_OUTPUTS.format(url="http://192.168.49.2:30080", profile="minikube"))
    write_fake_minikube(tmp_path, "docker")

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin", env={"WSL_DISTRO_NAME": "Ubuntu"})

    assert result.returncode == 1
    assert result.stdout == "", "not the node IP, which does not answer from here"
    assert "minikube -p minikube service -n users-api users-api --url" in result.stderr
    assert "--ports=127.0.0.1:30080:30080" in result.stderr


def test_ports_in_the_profile_that_docker_does_not_bind_are_not_trusted(tmp_path: Path) -> None:
    # --ports given to `minikube start` on an existing profile: recorded in ExposedPorts, never published
    fake_pulumi(tmp_path, "minikube", MINIKUBE_OUTPUTS.format(url="http://192.168.49.2:30080", profile="minikube"))
    write_fake_minikube(tmp_path, "docker", ports=("127.0.0.1:30080:30080",), bound="")

    result = address(f"{tmp_path}{os.pathsep}/usr/bin:/bin", env={"WSL_DISTRO_NAME": "Ubuntu"})

    assert result.returncode == 1
    assert result.stdout == ""
    assert "recorded, never published" in result.stderr
    assert "port minikube 30080/tcp" in (tmp_path / "docker.log").read_text()


EKS_OUTPUTS = (
    '{"url": "", "backend": "eks", "kubeconfig": "{\\"apiVersion\\": \\"v1\\"}", '
    '"namespace": "users-api", "releaseName": "users-api", "https": false}'
)


def only_fakes_and_coreutils(folder: Path, *more: str) -> str:
    """A PATH with the fakes in ``folder`` and the few tools they use, so no real kubectl is found."""
    tools = folder / "tools"
    tools.mkdir()
    for tool in ("cat", "stat", *more):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    return f"{folder}{os.pathsep}{tools}"


def fake_kubectl(folder: Path, hostname: str) -> Path:
    """A `kubectl` that records its arguments and the kubeconfig it was given, and answers the Ingress's hostname."""
    log = folder / "kubectl.log"
    script = folder / "kubectl"
    script.write_text(
        f'#!/bin/sh\necho "$@" > {log}\ncat "$2" >> {log}\necho >> {log}\nstat -c %a "$2" >> {log}\n'
        f'printf "%s" "{hostname}"\n'
    )
    script.chmod(0o755)
    return log


def test_an_eks_stack_whose_alb_came_after_pulumi_up_is_read_from_the_ingress(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, "prod", EKS_OUTPUTS)
    log = fake_kubectl(tmp_path, "k8s-usersapi-0123.eu-west-1.elb.amazonaws.com")

    result = address(only_fakes_and_coreutils(tmp_path))

    assert result.stdout == "export HOST_ADDRESS=http://k8s-usersapi-0123.eu-west-1.elb.amazonaws.com\n"
    arguments, kubeconfig, mode = log.read_text().splitlines()
    assert "-n users-api get ingress users-api" in arguments
    assert kubeconfig == '{"apiVersion": "v1"}'
    assert mode == "600", "the kubeconfig is a secret output: a private temporary file"
    assert "does not resolve yet" in result.stderr, "a new ALB's name takes minutes to answer: say so"


@pytest.mark.parametrize("with_kubectl", [True, False], ids=["alb-not-ready", "no-kubectl"])
def test_an_eks_stack_without_an_alb_yet_says_to_wait_rather_than_print_an_empty_url(
    tmp_path: Path, with_kubectl: bool
) -> None:
    fake_pulumi(tmp_path, "prod", EKS_OUTPUTS)
    if with_kubectl:
        fake_kubectl(tmp_path, "")

    result = address(only_fakes_and_coreutils(tmp_path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert "a minute or two" in result.stderr
    assert ("describe ingress" if with_kubectl else "install kubectl") in result.stderr


def hanging(folder: Path, tool: str, when: str) -> None:
    """Make the fake ``tool`` hang (a child that sleeps, holding its output open) when its arguments start ``when``."""
    script = folder / tool
    body = script.read_text().split("\n", 1)[1] if script.exists() else ""
    script.write_text(f'#!/bin/sh\ncase "$*" in "{when}"*) sleep 30; exit 0;; esac\n{body}')
    script.chmod(0o755)


@pytest.mark.parametrize(
    ("outputs", "tool", "when", "says"),
    [
        pytest.param("{}", "pulumi", "stack --show-name", "`pulumi stack` did not answer", id="pulumi-stack"),
        pytest.param("{}", "pulumi", "stack output", "`pulumi stack output` did not answer", id="pulumi-stack-output"),
        pytest.param(EKS_OUTPUTS, "kubectl", "--kubeconfig", "`kubectl get ingress` did not answer", id="kubectl"),
        pytest.param(
            '{"url": "", "backend": "minikube", "nodePort": 30080}',
            "minikube",
            "profile list",
            "`minikube profile list` did not answer",
            id="minikube",
        ),
    ],
)
def test_a_cli_that_does_not_answer_is_given_up_on_with_what_to_check(
    tmp_path: Path, outputs: str, tool: str, when: str, says: str
) -> None:
    fake_pulumi(tmp_path, "dev", outputs)
    if tool == "kubectl":
        fake_kubectl(tmp_path, "never-printed")
    hanging(tmp_path, tool, when)
    checks = {"pulumi": "pulumi whoami", "kubectl": "kubectl get nodes", "minikube": "minikube status"}

    started = time.monotonic()
    result = address(f"{only_fakes_and_coreutils(tmp_path, 'sleep')}", env={"CLI_TIMEOUT": "1"})

    assert time.monotonic() - started < 15, "the CLI (and the child it started) was stopped at the timeout"
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"make address: {says} in 1 s: check ")
    assert checks[tool] in line
    assert line.endswith("(to wait longer: make address CLI_TIMEOUT=2)")
