"""Real photos over real HTTP: every accepted format at photo sizes up to the avatar limit, and each limit.

Through gunicorn (the container path) and the local Lambda front (the Lambda path: API Gateway's
payload 2.0 event, base64 body, apig-wsgi), with a plain ``requests`` client, as users upload. Tiny
test images once hid a 413 that refused most ordinary photos: Werkzeug's form-memory limit tripped
on file parts depending on their bytes.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable, Iterator

import pytest
import requests
from PIL import Image

from devtools.processes import free_port, gunicorn_command, lambda_front_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from loadtests.photos import CONTENT_TYPES
from tests.support import PHOTO_FORMATS, PHOTO_SIZES, REGION, phone_photo, photo_bytes
from users_api.config import DEFAULT_MAX_AVATAR_BYTES

pytestmark = pytest.mark.integration

LIMIT = DEFAULT_MAX_AVATAR_BYTES


@pytest.fixture(params=["gunicorn", "lambda"])
def base_url(request: pytest.FixtureRequest, moto_server: str, names: tuple[str, str]) -> Iterator[str]:
    """The app on a free port, on the container path or the Lambda path, against the real emulator."""
    port = free_port()
    command = gunicorn_command(port, 1, 4) if request.param == "gunicorn" else lambda_front_command(port, 30)
    env = app_environment(moto_server, REGION, *names, log_level="WARNING")
    process: subprocess.Popen[bytes] = spawn(command, env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def sign_up(base_url: str, avatar: bytes, fmt: str = "JPEG", **fields: str) -> requests.Response:
    form = {"name": "Ada Lovelace", "email": "ada@example.com", **fields}
    files = {"avatar": (f"photo.{fmt.lower()}", avatar, CONTENT_TYPES[fmt])}
    return requests.post(f"{base_url}/user", data=form, files=files, timeout=60)


def error_of(response: requests.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, str] = body["error"]
    return error


@pytest.mark.parametrize("fmt", PHOTO_FORMATS)
def test_photos_up_to_the_limit_are_stored_and_served_back(base_url: str, fmt: str) -> None:
    for index, size in enumerate(PHOTO_SIZES):
        avatar = photo_bytes(fmt, size)
        email = f"photo-{index}@example.com"

        created = sign_up(base_url, avatar, fmt, email=email)

        assert created.status_code == 201, f"{fmt} of {len(avatar)} bytes: {created.status_code} {created.text}"
        redirect = requests.get(f"{base_url}/users/{email}/avatar", allow_redirects=False, timeout=30)
        assert redirect.status_code == 302
        stored = Image.open(io.BytesIO(requests.get(redirect.headers["Location"], timeout=30).content))
        assert stored.format == fmt
        assert max(stored.size) <= 1024, "stored avatars are scaled to fit 1024 pixels"


def test_a_phones_full_resolution_photo_is_stored_scaled_down(base_url: str) -> None:
    created = sign_up(base_url, phone_photo())

    assert created.status_code == 201, created.text
    redirect = requests.get(f"{base_url}/users/ada@example.com/avatar", allow_redirects=False, timeout=30)
    stored = Image.open(io.BytesIO(requests.get(redirect.headers["Location"], timeout=30).content))
    assert stored.size == (1024, 768)


def test_one_byte_past_the_avatar_limit_is_a_413_naming_the_avatar(
    base_url: str, bucket_keys_on_server: Callable[[], list[str]]
) -> None:
    avatar = photo_bytes("JPEG", LIMIT) + b"\x00"  # trailing bytes after a JPEG's end: still one byte too many

    response = sign_up(base_url, avatar)

    assert response.status_code == 413
    assert error_of(response)["code"] == "avatar_too_large"
    assert error_of(response)["field"] == "avatar"
    assert str(LIMIT) in error_of(response)["message"]
    assert bucket_keys_on_server() == []


@pytest.mark.parametrize("field", ["name", "email", "nickname"])
def test_a_text_field_past_its_own_limit_is_a_413_naming_that_field(base_url: str, field: str) -> None:
    at_limit = sign_up(base_url, photo_bytes("JPEG", 270_000), **{field: "x" * 4096})
    past_limit = sign_up(base_url, photo_bytes("JPEG", 270_000), **{field: "x" * 4097})

    assert at_limit.status_code != 413, "4096 bytes is within a text field's limit"
    assert past_limit.status_code == 413
    assert error_of(past_limit)["code"] == "field_too_large"
    assert error_of(past_limit)["field"] == field


def test_a_text_field_too_large_to_parse_is_a_413_saying_a_part_is_too_large(base_url: str) -> None:
    response = sign_up(base_url, photo_bytes("JPEG", 270_000), name="x" * 300_000)

    assert response.status_code == 413
    assert error_of(response)["code"] == "part_too_large"


def test_a_part_with_headers_too_large_to_parse_is_a_413_saying_a_part_is_too_large(base_url: str) -> None:
    boundary = "b0undary"
    header_lines = "X-Padding: y\r\n" * 25_000  # 350 KB of part headers, each line harmless
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n{header_lines}\r\nAda\r\n--{boundary}--\r\n'
    ).encode()

    response = requests.post(
        f"{base_url}/user",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )

    assert response.status_code == 413
    assert error_of(response)["code"] == "part_too_large"


def test_a_body_past_the_request_limit_is_a_413_saying_the_avatar_limit(base_url: str) -> None:
    response = sign_up(base_url, b"\xff\xd8" + b"\x00" * (LIMIT + 70_000))

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert str(LIMIT) in error_of(response)["message"]


def test_more_form_parts_than_a_sign_up_needs_is_a_413_saying_so(base_url: str) -> None:
    extra = {f"extra{number}": "x" for number in range(20)}

    response = sign_up(base_url, photo_bytes("JPEG", 270_000), **extra)

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_many_parts"


def test_a_chunked_upload_past_the_request_limit_is_a_413_saying_the_avatar_limit(
    moto_server: str, names: tuple[str, str]
) -> None:
    """Without Content-Length (Transfer-Encoding: chunked) the limit is found while reading: gunicorn only."""
    port = free_port()
    env = app_environment(moto_server, REGION, *names, log_level="WARNING")
    process = spawn(gunicorn_command(port, 1, 2), env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        boundary = "b0undary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()

        def body() -> Iterator[bytes]:
            yield head
            for _ in range((LIMIT + 200_000) // 65536):
                yield b"\x00" * 65536

        response = requests.post(
            f"http://127.0.0.1:{port}/user",
            data=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=60,
        )
    finally:
        stop(process)

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
