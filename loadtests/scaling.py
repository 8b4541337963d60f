"""Scaling validation: a timeline recorded while a scenario runs, and the checks it must pass.

The checks are pure functions over samples, so they are tested on recorded
Kubernetes HPA objects and CloudWatch responses. The targets (min and max
replicas, CPU target, concurrency limit) come from the stack's ``scaling``
output, never from a second copy of the numbers. With no cluster and no cloud
(the local stack), the result is ``not_applicable``, never ``passed``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"
ACCOUNT_CONCURRENCY = 1000  # Lambda's default account concurrency
HPA_TOLERANCE = 0.10  # the HPA acts only when usage is more than 10 % off its target


@dataclass(frozen=True)
class ScalingResult:
    status: str
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- Kubernetes: the HorizontalPodAutoscaler --------------------------------------------------------


@dataclass(frozen=True)
class HpaSample:
    at_s: float
    current_replicas: int
    desired_replicas: int
    cpu_percent: float | None
    able_to_scale: bool | None = None
    scaling_limited: bool | None = None


def hpa_sample(hpa: Mapping[str, Any], at_s: float) -> HpaSample:
    """One sample from an ``autoscaling/v2`` HorizontalPodAutoscaler object (``kubectl get hpa -o json``)."""
    status = hpa.get("status", {})
    cpu = None
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            cpu = resource.get("current", {}).get("averageUtilization")
    conditions = {c.get("type"): c.get("status") == "True" for c in status.get("conditions") or []}
    return HpaSample(
        at_s=at_s,
        current_replicas=int(status.get("currentReplicas") or 0),
        desired_replicas=int(status.get("desiredReplicas") or 0),
        cpu_percent=float(cpu) if cpu is not None else None,
        able_to_scale=conditions.get("AbleToScale"),
        scaling_limited=conditions.get("ScalingLimited"),
    )


def evaluate_hpa(samples: Sequence[HpaSample], scaling: Mapping[str, Any], scale_out_within_s: float) -> ScalingResult:
    """Replicas rose above the minimum within the allowed time after CPU crossed the target, never past the max."""
    minimum, maximum = int(scaling["minReplicas"]), int(scaling["maxReplicas"])
    target = float(scaling["cpuTargetPercent"])
    if not samples:
        return ScalingResult(FAILED, ["no HPA sample was recorded: is the watcher pointed at the right HPA?"])
    reasons = []
    peak = max(sample.current_replicas for sample in samples)
    if peak > maximum:
        reasons.append(f"replicas reached {peak}, above the maximum of {maximum}")
    trigger = target * (1 + HPA_TOLERANCE)
    crossing = next((s for s in samples if s.cpu_percent is not None and s.cpu_percent > trigger), None)
    crossed = crossing.at_s if crossing else None
    # A scale-out is a rise above both the minimum and what ran when CPU crossed (not replicas left over).
    baseline = max(minimum, crossing.current_replicas) if crossing else minimum
    scaled = next(
        (s.at_s for s in samples if crossed is not None and s.at_s >= crossed and s.current_replicas > baseline), None
    )
    details = {
        "peakReplicas": peak,
        "cpuCrossedTargetAtS": crossed,
        "scaledOutAtS": scaled,
        "minReplicas": minimum,
        "maxReplicas": maximum,
        "cpuTargetPercent": target,
    }
    if crossed is None:
        reasons.append(
            f"CPU never crossed the {target:g}% target (by the HPA's 10% tolerance): the load was too light to test"
            " scaling"
        )
    elif scaled is None:
        reasons.append(
            f"replicas never rose above {baseline} although CPU crossed the {target:g}% target at {crossed:g} s"
        )
    elif scaled - crossed > scale_out_within_s:
        reasons.append(
            f"replicas rose above {baseline} only {scaled - crossed:.0f} s after CPU crossed the target"
            f" (allowed {scale_out_within_s:g} s)"
        )
    if scaled is not None and crossed is not None:
        details["timeToScaleOutS"] = max(0.0, scaled - crossed)
    return ScalingResult(FAILED if reasons else PASSED, reasons, details)


def latency_after_scale_out(
    result: ScalingResult, history: Sequence[Mapping[str, Any]], p95_limit_ms: float | None
) -> ScalingResult:
    """Fail a passed HPA check when the aggregate p95 broke its threshold once the replicas had scaled out.

    ``history`` is Locust's per-second aggregate (``t`` seconds, ``p95`` ms), on
    the same clock as the watcher (both start with the run).
    """
    scaled = result.details.get("scaledOutAtS")
    if result.status != PASSED or scaled is None or p95_limit_ms is None:
        return result
    after = [row["p95"] for row in history if row["t"] >= scaled and row.get("p95") is not None]
    worst = max(after, default=None)
    details = {**result.details, "worstP95AfterScaleOutMs": worst}
    if worst is not None and worst >= p95_limit_ms:
        reason = f"p95 reached {worst:g} ms after scaling out, over its {p95_limit_ms:g} ms threshold"
        return ScalingResult(FAILED, [*result.reasons, reason], details)
    return ScalingResult(result.status, result.reasons, details)


# --- Lambda: CloudWatch metrics ----------------------------------------------------------------------

LAMBDA_METRICS = {
    "concurrency": ("ConcurrentExecutions", "Maximum"),
    "throttles": ("Throttles", "Sum"),
    "errors": ("Errors", "Sum"),
    "duration_ms": ("Duration", "Average"),
}


def lambda_series(response: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """CloudWatch GetMetricData results -> metric id -> ISO timestamp -> value."""
    series: dict[str, dict[str, float]] = {}
    for result in response.get("MetricDataResults", []):
        stamps = [str(stamp.isoformat() if hasattr(stamp, "isoformat") else stamp) for stamp in result["Timestamps"]]
        series[result["Id"]] = dict(zip(stamps, (float(v) for v in result["Values"]), strict=True))
    return series


def evaluate_lambda(
    series: Mapping[str, Mapping[str, float]], scaling: Mapping[str, Any], cold_starts: int, allow_throttles: bool
) -> ScalingResult:
    """No throttles (unless allowed), and concurrency within the reserved (or account) limit."""
    reserved = scaling.get("reservedConcurrency")
    limit = int(reserved) if reserved is not None else ACCOUNT_CONCURRENCY
    if not series.get("concurrency"):
        return ScalingResult(
            NOT_APPLICABLE,
            ["CloudWatch had no ConcurrentExecutions data points for the run yet: nothing to judge"],
            {"coldStarts": cold_starts},
        )
    peak = max(series.get("concurrency", {}).values(), default=0.0)
    throttles = sum(series.get("throttles", {}).values())
    errors = sum(series.get("errors", {}).values())
    reasons = []
    if throttles and not allow_throttles:
        reasons.append(f"{throttles:g} invocations were throttled (429)")
    if peak > limit:
        reasons.append(f"concurrency reached {peak:g}, above its limit of {limit}")
    details = {
        "peakConcurrency": peak,
        "concurrencyLimit": limit,
        "throttles": throttles,
        "errors": errors,
        "coldStarts": cold_starts,
    }
    return ScalingResult(FAILED if reasons else PASSED, reasons, details)


# --- Watchers: record a timeline while the scenario runs ---------------------------------------------


class Watcher:
    """Samples something every ``interval_s`` on a thread until stopped; the base class records nothing."""

    kind = "none"

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self.timeline: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample(time.monotonic() - self._started)
            except (OSError, ValueError, subprocess.SubprocessError) as exc:
                self.timeline.append({"at_s": round(time.monotonic() - self._started, 1), "error": str(exc)})
            self._stop.wait(self.interval_s)

    def sample(self, at_s: float) -> None:
        """Record one sample; subclasses read the Kubernetes API or CloudWatch."""

    def evaluate(self, cold_starts: int) -> ScalingResult:
        return ScalingResult(NOT_APPLICABLE, ["no cluster and no cloud here: scaling was not observed"])

    def write_timeline(self, path: Path) -> None:
        keys = sorted({key for row in self.timeline for key in row}, key=lambda k: (k != "at_s", k))
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys or ["at_s"])
            writer.writeheader()
            writer.writerows(self.timeline)


class HpaWatcher(Watcher):
    """The HPA through the Kubernetes API, with kubectl and the given kubeconfig (or the current context)."""

    kind = "kubernetes"

    def __init__(
        self,
        scaling: Mapping[str, Any],
        hpa: str,
        namespace: str,
        kubeconfig: str | None,
        scale_out_within_s: float,
        interval_s: float = 5.0,
        run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    ) -> None:
        super().__init__(interval_s)
        self.scaling, self.scale_out_within_s = scaling, scale_out_within_s
        self._command = ["kubectl", "get", "hpa", hpa, "--namespace", namespace, "--output", "json"]
        if kubeconfig:
            self._command += ["--kubeconfig", kubeconfig]
        self._run_command = run
        self.samples: list[HpaSample] = []

    def sample(self, at_s: float) -> None:
        result = self._run_command(self._command, capture_output=True, text=True, timeout=20, check=True)
        sample = hpa_sample(json.loads(result.stdout), round(at_s, 1))
        self.samples.append(sample)
        self.timeline.append(asdict(sample))

    def evaluate(self, cold_starts: int) -> ScalingResult:
        return evaluate_hpa(self.samples, self.scaling, self.scale_out_within_s)


class LambdaWatcher(Watcher):
    """CloudWatch's Lambda metrics for the function, read at the end (they arrive a minute or more late)."""

    kind = "lambda"

    def __init__(
        self,
        scaling: Mapping[str, Any],
        function_name: str,
        cloudwatch: Any,
        allow_throttles: bool = False,
        wait_for_data_s: float = 180.0,
    ) -> None:
        super().__init__(interval_s=3600)
        self.scaling, self.function_name, self.allow_throttles = scaling, function_name, allow_throttles
        self._cloudwatch = cloudwatch
        self._began = datetime.now(UTC)
        self.wait_for_data_s = wait_for_data_s

    def evaluate(self, cold_starts: int) -> ScalingResult:
        """Polls until CloudWatch has data for the run (or the wait runs out), then judges it."""
        deadline = time.monotonic() + self.wait_for_data_s
        series = self._series()
        while not series.get("concurrency") and time.monotonic() < deadline:
            time.sleep(20)
            series = self._series()
        for key, points in series.items():
            self.timeline += [{"at": stamp, key: value} for stamp, value in sorted(points.items())]
        return evaluate_lambda(series, self.scaling, cold_starts, self.allow_throttles)

    def _series(self) -> dict[str, dict[str, float]]:
        queries = [
            {
                "Id": key,
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": name,
                        "Dimensions": [{"Name": "FunctionName", "Value": self.function_name}],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
            for key, (name, stat) in LAMBDA_METRICS.items()
        ]
        response = self._cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=self._began - timedelta(minutes=1),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
        )
        return lambda_series(response)
