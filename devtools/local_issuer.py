"""A token issuer on loopback, for ``make local AUTH=on``, ``make token`` and the tests: keys made at start.

It serves what an OIDC provider serves for resource servers: the discovery document
(``/.well-known/openid-configuration``, OIDC Discovery 1.0) and the signing keys (``/.well-known/jwks.json``, RFC 7517),
plus a development token endpoint (``POST /token``, form fields ``scope`` and ``expires_in``) that signs an access
token for anyone who can reach loopback. The key pair (RSA 2048, RS256, a random ``kid``) lives in memory only and
dies with the process, so every start invalidates the tokens of the last one.

Never expose it: it binds 127.0.0.1 and mints tokens without asking who is calling.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_AUDIENCE = "users-api-local"
DEFAULT_SCOPE = "users:write"
DEFAULT_EXPIRES_IN = 3600
MAX_EXPIRES_IN = 24 * 3600
ALGORITHM = "RS256"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret


class LocalIssuer:
    """An RSA key pair and a loopback HTTP server that publishes its public half; ``mint`` signs tokens."""

    def __init__(self, port: int = 0, audience: str = LOCAL_AUDIENCE, host: str = "127.0.0.1") -> None:
        self.audience = audience
        self.kid = secrets.token_hex(8)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.served: list[str] = []  # the paths asked for, in order (tests count key fetches)
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, bound_port = self._server.server_address[:2]
        return f"http://{host!s}:{bound_port}"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.url + JWKS_PATH,
            "token_endpoint": self.url + TOKEN_PATH,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
        }

    def claims(
        self, scope: str | None = DEFAULT_SCOPE, expires_in: int = DEFAULT_EXPIRES_IN, **overrides: Any
    ) -> dict[str, Any]:
        """An access token's claims (RFC 9068's shape); ``overrides`` replace or, given None, remove any."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": "local-developer",
            "aud": self.audience,
            "client_id": "make-token",
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": secrets.token_hex(8),
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not None}

    def mint(self, claims: Mapping[str, Any] | None = None, headers: Mapping[str, Any] | None = None) -> str:
        """A token signed with this issuer's key (claims default to ``self.claims()``; headers add to the kid)."""
        return jwt.encode(
            dict(claims if claims is not None else self.claims()),
            self.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self.kid, "typ": "at+jwt", **(headers or {})},
        )

    def rotate(self) -> None:
        """A new key pair under a new kid, the old one gone from the key set (an issuer's key rotation)."""
        self.kid = secrets.token_hex(8)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def start(self) -> LocalIssuer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-issuer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            documents = {DISCOVERY_PATH: issuer.discovery, JWKS_PATH: issuer.jwks}
            path = urllib.parse.urlsplit(self.path).path
            issuer.served.append(path)
            found = documents.get(path)
            if found is None:
                self._json(404, {"error": "not_found"})
            else:
                self._json(200, found())

        def do_POST(self) -> None:
            if urllib.parse.urlsplit(self.path).path != TOKEN_PATH:
                self._json(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(min(length, 4096)).decode("utf-8", "replace"))
            scope = form.get("scope", [DEFAULT_SCOPE])[0]
            try:
                expires_in = int(form.get("expires_in", [str(DEFAULT_EXPIRES_IN)])[0])
            except ValueError:
                expires_in = 0
            if not 1 <= expires_in <= MAX_EXPIRES_IN:
                self._json(400, {"error": "invalid_request", "error_description": f"expires_in: 1 to {MAX_EXPIRES_IN}"})
                return
            token = issuer.mint(issuer.claims(scope=scope, expires_in=expires_in))
            self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": scope})

        def _json(self, status: int, body: Mapping[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def auth_environment(environment: Mapping[str, str], issuer: LocalIssuer | None) -> dict[str, str]:
    """The app's environment with the shell's AUTH_* removed (``make local`` is open unless AUTH=on), plus this
    issuer's settings when there is one."""
    env = {key: value for key, value in environment.items() if not key.startswith("AUTH_")}
    if issuer is not None:
        env.update(AUTH_ISSUER=issuer.url, AUTH_AUDIENCE=issuer.audience)
    return env
