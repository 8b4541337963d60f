"""The app against a real AWS emulator process over HTTP: the whole life of a user."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import requests
from flask import Flask
from PIL import Image

from tests.support import noise_png, signup_form

pytestmark = pytest.mark.integration


def test_a_user_is_created_listed_served_and_deleted(
    server_app: Flask, bucket_keys_on_server: Callable[[], list[str]]
) -> None:
    client = server_app.test_client()
    avatar = noise_png(40_000)

    created = client.post(
        "/user", data=signup_form(email="Grace@Example.com", avatar=avatar), content_type="multipart/form-data"
    )
    assert created.status_code == 201, created.get_json()
    assert [user["email"] for user in client.get("/users").get_json()] == ["grace@example.com"]
    assert client.get("/users/grace@example.com").get_json()["name"] == "Test User"

    redirect = client.get("/users/grace@example.com/avatar")
    assert redirect.status_code == 302
    download = requests.get(redirect.headers["Location"], timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(download.content)) as image:
        assert image.format == "PNG"
        assert image.size == Image.open(io.BytesIO(avatar)).size

    assert client.delete("/users/grace@example.com").status_code == 204
    assert client.get("/users/grace@example.com").status_code == 404
    assert bucket_keys_on_server() == []


def test_a_duplicate_email_is_a_409_and_leaves_no_orphan(
    server_app: Flask, bucket_keys_on_server: Callable[[], list[str]]
) -> None:
    client = server_app.test_client()
    first = client.post("/user", data=signup_form(), content_type="multipart/form-data")
    again = client.post("/user", data=signup_form(), content_type="multipart/form-data")

    assert (first.status_code, again.status_code) == (201, 409)
    assert len(bucket_keys_on_server()) == 1


def test_pagination_reads_every_user_once(server_app: Flask) -> None:
    client = server_app.test_client()
    emails = {f"p{i}@example.com" for i in range(5)}
    for email in emails:
        client.post("/user", data=signup_form(email=email), content_type="multipart/form-data")

    seen: list[str] = []
    page = client.get("/users?limit=2")
    while True:
        seen += [user["email"] for user in page.get_json()]
        link = page.headers.get("Link")
        if not link:
            break
        page = client.get(link.split(">")[0].removeprefix("<"))  # relative: no PUBLIC_URL set (users_api/public_url.py)

    assert sorted(seen) == sorted(emails)


def test_readyz_is_200_when_table_and_bucket_answer(server_app: Flask) -> None:
    response = server_app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["checks"] == {"table": "ok", "bucket": "ok"}
