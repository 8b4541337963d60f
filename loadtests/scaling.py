"""Scaling validation: which watcher a stack gets, from its ``scaling`` output alone.

The targets (replicas, tasks, concurrency, CPU target) come from the stack's
``scaling`` output, never from a second copy of the numbers, and the watcher is
chosen by its ``kind`` (``kubernetes``, ``lambda``, ``ecs``), never by the
backend's name, so a backend package brings its watcher by what it exports.
With no cluster and no cloud (the local stack), the result is
``not_applicable``, never ``passed``; a watcher that cannot read its source says
``unobserved`` and why.

The watchers live beside this module: ``kubernetes_scaling`` (HPA, Deployment,
pods, nodes), ``aws_scaling`` (Lambda and API Gateway, ECS), on the shared
``watching`` base.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devtools.stack import kubeconfig_text, write_private

from .aws_scaling import EcsWatcher, LambdaWatcher
from .kubernetes_scaling import KubernetesWatcher
from .watching import FAILED, NOT_APPLICABLE, PASSED, UNOBSERVED, ScalingResult, Watcher

HpaWatcher = KubernetesWatcher  # the name run.py has imported since the first watcher

__all__ = [
    "FAILED",
    "NOT_APPLICABLE",
    "PASSED",
    "UNOBSERVED",
    "EcsWatcher",
    "HpaWatcher",
    "KubernetesWatcher",
    "LambdaWatcher",
    "ScalingResult",
    "Watcher",
    "latency_after_scale_out",
    "watcher_for",
]


def latency_after_scale_out(
    result: ScalingResult, history: Sequence[Mapping[str, Any]], p95_limit_ms: float | None
) -> ScalingResult:
    """Kept for run.py's call: the watchers now judge latency themselves, on Locust's own epoch clock.

    The Kubernetes watcher reads ``locust_stats_history.csv`` and the verdict's
    aggregate p95 threshold from the results folder and states when the rolling
    p95 recovered once *ready* capacity arrived; ``history`` here counts seconds
    from Locust's first row, a clock the watcher's samples do not share, so it
    is not used. The call can be dropped from run.py.
    """
    return result


def region_of(outputs: Mapping[str, Any]) -> str | None:
    """The stack's region: its ``region`` output, else its URL (``<api>.execute-api.<region>.amazonaws.com``,
    ``<alb>.<region>.elb.amazonaws.com``); ``None`` leaves it to the AWS configuration."""
    if outputs.get("region"):
        return str(outputs["region"])
    url = str(outputs.get("url", ""))
    found = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", url) or re.search(
        r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.elb\.amazonaws\.com", url
    )
    return found.group(1) if found else None


class Unobservable(Watcher):
    """A watcher whose clients could not even be made (no region, a broken AWS config): it says so, after the run."""

    def __init__(self, kind: str, reason: str, results: Path) -> None:
        super().__init__(results=results)
        self.kind, self.reason = kind, reason

    def evaluate(self, cold_starts: int) -> ScalingResult:
        return ScalingResult(UNOBSERVED, [self.reason])


def aws_client(service: str, region: str | None) -> Any:
    import botocore.session  # only an AWS run needs botocore

    return botocore.session.get_session().create_client(service, region_name=region)


def watcher_for(
    outputs: Mapping[str, Any], results: Path, *, scale_out_within_s: float, allow_throttles: bool = False
) -> Watcher:
    """The watcher for a stack's ``scaling.kind``; the base (not applicable) one for anything else."""
    scaling = outputs.get("scaling") or {}
    kind = scaling.get("kind")
    if kind == "kubernetes":
        kubeconfig = None
        text = kubeconfig_text(dict(outputs))
        if text is not None:  # a secret output: mode 600 from its first byte
            kubeconfig = str(results / "kubeconfig")
            write_private(Path(kubeconfig), text)
        return KubernetesWatcher(
            scaling,
            str(outputs.get("releaseName", "users-api")),
            str(outputs.get("namespace", "default")),
            kubeconfig,
            scale_out_within_s,
            results=results,
        )
    if kind in {"lambda", "ecs"}:
        try:
            return _aws_watcher(kind, outputs, scaling, results, scale_out_within_s, allow_throttles)
        except _client_errors() as exc:
            return Unobservable(
                str(kind), f"no AWS client for the {kind} watcher ({type(exc).__name__}: {exc})", results
            )
    return Watcher(results=results)


def _client_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError

    return (BotoCoreError,)


def _aws_watcher(
    kind: str,
    outputs: Mapping[str, Any],
    scaling: Mapping[str, Any],
    results: Path,
    scale_out_within_s: float,
    allow_throttles: bool,
) -> Watcher:
    region = region_of(outputs)
    if kind == "lambda" and outputs.get("functionName"):
        return LambdaWatcher(
            scaling,
            str(outputs["functionName"]),
            aws_client("cloudwatch", region),
            allow_throttles,
            lambda_client=aws_client("lambda", region),
            logs=aws_client("logs", region),
            api_id=outputs.get("apiId"),
            log_group=outputs.get("functionLogGroup"),
            access_log_group=outputs.get("accessLogGroup"),
            results=results,
        )
    if kind == "ecs" and scaling.get("clusterName") and scaling.get("serviceName"):
        return EcsWatcher(
            scaling, aws_client("ecs", region), aws_client("cloudwatch", region), scale_out_within_s, results=results
        )
    return Watcher(results=results)
