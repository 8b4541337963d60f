"""Bearer-token authentication on the real servers: gunicorn and the local Lambda front, a real moto server, and a
real issuer on loopback (OIDC discovery + JWKS) whose key pair was made for the test.

Every forged or mis-issued token is refused with RFC 6750's status and code, and nothing reaches the table or the
bucket; a valid token writes; an issuer that cannot be reached fails closed (503); reads stay open by default.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests

from devtools.local_issuer import LocalIssuer, auth_environment
from devtools.processes import free_port, gunicorn_command, lambda_front_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from tests.auth_tokens import refused_tokens
from tests.support import REGION, image_bytes

pytestmark = pytest.mark.integration

SERVERS = {
    "gunicorn": lambda port: gunicorn_command(port, workers=1),
    "lambda": lambda port: lambda_front_command(port, 15.0),
}


@dataclass
class Stack:
    base: str
    issuer: LocalIssuer
    attacker: LocalIssuer
    moto: str
    table: str
    bucket: str

    def stored(self) -> tuple[list[str], list[str]]:
        """The table's emails and the bucket's keys, read from the emulator itself."""
        dynamodb = boto3.client("dynamodb", endpoint_url=self.moto, region_name=REGION)
        s3 = boto3.client("s3", endpoint_url=self.moto, region_name=REGION)
        emails = sorted(item["email"]["S"] for item in dynamodb.scan(TableName=self.table)["Items"])
        keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=self.bucket).get("Contents", []))
        return emails, keys


Start = Callable[[str, LocalIssuer], str]


@pytest.fixture
def start_app(moto_server: str, names: tuple[str, str]) -> Iterator[Start]:
    started: list[subprocess.Popen[bytes]] = []

    def start(server: str, issuer: LocalIssuer) -> str:
        port = free_port()
        env = auth_environment(app_environment(moto_server, REGION, *names, log_level="WARNING"), issuer)
        process = spawn(SERVERS[server](port), env=env)
        started.append(process)
        wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        stop(process)


@pytest.fixture(params=sorted(SERVERS))
def stack(
    request: pytest.FixtureRequest, start_app: Start, moto_server: str, names: tuple[str, str]
) -> Iterator[Stack]:
    with LocalIssuer() as issuer, LocalIssuer() as attacker:
        yield Stack(start_app(request.param, issuer), issuer, attacker, moto_server, *names)


def _signup(base: str, email: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(
        f"{base}/user",
        data={"name": "Test User", "email": email},
        files={"avatar": ("face.png", image_bytes(), "image/png")},
        headers=headers,
        timeout=30,
    )


def _delete(base: str, email: str, token: str) -> requests.Response:
    return requests.delete(f"{base}/users/{email}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _assert_refused(response: requests.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="users-api"')
    assert f'error="{code}"' in challenge


def test_every_bad_token_is_refused_and_nothing_is_written(stack: Stack) -> None:
    good = stack.issuer.mint()
    kept = _signup(stack.base, "kept@example.com", good)
    assert kept.status_code == 201, kept.text
    before = stack.stored()

    for name, refusal in refused_tokens(stack.issuer, stack.attacker).items():
        created = _signup(stack.base, f"{name.replace(' ', '-')}@example.com", refusal.token)
        deleted = _delete(stack.base, "kept@example.com", refusal.token)
        for response in (created, deleted):
            try:
                _assert_refused(response, refusal.status, refusal.code)
            except AssertionError as failure:
                raise AssertionError(f"{name}: {failure}") from None

    assert stack.stored() == before
    assert before[0] == ["kept@example.com"]
    assert len(before[1]) == 1


def test_a_valid_token_creates_and_deletes(stack: Stack) -> None:
    token = stack.issuer.mint()

    created = _signup(stack.base, "writer@example.com", token)
    deleted = _delete(stack.base, "writer@example.com", token)

    assert created.status_code == 201, created.text
    assert deleted.status_code == 204, deleted.text
    assert stack.stored() == ([], [])


def test_no_token_asks_for_one_and_a_malformed_header_is_a_bad_request(stack: Stack) -> None:
    missing = _signup(stack.base, "anonymous@example.com", None)
    basic = requests.delete(
        f"{stack.base}/users/anyone@example.com", headers={"Authorization": "Basic dXNlcjpwYXNz"}, timeout=30
    )
    two_tokens = requests.delete(
        f"{stack.base}/users/anyone@example.com", headers={"Authorization": "Bearer a b"}, timeout=30
    )

    for response in (missing, basic):
        assert (response.status_code, response.json()["error"]["code"]) == (401, "missing_token")
        # RFC 6750 section 3.1: no error code when the request carried no token at all.
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="users-api", scope="users:write"'
    _assert_refused(two_tokens, 400, "invalid_request")
    assert stack.stored() == ([], [])


def test_reads_health_and_the_document_stay_open(stack: Stack) -> None:
    for path in ("/users", "/livez", "/readyz", "/openapi.json"):
        assert requests.get(f"{stack.base}{path}", timeout=30).status_code == 200, path


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_an_unreachable_issuer_fails_closed(
    server: str, start_app: Start, moto_server: str, names: tuple[str, str]
) -> None:
    issuer = LocalIssuer().start()
    token = issuer.mint()
    issuer.stop()  # its port now refuses connections: discovery and JWKS cannot be fetched
    base = start_app(server, issuer)

    created = _signup(base, "while-down@example.com", token)

    assert created.status_code == 503, created.text
    assert created.json()["error"]["code"] == "issuer_unavailable"
    assert created.headers["Retry-After"] == "5"
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server, region_name=REGION)
    assert dynamodb.scan(TableName=names[0])["Items"] == []
