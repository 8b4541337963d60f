"""The HTTP contract of the users API, through Flask's test client on an in-process emulator."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support import REGION, image_bytes, settings, signup_form
from users_api import create_app

MULTIPART = "multipart/form-data"


def signup(client: FlaskClient, **form: Any) -> TestResponse:
    return client.post("/user", data=signup_form(**form), content_type=MULTIPART)


def error_of(response: TestResponse) -> dict[str, str]:
    body = response.get_json()
    assert isinstance(body, dict), body
    assert "error" in body, body
    error: dict[str, str] = body["error"]
    assert error["code"]
    assert error["message"]
    return error


class TestCreateUser:
    def test_created_user_is_returned_with_its_location(self, client: FlaskClient) -> None:
        response = signup(client, name="  Ada Lovelace ", email="Ada@Example.COM")

        assert response.status_code == 201
        user = response.get_json()
        assert user["email"] == "ada@example.com"
        assert user["name"] == "Ada Lovelace"
        assert user["avatar_url"] == "/users/ada@example.com/avatar"  # no PUBLIC_URL: relative to the server's root
        assert user["created_at"].endswith("Z")
        assert response.headers["Location"] == "/users/ada@example.com"

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            pytest.param("e\u0301@example.com", "\u00e9@example.com", id="unicode-composition"),
            pytest.param("a@xn--bcher-kva.de", "a@b\u00fccher.de", id="idn-domain"),
            pytest.param("Jane@Example.com", "jane@example.COM", id="case"),
        ],
    )
    def test_one_mailbox_written_two_ways_is_one_user(self, client: FlaskClient, first: str, second: str) -> None:
        assert signup(client, email=first).status_code == 201

        assert signup(client, email=second).status_code == 409
        assert client.get(f"/users/{second}").status_code == 200

    def test_duplicate_email_is_a_conflict_and_leaves_one_avatar(
        self, client: FlaskClient, bucket_keys: Callable[[], list[str]]
    ) -> None:
        assert signup(client, email="dup@example.com").status_code == 201

        response = signup(client, email="DUP@example.com")

        assert response.status_code == 409
        assert error_of(response)["code"] == "email_taken"
        assert len(bucket_keys()) == 1

    @pytest.mark.parametrize(
        ("form", "field", "code"),
        [
            pytest.param({"name": None}, "name", "missing_field", id="no-name"),
            pytest.param({"name": "   "}, "name", "invalid_field", id="blank-name"),
            pytest.param({"name": "x" * 101}, "name", "invalid_field", id="long-name"),
            pytest.param({"name": "bad\x07name"}, "name", "invalid_field", id="control-char-name"),
            pytest.param({"email": None}, "email", "missing_field", id="no-email"),
            pytest.param({"email": "not-an-email"}, "email", "invalid_field", id="bad-email"),
            pytest.param({"email": "a@b"}, "email", "invalid_field", id="no-tld"),
            pytest.param({"email": "x" * 250 + "@example.com"}, "email", "invalid_field", id="long-email"),
            pytest.param({"avatar": None}, "avatar", "missing_field", id="no-avatar"),
        ],
    )
    def test_missing_or_invalid_field_is_a_400_naming_it(
        self, client: FlaskClient, form: dict[str, Any], field: str, code: str
    ) -> None:
        data: dict[str, Any] = signup_form()
        for key, value in form.items():
            if value is None:
                del data[key]
            else:
                data[key] = value

        response = client.post("/user", data=data, content_type=MULTIPART)

        assert response.status_code == 400
        error = error_of(response)
        assert (error["code"], error["field"]) == (code, field)

    @pytest.mark.parametrize(
        ("avatar", "filename"),
        [
            pytest.param(b"", "empty.png", id="empty"),
            pytest.param(b"hello, I am text pretending", "face.png", id="text-named-png"),
            pytest.param(image_bytes("PNG")[:60], "face.png", id="truncated-png"),
            pytest.param(image_bytes("BMP"), "face.png", id="bmp-is-not-allowed"),
            pytest.param(b"%PDF-1.7\n" + b"0" * 100, "face.jpg", id="pdf"),
        ],
    )
    def test_an_avatar_that_is_not_an_allowed_image_is_a_415(
        self, client: FlaskClient, bucket_keys: Callable[[], list[str]], avatar: bytes, filename: str
    ) -> None:
        data = signup_form()
        data["avatar"] = (io.BytesIO(avatar), filename)

        response = client.post("/user", data=data, content_type=MULTIPART)

        assert response.status_code == 415
        assert error_of(response)["code"] == "unsupported_avatar"
        assert bucket_keys() == []

    def test_a_body_that_is_not_multipart_is_a_415(self, client: FlaskClient) -> None:
        response = client.post("/user", json={"name": "a", "email": "a@example.com"})

        assert response.status_code == 415
        assert error_of(response)["code"] == "multipart_required"

    def test_avatar_over_the_limit_is_a_413(self, mocked_aws: None) -> None:
        client = create_app(settings("users", "users-avatars", max_avatar_bytes=1000)).test_client()

        response = signup(client, avatar=image_bytes("PNG", size=(40, 40), compress_level=0))

        assert response.status_code == 413
        assert error_of(response)["code"] == "avatar_too_large"

    def test_an_avatar_sent_as_text_is_a_400_saying_to_send_a_file(self, client: FlaskClient) -> None:
        form = {"name": "Ada", "email": "ada@example.com", "avatar": "x" * 100_000}  # curl -F "avatar=<file"

        response = client.post("/user", data=form, content_type=MULTIPART)

        assert response.status_code == 400
        assert error_of(response)["field"] == "avatar"
        assert "avatar=@" in error_of(response)["message"]

    @pytest.mark.parametrize(("value", "status"), [("é" * 2048, 400), ("é" * 2048 + "x", 413)])
    def test_a_text_fields_limit_counts_utf8_bytes(self, client: FlaskClient, value: str, status: int) -> None:
        response = signup(client, name=value)  # 4096 bytes is a too-long name (400); 4097 is past the limit

        assert response.status_code == status
        assert error_of(response)["field"] == "name"

    def test_a_body_past_the_request_limit_is_a_413(self, mocked_aws: None) -> None:
        client = create_app(settings("users", "users-avatars", max_avatar_bytes=1000)).test_client()
        data = signup_form()
        data["padding"] = (io.BytesIO(b"0" * 200_000), "pad.bin")

        response = client.post("/user", data=data, content_type=MULTIPART)

        assert response.status_code == 413
        assert error_of(response)["code"] == "payload_too_large"


class TestListUsers:
    def test_empty_table_lists_nothing(self, client: FlaskClient) -> None:
        response = client.get("/users")

        assert response.status_code == 200
        assert response.get_json() == []
        assert "Link" not in response.headers

    def test_pages_follow_the_link_header_until_every_user_is_seen(self, client: FlaskClient) -> None:
        emails = {f"user{i}@example.com" for i in range(7)}
        for email in emails:
            assert signup(client, email=email).status_code == 201

        seen: list[str] = []
        url: str | None = "/users?limit=3"
        while url:
            response = client.get(url)
            assert response.status_code == 200
            page = response.get_json()
            assert len(page) <= 3
            seen += [user["email"] for user in page]
            url = next_link(response)

        assert sorted(seen) == sorted(emails)

    def test_an_item_written_by_another_tool_is_listed_with_what_it_has(self, client: FlaskClient) -> None:
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName="users", Item={"email": {"S": "bare@example.com"}}
        )

        assert client.get("/users").get_json() == [
            {
                "email": "bare@example.com",
                "name": "",
                "avatar_url": "/users/bare@example.com/avatar",
                "created_at": "",
            }
        ]

    @pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "2.5", "", "²", "١"])
    def test_limit_outside_1_to_1000_is_a_400(self, client: FlaskClient, limit: str) -> None:
        response = client.get("/users", query_string={"limit": limit})

        assert response.status_code == 400
        assert error_of(response)["field"] == "limit"

    @pytest.mark.parametrize("cursor", ["", "!!!", "bm90LWpzb24", "eyJ4IjoxfQ", "eyJlIjo1fQ", "x" * 2000])
    def test_malformed_cursor_is_a_400(self, client: FlaskClient, cursor: str) -> None:
        response = client.get("/users", query_string={"cursor": cursor})

        assert response.status_code == 400
        assert error_of(response)["field"] == "cursor"

    def test_avatar_urls_never_take_a_client_supplied_host_or_prefix(self, client: FlaskClient) -> None:
        signup(client, email="proxied@example.com")

        response = client.get(
            "/users",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/phish"},
        )

        assert response.get_json()[0]["avatar_url"] == "/users/proxied@example.com/avatar"


def next_link(response: TestResponse) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    target, rel = link.split(";", 1)
    assert rel.strip() == 'rel="next"'
    parts = urlsplit(target.strip("<> "))
    assert (parts.scheme, parts.netloc) == ("", ""), "no PUBLIC_URL: relative to the server's root"
    return f"{parts.path}?{parts.query}"


class TestOneUser:
    def test_get_returns_the_user_case_insensitively(self, client: FlaskClient) -> None:
        signup(client, email="ada@example.com", name="Ada")

        response = client.get("/users/ADA@example.com")

        assert response.status_code == 200
        assert response.get_json()["name"] == "Ada"

    def test_avatar_redirects_to_a_short_lived_presigned_url(self, client: FlaskClient) -> None:
        signup(client, email="ada@example.com")

        response = client.get("/users/ada@example.com/avatar")

        assert response.status_code == 302
        location = response.headers["Location"]
        assert "/avatars/" in location
        assert "X-Amz-Signature=" in location
        assert "X-Amz-Expires=900" in location
        assert response.headers["Cache-Control"] == "no-store"

    def test_delete_removes_the_user_and_the_avatar(
        self, client: FlaskClient, bucket_keys: Callable[[], list[str]]
    ) -> None:
        signup(client, email="ada@example.com")

        response = client.delete("/users/ada@example.com")

        assert response.status_code == 204
        assert client.get("/users/ada@example.com").status_code == 404
        assert bucket_keys() == []

    def test_an_email_with_a_slash_is_still_addressable(self, client: FlaskClient) -> None:
        assert signup(client, email="a/b@example.com").status_code == 201

        assert client.get("/users/a/b@example.com").status_code == 200
        assert client.get("/users/a/b@example.com/avatar").status_code == 302

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/users/ghost@example.com"),
            ("DELETE", "/users/ghost@example.com"),
            ("GET", "/users/ghost@example.com/avatar"),
        ],
    )
    def test_unknown_user_is_a_404(self, client: FlaskClient, method: str, path: str) -> None:
        response = client.open(path, method=method)

        assert response.status_code == 404
        assert error_of(response)["code"] == "user_not_found"


class TestProtocol:
    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [("PUT", "/users", "GET"), ("GET", "/user", "POST"), ("POST", "/livez", "GET")],
    )
    def test_wrong_method_is_a_405_with_allow(self, client: FlaskClient, method: str, path: str, allowed: str) -> None:
        response = client.open(path, method=method)

        assert response.status_code == 405
        assert allowed in response.headers["Allow"]
        assert error_of(response)["code"] == "method_not_allowed"

    def test_posting_to_the_listing_is_a_405_pointing_at_post_user(self, client: FlaskClient) -> None:
        response = client.post("/users", data=signup_form(), content_type=MULTIPART)

        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]
        assert "POST /user " in error_of(response)["message"]

    def test_unknown_path_is_a_json_404(self, client: FlaskClient) -> None:
        response = client.get("/nope")

        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"

    def test_every_response_carries_timing_cold_start_and_request_id(self, client: FlaskClient) -> None:
        first, second = client.get("/livez"), client.get("/nope")

        for response in (first, second):
            assert response.headers["Server-Timing"].startswith("app;dur=")
            assert float(response.headers["Server-Timing"].split("=")[1]) >= 0
            assert len(response.headers["X-Request-Id"]) >= 16
        assert second.headers["X-Cold-Start"] == "false"

    def test_a_sane_request_id_is_echoed_and_an_unsafe_one_replaced(self, client: FlaskClient) -> None:
        assert client.get("/livez", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
        assert client.get("/livez", headers={"X-Request-Id": "a b;c"}).headers["X-Request-Id"] != "a b;c"

    def test_an_unexpected_failure_is_a_500_without_its_text(self, app: Flask) -> None:
        def explode() -> str:
            raise RuntimeError("secret internals: /etc/passwd")

        app.add_url_rule("/boom", "boom", explode)

        response = app.test_client().get("/boom")

        assert response.status_code == 500
        assert error_of(response)["code"] == "internal_error"
        assert "secret internals" not in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)

    def test_livez_does_no_io_and_readyz_checks_both_dependencies(self, client: FlaskClient) -> None:
        assert client.get("/livez").get_json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json() == {"status": "ready", "checks": {"table": "ok", "bucket": "ok"}}

    def test_docs_page_is_served_without_any_cdn(self, client: FlaskClient) -> None:
        page = client.get("/docs/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "swagger-ui" in html
        assert "//cdn" not in html
        assert "unpkg" not in html
        assert "jsdelivr" not in html
        assert client.get("/docs/swagger-ui-bundle.js").status_code == 200

    def test_errors_are_json_documents(self, client: FlaskClient) -> None:
        response = client.get("/users?limit=0")
        assert response.mimetype == "application/json"
        assert json.loads(response.get_data())["error"]["code"] == "invalid_parameter"
