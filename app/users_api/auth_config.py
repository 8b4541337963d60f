"""The bearer-token settings, read from the environment with the rest (config.py): off unless AUTH_ISSUER is set.

AUTH_ISSUER       the issuer's URL, exactly as tokens carry it in ``iss`` (https; http only on loopback)
AUTH_AUDIENCE     the audience tokens must be for (``aud``, or Cognito access tokens' ``client_id``)
AUTH_JWKS_URL     optional: the issuer's key set; unset, found by OIDC discovery from the issuer
AUTH_SCOPE        the scope a write needs (default ``users:write``)
AUTH_PROTECT_READS  ``true``: reads need a valid token too (any scope); default ``false``
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .config import ConfigError

DEFAULT_WRITE_SCOPE = "users:write"
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str
    jwks_url: str | None = None
    write_scope: str = DEFAULT_WRITE_SCOPE
    protect_reads: bool = False

    @property
    def discovery_url(self) -> str:
        """OIDC Discovery 1.0, section 4: the issuer with ``/.well-known/openid-configuration`` appended."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def auth_from_env(env: Mapping[str, str]) -> AuthSettings | None:
    """The auth settings, None when auth is off (no AUTH_* variable set); ConfigError names a wrong one."""
    issuer = env.get("AUTH_ISSUER", "").strip()
    audience = env.get("AUTH_AUDIENCE", "").strip()
    others = [name for name in ("AUTH_JWKS_URL", "AUTH_SCOPE", "AUTH_PROTECT_READS") if env.get(name, "").strip()]
    if not issuer:
        if audience or others:
            given = "AUTH_AUDIENCE" if audience else others[0]
            raise ConfigError(
                f"{given} is set but AUTH_ISSUER is not: set AUTH_ISSUER to the issuer's URL, or unset {given}"
            )
        return None
    _url("AUTH_ISSUER", issuer)
    if not audience:
        raise ConfigError(
            "AUTH_AUDIENCE is not set: set it to the audience tokens are issued for (the API's identifier)"
        )
    jwks_url = env.get("AUTH_JWKS_URL", "").strip() or None
    if jwks_url:
        _url("AUTH_JWKS_URL", jwks_url)
    scope = env.get("AUTH_SCOPE", "").strip() or DEFAULT_WRITE_SCOPE
    if not _SCOPE_TOKEN.match(scope):
        raise ConfigError(f"AUTH_SCOPE={scope!r} is not one OAuth scope: use one word without spaces, e.g. users:write")
    raw_reads = env.get("AUTH_PROTECT_READS", "").strip().lower() or "false"
    if raw_reads not in _BOOLEANS:
        raise ConfigError(f"AUTH_PROTECT_READS={raw_reads!r} is not true or false: use true or false")
    return AuthSettings(issuer, audience, jwks_url, scope, _BOOLEANS[raw_reads])


def _url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return
    raise ConfigError(
        f"{name}={value!r} is not an https URL: use the issuer's https address (plain http only for a local issuer "
        "on 127.0.0.1 or localhost)"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
