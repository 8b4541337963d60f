"""Kubernetes scaling: the HPA's decisions and the capacity that really arrived, judged against the ``scaling`` output.

What the HPA controller does, read in kubernetes/kubernetes
``pkg/controller/podautoscaler/horizontal.go`` (``reconcileAutoscaler``, stored
version 00067268967ec95a40035bd666374a1caf48dd1a):

- ``currentReplicas := scale.Spec.Replicas``: ``status.currentReplicas`` is the
  Deployment's *requested* replicas, which the HPA itself just set, so it says
  nothing about capacity. Ready capacity is the Deployment's
  ``status.readyReplicas`` (``availableReplicas`` once ``minReadySeconds`` have
  passed); what is missing shows as Pending pods and, behind them, nodes still
  being added by cluster-autoscaler.
- ``normalizeDesiredReplicas`` clamps the recommendation to ``maxReplicas`` and
  sets ``ScalingLimited=True`` with reason ``TooManyReplicas`` when it had to
  (``ScaleUpLimit`` is the rate limit, ``TooFewReplicas`` the floor): replicas
  above the maximum cannot be observed; *wanting* more than the maximum can.
- A metrics error sets ``ScalingActive=False`` with reason
  ``FailedGetResourceMetric`` (``getUnableComputeReplicaCountCondition``) and the
  HPA does not scale at all: that is "metrics missing", not "load too light".
- A failed scale-subresource read or update sets ``AbleToScale=False``
  (``FailedGetScale``, ``FailedUpdateScale``): "unable to scale".
- It acts only when usage is more than the tolerance (``--horizontal-pod-autoscaler-tolerance``,
  default 0.1) off the target, every sync period (default 15 s).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .watching import (
    FAILED,
    PASSED,
    UNOBSERVED,
    LatencyRow,
    ScalingResult,
    Watcher,
    aggregate_p95_limit,
    locust_history,
    p95_recovery,
    run_origin,
    seconds,
)

HPA_TOLERANCE = 0.10  # the controller's default --horizontal-pod-autoscaler-tolerance
HPA_SYNC_S = 15.0  # the controller's default --horizontal-pod-autoscaler-sync-period
HPA_RESOURCE = "horizontalpodautoscalers.v2.autoscaling"  # resource.version.group, as kubectl get takes it
DEPLOYMENT_RESOURCE = "deployments.v1.apps"
KUBECTL_TIMEOUT_S = 20
# What the kubeconfig's identity needs (RBAC): get on the HPA and the Deployment, list on pods in the namespace,
# list on nodes (cluster-scoped; optional: without it node counts are not recorded).
RBAC_NEEDED = (
    "get horizontalpodautoscalers.autoscaling and deployments.apps, list pods in the namespace"
    " (list nodes, cluster-wide, for node counts)"
)


@dataclass(frozen=True)
class Condition:
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class KubernetesSample:
    """One look at the HPA, its Deployment, the Deployment's pods and the nodes, at one epoch second."""

    at_epoch: float
    requested_replicas: int  # the HPA's status.currentReplicas: the Deployment's spec.replicas
    desired_replicas: int
    ready_replicas: int
    available_replicas: int
    pending_pods: int
    ready_nodes: int | None
    cpu_percent: float | None
    conditions: dict[str, Condition] = field(default_factory=dict)

    def timeline_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "at_epoch": round(self.at_epoch, 1),
            "current_replicas": self.requested_replicas,
            "desired_replicas": self.desired_replicas,
            "ready_replicas": self.ready_replicas,
            "available_replicas": self.available_replicas,
            "pending_pods": self.pending_pods,
            "ready_nodes": self.ready_nodes,
            "cpu_percent": self.cpu_percent,
        }
        for kind, condition in sorted(self.conditions.items()):
            row[kind] = f"{condition.status}/{condition.reason}"
        return row


def cpu_utilisation(hpa: Mapping[str, Any]) -> float | None:
    for metric in hpa.get("status", {}).get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            value = (resource.get("current") or {}).get("averageUtilization")
            return float(value) if value is not None else None
    return None


def conditions_of(hpa: Mapping[str, Any]) -> dict[str, Condition]:
    return {
        str(c.get("type")): Condition(str(c.get("status")), str(c.get("reason") or ""), str(c.get("message") or ""))
        for c in hpa.get("status", {}).get("conditions") or []
    }


def node_is_ready(node: Mapping[str, Any]) -> bool:
    if node.get("spec", {}).get("unschedulable"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions") or []
    )


