"""Broken or unusual body framing over real sockets (issue 11, item 7): a clear 4xx, never a 500 or a lost body."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.processes import free_port, gunicorn_command, lambda_front_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from tests.support import REGION, image_bytes

pytestmark = pytest.mark.integration


@pytest.fixture(params=["gunicorn", "lambda-front"])
def server(request: pytest.FixtureRequest, moto_server: str, names: tuple[str, str], tmp_path: Path) -> Iterator[int]:
    port = free_port()
    command = gunicorn_command(port) if request.param == "gunicorn" else lambda_front_command(port)
    process = spawn(command, env=app_environment(moto_server, REGION, *names), log=(tmp_path / "server.log").open("ab"))
    wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
    yield port
    stop(process)


def exchange(port: int, raw: bytes, half_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and (
                b'"error"' in received or b'"message"' in received or b"Location" in received
            ):
                break
        return received


def multipart(email: str) -> bytes:
    return (
        b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nChunky\r\n'
        + f'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\n{email}\r\n'.encode()
        + b'--B\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + image_bytes()
        + b"\r\n--B--\r\n"
    )


def head(port: int, extra: str) -> bytes:
    return (
        f"POST /user HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode()


def test_a_chunked_upload_creates_the_user(server: int) -> None:
    body = multipart("chunked@example.com")
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"

    answer = exchange(server, head(server, "Transfer-Encoding: chunked\r\n") + chunked)

    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


def test_a_bad_chunk_size_is_a_400_not_a_500(server: int) -> None:
    answer = exchange(server, head(server, "Transfer-Encoding: chunked\r\n") + b"zz\r\nnot a chunk\r\n0\r\n\r\n")

    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400")), answer[:300]
    assert b"Traceback" not in answer


def test_a_body_shorter_than_its_content_length_is_a_400_in_json(server: int) -> None:
    body = multipart("short@example.com")

    cut = body[: len(body) // 2]  # the client stops halfway through the avatar and closes its side

    answer = exchange(server, head(server, f"Content-Length: {len(body)}\r\n") + cut, half_close=True)

    status, _, rest = answer.partition(b"\r\n")
    assert status.split(b" ")[1] == b"400", answer[:300]
    assert b"application/json" in rest.lower()


@pytest.fixture
def gunicorn(moto_server: str, names: tuple[str, str], tmp_path: Path) -> Iterator[int]:
    port = free_port()
    process = spawn(
        gunicorn_command(port),
        env=app_environment(moto_server, REGION, *names),
        log=(tmp_path / "server.log").open("ab"),
    )
    wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
    yield port
    stop(process)


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414", "uri_too_long"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n",
            b"431",
            "request_header_fields_too_large",
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n", b"400", "bad_request"),
    ],
    ids=["long-request-line", "huge-header", "malformed-header"],
)
def test_errors_gunicorn_answers_itself_are_json_with_a_request_id(
    gunicorn: int, raw: bytes, status: bytes, code: str
) -> None:
    answer = exchange(gunicorn, raw)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == status, answer[:300]
    assert b"content-type: application/json" in head.lower()
    assert b"x-request-id: " in head.lower()
    assert json.loads(body)["error"]["code"] == code
