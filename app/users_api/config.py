"""Settings read from the environment, once, at start.

The environment is the app's only configuration channel (see ARCHITECTURE.md):
the same code runs under gunicorn in a container and inside AWS Lambda.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .auth_config import AuthSettings

DEFAULT_MAX_AVATAR_BYTES = 2 * 1024 * 1024
DEFAULT_AVATAR_URL_TTL_SECONDS = 15 * 60
# Below gunicorn's graceful timeout (25 s) and the Lambda function's timeout (15 s): a request ends, with a 503 if
# a dependency is too slow, before the platform kills it mid-way.
DEFAULT_REQUEST_DEADLINE_SECONDS = 10
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A missing or invalid environment variable; the message names it and the fix."""


@dataclass(frozen=True)
class Settings:
    region: str
    table_name: str
    bucket_name: str
    endpoint_url: str | None = None
    # The S3 endpoint avatar URLs are presigned for, when clients reach S3 at another address than the app does
    # (an emulator the pods see as host.minikube.internal). SigV4 signs the host: it cannot be rewritten later.
    presign_endpoint_url: str | None = None
    log_level: str = "INFO"
    max_avatar_bytes: int = DEFAULT_MAX_AVATAR_BYTES
    avatar_url_ttl_seconds: int = DEFAULT_AVATAR_URL_TTL_SECONDS
    trusted_proxies: int = 1
    request_deadline_seconds: int = DEFAULT_REQUEST_DEADLINE_SECONDS
    public_url: str | None = None
    auth: AuthSettings | None = None  # bearer tokens: off unless AUTH_ISSUER is set (auth_config.py)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        from .auth_config import auth_from_env  # here: auth_config raises this module's ConfigError

        env = os.environ if environ is None else environ
        return cls(
            region=_required(env, "AWS_REGION", "the AWS region, e.g. us-east-1"),
            table_name=_required(env, "DYNAMODB_TABLE", "the users table's name"),
            bucket_name=_required(env, "S3_BUCKET", "the avatar bucket's name"),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            presign_endpoint_url=_http_url(env, "S3_PRESIGN_ENDPOINT_URL"),
            log_level=_log_level(env.get("LOG_LEVEL", "INFO")),
            max_avatar_bytes=_int(env, "MAX_AVATAR_BYTES", DEFAULT_MAX_AVATAR_BYTES, 1, 64 * 1024 * 1024),
            avatar_url_ttl_seconds=_int(
                env, "AVATAR_URL_TTL_SECONDS", DEFAULT_AVATAR_URL_TTL_SECONDS, 1, 7 * 24 * 3600
            ),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 1, 0, 10),
            request_deadline_seconds=_int(env, "REQUEST_DEADLINE_SECONDS", DEFAULT_REQUEST_DEADLINE_SECONDS, 5, 60),
            public_url=_public_url(env.get("PUBLIC_URL", "")),
            auth=auth_from_env(env),
        )


def _public_url(raw: str) -> str | None:
    from .public_url import PublicUrlError, parse_public_url

    try:
        return parse_public_url(raw)
    except PublicUrlError as exc:
        raise ConfigError(str(exc)) from None


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: set it to {what}")
    return value


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ConfigError(f"{name}={value!r} is not an http(s) URL: use e.g. http://127.0.0.1:4566, or unset it")
    return value or None


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={raw!r} is not a log level: use one of {', '.join(LOG_LEVELS)}")
    return level


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number: use one from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range: use one from {low} to {high}")
    return value
