"""`make local` for real: moto server and gunicorn as child processes, served over HTTP, stopped by Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from devtools.processes import REPO_ROOT, free_port, gunicorn_command, port_in_use
from tests.integration.make import make, recipe_status, said
from tests.integration.output import ProcessOutput

pytestmark = pytest.mark.integration


LocalStack = tuple[subprocess.Popen[str], ProcessOutput, int, int]  # process, its output, PORT, EMULATOR_PORT


@pytest.fixture
def local_stack() -> Iterator[LocalStack]:
    port, emulator_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.local_stack",
            "--port",
            str(port),
            "--emulator-port",
            str(emulator_port),
            "--workers",
            "1",
            "--threads",
            "2",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, ProcessOutput(process), port, emulator_port
    if process.poll() is None:  # the test failed midway: stop it as Ctrl-C would
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_make_local_serves_the_readme_commands_and_stops_every_child_on_ctrl_c(
    local_stack: LocalStack, avatar_file: Path
) -> None:
    process, output, port, emulator_port = local_stack
    lines = output.until("export HOST_ADDRESS=", timeout=90)
    assert lines[-1].strip() == f"export HOST_ADDRESS=http://127.0.0.1:{port}"
    base = f"http://127.0.0.1:{port}"
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 4, "moto server, the gunicorn master and its worker, the reconciler"
    reconcilers = [child.cmdline() for child in children if "users_api.reconcile" in child.cmdline()]
    assert reconcilers == [[sys.executable, "-m", "users_api.reconcile", "--every", "60", "--min-age", "1200"]], (
        "moto runs no lifecycle rule: make local resolves pending avatars itself"
    )

    with avatar_file.open("rb") as avatar:
        created = requests.post(
            f"{base}/user",
            headers={"accept": "application/json"},
            data={"name": "Test User", "email": "test-user@example.com"},
            files={"avatar": ("test-avatar.png", avatar, "image/png")},
            timeout=10,
        )
    listed = requests.get(f"{base}/users", timeout=10)

    assert created.status_code == 201, created.text
    assert [user["email"] for user in listed.json()] == ["test-user@example.com"]
    assert listed.headers["X-Cold-Start"] in {"true", "false"}

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
    assert not port_in_use(port)
    assert not port_in_use(emulator_port)


def test_children_do_not_outlive_a_killed_make_local(
    local_stack: LocalStack,
) -> None:
    process, output, port, emulator_port = local_stack
    output.until("export HOST_ADDRESS=", timeout=90)
    children = psutil.Process(process.pid).children(recursive=True)

    process.kill()  # SIGKILL: no chance to clean up
    process.wait()

    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    assert not port_in_use(port)
    assert not port_in_use(emulator_port)


def test_ctrl_c_while_starting_stops_without_claiming_the_stack_is_up(
    local_stack: LocalStack,
) -> None:
    process, output, port, emulator_port = local_stack
    output.until("[1/3]", timeout=30)

    process.send_signal(signal.SIGINT)
    printed = "".join(output.until("stopped: every process make local started has exited.", timeout=30))

    assert process.wait(timeout=30) == 0
    assert "export HOST_ADDRESS" not in printed
    assert not port_in_use(port)
    assert not port_in_use(emulator_port)


def run_local_stack(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`make local` with ``arguments``, for the cases that stop before serving."""
    return subprocess.run(
        [sys.executable, "-m", "devtools.local_stack", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_local_refuses_a_port_in_use_with_the_fix() -> None:
    with socket_listening() as busy:
        result = run_local_stack("--port", str(busy), "--emulator-port", str(free_port()))

    assert result.returncode == 2
    assert f"port {busy} (PORT) is already in use" in result.stderr
    assert f"PORT={busy + 1}" in result.stderr


PRIVILEGED_PORT = 80
UNPRIVILEGED_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")  # Linux; 1024 elsewhere


@pytest.fixture
def as_a_user() -> tuple[tuple[str, ...], int]:
    """(a command prefix under which ports below the first unprivileged one are refused, that port).

    As root, it gives up CAP_NET_BIND_SERVICE (setpriv, util-linux) but keeps its files: the kernel then
    answers EACCES exactly as it does to any other user. (Becoming nobody would not do: the interpreter
    and the virtual environment may sit where nobody can read them.)
    """
    first = int(UNPRIVILEGED_START.read_text()) if UNPRIVILEGED_START.exists() else 1024
    if first <= PRIVILEGED_PORT:
        pytest.skip(f"this machine lets anyone listen on port {PRIVILEGED_PORT}")
    if os.geteuid() != 0:
        return (), first
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux) to give up the right to listen on low ports")
    return (setpriv, "--inh-caps=-net_bind_service", "--bounding-set=-net_bind_service"), first


@pytest.mark.parametrize(("variable", "default"), [("PORT", 5000), ("EMULATOR_PORT", 4566)])
def test_make_local_as_a_user_says_a_port_below_1024_needs_root_before_starting_anything(
    as_a_user: tuple[tuple[str, ...], int], variable: str, default: int
) -> None:
    prefix, first_unprivileged = as_a_user
    ports = {"PORT": free_port(), "EMULATOR_PORT": free_port(), variable: PRIVILEGED_PORT}

    result = make("local", *(f"{name}={port}" for name, port in ports.items()), prefix=prefix)

    assert recipe_status(result.stderr) == 2, result.stderr
    assert said(result.stderr) == [
        f"make local: port {PRIVILEGED_PORT} ({variable}) needs root to listen on: "
        f"choose a port from {first_unprivileged} up, e.g. make local {variable}={default}"
    ]
    assert "[1/3]" not in result.stdout, "nothing started"


@pytest.mark.parametrize(
    ("argument", "value"),
    [("--port", "0"), ("--port", "http"), ("--emulator-port", "70000"), ("--workers", "0"), ("--server", "nomad")],
)
def test_make_local_refuses_a_bad_variable(argument: str, value: str) -> None:
    result = run_local_stack(argument, value)

    assert result.returncode == 2
    assert repr(value) in result.stderr


def test_the_retired_backend_variable_names_server_in_one_line() -> None:
    """BACKEND= chose the local server before it was renamed SERVER: it now means only the deployment's backend."""
    result = run_local_stack("--retired-backend", "lambda")

    assert result.returncode == 2
    assert said(result.stderr) == [
        "make local: BACKEND=lambda is now SERVER (BACKEND names a deployment's backend): make local SERVER=lambda"
    ]


def test_gunicorn_stops_at_start_with_one_line_naming_a_missing_variable() -> None:
    env = {key: value for key, value in os.environ.items() if key not in {"DYNAMODB_TABLE"}}
    env.update(AWS_REGION="us-east-1", S3_BUCKET="avatars")

    result = subprocess.run(
        gunicorn_command(free_port(), workers=1, threads=1),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "DYNAMODB_TABLE is not set" in result.stderr
    assert "Traceback" not in result.stderr


class socket_listening:
    """A listening socket on a free port, as a context manager yielding the port."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
