"""From settings to an AppSpec: the app's settings, the chosen backend's, validated once, with the stack's context.

The root program reads the stack config here (``stack_config``) and hands it to the FlaskPlatform component as its
args; the component builds the AppSpec (``build_spec``). Pulumi.yaml documents the app's keys, but its defaults do
not apply under unit-test mocks: the defaults that count are the settings classes' own fields.

Note: ``backend`` here is this project's key (``flask-platform:backend``), set with
``pulumi config set backend <name>``; it is not Pulumi's state ``backend:`` in Pulumi.yaml.
"""

from __future__ import annotations

import os
import shlex
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


def moved_key_commands(config: pulumi.Config, backend: str, moved_keys: Mapping[str, str]) -> list[str]:
    """One line per flat key an older release read that the stack still sets: the new key's command, then the rm.

    All of them at once, so an existing stack is migrated in one pass instead of one failed `pulumi up` per key.
    The value is shell-quoted; a secret's value is never echoed (the error reaches the console and CI logs):
    its line says ``--secret <value>`` instead."""
    lines = []
    for old, new in moved_keys.items():
        if (value := config.get(old)) is None:
            continue
        secret = pulumi.runtime.is_config_secret(config.full_key(old))
        shown = "--secret <value>" if secret else shlex.quote(value)
        lines.append(
            f"{old} is no longer read: the {backend} backend's settings are in its own config object. "
            f"`pulumi config set --path {backend}.{new} {shown}` then `pulumi config rm {old}`"
        )
    return lines


def keys_set_without_path(config: pulumi.Config, backend: str) -> list[str]:
    """Lines for keys like ``<backend>.<key>`` stored literally: `pulumi config set <backend>.<key> <value>` without
    ``--path`` makes a key of that whole name, which nothing reads, so the value would be silently ignored.

    The stack's keys are the SDK's config map (``pulumi.runtime.config.CONFIG``, what the language host set) and the
    ``PULUMI_CONFIG`` variable, the two places ``pulumi.runtime.get_config`` reads."""
    namespace = f"{config.name}:"
    stored = {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.get_config_env()}
    dotted = sorted(
        key.removeprefix(namespace) for key in stored if key.startswith(f"{namespace}{backend}.") and key != namespace
    )
    lines = []
    for key in dotted:
        secret = pulumi.runtime.is_config_secret(f"{namespace}{key}")
        value = config.get(key)
        shown = "--secret <value>" if secret or value is None else shlex.quote(value)
        lines.append(
            f"{key} is a key of its own, which nothing reads (it was set without --path): "
            f"`pulumi config rm {key}` then `pulumi config set --path {key} {shown}`"
        )
    return lines


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
        if problems := [
            *moved_key_commands(config, backend, plugin.moved_keys),
            *keys_set_without_path(config, backend),
        ]:
            raise ConfigError("\n".join(problems))
        found = config.get_object(backend)
        if found is not None and not isinstance(found, dict):
            raise ConfigError(
                f"{backend} must be an object of the {backend} backend's settings, got {found!r}: "
                f"`pulumi config rm {backend}`, then set each with `pulumi config set --path {backend}.<key> <value>`"
            )
        args["backend_config"] = found or {}
    return args
