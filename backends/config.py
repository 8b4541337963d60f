"""From settings to an AppSpec: the app's settings, the chosen backend's, validated once, with the stack's context.

The root program reads the stack config here (``stack_config``) and hands it to the FlaskPlatform component as its
args; the component builds the AppSpec (``build_spec``). Pulumi.yaml documents the app's keys, but its defaults do
not apply under unit-test mocks: the defaults that count are the settings classes' own fields.

Note: ``backend`` here is this project's key (``flask-platform:backend``), set with
``pulumi config set backend <name>``; it is not Pulumi's state ``backend:`` in Pulumi.yaml.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi

from . import load_plugin
from .base import AppSpec, AuthSpec
from .settings import (
    CONFIG_HINTS,
    PROJECT,
    AppSettings,
    ConfigError,
    SettingProblem,
    app_setting_keys,
    hints_for,
    problem_error,
    validated,
)

__all__ = ["ConfigError", "build_spec", "parse", "stack_config", "stack_region"]


def stack_region() -> str | None:
    """The stack's AWS region: ``aws:region``, else the AWS SDK's variables; None when none is set."""
    return pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def build_spec(
    backend: str | None,
    app_values: Mapping[str, Any],
    backend_values: Mapping[str, Any] | None,
    *,
    stack: str,
    region: str | None,
) -> AppSpec:
    """The AppSpec of the app's settings and the chosen backend's, or a ConfigError before any resource exists.

    Only the chosen backend's settings are validated; its settings class sees the app's name, the stack and the
    region (pydantic's validation context), for defaults and checks that depend on them."""
    plugin = load_plugin(backend)
    app = validated(AppSettings, app_values)
    context = {"app_name": app.app_name, "stack": stack, "region": region}
    settings = validated(plugin.settings, backend_values or {}, backend=plugin.name, context=context)
    try:
        settings.check_app(app)
    except SettingProblem as problem:
        raise problem_error(problem, plugin.name) from None
    return AppSpec(
        name=app.app_name,
        backend=plugin.name,
        settings=settings,
        max_avatar_bytes=app.max_avatar_bytes,
        log_level=app.log_level,
        log_retention_days=app.log_retention_days,
        deletion_protection=app.deletion_protection,
        auth=auth_spec(app),
        tags={"project": PROJECT, "app": app.app_name, "stack": stack, "backend": plugin.name, "managed-by": "pulumi"},
    )


def auth_spec(app: AppSettings) -> AuthSpec | None:
    if app.auth_issuer is None or app.auth_audience is None:
        return None
    return AuthSpec(app.auth_issuer, app.auth_audience, app.auth_scope, app.auth_protect_reads, app.auth_jwks_url)


def parse(values: Mapping[str, Any], stack: str = "dev", region: str | None = None) -> AppSpec:
    """An AppSpec from stack-config-shaped values: ``backend``, the app's keys (``logLevel``), and the backend's
    object under its name (``{"<name>": {"memoryMb": 1024}}``); errors phrased as `pulumi config set` commands."""
    backend = values.get("backend")
    app_keys = set(app_setting_keys())
    with hints_for(CONFIG_HINTS):
        return build_spec(
            str(backend) if backend else None,
            {key: value for key, value in values.items() if key in app_keys},
            values.get(str(backend)) if backend else None,
            stack=stack,
            region=region,
        )


def stack_config() -> dict[str, Any]:
    """The running stack's settings, as FlaskPlatform's args: the app's keys, the backend and its config object.

    A key the chosen backend read before its settings moved into its object stops the program with the new key."""
    config = pulumi.Config()
    backend = config.get("backend")
    args: dict[str, Any] = {"backend": backend or ""}
    for key, name in zip(app_setting_keys(), AppSettings.model_fields, strict=True):
        if (value := config.get(key)) is not None:
            args[name] = value
    if backend:
        plugin = load_plugin(backend)
        for old, new in plugin.moved_keys.items():
            if (value := config.get(old)) is not None:
                raise ConfigError(
                    f"{old} is no longer read: the {backend} backend's settings are in its own config object. "
                    f"`pulumi config set --path {backend}.{new} {value}` then `pulumi config rm {old}`"
                )
        found = config.get_object(backend)
        if found is not None and not isinstance(found, dict):
            raise ConfigError(
                f"{backend} must be an object of the {backend} backend's settings, got {found!r}: "
                f"`pulumi config rm {backend}`, then set each with `pulumi config set --path {backend}.<key> <value>`"
            )
        args["backend_config"] = found or {}
    return args
