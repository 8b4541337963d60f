"""Real tokens from a real key pair, good and bad: what the auth tests send to the app on every server.

Each bad token differs from a good one in exactly one way (RFC 6750 says how each must be refused). They are built
with PyJWT and, where PyJWT refuses to build them (``alg: none`` with a key, HS256 keyed with a PEM public key),
byte by byte as an attacker would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from devtools.local_issuer import LocalIssuer


@dataclass(frozen=True)
class Refusal:
    token: str
    status: int
    code: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def alg_none(issuer: LocalIssuer) -> str:
    return _segments({"alg": "none", "typ": "JWT", "kid": issuer.kid}, issuer.claims()) + "."


def hs256_with_public_key(issuer: LocalIssuer) -> str:
    """The classic key-confusion forgery: HMAC keyed with the issuer's public key, which anyone can fetch."""
    pem = issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}, issuer.claims())
    return signing_input + "." + _b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def tampered(issuer: LocalIssuer) -> str:
    """A genuine read-only token whose payload was rewritten to grant the write scope; signature kept."""
    header, _, signature = issuer.mint(issuer.claims(scope="users:read")).split(".")
    return header + "." + _b64(json.dumps(issuer.claims(scope="users:write")).encode()) + "." + signature


REFUSAL_NAMES = (
    "expired",
    "not yet valid",
    "wrong issuer",
    "wrong audience",
    "no audience",
    "no expiry",
    "missing scope",
    "scope as a prefix",
    "alg none",
    "HS256 signed with the public key",
    "unknown kid",
    "known kid, another key",
    "tampered payload",
    "not a JWT",
)


def refused_tokens(issuer: LocalIssuer, attacker: LocalIssuer) -> dict[str, Refusal]:
    """Every way a write must be refused, by name (REFUSAL_NAMES). ``attacker`` is another issuer: another key."""
    now = int(time.time())
    invalid = 401, "invalid_token"
    refusals = {
        "expired": Refusal(issuer.mint(issuer.claims(iat=now - 600, nbf=now - 600, exp=now - 120)), *invalid),
        "not yet valid": Refusal(issuer.mint(issuer.claims(nbf=now + 600)), *invalid),
        "wrong issuer": Refusal(issuer.mint(issuer.claims(iss=attacker.url)), *invalid),
        "wrong audience": Refusal(issuer.mint(issuer.claims(aud="another-api")), *invalid),
        "no audience": Refusal(issuer.mint(issuer.claims(aud=None, client_id="another-client")), *invalid),
        "no expiry": Refusal(issuer.mint(issuer.claims(exp=None)), *invalid),
        "missing scope": Refusal(issuer.mint(issuer.claims(scope="users:read")), 403, "insufficient_scope"),
        "scope as a prefix": Refusal(issuer.mint(issuer.claims(scope="users:writer")), 403, "insufficient_scope"),
        "alg none": Refusal(alg_none(issuer), *invalid),
        "HS256 signed with the public key": Refusal(hs256_with_public_key(issuer), *invalid),
        "unknown kid": Refusal(attacker.mint(attacker.claims(iss=issuer.url)), *invalid),
        "known kid, another key": Refusal(
            attacker.mint(attacker.claims(iss=issuer.url), headers={"kid": issuer.kid}), *invalid
        ),
        "tampered payload": Refusal(tampered(issuer), *invalid),
        "not a JWT": Refusal("not-a-token", *invalid),
    }
    assert tuple(refusals) == REFUSAL_NAMES
    return refusals
