"""Bearer-token authentication in the app (users_api/auth.py): settings, the checks, keys and their cache.

The app runs on Flask's test client and in-process moto; the issuer is a real one on loopback (devtools/local_issuer.py)
with a key pair made for the test, so signatures, discovery and key fetching are real.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jwt import jwks_client

from devtools.local_issuer import DISCOVERY_PATH, JWKS_PATH, LocalIssuer
from devtools.processes import REPO_ROOT
from tests.auth_tokens import REFUSAL_NAMES, refused_tokens
from tests.conftest import BUCKET, TABLE
from tests.support import settings, signup_form
from users_api import create_app
from users_api.auth import UNKNOWN_KID_COOLDOWN_SECONDS
from users_api.auth_config import AuthSettings, auth_from_env
from users_api.config import ConfigError

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


@pytest.fixture
def make_client(mocked_aws: None, issuer: LocalIssuer) -> MakeClient:
    def make(**auth: Any) -> FlaskClient:
        values = {"issuer": issuer.url, "audience": issuer.audience, **auth}
        app: Flask = create_app(settings(TABLE, BUCKET, auth=AuthSettings(**values)))
        return app.test_client()

    return make


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signup(client: FlaskClient, token: str, email: str = "test-user@example.com") -> Any:
    return client.post("/user", data=signup_form(email=email), headers=_bearer(token))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        (
            {"AUTH_ISSUER": "https://issuer.example.com/", "AUTH_AUDIENCE": "api"},
            AuthSettings("https://issuer.example.com/", "api"),
        ),
        (
            {
                "AUTH_ISSUER": "http://127.0.0.1:4580",
                "AUTH_AUDIENCE": "api",
                "AUTH_SCOPE": "users:admin",
                "AUTH_PROTECT_READS": "TRUE",
                "AUTH_JWKS_URL": "http://localhost:4580/keys",
            },
            AuthSettings("http://127.0.0.1:4580", "api", "http://localhost:4580/keys", "users:admin", True),
        ),
    ],
)
def test_auth_settings_from_the_environment(env: dict[str, str], expected: AuthSettings | None) -> None:
    assert auth_from_env(env) == expected


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AUTH_AUDIENCE": "api"}, "AUTH_ISSUER"),
        ({"AUTH_PROTECT_READS": "true"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "https://issuer.example.com"}, "AUTH_AUDIENCE"),
        ({"AUTH_ISSUER": "http://issuer.example.com", "AUTH_AUDIENCE": "api"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "issuer.example.com", "AUTH_AUDIENCE": "api"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "https://i.example.com", "AUTH_AUDIENCE": "a", "AUTH_JWKS_URL": "ftp://x"}, "AUTH_JWKS_URL"),
        ({"AUTH_ISSUER": "https://i.example.com", "AUTH_AUDIENCE": "a", "AUTH_SCOPE": "two words"}, "AUTH_SCOPE"),
        (
            {"AUTH_ISSUER": "https://i.example.com", "AUTH_AUDIENCE": "a", "AUTH_PROTECT_READS": "maybe"},
            "AUTH_PROTECT_READS",
        ),
    ],
)
def test_a_wrong_auth_setting_is_named(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        auth_from_env(env)


@pytest.mark.parametrize("case", REFUSAL_NAMES)
def test_every_bad_token_is_refused_before_anything_is_written(
    case: str, make_client: MakeClient, issuer: LocalIssuer, bucket_keys: Callable[[], list[str]]
) -> None:
    with LocalIssuer() as attacker:
        refusal = refused_tokens(issuer, attacker)[case]
        client = make_client()

        created = _signup(client, refusal.token)

    body = created.get_json()
    assert (created.status_code, body["error"]["code"]) == (refusal.status, refusal.code)
    assert f'error="{refusal.code}"' in created.headers["WWW-Authenticate"]
    assert "Traceback" not in created.get_data(as_text=True)
    assert client.get("/users").get_json() == []
    assert bucket_keys() == []


def test_options_lists_the_methods_without_a_token(make_client: MakeClient) -> None:
    response = make_client().options("/user")

    assert response.status_code == 200
    assert "POST" in response.headers["Allow"]


def test_a_valid_token_writes(make_client: MakeClient, issuer: LocalIssuer) -> None:
    client = make_client()

    created = _signup(client, issuer.mint())
    deleted = client.delete("/users/test-user@example.com", headers=_bearer(issuer.mint()))

    assert (created.status_code, deleted.status_code) == (201, 204)


@pytest.mark.parametrize(
    "claims",
    [
        {"scope": "openid users:write profile"},  # RFC 8693 / RFC 9068: space-separated
        {"scope": None, "scp": ["users:read", "users:write"]},  # Okta, Entra ID
        {"aud": None, "client_id": "users-api-local"},  # a Cognito access token: no aud, client_id
        {"aud": ["another-api", "users-api-local"]},
    ],
)
def test_token_shapes_of_real_issuers_are_understood(
    claims: dict[str, Any], make_client: MakeClient, issuer: LocalIssuer
) -> None:
    assert _signup(make_client(), issuer.mint(issuer.claims(**claims))).status_code == 201


def test_the_write_scope_is_configurable(make_client: MakeClient, issuer: LocalIssuer) -> None:
    client = make_client(write_scope="users:admin")

    assert _signup(client, issuer.mint()).status_code == 403
    assert _signup(client, issuer.mint(issuer.claims(scope="users:admin"))).status_code == 201


def test_clock_skew_of_thirty_seconds_is_tolerated(make_client: MakeClient, issuer: LocalIssuer) -> None:
    claims = issuer.claims()
    just_expired = issuer.mint({**claims, "exp": claims["iat"] - 20})
    just_issued = issuer.mint({**claims, "nbf": claims["iat"] + 20})

    assert _signup(make_client(), just_expired).status_code == 201
    assert _signup(make_client(), just_issued, "second@example.com").status_code == 201


def test_reads_are_open_unless_protected(make_client: MakeClient, issuer: LocalIssuer) -> None:
    open_reads, protected = make_client(), make_client(protect_reads=True)
    no_scope = issuer.mint(issuer.claims(scope=None))

    assert open_reads.get("/users").status_code == 200
    assert protected.get("/users").status_code == 401
    assert protected.get("/users/someone@example.com").status_code == 401
    assert protected.get("/users", headers=_bearer(no_scope)).status_code == 200
    for path in ("/livez", "/openapi.json"):
        assert protected.get(path).status_code == 200


def test_keys_are_fetched_once_and_cached(make_client: MakeClient, issuer: LocalIssuer) -> None:
    client = make_client()

    for n in range(3):
        assert _signup(client, issuer.mint(), f"user-{n}@example.com").status_code == 201

    assert issuer.served == [DISCOVERY_PATH, JWKS_PATH]


class _LaterClock:
    """time for PyJWT's jwks_client module, ``offset`` seconds ahead: its refresh cooldown runs out at once."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


