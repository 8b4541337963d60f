"""The app on Kubernetes: the release of charts/flask-app that the eks and minikube backends share.

Each backend decides what differs (image, service type, ingress, IRSA, the
emulator); the values both need, the HPA, the scaling output and the release
itself are written once here, so the two clusters run the same chart the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from backends.base import REPO_ROOT, AppSpec

CHART = REPO_ROOT / "charts" / "flask-app"
RELEASE_TIMEOUT_SECONDS = 600  # image pulls and, on EKS, nodes joining take minutes


def app_environment(spec: AppSpec, region: str, table_name: str, bucket_name: str) -> dict[str, str]:
    """The app's environment variables (the app <-> platform contract), as chart values under ``env``."""
    return {
        "AWS_REGION": region,
        "DYNAMODB_TABLE": table_name,
        "S3_BUCKET": bucket_name,
        "LOG_LEVEL": spec.log_level,
        "MAX_AVATAR_BYTES": str(spec.max_avatar_bytes),
    }


def hpa_values(spec: AppSpec) -> dict[str, Any]:
    return {
        "enabled": True,
        "minReplicas": spec.scaling.min_replicas,
        "maxReplicas": spec.scaling.max_replicas,
        "cpuTargetPercent": spec.scaling.cpu_target_percent,
    }


def scaling_output(spec: AppSpec, metrics_resolution_seconds: int) -> dict[str, Any]:
    """The ``scaling`` stack output the load tests check against (never a second copy of these numbers)."""
    policy = {key: value for key, value in hpa_values(spec).items() if key != "enabled"}
    return {"kind": "kubernetes", **policy, "metricsResolutionSeconds": metrics_resolution_seconds}


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
    called. Atomic: a failed upgrade rolls back instead of leaving a half-updated app. ``create_namespace=False``
    when the backend creates the namespace itself (eks: it carries a label Helm cannot set)."""
    return k8s.helm.v3.Release(
        f"{name}-release",
        name=spec.name,
        chart=str(CHART),
        namespace=namespace,
        create_namespace=create_namespace,
        values=values,
        atomic=True,
        timeout=RELEASE_TIMEOUT_SECONDS,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