def kubernetes_sample(
    hpa: Mapping[str, Any],
    deployment: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    nodes: Sequence[Mapping[str, Any]] | None,
    at_epoch: float,
) -> KubernetesSample:
    """A sample from the objects as ``kubectl get ... -o json`` returns them (autoscaling/v2, apps/v1, v1)."""
    hpa_status, deployment_status = hpa.get("status", {}), deployment.get("status", {})
    return KubernetesSample(
        at_epoch=at_epoch,
        requested_replicas=int(hpa_status.get("currentReplicas") or 0),
        desired_replicas=int(hpa_status.get("desiredReplicas") or 0),
        ready_replicas=int(deployment_status.get("readyReplicas") or 0),
        available_replicas=int(deployment_status.get("availableReplicas") or 0),
        pending_pods=sum(1 for pod in pods if pod.get("status", {}).get("phase") == "Pending"),
        ready_nodes=None if nodes is None else sum(1 for node in nodes if node_is_ready(node)),
        cpu_percent=cpu_utilisation(hpa),
        conditions=conditions_of(hpa),
    )


def _first(samples: Sequence[KubernetesSample], test: Callable[[KubernetesSample], bool]) -> KubernetesSample | None:
    return next((sample for sample in samples if test(sample)), None)


def evaluate_kubernetes(
    samples: Sequence[KubernetesSample],
    scaling: Mapping[str, Any],
    scale_out_within_s: float,
    history: Sequence[LatencyRow] = (),
    p95_limit_ms: float | None = None,
    origin: float | None = None,
) -> ScalingResult:
    """Ready capacity rose within the allowed time after CPU crossed the target, and the p95 recovered.

    Each failure has its own message: no samples, metrics missing, unable to
    scale, load too light, at the maximum, capacity requested but never ready,
    ready too late, latency never recovered.
    """
    if not samples:
        return ScalingResult(FAILED, ["no Kubernetes sample was recorded: is the watcher pointed at the right HPA?"])
    minimum, maximum = int(scaling["minReplicas"]), int(scaling["maxReplicas"])
    target = float(scaling["cpuTargetPercent"])
    zero = samples[0].at_epoch if origin is None else origin
    reasons: list[str] = []
    details: dict[str, Any] = {
        "minReplicas": minimum,
        "maxReplicas": maximum,
        "cpuTargetPercent": target,
        "metricsResolutionSeconds": scaling.get("metricsResolutionSeconds"),  # minikube's addon: 60 s, EKS: 15 s
        "peakDesiredReplicas": max(s.desired_replicas for s in samples),
        "peakReadyReplicas": max(s.ready_replicas for s in samples),
        "peakPendingPods": max(s.pending_pods for s in samples),
    }
    for kind in ("ScalingActive", "AbleToScale"):
        flaps = sum(1 for s in samples if _is(s, kind, "False"))
        if flaps:
            details[f"{kind}FalseSamples"] = flaps
    nodes = [s.ready_nodes for s in samples if s.ready_nodes is not None]
    if nodes:
        details["readyNodes"] = {"first": nodes[0], "peak": max(nodes), "last": nodes[-1]}

    inactive = _persistent(samples, "ScalingActive", "False")
    if inactive is not None:
        condition = inactive.conditions["ScalingActive"]
        reasons.append(
            f"metrics missing: from {seconds(inactive.at_epoch, zero):g} s the HPA reported ScalingActive=False"
            f" ({condition.reason}: {condition.message or 'no message'}); it cannot scale without CPU metrics:"
            " check metrics-server and the pods' CPU requests"
        )
    elif all(s.cpu_percent is None for s in samples):
        reasons.append(
            "metrics missing: the HPA reported no CPU utilisation in any sample: check metrics-server and the"
            " pods' CPU requests"
        )
    unable = _persistent(samples, "AbleToScale", "False")
    if unable is not None:
        condition = unable.conditions["AbleToScale"]
        reasons.append(
            f"unable to scale: from {seconds(unable.at_epoch, zero):g} s the HPA reported AbleToScale=False"
            f" ({condition.reason}: {condition.message or 'no message'})"
        )
    at_max = _first(samples, lambda s: _is(s, "ScalingLimited", "True", "TooManyReplicas"))
    if at_max is not None:
        details["atMaxFromS"] = seconds(at_max.at_epoch, zero)
        reasons.append(
            f"at max: from {seconds(at_max.at_epoch, zero):g} s the HPA wanted more than maxReplicas={maximum}"
            f" (ScalingLimited, TooManyReplicas) with CPU at {at_max.cpu_percent or 0:g}%: the load is beyond the"
            " scaling policy; raise maxReplicas or lower the load"
        )
    if inactive is not None or all(s.cpu_percent is None for s in samples):
        return ScalingResult(FAILED, reasons, details)

    trigger = target * (1 + HPA_TOLERANCE)
    crossing = _first(samples, lambda s: s.cpu_percent is not None and s.cpu_percent > trigger)
    if crossing is None:
        reasons.append(
            f"load too light: CPU never crossed the {target:g}% target by the HPA's 10% tolerance (peak"
            f" {max(s.cpu_percent or 0 for s in samples):g}%), so scaling was not tested"
        )
        return ScalingResult(FAILED, reasons, details)
    crossed = crossing.at_epoch
    baseline = max(minimum, crossing.ready_replicas)
    after = [s for s in samples if s.at_epoch >= crossed]
    decided = _first(after, lambda s: s.desired_replicas > baseline)
    # Capacity is there when the Deployment has as many *ready* pods as the HPA's first scale-out asked for.
    wanted = decided.desired_replicas if decided else None
    ready = _first(after, lambda s: wanted is not None and s.ready_replicas >= wanted)
    first_new = _first(after, lambda s: s.ready_replicas > baseline)
    details.update(
        {
            "cpuCrossedTargetAtS": seconds(crossed, zero),
            "readyAtCrossingReplicas": crossing.ready_replicas,
            "hpaDecidedAtS": seconds(decided.at_epoch if decided else None, zero),
            "hpaAskedReplicas": wanted,
            "firstNewPodReadyAtS": seconds(first_new.at_epoch if first_new else None, zero),
            "readyCapacityAtS": seconds(ready.at_epoch if ready else None, zero),
        }
    )
    if decided is not None:
        details["timeToDecisionS"] = round(decided.at_epoch - crossed, 1)
    if ready is not None:
        details["timeToScaleOutS"] = round(ready.at_epoch - crossed, 1)  # to *ready* capacity
    if decided is None:
        if unable is None and at_max is None:
            reasons.append(
                f"the HPA never asked for more than {baseline} replicas although CPU crossed the {target:g}% target"
                f" at {seconds(crossed, zero):g} s"
            )
    elif ready is None:
        last = after[-1]
        reasons.append(
            f"capacity never became ready: the HPA asked for {wanted} replicas at {seconds(decided.at_epoch, zero):g} s"
            f" but at most {max(s.ready_replicas for s in after)} were ready; {details['peakPendingPods']} pods were"
            " Pending at the worst"
            + (f" (ready nodes {nodes[0]} -> {max(nodes)})" if nodes else "")
            + f"; at the end {last.ready_replicas} ready of {last.requested_replicas} requested"
        )
    elif ready.at_epoch - crossed > scale_out_within_s:
        reasons.append(
            f"the {wanted} replicas the HPA asked for were ready only {ready.at_epoch - crossed:.0f} s after CPU"
            f" crossed the target (allowed {scale_out_within_s:g} s; the HPA decided after"
            f" {details['timeToDecisionS']:.0f} s; up to {details['peakPendingPods']} pods were Pending"
            + (f"; ready nodes {nodes[0]} -> {max(nodes)}" if nodes else "")
            + ")"
        )
    if ready is not None:
        recovered, worst, ok = p95_recovery(history, ready.at_epoch, p95_limit_ms)
        if p95_limit_ms is not None:
            details["p95LimitMs"] = p95_limit_ms
            details["worstRollingP95AfterReadyMs"] = worst
            if recovered is not None:
                details["p95RecoveredAtS"] = seconds(recovered, zero)
                details["timeToP95RecoveredS"] = round(recovered - crossed, 1)
            if not ok:
                reasons.append(
                    f"latency never recovered: the rolling 10 s p95 stayed at or above {p95_limit_ms:g} ms after ready"
                    f" capacity rose at {seconds(ready.at_epoch, zero):g} s (worst {worst:g} ms)"
                )
    return ScalingResult(FAILED if reasons else PASSED, reasons, details)


