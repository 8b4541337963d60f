"""The app on Kubernetes (plugin API): the release of charts/flask-app, its values, its scaling settings.

Each backend decides what differs (image, service type, ingress, IRSA, the
emulator); the settings every Kubernetes backend has (namespace, the HPA's bounds),
the values they all write, the scaling output and the release itself are written
once here, so every cluster runs the same chart the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator, model_validator

from .base import REPO_ROOT, AppSpec, folder_digest
from .image import AppImage
from .settings import BackendSettings

KUBERNETES_NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"  # an RFC 1123 label, as a namespace's name must be

# The chart as the release names it: relative to the Pulumi project, where the program runs (cwd = the project's
# root), so the state holds no path of one machine or checkout and another checkout shows no diff.
CHART = Path("charts", "flask-app")
# The same folder wherever the reader runs from, for reading the chart's files.
CHART_DIR = REPO_ROOT / CHART


def chart_path() -> str:
    """The chart's folder relative to where the program runs: ``charts/flask-app`` for this project (its root is the
    working directory), and the right relative path for a program that uses the component from elsewhere."""
    return Path(os.path.relpath(CHART_DIR)).as_posix()


# What the chart's .helmignore leaves out of it: editor and OS leftovers change no release.
_IGNORED_NAMES = {".DS_Store", "__pycache__", ".git", ".vscode", ".idea"}
_IGNORED_SUFFIXES = (".swp", ".bak", ".tmp", ".orig", "~")
RELEASE_TIMEOUT_SECONDS = 600  # image pulls and, on a new cluster, nodes joining take minutes


class KubernetesSettings(BackendSettings):
    """The settings every Kubernetes backend has: where the release goes and the HorizontalPodAutoscaler's bounds."""

    namespace: str = Field("users-api", description="The release's Kubernetes namespace.")
    min_replicas: int = Field(2, ge=1, le=100, description="Fewest app pods the HorizontalPodAutoscaler keeps.")
    max_replicas: int = Field(10, ge=1, le=500, description="Most app pods the HorizontalPodAutoscaler may run.")
    cpu_target_percent: int = Field(
        70, ge=10, le=95, description="Average CPU utilisation the HorizontalPodAutoscaler aims for."
    )

    @field_validator("namespace")
    @classmethod
    def _kubernetes_name(cls, value: str) -> str:
        if not re.fullmatch(KUBERNETES_NAME, value):
            raise ValueError("is not a Kubernetes name (1-63 lower-case letters, digits and dashes)")
        return value

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas={self.min_replicas} is above maxReplicas={self.max_replicas}: raise maxReplicas to "
                f"{self.min_replicas} or lower minReplicas"
            )
        return self


def app_environment(spec: AppSpec, region: str, table_name: str, bucket_name: str) -> dict[str, str]:
    """The app's environment variables (the app <-> platform contract), as chart values under ``env``; the app's
    settings only when the user set them (the app owns their defaults)."""
    return {"AWS_REGION": region, "DYNAMODB_TABLE": table_name, "S3_BUCKET": bucket_name, **spec.app_environment()}


def hpa_values(settings: KubernetesSettings) -> dict[str, Any]:
    return {
        "enabled": True,
        "minReplicas": settings.min_replicas,
        "maxReplicas": settings.max_replicas,
        "cpuTargetPercent": settings.cpu_target_percent,
    }


def scaling_output(settings: KubernetesSettings, metrics_resolution_seconds: int) -> dict[str, Any]:
    """The ``scaling`` stack output the load tests check against (never a second copy of these numbers)."""
    policy = {key: value for key, value in hpa_values(settings).items() if key != "enabled"}
    return {"kind": "kubernetes", **policy, "metricsResolutionSeconds": metrics_resolution_seconds}


def chart_values(
    spec: AppSpec,
    settings: KubernetesSettings,
    *,
    image: AppImage,
    environment: Mapping[str, str],
    service: Mapping[str, Any],
    ingress: Mapping[str, Any],
    role_arn: str = "",
    service_account_name: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The chart's values: what every Kubernetes backend writes the same way (names, image, HPA, service account),
    with the backend's own parts (environment, service, ingress, IRSA role, ``extra`` top-level values)."""
    account: dict[str, Any] = {"enabled": True, "roleArn": role_arn}
    if service_account_name:
        account["name"] = service_account_name
    return {
        "fullnameOverride": spec.name,  # every object, the HPA and the Ingress included, is named after the app
        "image": {
            "repository": image.repository,
            "tag": image.tag,
            "digest": image.digest,  # "" (the chart's default): the tag is used
            "pullPolicy": "IfNotPresent",
        },
        "env": dict(environment),
        "serviceAccount": account,
        "service": dict(service),
        "ingress": dict(ingress),
        "hpa": hpa_values(settings),
        **extra,
    }


def chart_digest(chart_dir: Path) -> str:
    """SHA-256 over the chart's files (names and contents). Passed as the ``chartDigest`` value, so that a change to any
    file of the chart changes the release's inputs and Pulumi upgrades it; without it, a local chart's changes reach
    the cluster only when Chart.yaml's version changes."""
    return folder_digest(chart_dir, _not_in_chart)


def _not_in_chart(relative: Path) -> bool:
    return bool(_IGNORED_NAMES & set(relative.parts)) or relative.name.endswith(_IGNORED_SUFFIXES)


def release_app(
    name: str,
    spec: AppSpec,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    create_namespace: bool = True,
) -> k8s.helm.v3.Release:
    """The chart released under the app's name, which every object also bears (the backends set fullnameOverride
    to it), so the releaseName output is also the HPA's name the load tests watch, whatever the component is
    called. Atomic: a failed upgrade rolls back instead of leaving a half-updated app. The chart's digest goes with the
    values (``chartDigest``): a changed chart is upgraded without a version bump. ``create_namespace=False`` when the
    backend creates the namespace itself (to label it, say, which Helm cannot)."""
    digest = chart_digest(CHART_DIR)
    return k8s.helm.v3.Release(
        f"{name}-release",
        name=spec.name,
        chart=chart_path(),
        namespace=namespace,
        create_namespace=create_namespace,
        values=pulumi.Output.from_input(values).apply(lambda given: {**given, "chartDigest": digest}),
        atomic=True,
        timeout=RELEASE_TIMEOUT_SECONDS,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
