"""Settings: each declared once as a typed pydantic field, validated once, with errors that name the key and the fix.

Two kinds of settings reach a deployment, from either of two places:

- the app's own (``AppSettings``: its name, limits, log level and retention, deletion protection), under the
  project's config namespace (``pulumi config set logLevel DEBUG``) or as FlaskPlatform's top-level args;
- the chosen backend's (a ``BackendSettings`` subclass that the backend's package declares), under one config
  object named after the backend (``pulumi config set --path <name>.memoryMb 1024``, i.e. the key
  ``flask-platform:<name>``) or as FlaskPlatform's ``backend_config`` map, keyed alike (``{"memoryMb": 1024}``).

A backend's object sits in this project's namespace, so it never collides with a provider's own namespace
(a provider's is named after the provider, like ``aws:``) nor with another backend's keys. Only the chosen
backend's settings are read: a wrong value of another backend's cannot stop this stack.

Every problem becomes one ``ConfigError`` naming the key, the value, what is wrong and how to fix it, phrased
for where the value came from (stack config or component args: ``hints``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel

PROJECT = "flask-platform"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# CloudWatch Logs accepts only these retention periods (days): PutRetentionPolicy's retentionInDays.
LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
# The app's own bounds for MAX_AVATAR_BYTES (app/users_api/config.py); its default is the app's to keep.
MIN_AVATAR_BYTES = 1024
MAX_AVATAR_BYTES = 64 * 1024 * 1024


class ConfigError(pulumi.RunError):
    """A setting is missing or wrong; the message names the key and the fix."""


class SettingsModel(BaseModel):
    """Settings as pydantic reads them: camelCase keys (``memoryMb``) for the snake_case fields, no unknown key,
    strings from ``pulumi config`` converted ("512" -> 512, "false" -> False), immutable once read."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, str_strip_whitespace=True
    )


class BackendSettings(SettingsModel):
    """What a backend's settings class derives from (see docs: ARCHITECTURE.md, "The plugin API").

    Each field is one setting: its type, its default and its description are declared there and nowhere else.
    ``check_app`` refuses app settings this backend cannot honour (a request-size ceiling, say)."""

    def check_app(self, app: AppSettings) -> None:
        """Raise ``SettingProblem`` for an app setting this backend cannot run with; the default accepts all."""


@dataclass(frozen=True)
class SettingProblem(Exception):
    """One setting's problem, raised by a check that spans settings: the key (as the user wrote it), the problem,
    and a value that works, for the fix's command."""

    key: str
    problem: str
    example: Any
    app_setting: bool = False  # an AppSettings key (top level), not the backend's


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"not a log level: use one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"not a CloudWatch retention period: use one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return value


def _app_name(value: str) -> str:
    if not APP_NAME.match(value):
        raise ValueError("must be 2-32 lower-case letters, digits and dashes, starting with a letter")
    return value


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            "must be an https URL without query or fragment, exactly as the issuer writes it in its tokens"
        )
    return value


def _scope(value: str) -> str:
    # RFC 6749 section 3.3: one scope-token, printable ASCII without space, '"' or '\\'.
    if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", value):
        raise ValueError("must be one OAuth scope: printable characters without spaces, e.g. users:write")
    return value


class AppSettings(SettingsModel):
    """The app's settings, whatever the backend. ``None`` means "not set": the app keeps its own default."""

    app_name: Annotated[str, AfterValidator(_app_name)] = Field("users-api", examples=["users-api"])
    max_avatar_bytes: int | None = Field(None, ge=MIN_AVATAR_BYTES, le=MAX_AVATAR_BYTES, examples=[2097152])
    log_level: Annotated[str, AfterValidator(_log_level)] | None = Field(None, examples=["INFO"])
    log_retention_days: Annotated[int, AfterValidator(_retention)] = Field(14, examples=[14])
    deletion_protection: bool = Field(True, examples=[True])
    # Bearer-token authentication (the app's AUTH_* variables): off unless auth_issuer is set.
    auth_issuer: Annotated[str, AfterValidator(_https_url)] | None = Field(
        None, examples=["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"]
    )
    auth_audience: str | None = Field(None, min_length=1, max_length=256, examples=["users-api"])
    auth_scope: Annotated[str, AfterValidator(_scope)] | None = Field(None, examples=["users:write"])
    auth_protect_reads: bool | None = Field(None, examples=[True])
    auth_jwks_url: Annotated[str, AfterValidator(_https_url)] | None = Field(
        None, examples=["https://issuer.example.com/.well-known/jwks.json"]
    )

    @model_validator(mode="after")
    def _auth_complete(self) -> AppSettings:
        hints = current_hints()
        issuer, audience = hints.app_key("auth_issuer"), hints.app_key("auth_audience")
        if (self.auth_issuer is None) != (self.auth_audience is None):
            missing = "auth_audience" if self.auth_audience is None else "auth_issuer"
            example = AppSettings.model_fields[missing].examples[0]  # type: ignore[index]
            raise ValueError(
                f"{issuer} and {audience} go together (authentication needs both): set {hints.app_key(missing)} too, "
                f"{hints.fix(hints.app_key(missing), example, backend_key=False)}, or neither"
            )
        others = ("auth_scope", "auth_protect_reads", "auth_jwks_url")
        if self.auth_issuer is None and (given := [name for name in others if getattr(self, name) is not None]):
            raise ValueError(
                f"{hints.app_key(given[0])} is set but authentication is off: set {issuer} and {audience}, or unset it"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        return self.auth_issuer is not None


@dataclass(frozen=True)
class Hints:
    """How a fix is phrased for the place the value came from."""

    source: Literal["config", "args"]

    def app_key(self, name: str) -> str:
        return _camel(name) if self.source == "config" else name

    def backend_key(self, backend: str, key: str) -> str:
        return f"{backend}.{key}" if self.source == "config" else f'backend_config["{key}"]'

    def fix(self, key: str, example: Any, *, backend_key: bool) -> str:
        text = _literal(example)
        if self.source == "args":
            return f"pass {key}={json.dumps(example) if not isinstance(example, str) else repr(example)} instead"
        path = "--path " if backend_key else ""
        return f"`pulumi config set {path}{key} {text}`"


CONFIG_HINTS = Hints("config")
ARGS_HINTS = Hints("args")
_hints: contextvars.ContextVar[Hints] = contextvars.ContextVar("flask_platform_hints", default=ARGS_HINTS)


@contextlib.contextmanager
def hints_for(hints: Hints) -> Iterator[None]:
    """Phrase the errors raised inside for ``hints`` (the root program: stack config; the default: component args)."""
    token = _hints.set(hints)
    try:
        yield
    finally:
        _hints.reset(token)


def current_hints() -> Hints:
    return _hints.get()


def _camel(name: str) -> str:
    return to_camel(name)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) if value else "[]"
    return str(value)