def _persistent(samples: Sequence[KubernetesSample], kind: str, status: str) -> KubernetesSample | None:
    """The first sample of a condition that held over a whole sync period, or still held at the end.

    One sync's ``FailedGetResourceMetric`` while new pods have no metrics yet, or one ``FailedUpdateScale`` on a
    write conflict, is the controller retrying, not a broken autoscaler: it is counted in the details only.
    """
    held = [s for s in samples if _is(s, kind, status)]
    if not held:
        return None
    if held[-1].at_epoch - held[0].at_epoch >= HPA_SYNC_S or held[-1] is samples[-1]:
        return held[0]
    return None


def _is(sample: KubernetesSample, kind: str, status: str, reason: str | None = None) -> bool:
    condition = sample.conditions.get(kind)
    return condition is not None and condition.status == status and (reason is None or condition.reason == reason)


def cpu_cores(quantity: str | int | float | None) -> float | None:
    """A Kubernetes CPU quantity ("250m", "1", 0.5) in cores."""
    if quantity is None:
        return None
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def pod_cpu_request_cores(deployment: Mapping[str, Any]) -> float | None:
    """The pod's CPU request as the HPA divides usage by it: every container's plus restartable (sidecar) init
    containers' (``calculatePodRequests``, pkg/controller/podautoscaler/replica_calculator.go, v1.29+). ``None`` when
    a container has no CPU request: the HPA then cannot compute utilisation either."""
    spec = deployment.get("spec", {}).get("template", {}).get("spec", {})
    counted = list(spec.get("containers") or []) + [
        container for container in spec.get("initContainers") or [] if container.get("restartPolicy") == "Always"
    ]
    requests = [cpu_cores(((c.get("resources") or {}).get("requests") or {}).get("cpu")) for c in counted]
    if not requests or any(request is None for request in requests):
        return None
    return sum(request for request in requests if request is not None)


