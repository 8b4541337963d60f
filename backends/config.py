"""Stack configuration, parsed once and validated, with the defaults in code.

Pulumi.yaml documents every key, but its defaults do not apply under unit-test
mocks, so the defaults that count are the ones here. Every problem names the
key and the command that fixes it, and stops the program before any resource
is created.

Note: ``backend`` here is this project's key (``flask-platform:backend``), set
with ``pulumi config set backend lambda``; it is not Pulumi's state
``backend:`` in Pulumi.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

import pulumi

from .base import AppSpec, LambdaSettings, MinikubeSettings, ScalingPolicy

PROJECT = "flask-platform"
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# python3.12+ run on Amazon Linux 2023 (glibc 2.34); python3.11's Amazon Linux 2 (glibc 2.26) cannot load the
# manylinux_2_28 wheels the pinned Pillow ships.
LAMBDA_RUNTIMES = ("python3.12", "python3.13")
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# Lambda's synchronous invoke payload is 6 MB; API Gateway base64-encodes binary bodies (4/3 larger),
# and the multipart envelope and event JSON need room: about 4.4 MB of raw upload fit.
LAMBDA_MAX_AVATAR_BYTES = 4_400_000
# API Gateway HTTP API waits at most 30 s for its integration; the function must answer before that.
LAMBDA_MAX_TIMEOUT_SECONDS = 29

T = TypeVar("T")


class ConfigError(pulumi.RunError):
    """A config value is missing or wrong; the message names the key and the fix."""


class _Reader:
    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get

    def text(self, key: str, default: str) -> str:
        value = self._get(key)
        return default if value is None or value.strip() == "" else value.strip()

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        raw = self._get(key)
        if raw is None or raw.strip() == "":
            return default
        if not re.fullmatch(r"-?[0-9]+", raw.strip()):
            raise ConfigError(f"{key}={raw!r} is not a whole number: `pulumi config set {key} {default}`")
        value = int(raw)
        if not low <= value <= high:
            raise ConfigError(f"{key}={value} is out of range {low}..{high}: `pulumi config set {key} {default}`")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        raw = self._get(key)
        if raw is None or raw.strip() == "":
            return default
        if raw.strip().lower() not in {"true", "false"}:
            raise ConfigError(f"{key}={raw!r} is not true or false: `pulumi config set {key} {str(default).lower()}`")
        return raw.strip().lower() == "true"

    def choice(self, key: str, default: str, allowed: tuple[T, ...], convert: Callable[[str], T]) -> T:
        raw = self.text(key, default)
        value: T | None
        try:
            value = convert(raw)
        except ValueError:
            value = None
        if value is None or value not in allowed:
            listed = ", ".join(str(option) for option in allowed)
            raise ConfigError(
                f"{key}={raw!r} is not allowed: use one of {listed} (`pulumi config set {key} {default}`)"
            )
        return value


def _kubernetes_name(value: str, key: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise ConfigError(
            f"{key}={value!r} is not a Kubernetes name (lower-case letters, digits, dashes): "
            f"`pulumi config set {key} users-api`"
        )
    return value


def _url(value: str, key: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(:[0-9]+)?/?", value):
        raise ConfigError(
            f"{key}={value!r} is not an http(s) URL of a host: `pulumi config set {key} http://localhost:4566`"
        )
    return value.rstrip("/")


def _unreserved_as_none(value: int) -> int | None:
    """-1, as in Lambda's own API, means no reserved concurrency: the account's shared pool."""
    return None if value == -1 else value


def parse(values: Mapping[str, str], stack: str = "dev") -> AppSpec:
    """An AppSpec from config values keyed without the project prefix (``backend``, ``lambdaMemoryMb``, ...)."""
    read = _Reader(values.get)
    backend = read.text("backend", "")
    name = read.text("appName", "users-api")
    if not APP_NAME.match(name):
        raise ConfigError(
            f"appName={name!r} must be 2-32 lower-case letters, digits and dashes, starting with a letter: "
            "`pulumi config set appName users-api`"
        )
    scaling = ScalingPolicy(
        min_replicas=read.integer("minReplicas", 2, 1, 100),
        max_replicas=read.integer("maxReplicas", 10, 1, 500),
        cpu_target_percent=read.integer("cpuTargetPercent", 70, 10, 95),
        # AWS keeps 100 of an account's concurrency unreserved: 900 is the most a default account can reserve.
        reserved_concurrency=_unreserved_as_none(read.integer("lambdaReservedConcurrency", -1, -1, 900)),
    )
    if scaling.min_replicas > scaling.max_replicas:
        raise ConfigError(
            f"minReplicas={scaling.min_replicas} is above maxReplicas={scaling.max_replicas}: "
            f"`pulumi config set maxReplicas {scaling.min_replicas}` or lower minReplicas"
        )
    lambda_settings = LambdaSettings(
        runtime=read.choice("lambdaRuntime", "python3.12", LAMBDA_RUNTIMES, str),
        architecture=read.choice("lambdaArchitecture", "arm64", LAMBDA_ARCHITECTURES, str),
        memory_mb=read.integer("lambdaMemoryMb", 512, 128, 10240),
        timeout_seconds=read.integer("lambdaTimeoutSeconds", 15, 1, LAMBDA_MAX_TIMEOUT_SECONDS),
        throttle_rate_limit=float(read.integer("apiThrottleRateLimit", 100, 1, 10000)),
        throttle_burst_limit=read.integer("apiThrottleBurstLimit", 200, 1, 5000),
    )
    minikube = MinikubeSettings(
        context=read.text("minikubeContext", "minikube"),
        namespace=_kubernetes_name(read.text("namespace", "users-api"), "namespace"),
        image=read.text("appImage", "flask-platform/users-api:dev"),
        node_port=read.integer("nodePort", 30080, 30000, 32767),
        emulator_url=_url(read.text("emulatorUrl", "http://localhost:4566"), "emulatorUrl"),
        emulator_url_from_pods=_url(
            read.text("emulatorUrlFromPods", "http://host.minikube.internal:4566"), "emulatorUrlFromPods"
        ),
        minikube_ip=read.text("minikubeIp", ""),
    )
    max_avatar_bytes = read.integer("maxAvatarBytes", 2 * 1024 * 1024, 1024, 64 * 1024 * 1024)
    if backend == "lambda" and max_avatar_bytes > LAMBDA_MAX_AVATAR_BYTES:
        raise ConfigError(
            f"maxAvatarBytes={max_avatar_bytes} is above what the lambda backend can receive: a Lambda invoke "
            f"payload is at most 6 MB and API Gateway base64-encodes uploads (4/3 larger), so about "
            f"{LAMBDA_MAX_AVATAR_BYTES} bytes fit: `pulumi config set maxAvatarBytes {LAMBDA_MAX_AVATAR_BYTES}`"
        )
    return AppSpec(
        name=name,
        backend=backend,
        scaling=scaling,
        max_avatar_bytes=max_avatar_bytes,
        log_level=read.choice("logLevel", "INFO", LOG_LEVELS, str.upper),
        log_retention_days=read.choice("logRetentionDays", "14", LOG_RETENTION_DAYS, int),
        deletion_protection=read.boolean("deletionProtection", True),
        tags={"project": PROJECT, "app": name, "stack": stack, "backend": backend, "managed-by": "pulumi"},
        lambda_=lambda_settings,
        minikube=minikube,
    )


KEYS = (
    "backend",
    "appName",
    "minReplicas",
    "maxReplicas",
    "cpuTargetPercent",
    "lambdaReservedConcurrency",
    "lambdaRuntime",
    "lambdaArchitecture",
    "lambdaMemoryMb",
    "lambdaTimeoutSeconds",
    "apiThrottleRateLimit",
    "apiThrottleBurstLimit",
    "maxAvatarBytes",
    "logLevel",
    "logRetentionDays",
    "deletionProtection",
    "minikubeContext",
    "namespace",
    "appImage",
    "nodePort",
    "emulatorUrl",
    "emulatorUrlFromPods",
    "minikubeIp",
)


def from_stack() -> AppSpec:
    """The AppSpec of the running Pulumi stack."""
    config = pulumi.Config()
    values = {key: value for key in KEYS if (value := config.get(key)) is not None}
    return parse(values, stack=pulumi.get_stack())
