"""The plugin API: everything a backend may import from the platform, built-in or third-party alike.

A backend imports this module and nothing else of ``backends`` (a test holds the built-ins and the plugins/
packages to it). It declares a ``BackendSettings`` subclass (its settings, their defaults and checks), a
``pulumi.ComponentResource`` built as ``Backend(name, spec, opts)`` that fills a ``Deployment``, and a
``BackendPlugin`` joining them under its name. ARCHITECTURE.md, "The plugin API", walks through it.

The toolkit: ``Storage`` (the users table and the avatar bucket) and ``app_policy_statements`` (exactly what
the app may do to them, for its role); the reconciler every backend schedules (``RECONCILE_HANDLER`` for a
function, ``RECONCILE_COMMAND`` for a container, every ``RECONCILE_EVERY_MINUTES``) and its own role's
``reconciler_policy_statements``; ``build_and_push`` (the app image in a new ECR repository) and
``prebuilt`` (the one image-reference parser, ``ImageReferenceText`` for a settings field); for Kubernetes,
``KubernetesSettings``, ``chart_values``, ``app_environment``, ``release_app`` and ``scaling_output``; the app's
contract (``CONTAINER_PORT``, ``LIVENESS_PATH``, ``READINESS_PATH``); ``stack_region`` (``aws:region``, else the AWS
SDK's variables). ARCHITECTURE.md, "Every export", says in one line what each name here is for.
"""

from __future__ import annotations

from .base import (
    APP_DIR,
    AVATAR_PREFIX,
    CONTAINER_PORT,
    CONTAINER_REQUEST_DEADLINE_SECONDS,
    LIVENESS_PATH,
    READINESS_PATH,
    AppSpec,
    AuthSpec,
    BackendComponent,
    BackendFactory,
    BackendPlugin,
    Deployment,
)
from .config import stack_region
from .image import AppImage, ImageReferenceText, build_and_push, context_digest, prebuilt
from .kubernetes_app import (
    CHART,
    CHART_DIR,
    KubernetesSettings,
    app_environment,
    chart_values,
    hpa_values,
    release_app,
    scaling_output,
)
from .settings import (
    LOG_RETENTION_DAYS,
    AppSettings,
    BackendSettings,
    ConfigError,
    SettingProblem,
    alb_certificate_arn,
    dns_hostname,
)
from .storage import (
    RECONCILE_COMMAND,
    RECONCILE_EVERY_MINUTES,
    RECONCILE_HANDLER,
    Storage,
    app_policy_statements,
    reconciler_policy_statements,
)

__all__ = [
    "APP_DIR",
    "AVATAR_PREFIX",
    "CHART",
    "CHART_DIR",
    "CONTAINER_PORT",
    "CONTAINER_REQUEST_DEADLINE_SECONDS",
    "LIVENESS_PATH",
    "LOG_RETENTION_DAYS",
    "READINESS_PATH",
    "RECONCILE_COMMAND",
    "RECONCILE_EVERY_MINUTES",
    "RECONCILE_HANDLER",
    "AppImage",
    "AppSettings",
    "AppSpec",
    "AuthSpec",
    "BackendComponent",
    "BackendFactory",
    "BackendPlugin",
    "BackendSettings",
    "ConfigError",
    "Deployment",
    "ImageReferenceText",
    "KubernetesSettings",
    "SettingProblem",
    "Storage",
    "alb_certificate_arn",
    "app_environment",
    "app_policy_statements",
    "build_and_push",
    "chart_values",
    "context_digest",
    "dns_hostname",
    "hpa_values",
    "prebuilt",
    "reconciler_policy_statements",
    "release_app",
    "scaling_output",
    "stack_region",
]