KLOG_LINE = re.compile(r"^[IWEF]\d{4} ")  # klog's header: severity, MMDD, time (client-go's retries)


def kubectl_said(stderr: str) -> str:
    """kubectl's own conclusion: its stderr without client-go's klog lines (kept only when nothing else is said)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    plain = [line for line in lines if not KLOG_LINE.match(line)]
    return " / ".join(plain or lines[-1:])


def kubectl_failure(exc: BaseException) -> str:
    """kubectl's own account of a failure (its stderr: "Error from server (Forbidden): ..."), and what to do."""
    if isinstance(exc, subprocess.CalledProcessError):
        said = kubectl_said(str(exc.stderr or exc.output or "")) or f"exit status {exc.returncode}"
        fix = f": grant the kubeconfig's identity {RBAC_NEEDED}" if "forbidden" in said.lower() else ""
        if "NotFound" in said:
            fix = ": is the stack's releaseName/namespace output the HPA's?"
        elif "credential" in said.lower() or "exec plugin" in said.lower() or "Unauthorized" in said:
            fix = ": set credentials for the cluster's account (an EKS kubeconfig runs aws eks get-token)"
        elif "connection to the server" in said or "Unable to connect" in said:
            fix = ": is the cluster's API endpoint reachable from here (its endpoint access, a VPN)?"
        return f"kubectl failed: {said[:400]}{fix}"
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"kubectl did not answer within {exc.timeout:g} s: is the cluster's API endpoint reachable?"
    if isinstance(exc, FileNotFoundError):
        return "kubectl was not found on PATH: install it to watch a Kubernetes stack"
    return f"kubectl's answer was not usable: {exc}"


def label_selector(deployment: Mapping[str, Any]) -> str:
    labels = deployment.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


