"""FlaskPlatform: the whole platform as one Pulumi component, usable from any Pulumi language.

Pulumi infers the package schema from this module's type annotations and
docstrings (``pulumi.provider.experimental``): every attribute's docstring
below becomes the package's documentation; ``backends/package_schema.py`` adds
each installed backend's settings to it as a documented type. Inputs are plain
values, known at preview, because they choose what is created.

The component names no backend: ``backend`` chooses one from the registry, and
``backend_config`` carries that backend's own settings, keyed as in its stack
config object, validated by the backend's settings class (backends/config.py).
The root ``__main__.py`` passes its stack config on as these args unchanged.

No ``from __future__ import annotations`` here: the schema analyzer reads the
annotations as live types.
"""

from typing import Any, Required, TypedDict

import pulumi

from backends import load_plugin
from backends.base import Deployment
from backends.config import build_spec, stack_region
from backends.settings import AppSettings

TYPE_TOKEN = "flask-platform:index:FlaskPlatform"  # noqa: S105 - a type token, not a secret


class FlaskPlatformArgs(TypedDict, total=False):
    """The platform's settings: the backend, the app's settings, and the backend's own settings."""

    backend: Required[str]
    """Where the app runs: the name of an installed backend (see the <Name>BackendConfig types); an unknown name's
    error lists the installed ones."""
    app_name: str
    """Prefix of every resource's name: 2-32 lower-case letters, digits and dashes (default users-api)."""
    max_avatar_bytes: int
    """Largest avatar accepted, in bytes (1024-67108864; unset: the app's default, 2097152); a backend may refuse
    more than it can receive (its docs say)."""
    log_level: str
    """The app's log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (unset: the app's default, INFO)."""
    log_retention_days: int
    """Days CloudWatch keeps the logs the backend creates (a CloudWatch retention value, default 14)."""
    deletion_protection: bool
    """Protect the users table; destroy then retains it, the bucket and the image repository (default true)."""
    auth_issuer: str
    """Turns on bearer-token authentication: the token issuer's https URL, exactly as tokens carry it in iss (e.g. a
    Cognito user pool's https://cognito-idp.<region>.amazonaws.com/<pool id>). Needs auth_audience. Unset: writes are
    open to anyone who can reach the API (and `pulumi up` of a public backend warns)."""
    auth_audience: str
    """The audience tokens must be issued for (aud, or client_id for Cognito access tokens). Needs auth_issuer."""
    auth_scope: str
    """The scope POST /user and DELETE /users/{email} need (unset: the app's default, users:write)."""
    auth_protect_reads: bool
    """Reads need a valid token too (any scope) (unset: the app's default, false: reads are open)."""
    auth_jwks_url: str
    """The issuer's JWKS URL, when OIDC discovery from auth_issuer cannot find it (unset: discovery)."""
    backend_config: dict[str, Any]
    """The chosen backend's own settings, keyed as in its stack config object (camelCase, e.g. {"memoryMb": 1024}).
    Each installed backend's keys are the schema type <Name>BackendConfig, with their defaults and bounds; unknown
    keys are refused. Unset: the backend's defaults."""


class FlaskPlatform(pulumi.ComponentResource):
    """The users API with its DynamoDB table and S3 bucket, deployed by the chosen backend."""

    url: pulumi.Output[str]
    """The API's base URL: curl it, or give it to the load tests as HOST_ADDRESS."""
    backend: pulumi.Output[str]
    """The backend that deployed it."""
    table_name: pulumi.Output[str]
    """The users table's name."""
    bucket_name: pulumi.Output[str]
    """The avatar bucket's name."""
    scaling: pulumi.Output[dict[str, Any]]
    """The scaling policy in force, as the load tests read it (kind, replicas or concurrency, limits)."""
    extras: pulumi.Output[dict[str, Any]]
    """The backend's own outputs (names and meanings on each backend's docs page; a kubeconfig is a secret)."""

    def __init__(self, name: str, args: FlaskPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        given = _plain(dict(args))
        spec = build_spec(  # fails before any resource on bad args
            str(given.get("backend") or ""),
            {key: value for key, value in given.items() if key in AppSettings.model_fields},
            given.get("backend_config"),
            stack=pulumi.get_stack(),
            region=stack_region(),
        )
        plugin = load_plugin(spec.backend)
        super().__init__(TYPE_TOKEN, name, {}, opts)
        if plugin.public and spec.auth is None:
            pulumi.log.warn(open_api_warning(spec.backend), resource=self)
        factory = plugin.factory
        self.deployment: Deployment = factory(name, spec, pulumi.ResourceOptions(parent=self)).deployment
        self.url = pulumi.Output.from_input(self.deployment.url)
        self.backend = pulumi.Output.from_input(self.deployment.backend)
        self.table_name = pulumi.Output.from_input(self.deployment.table_name)
        self.bucket_name = pulumi.Output.from_input(self.deployment.bucket_name)
        self.scaling = pulumi.Output.from_input(self.deployment.scaling).apply(dict)
        self.extras = pulumi.Output.all(**self.deployment.extras).apply(dict)
        self.register_outputs(
            {
                "url": self.url,
                "backend": self.backend,
                "tableName": self.table_name,
                "bucketName": self.bucket_name,
                "scaling": self.scaling,
                "extras": self.extras,
            }
        )


def open_api_warning(backend: str) -> str:
    return (
        f"authentication is off: anyone who reaches this {backend} deployment's URL can create and delete users. "
        "Turn it on with `pulumi config set authIssuer https://<your issuer>` and "
        "`pulumi config set authAudience <audience>`, or the component's auth_issuer and auth_audience "
        "(README: Authentication)"
    )


def _plain(value: Any) -> Any:
    """``value`` when it holds no Output anywhere: what a backend creates is chosen by these values at preview."""
    if isinstance(value, pulumi.Output):
        raise pulumi.RunError("FlaskPlatform's arguments must be plain values known at preview, not Outputs")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def component_name(args: FlaskPlatformArgs) -> str:
    """The component's name: the app's name, as every resource's prefix (its default is AppSettings')."""
    return str(args.get("app_name") or AppSettings.model_fields["app_name"].default)
