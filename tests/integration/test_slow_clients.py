"""Slow clients (issue 11, item 1): connections that send part of a request and then nothing.

Real sockets against the real servers: gunicorn with the container's
configuration, and the local Lambda front. With 120 such connections open
(headers cut short, and whole headers with a multipart body cut short),
``/livez`` still answers, and so does a whole request sent after them.
No timing is asserted: the probe's timeout only stops a frozen server from
hanging the test (before the fix, one was still held after 200 s).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from devtools.processes import free_port, gunicorn_command, lambda_front_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from tests.integration.fault_proxy import FaultProxy, Rule
from tests.support import REGION

pytestmark = pytest.mark.integration

SLOW_CLIENTS = 120
PROBE_TIMEOUT_SECONDS = 20
BOUNDARY = "slowclientboundary"
HUNG_REQUESTS = 24


def partial_headers(port: int) -> bytes:
    return f"POST /user HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; bo".encode()


def partial_body(port: int) -> bytes:
    body_start = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nSlow\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n\x89PNG"
    ).encode()
    headers = (
        f"POST /user HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 500000\r\n\r\n"
    ).encode()
    return headers + body_start


@contextlib.contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(partial_headers(port) if index % 2 else partial_body(port))
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(params=["gunicorn", "lambda-front"])
def server(request: pytest.FixtureRequest, moto_server: str, names: tuple[str, str], tmp_path: Path) -> Iterator[int]:
    port = free_port()
    command = gunicorn_command(port) if request.param == "gunicorn" else lambda_front_command(port)
    process = spawn(command, env=app_environment(moto_server, REGION, *names), log=(tmp_path / "server.log").open("ab"))
    wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
    yield port
    stop(process)


def test_livez_and_real_requests_are_served_while_many_slow_clients_hold_connections(server: int) -> None:
    with slow_clients(server, SLOW_CLIENTS) as held:
        livez = requests.get(f"http://127.0.0.1:{server}/livez", timeout=PROBE_TIMEOUT_SECONDS)
        listing = requests.get(f"http://127.0.0.1:{server}/users", timeout=PROBE_TIMEOUT_SECONDS)

        assert len(held) == SLOW_CLIENTS
        assert livez.status_code == 200
        assert listing.status_code == 200


@pytest.fixture
def gunicorn_behind_a_hung_table(
    moto_server: str, names: tuple[str, str], tmp_path: Path
) -> Iterator[tuple[int, FaultProxy]]:
    with FaultProxy(moto_server) as proxy:
        port = free_port()
        env = app_environment(proxy.url, REGION, *names)
        process = spawn(gunicorn_command(port), env=env, log=(tmp_path / "server.log").open("ab"))
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        yield port, proxy
        proxy.release()
        stop(process)


def test_requests_waiting_on_a_hung_dependency_do_not_stop_livez(
    gunicorn_behind_a_hung_table: tuple[int, FaultProxy],
) -> None:
    """Item 2: liveness does not depend on AWS being fast, however many requests wait on it."""
    port, proxy = gunicorn_behind_a_hung_table
    proxy.set("Scan", Rule("hold"))
    with ThreadPoolExecutor(max_workers=HUNG_REQUESTS) as pool:
        waiting = [
            pool.submit(requests.get, f"http://127.0.0.1:{port}/users", timeout=60) for _ in range(HUNG_REQUESTS)
        ]
        assert proxy.arrived("Scan").wait(30)

        livez = requests.get(f"http://127.0.0.1:{port}/livez", timeout=PROBE_TIMEOUT_SECONDS)

        statuses = {future.result().status_code for future in waiting}
    assert livez.status_code == 200
    assert statuses == {503}, "each waiting request ends with a 503 at its deadline, not a platform kill"
