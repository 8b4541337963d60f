"""The app on Kubernetes: the release of charts/flask-app that the eks and minikube backends share.

Each backend decides what differs (image, service type, ingress, IRSA, the
emulator); the values both need, the HPA, the scaling output and the release
itself are written once here, so the two clusters run the same chart the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from backends.base import REPO_ROOT, AppSpec, folder_digest

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
    backend creates the namespace itself (eks: it carries a label Helm cannot set)."""
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