class KubernetesWatcher(Watcher):
    """The HPA, its Deployment, the Deployment's pods and the nodes, through kubectl, every ``interval_s``."""

    kind = "kubernetes"

    def __init__(
        self,
        scaling: Mapping[str, Any],
        name: str,
        namespace: str,
        kubeconfig: str | None,
        scale_out_within_s: float,
        interval_s: float = 5.0,
        run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
        results: Path | None = None,
    ) -> None:
        super().__init__(interval_s, results)
        self.scaling, self.scale_out_within_s = scaling, scale_out_within_s
        self.name, self.namespace = name, namespace
        self._kubeconfig = ["--kubeconfig", kubeconfig] if kubeconfig else []
        self._run_command = run
        self.samples: list[KubernetesSample] = []
        self.cpu_request_cores: float | None = None
        self.nodes_readable = True
        self.nodes_error: str | None = None
        self.errors = 0
        self.last_error: str | None = None

    def _kubectl(self, *arguments: str) -> Any:
        command = ["kubectl", "get", *arguments, "--output", "json", *self._kubeconfig]
        result = self._run_command(command, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S, check=True)
        return json.loads(result.stdout)

    def sample(self, at_epoch: float) -> None:
        """One sample; a kubectl that fails (RBAC, credentials, no such HPA) is recorded with its own words, never
        raised: the verdict says what was refused and what to grant (``kubectl_failure``)."""
        try:
            self._sample(at_epoch)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.errors += 1
            self.last_error = kubectl_failure(exc)
            self.timeline.append({"at_epoch": round(at_epoch, 1), "error": self.last_error})

    def _sample(self, at_epoch: float) -> None:
        # Fully qualified: the watcher reads autoscaling/v2's status (currentMetrics, conditions), which
        # autoscaling/v1 does not have, whatever version the API server prefers.
        listed = self._kubectl(
            f"{HPA_RESOURCE}/{self.name}", f"{DEPLOYMENT_RESOURCE}/{self.name}", "--namespace", self.namespace
        )
        by_kind = {item.get("kind"): item for item in listed.get("items", [])}
        if "HorizontalPodAutoscaler" not in by_kind or "Deployment" not in by_kind:
            raise ValueError(f"kubectl did not return both the HPA and the Deployment {self.name!r}")
        hpa, deployment = by_kind["HorizontalPodAutoscaler"], by_kind["Deployment"]
        if hpa.get("apiVersion") != "autoscaling/v2":
            raise ValueError(f"kubectl returned the HPA as {hpa.get('apiVersion')!r}, not autoscaling/v2")
        self.cpu_request_cores = pod_cpu_request_cores(deployment)
        pods = self._kubectl("pods", "--namespace", self.namespace, "--selector", label_selector(deployment))
        nodes = None
        if self.nodes_readable:
            try:
                nodes = self._kubectl("nodes").get("items", [])
            except subprocess.CalledProcessError as exc:  # a namespaced kubeconfig may not list nodes: say so, go on
                self.nodes_readable = False
                self.nodes_error = kubectl_failure(exc)
            except subprocess.TimeoutExpired:  # this sample without nodes; the next one tries again
                nodes = None
        sample = kubernetes_sample(hpa, deployment, pods.get("items", []), nodes, at_epoch)
        self.samples.append(sample)
        self.timeline.append(sample.timeline_row())

    def evaluate(self, cold_starts: int) -> ScalingResult:
        if not self.samples and self.last_error is not None:
            return ScalingResult(
                UNOBSERVED,
                [f"the Kubernetes watcher could not read the cluster ({self.errors} tries): {self.last_error}"],
                {"kubectlErrors": self.errors},
            )
        origin = run_origin(self.results, self.samples[0].at_epoch if self.samples else self.started_epoch)
        result = evaluate_kubernetes(
            self.samples,
            self.scaling,
            self.scale_out_within_s,
            locust_history(self.results),
            aggregate_p95_limit(self.results),
            origin,
        )
        extra: dict[str, Any] = {"cpuRequestCores": self.cpu_request_cores, "cpuSecondsPerRequest": None}
        if not self.nodes_readable:
            extra["nodesNote"] = f"the kubeconfig cannot list nodes: node counts were not recorded ({self.nodes_error})"
        if self.errors:
            extra["kubectlErrors"] = self.errors
            extra["lastKubectlError"] = self.last_error
        cpu = cpu_seconds_per_request(self.samples, self.cpu_request_cores, self.results)
        extra["cpuSecondsPerRequest"] = cpu
        return ScalingResult(result.status, result.reasons, {**result.details, **extra})


def cpu_seconds_per_request(
    samples: Sequence[KubernetesSample], cpu_request_cores: float | None, results: Path | None
) -> float | None:
    """CPU seconds the pods spent per request: mean(utilisation x ready pods x CPU request) / mean request rate.

    The HPA's utilisation is a percentage of the pods' CPU *request*; the rate
    is Locust's over the same span. An estimate for the cost model's node count.
    """
    measured = [s for s in samples if s.cpu_percent is not None and s.ready_replicas > 0]
    if not measured or not cpu_request_cores:
        return None
    cores = sum((s.cpu_percent or 0) / 100 * s.ready_replicas * cpu_request_cores for s in measured) / len(measured)
    rate = mean_request_rate(results)
    return cores / rate if rate else None


def mean_request_rate(results: Path | None) -> float | None:
    """Requests per second over the run, from Locust's aggregated stats (``locust_stats.csv``)."""
    import csv

    path = None if results is None else results / "locust_stats.csv"
    if path is None or not path.exists():
        return None
    with path.open() as handle:
        total = next((row for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"), None)
    if total is None:
        return None
    rate = float(total.get("Requests/s") or 0)
    return rate if rate > 0 and math.isfinite(rate) else None
