"""The local front's events look like API Gateway HTTP API payload 2.0 events."""

from __future__ import annotations

import base64

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from devtools.lambda_front import event_from_request, response_from_result


def request(path: str, *, data: bytes = b"", content_type: str = "", cookie: str = "") -> tuple[Request, bytes]:
    headers = [("Cookie", cookie)] if cookie else []
    builder = EnvironBuilder(
        path="/placeholder",
        method="POST" if data else "GET",
        data=data,
        content_type=content_type or None,
        headers=headers,
        base_url="http://127.0.0.1:5071",
    )
    environ = builder.get_environ()
    environ["REQUEST_URI"] = path  # what the HTTP server received, still percent-encoded
    made = Request(environ)
    return made, made.get_data()


def test_the_raw_path_stays_percent_encoded_as_api_gateway_sends_it() -> None:
    event = event_from_request(*request("/users/a%2540b.com?limit=5"))

    assert event["rawPath"] == "/users/a%2540b.com"


def test_cookies_move_from_the_header_to_their_own_list_duplicates_kept() -> None:
    event = event_from_request(*request("/users", cookie="a=1; b=2; a=3"))

    assert event["cookies"] == ["a=1", "b=2", "a=3"]
    assert "cookie" not in event["headers"]


def test_the_forwarded_port_is_the_servers_and_binary_bodies_are_base64() -> None:
    body = b"--x\r\nContent-Disposition: form-data; name=avatar\r\n\r\n\x89PNG\r\n--x--\r\n"
    event = event_from_request(*request("/user", data=body, content_type="multipart/form-data; boundary=x"))

    assert event["headers"]["x-forwarded-port"] == "5071"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_a_result_becomes_a_response_with_its_cookies() -> None:
    response = response_from_result(
        {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "cookies": ["s=1"], "body": "{}"}
    )

    assert response.status_code == 201
    assert response.headers.getlist("Set-Cookie") == ["s=1"]
    assert response.get_data() == b"{}"
