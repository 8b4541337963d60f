"""Bearer-token (JWT) authentication, off unless AUTH_ISSUER is set (auth_config.py).

When on, the write routes need an access token from the configured issuer carrying the write scope, and the
read routes a valid token when AUTH_PROTECT_READS is true. Health, the OpenAPI document and the docs stay open.
Refusals follow RFC 6750 section 3 in the API's JSON error shape: no token, 401 with a bare ``Bearer``
challenge; a token that fails any check, 401 ``invalid_token`` (the reason is logged, never told: what failed
in a signature is nobody's business but ours); a valid token without the scope, 403 ``insufficient_scope``; a
malformed Authorization header, 400 ``invalid_request``. An issuer whose keys cannot be fetched makes every
protected request fail closed: 503 with Retry-After, never a pass.

Keys (PyJWT 2.15.1, ``jwt/jwks_client.py``): ``PyJWKClient`` keeps the key set for ``lifespan`` seconds; a
``kid`` not in it forces one refresh, at most once per ``cooldown_duration`` (an unknown kid inside the
cooldown is refused without a fetch, so forged kids cannot make us hammer the issuer); a failed fetch raises
``PyJWKClientConnectionError`` and keeps the cached set (2.15.1 no longer clears it on error). Redirects are not
followed. Verification (``jwt/api_jws.py: _verify_signature``): a PyJWK key verifies only with its own algorithm,
and our allow-list admits asymmetric algorithms only, so ``none`` and HS256-signed-with-the-public-key are
refused before any key is looked up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from typing import Any

import jwt
from flask import Flask, request

from .auth_config import AuthSettings
from .errors import ApiError

log = logging.getLogger("users_api")

# Asymmetric algorithms only (RFC 7518): never "none", never HS* (a public key would then be the shared secret).
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
CLOCK_SKEW_SECONDS = 30  # leeway for exp and nbf between our clock and the issuer's
KEY_SET_LIFESPAN_SECONDS = 300  # how long fetched keys are used before they are fetched again
UNKNOWN_KID_COOLDOWN_SECONDS = 30  # at most one forced refresh per this, whatever kids tokens name
ISSUER_TIMEOUT_SECONDS = 3.0  # a slow issuer must not hold a worker for long
DISCOVERY_RETRY_SECONDS = 5.0  # after a failed discovery, answer 503 at once for this long
RETRY_AFTER_SECONDS = 5
REALM = "users-api"
WRITE_ENDPOINTS = frozenset({"api.create_user", "api.delete_user"})
READ_ENDPOINTS = frozenset({"api.list_users", "api.get_user", "api.get_avatar"})


class IssuerUnavailable(Exception):
    """The issuer's discovery document or keys cannot be fetched right now."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a redirect is an answer we do not follow
        return None


def _fetch_json(url: str) -> Any:
    opener = urllib.request.build_opener(_NoRedirect())
    request_ = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - https, or http on loopback (auth_config)
    with opener.open(request_, timeout=ISSUER_TIMEOUT_SECONDS) as response:
        return json.load(response)


class IssuerKeys:
    """The issuer's signing keys: the JWKS URL (configured, or by OIDC discovery, once), then PyJWKClient's cache."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._discovery_failed_at = float("-inf")
        if settings.jwks_url:
            self._client = self._make_client(settings.jwks_url)

    @staticmethod
    def _make_client(jwks_url: str) -> jwt.PyJWKClient:
        return _KeySetClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=KEY_SET_LIFESPAN_SECONDS,
            timeout=ISSUER_TIMEOUT_SECONDS,
            cooldown_duration=UNKNOWN_KID_COOLDOWN_SECONDS,
        )

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is not None:
                return self._client
            if time.monotonic() - self._discovery_failed_at < DISCOVERY_RETRY_SECONDS:
                raise IssuerUnavailable("discovery failed moments ago")
            try:
                document = _fetch_json(self._settings.discovery_url)
                jwks_uri = document["jwks_uri"]
                # OIDC Discovery 1.0, section 4.3: the document's issuer MUST equal the URL it was fetched for.
                if document.get("issuer") != self._settings.issuer or not isinstance(jwks_uri, str):
                    raise ValueError("the discovery document names another issuer or no jwks_uri")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self._discovery_failed_at = time.monotonic()
                raise IssuerUnavailable(type(exc).__name__) from exc
            self._client = self._make_client(jwks_uri)
            return self._client

    def signing_key(self, kid: str) -> jwt.PyJWK:
        try:
            return self._jwks_client().get_signing_key(kid)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:
            raise IssuerUnavailable(type(exc).__name__) from exc


class _KeySetClient(jwt.PyJWKClient):
    """PyJWKClient whose fetch reports an issuer that answers garbage as unreachable, not as an unknown key.

    PyJWT 2.15.1's ``fetch_data`` (jwt/jwks_client.py) lets ``json.load``'s JSONDecodeError through (a 500 here) and
    raises the base ``PyJWKClientError`` for a payload that is not a JSON object, the same class as "no key matches
    this kid" (which would tell clients to get a new token). Either means the issuer is broken: fail closed, 503."""

    def fetch_data(self) -> Any:
        try:
            return super().fetch_data()
        except jwt.PyJWKClientConnectionError:
            raise
        except (ValueError, jwt.PyJWKClientError) as exc:
            raise jwt.PyJWKClientConnectionError(f"the key set is not a JSON object: {type(exc).__name__}") from exc