def test_an_unknown_kid_refreshes_the_keys_at_most_once_per_cooldown(
    make_client: MakeClient, issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    assert _signup(client, issuer.mint(), "first@example.com").status_code == 201
    issuer.rotate()  # the issuer's new key: its kid is unknown to the app
    rotated = issuer.mint()

    # PyJWT 2.15.1 (jwt/jwks_client.py, get_signing_key): every successful fetch starts a 30 s cooldown in which an
    # unknown kid is refused without fetching, so forged kids cannot make the app hammer the issuer ...
    within_cooldown = _signup(client, rotated, "early@example.com")
    assert within_cooldown.status_code == 401
    assert issuer.served == [DISCOVERY_PATH, JWKS_PATH]

    # ... and once it has passed, one unknown kid refreshes the keys: the rotated key is found, and the refresh
    # starts the next cooldown, which the forged kids that follow cannot get past.
    monkeypatch.setattr(jwks_client, "time", _LaterClock(UNKNOWN_KID_COOLDOWN_SECONDS + 1))
    after_cooldown = _signup(client, rotated, "rotated@example.com")
    with LocalIssuer() as attacker:
        forged = [
            _signup(client, attacker.mint(attacker.claims(iss=issuer.url)), f"f{n}@example.com") for n in range(5)
        ]

    assert after_cooldown.status_code == 201
    assert [response.status_code for response in forged] == [401] * 5
    assert issuer.served == [DISCOVERY_PATH, JWKS_PATH, JWKS_PATH]


def test_an_unreachable_issuer_fails_closed(mocked_aws: None, bucket_keys: Callable[[], list[str]]) -> None:
    issuer = LocalIssuer().start()
    token = issuer.mint()
    issuer.stop()
    client = create_app(settings(TABLE, BUCKET, auth=AuthSettings(issuer.url, issuer.audience))).test_client()

    first, second = _signup(client, token), _signup(client, token)

    for response in (first, second):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "issuer_unavailable"
        assert response.headers["Retry-After"] == "5"
    assert bucket_keys() == []


@pytest.mark.parametrize(
    "body",
    [b"<html><body>502 Bad Gateway</body></html>", b"[]", b'"keys"'],
    ids=["an html error page", "a json list", "a json string"],
)
def test_an_issuer_whose_key_set_is_not_a_json_object_fails_closed(
    mocked_aws: None, issuer: LocalIssuer, bucket_keys: Callable[[], list[str]], body: bytes
) -> None:
    """A proxy's error page or a broken issuer: 503 issuer_unavailable, never a 500 nor a 401 "get a new token"
    (found by the attacker review: PyJWT 2.15.1 lets JSONDecodeError through and calls a non-object an unknown key)."""

    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        jwks_url = f"http://127.0.0.1:{server.server_address[1]}{JWKS_PATH}"
        auth = AuthSettings(issuer.url, issuer.audience, jwks_url=jwks_url)
        client = create_app(settings(TABLE, BUCKET, auth=auth)).test_client()

        response = _signup(client, issuer.mint())
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "issuer_unavailable"
    assert bucket_keys() == []


def test_a_discovery_document_naming_another_issuer_is_not_trusted(mocked_aws: None, issuer: LocalIssuer) -> None:
    # OIDC Discovery 1.0 section 4.3: the document's issuer must be the one we were configured with. The same server
    # under another name (localhost for 127.0.0.1) serves a document naming 127.0.0.1: not ours, so no key is used.
    other_name = issuer.url.replace("127.0.0.1", "localhost")
    client = create_app(settings(TABLE, BUCKET, auth=AuthSettings(other_name, issuer.audience))).test_client()

    response = _signup(client, issuer.mint(issuer.claims(iss=other_name)))

    assert response.status_code == 503
    assert issuer.served == [DISCOVERY_PATH]


def test_with_auth_off_the_jwt_libraries_are_not_even_imported() -> None:
    """A cold start (a Lambda INIT, a new worker) does not pay for PyJWT and cryptography unless auth is on."""
    probe = (
        "import sys; from moto import mock_aws\n"
        "from tests.support import settings; from users_api import create_app\n"
        "with mock_aws(): create_app(settings('users', 'avatars'))\n"
        "print(sorted(name for name in ('jwt', 'users_api.auth') if name in sys.modules))"
    )
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip().splitlines()[-1] == "[]"
