"""Item 8 of issue 11: the API's own URLs never come from the request's Host (nor a forged X-Forwarded-Host).

With PUBLIC_URL they are built on it; without, they are relative to the server's root. Werkzeug's own routing
redirect (``/docs`` -> ``/docs/``) included."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import BUCKET, TABLE
from tests.support import settings, signup_form
from users_api import ConfigError, Settings, create_app

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


@pytest.fixture
def public_client(mocked_aws: None) -> FlaskClient:
    return create_app(settings(TABLE, BUCKET, public_url="https://api.example.com/v1")).test_client()


def own_urls(client: FlaskClient) -> list[str]:
    created = client.post("/user", data=signup_form(email="ada@example.com"), headers=FORGED)
    client.post("/user", data=signup_form(email="bob@example.com"), headers=FORGED)
    listed = client.get("/users", query_string={"limit": 1}, headers=FORGED)
    docs = client.get("/docs", headers=FORGED)
    assert (created.status_code, listed.status_code, docs.status_code) == (201, 200, 308)
    return [
        created.headers["Location"],
        created.get_json()["avatar_url"],
        listed.get_json()[0]["avatar_url"],
        listed.headers["Link"],
        docs.headers["Location"],
    ]


def test_with_a_public_url_every_own_url_is_built_on_it_whatever_the_host(public_client: FlaskClient) -> None:
    location, avatar_url, listed_avatar_url, link, docs = own_urls(public_client)

    assert location == "https://api.example.com/v1/users/ada@example.com"
    assert avatar_url == "https://api.example.com/v1/users/ada@example.com/avatar"
    assert listed_avatar_url == "https://api.example.com/v1/users/ada@example.com/avatar"
    assert link.startswith("<https://api.example.com/v1/users?limit=1&cursor=")
    assert docs == "https://api.example.com/v1/docs/"


def test_without_a_public_url_every_own_url_is_relative(client: FlaskClient) -> None:
    urls = own_urls(client)

    assert not [url for url in urls if "evil.example" in url or "://" in url]
    assert urls[4] == "/docs/"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("api.example.com", "not an absolute http(s) URL"),
        ("ftp://api.example.com", "not an absolute http(s) URL"),
        ("https://", "not an absolute http(s) URL"),
        ("https://api.example.com/?a=1", "query, a fragment or credentials"),
        ("https://user:pw@api.example.com", "query, a fragment or credentials"),
    ],
)
def test_a_bad_public_url_is_refused_with_the_fix(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_URL") as refused:
        Settings.from_env({"AWS_REGION": "us-east-1", "DYNAMODB_TABLE": "t", "S3_BUCKET": "b", "PUBLIC_URL": raw})

    assert says in str(refused.value)


def test_a_trailing_slash_is_the_same_base() -> None:
    env = {"AWS_REGION": "us-east-1", "DYNAMODB_TABLE": "t", "S3_BUCKET": "b", "PUBLIC_URL": "https://a.example/"}

    assert Settings.from_env(env).public_url == "https://a.example"
