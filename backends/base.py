"""The plugin contract: a BackendPlugin registers a backend; an AppSpec goes in, a Deployment comes out.

Every backend is a ``pulumi.ComponentResource`` (type token
``flask-platform:backends:<Name>``) built as ``factory(name, spec, opts)``;
its ``deployment`` fills the same core outputs, so ``make address``, the load
tests and the comparison never need to know which backend ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pulumi

from .settings import BackendSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = REPO_ROOT / "app"
CONTAINER_PORT = 5000
LIVENESS_PATH = "/livez"
READINESS_PATH = "/readyz"
AVATAR_PREFIX = "avatars/"  # the app stores every avatar under this key prefix
# The app's REQUEST_DEADLINE_SECONDS in a container: below gunicorn's graceful timeout (25 s,
# app/users_api/gunicorn_conf.py, which refuses to start otherwise), so a request running at SIGTERM ends in the drain.
CONTAINER_REQUEST_DEADLINE_SECONDS = 10
DEFAULT_WRITE_SCOPE = "users:write"  # the app's default AUTH_SCOPE (app/users_api/auth_config.py)
SettingsOf = TypeVar("SettingsOf", bound=BackendSettings)


def folder_digest(folder: Path, skip: Callable[[Path], bool]) -> str:
    """SHA-256 (hex) over a folder's files, names and contents, in a fixed order; ``skip`` gets each file's path
    relative to ``folder``. What a backend passes so that a changed image context or chart is deployed again."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or skip(relative):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class AuthSpec:
    """Who may write: the token issuer, the audience, and what was set of the scope, the read flag and the JWKS URL.

    The app checks tokens itself on every backend (app/users_api/auth.py); a backend with a gateway that can check
    JWTs (an API gateway's JWT authorizer) checks them there too. Unset values stay the app's defaults."""

    issuer: str
    audience: str
    scope: str | None = None
    protect_reads: bool | None = None
    jwks_url: str | None = None

    @property
    def write_scope(self) -> str:
        return self.scope or DEFAULT_WRITE_SCOPE

    def app_environment(self) -> dict[str, str]:
        environment = {"AUTH_ISSUER": self.issuer, "AUTH_AUDIENCE": self.audience}
        if self.scope is not None:
            environment["AUTH_SCOPE"] = self.scope
        if self.protect_reads is not None:
            environment["AUTH_PROTECT_READS"] = str(self.protect_reads).lower()
        if self.jwks_url is not None:
            environment["AUTH_JWKS_URL"] = self.jwks_url
        return environment


@dataclass(frozen=True)
class AppSpec:
    """What every backend deploys: one app, its settings, the chosen backend's own settings, its tags.

    ``max_avatar_bytes`` and ``log_level`` are None unless the user set them: the app then keeps its own default
    (app/users_api/config.py), so a backend passes them on only when set (``app_environment``)."""

    name: str
    backend: str
    settings: BackendSettings
    app_dir: Path = APP_DIR
    max_avatar_bytes: int | None = None
    log_level: str | None = None
    log_retention_days: int = 14
    deletion_protection: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    auth: AuthSpec | None = None  # bearer-token authentication; None: off (the app's default)

    def settings_as(self, kind: type[SettingsOf]) -> SettingsOf:
        """The backend's settings as its own class (a backend reads only its own)."""
        if not isinstance(self.settings, kind):
            raise TypeError(f"the {self.backend} backend got {type(self.settings).__name__}, not {kind.__name__}")
        return self.settings

    def app_environment(self) -> dict[str, str]:
        """The app's settings the user set, as the app's environment variables (the rest stay the app's defaults)."""
        environment = {"LOG_LEVEL": self.log_level} if self.log_level else {}
        if self.max_avatar_bytes is not None:
            environment["MAX_AVATAR_BYTES"] = str(self.max_avatar_bytes)
        if self.auth is not None:
            environment.update(self.auth.app_environment())
        return environment


@dataclass
class Deployment:
    """The outputs every backend exports (the contract), plus its own extras."""

    url: pulumi.Input[str]
    backend: str
    table_name: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    scaling: pulumi.Input[Mapping[str, Any]]
    extras: dict[str, pulumi.Input[Any]] = field(default_factory=dict)

    def outputs(self) -> dict[str, pulumi.Input[Any]]:
        core: dict[str, pulumi.Input[Any]] = {
            "url": self.url,
            "backend": self.backend,
            "tableName": self.table_name,
            "bucketName": self.bucket_name,
            "scaling": self.scaling,
        }
        return {**core, **self.extras}


class BackendComponent(Protocol):
    deployment: Deployment


class BackendFactory(Protocol):
    def __call__(self, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> BackendComponent: ...


@dataclass(frozen=True)
class BackendPlugin:
    """A backend as the registry knows it: what a built-in's ``plugin`` attribute and a third party's entry point
    (group ``flask_platform.backends``) name.

    ``moved_keys`` maps config keys an older release read (flat, in the project's namespace) to the key in this
    backend's config object, so an existing stack gets the new key's command instead of silence."""

    name: str
    settings: type[BackendSettings]
    factory: BackendFactory
    description: str
    moved_keys: Mapping[str, str] = field(default_factory=dict)
    # Whether the deployment is reachable from the internet: `pulumi up` with authentication off then warns. A
    # backend that only serves on a developer's machine says False.
    public: bool = True