def _challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> dict[str, str]:
    params = [f'realm="{REALM}"']
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    if scope:
        params.append(f'scope="{scope}"')
    return {"WWW-Authenticate": "Bearer " + ", ".join(params)}


def _invalid_token(reason: str, description: str = "the access token is not valid for this API") -> ApiError:
    log.info("bearer token refused: %s", reason)
    return ApiError(
        401,
        "invalid_token",
        f"{description}: get a new token from the issuer",
        headers=_challenge("invalid_token", description),
    )


class Authenticator:
    """Checks the bearer token of every protected request (a ``before_request`` hook)."""

    def __init__(self, settings: AuthSettings, keys: IssuerKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or IssuerKeys(settings)

    def required_scope(self, endpoint: str | None) -> str | None:
        """The scope an endpoint needs ("" for any valid token), or None when it is open."""
        if endpoint in WRITE_ENDPOINTS:
            return self.settings.write_scope
        if endpoint in READ_ENDPOINTS and self.settings.protect_reads:
            return ""
        return None

    def __call__(self) -> None:
        scope = self.required_scope(request.endpoint)
        if scope is None or request.method == "OPTIONS":  # Flask's automatic OPTIONS only lists the methods (Allow)
            return
        claims = self.verify(self._bearer_token(scope))
        if scope and scope not in _scopes(claims):
            log.info("bearer token refused: scope %s missing", scope)
            raise ApiError(
                403,
                "insufficient_scope",
                f"the access token lacks the scope {scope!r}: ask the issuer for a token with it",
                headers=_challenge("insufficient_scope", f"this request needs the scope {scope}", scope),
            )

    def _bearer_token(self, scope: str) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(
                401,
                "missing_token",
                "this request needs an access token: send Authorization: Bearer <token>",
                headers=_challenge(scope=scope or None),
            )
        token = token.strip()
        if not token or " " in token:
            raise ApiError(
                400,
                "invalid_request",
                "the Authorization header is malformed: send Authorization: Bearer <token>, one token",
                headers=_challenge("invalid_request", "send one bearer token"),
            )
        return token

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims once every check passed; ApiError (401, or 503 when the issuer is down) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid_token("not a JWS") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise _invalid_token(f"algorithm {str(alg)[:16]!r} not allowed")
        if not isinstance(kid, str) or not kid:
            raise _invalid_token("no kid")
        try:
            key = self.keys.signing_key(kid)
        except IssuerUnavailable as exc:
            log.warning("token issuer unavailable: %s", exc)
            raise ApiError(
                503,
                "issuer_unavailable",
                "the token issuer cannot be reached to check the token; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        except jwt.PyJWKClientError:
            raise _invalid_token("unknown kid") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],  # and the key's own: PyJWT refuses a header alg other than the key's
                issuer=self.settings.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid_token("expired", "the access token has expired") from None
        except jwt.PyJWTError as exc:
            raise _invalid_token(type(exc).__name__) from None
        if not _for_audience(claims, self.settings.audience):
            raise _invalid_token("audience")
        return claims


def _for_audience(claims: dict[str, Any], audience: str) -> bool:
    """``aud`` names the audience; without ``aud``, ``client_id`` equals it (Cognito access tokens carry no aud; API
    Gateway's JWT authorizer checks client_id only when aud is absent, and so do we)."""
    aud = claims.get("aud")
    if aud is None:
        return claims.get("client_id") == audience
    return aud == audience if isinstance(aud, str) else isinstance(aud, list) and audience in aud


def _scopes(claims: dict[str, Any]) -> set[str]:
    """RFC 9068 / RFC 8693 ``scope`` (space-separated), or ``scp`` (a list, as Okta and Entra ID issue)."""
    found: set[str] = set()
    if isinstance(claims.get("scope"), str):
        found.update(claims["scope"].split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        found.update(item for item in scp if isinstance(item, str))
    elif isinstance(scp, str):
        found.update(scp.split())
    return found


def install_auth(app: Flask, settings: AuthSettings) -> None:
    """Check tokens before the protected routes run: nothing is parsed or written before."""
    app.before_request(Authenticator(settings))