Settings = TypeVar("Settings", bound=SettingsModel)


def _example(model: type[SettingsModel], field_name: str | None) -> Any:
    if field_name is None or field_name not in model.model_fields:
        return None
    field = model.model_fields[field_name]
    if field.examples:
        return field.examples[0]
    default = None if field.is_required() else field.get_default(call_default_factory=True)
    return None if default in ("", (), []) else default


def _field_name(model: type[SettingsModel], key: str) -> str | None:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return name
    return None


def validated(
    model: type[Settings],
    values: Mapping[str, Any],
    *,
    backend: str | None = None,
    context: Mapping[str, Any] | None = None,
    hints: Hints | None = None,
) -> Settings:
    """``values`` as ``model`` (a backend's settings when ``backend`` names it, else the app's), or a ConfigError
    naming the first problem's key, the value given, what is wrong and the fix."""
    hints = hints or current_hints()
    try:
        return model.model_validate(dict(values), context=dict(context or {}))
    except SettingProblem as problem:  # a check across settings (a model_validator) that names its key and fix
        raise problem_error(problem, backend, hints) from None
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a check across settings: its message names the keys
            raise ConfigError(f"{backend or 'the app'}: {message}") from None
        key = str(first["loc"][0])
        field_name = _field_name(model, key)
        alias = model.model_fields[field_name].alias if field_name else None
        shown = (
            hints.backend_key(backend, alias or _camel(field_name or key))
            if backend
            else hints.app_key(field_name or key)
        )
        if first["type"] == "extra_forbidden":
            known = ", ".join(field.alias or name for name, field in model.model_fields.items() if not field.exclude)
            where = f"the {backend} backend" if backend else "the app's settings"
            raise ConfigError(f"{shown} is not a setting of {where}: the settings are {known}") from None
        given = f"={first['input']!r}" if first["type"] != "missing" else ""
        example = _example(model, field_name)
        fix = hints.fix(shown, example, backend_key=backend is not None) if example is not None else ""
        raise ConfigError(f"{shown}{given}: {message}" + (f": {fix}" if fix else "")) from None


def problem_error(problem: SettingProblem, backend: str | None, hints: Hints | None = None) -> ConfigError:
    """A SettingProblem raised by a check (``check_app``, a model_validator) as the ConfigError the user sees;
    without ``backend`` (the app's own settings), its key is an app setting's."""
    hints = hints or current_hints()
    app_setting = problem.app_setting or backend is None
    key = hints.app_key(problem.key) if app_setting or backend is None else hints.backend_key(backend, problem.key)
    fix = hints.fix(key, problem.example, backend_key=not app_setting)
    return ConfigError(f"{key}: {problem.problem}: {fix}")


def app_setting_keys() -> tuple[str, ...]:
    """The app settings' config keys (camelCase), as Pulumi.yaml declares them."""
    return tuple(_camel(name) for name in AppSettings.model_fields)


# --- checks several backends' settings share (an ALB's certificate and hostname) ------------------------------------

_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def alb_certificate_arn(value: str, info: ValidationInfo) -> str:
    """An ACM certificate ARN in the stack's region (``info.context["region"]``), or empty for HTTP only: an ALB
    listener can only use a certificate of its own region (CreateListener refuses another)."""
    certificate = _CERTIFICATE_ARN.match(value)
    if value and not certificate:
        raise ValueError(
            "is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>); leave it empty "
            "for HTTP only"
        )
    region = (info.context or {}).get("region")
    if certificate and region and certificate["region"] != region:
        raise ValueError(
            f"is a certificate in {certificate['region']}, but the stack (aws:region) is in {region}: an ALB only "
            f"uses certificates of its own region; request or import one in {region}"
        )
    return value


def dns_hostname(value: str) -> str:
    """A DNS name, lower-cased without its trailing dot, or empty."""
    value = value.lower().rstrip(".")
    if value and not _HOSTNAME.match(value):
        raise ValueError("is not a DNS name (e.g. api.example.com)")
    return value
