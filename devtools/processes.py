"""Child processes for the local stack, the tests and the benchmarks: start, wait until ready, stop."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent


class StartupError(RuntimeError):
    """A child did not come up; the message says which, and where its log is."""


def parse_port(raw: str) -> int:
    """A TCP port from user input (Make variables), or ValueError saying what one is."""
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:
        raise ValueError(f"{raw!r} is not a TCP port: use a whole number from 1 to 65535")
    return int(raw)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


IN_USE, PRIVILEGED = "in use", "privileged"


def why_not_listenable(port: int, host: str = "127.0.0.1") -> str | None:
    """Why a server could not listen on ``host:port`` now (IN_USE or PRIVILEGED), or None: it tries to bind it.

    PRIVILEGED is the kernel's EACCES: on Linux, ports below
    ``net.ipv4.ip_unprivileged_port_start`` (1024) need root (CAP_NET_BIND_SERVICE).
    """
    if port_in_use(port, host):
        return IN_USE
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: a port in TIME_WAIT is free
        try:
            sock.bind((host, port))
        except PermissionError:
            return PRIVILEGED
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return IN_USE
            raise
    return None


def first_unprivileged_port() -> int:
    """The lowest port any user may listen on: Linux's ``net.ipv4.ip_unprivileged_port_start``, else 1024."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(
    args: list[str], env: Mapping[str, str] | None = None, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group so that stop() reaches its children too.

    The child also gets SIGTERM if this process dies without stopping it, so an
    emulator or a server is never left behind holding its port. (Spawned from
    the main thread only: the signal follows the thread that made the child.)
    """
    return subprocess.Popen(
        args,
        env=dict(env) if env is not None else None,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
        cwd=REPO_ROOT,
    )


def wait_for_http(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float,
    expect: int = 200,
    interrupted: Callable[[], bool] = lambda: False,
) -> float:
    """Poll ``url`` until it answers ``expect``; return the seconds it took.

    Fails if the process exits, the time runs out, or ``interrupted()`` turns true (Ctrl-C).
    """
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if interrupted():
            raise StartupError("interrupted")
        if process.poll() is not None:
            raise StartupError(f"{process.args!r} exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == expect:
                    return time.perf_counter() - started
        except urllib.error.HTTPError as exc:
            if exc.code == expect:
                return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.01)
    raise StartupError(f"{url} did not answer {expect} within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the whole process group, wait, then SIGKILL what is left."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_emulator(
    port: int,
    log: IO[bytes] | None = None,
    timeout: float = 30.0,
    interrupted: Callable[[], bool] = lambda: False,
) -> subprocess.Popen[bytes]:
    """moto server, a real AWS emulator, on 127.0.0.1:``port``."""
    process = spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log=log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/moto-api/", process, timeout, interrupted=interrupted)
    except StartupError:
        stop(process)
        raise
    return process


def lambda_front_command(port: int, timeout_seconds: float = 15.0) -> list[str]:
    """The Lambda handler behind a local API Gateway HTTP API (devtools/lambda_front.py)."""
    return [
        sys.executable, "-m", "devtools.lambda_front",
        "--port", str(port),
        "--timeout", str(timeout_seconds),
    ]  # fmt: skip


def gunicorn_command(port: int, workers: int = 2, worker_connections: int = 1000) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:users_api.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-connections",
        str(worker_connections),
        "users_api.wsgi:app",
    ]
