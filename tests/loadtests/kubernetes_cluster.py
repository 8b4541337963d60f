"""A small model of an EKS cluster under load, for the Kubernetes watcher's inputs: objects as the API serves them.

Every object is an ``autoscaling/v2`` HPA, ``apps/v1`` Deployment, ``v1`` Pod or
``v1`` Node that validates against the Kubernetes 1.33 schema (strict; see
test_kubernetes_scaling.py). The timeline follows the documented behaviour, not
what the watcher expects:

- the HPA controller syncs every 15 s (``--horizontal-pod-autoscaler-sync-period``)
  and acts when usage is more than 10 % off target; the proposal is
  ``ceil(current x usage / target)``, limited by the chart's scale-up policy
  (the larger of +100 % or +4 pods per 15 s, no stabilisation window) and clamped to
  ``maxReplicas`` with ``ScalingLimited=True/TooManyReplicas``
  (kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go,
  ``reconcileAutoscaler``, ``convertDesiredReplicasWithBehaviorRate``);
  ``status.currentReplicas`` is the Deployment's ``spec.replicas`` as read at the
  start of the sync (``setStatus(hpa, currentReplicas, desiredReplicas, ...)``), so
  it catches up with ``desiredReplicas`` one sync later;
- metrics-server on EKS resolves CPU every 15 s: the HPA sees the usage of the
  previous resolution window;
- a scheduled pod starts in about 10 s (image cached) and becomes ready at its
  first successful readiness probe (the chart probes every 5 s); a pod with no
  room stays Pending until cluster-autoscaler's node joins: about 10 s to notice,
  2 to 3 minutes for an EC2 node to boot and register Ready;
- a missing metrics API gives ``ScalingActive=False/FailedGetResourceMetric``
  and no ``currentMetrics``; a refused scale update gives
  ``AbleToScale=False/FailedUpdateScale``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SYNC_S = 15
METRICS_RESOLUTION_S = 15
START_S = 10  # scheduled -> container running
NODE_NOTICE_S = 10  # cluster-autoscaler's scan interval
EPOCH0 = 1_796_000_000.0  # 2026-11-29: the run's wall clock


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(kind: str, status: str, reason: str, message: str, at: float) -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp(at)}


def hpa_object(
    name: str,
    namespace: str,
    minimum: int,
    maximum: int,
    target: int,
    current: int,
    desired: int,
    cpu: int | None,
    conditions: list[dict[str, Any]],
    at: float,
) -> dict[str, Any]:
    status: dict[str, Any] = {"currentReplicas": current, "desiredReplicas": desired, "conditions": conditions}
    if cpu is not None:
        status["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": cpu, "averageValue": f"{cpu * 250 // 100}m"},
                },
            }
        ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(int(at))},
        "spec": {
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
                }
            ],
        },
        "status": status,
    }


LABELS = {"app.kubernetes.io/name": "flask-app", "app.kubernetes.io/instance": "users-api"}


def deployment_object(name: str, namespace: str, replicas: int, ready: int, at: float) -> dict[str, Any]:
    status: dict[str, Any] = {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas}
    if ready:
        status |= {"readyReplicas": ready, "availableReplicas": ready}
    if replicas - ready:
        status["unavailableReplicas"] = replicas - ready
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:1",
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"cpu": "1", "memory": "512Mi"},
                            },
                        }
                    ]
                },
            },
        },
        "status": status,
    }


def pod_object(name: str, namespace: str, phase: str, ready: bool, node: str | None, at: float) -> dict[str, Any]:
    conditions = [condition("PodScheduled", "True" if node else "False", "" if node else "Unschedulable", "", at)]
    if not node:
        conditions[0]["message"] = "0/2 nodes are available: 2 Insufficient cpu."
    if phase == "Running":
        conditions.append(condition("Ready", "True" if ready else "False", "", "", at))
    for item in conditions:
        if not item["reason"]:
            del item["reason"]
        if not item["message"]:
            del item["message"]
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:1"}]
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
        "spec": spec,
        "status": {"phase": phase, "conditions": conditions},
    }


def node_object(name: str, ready: bool, at: float) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "t3.medium"}},
        "spec": {"providerID": f"aws:///us-east-1a/i-{abs(hash(name)) % 10**17:017x}"},
        "status": {
            "allocatable": {"cpu": "1930m", "memory": "3388Mi", "pods": "17"},
            "conditions": [
                condition("Ready", "True" if ready else "False", "KubeletReady" if ready else "KubeletNotReady", "", at)
            ],
        },
    }


@dataclass
class Pod:
    name: str
    created: float
    node: str | None = None
    scheduled: float | None = None

    def ready_at(self) -> float | None:
        if self.scheduled is None:
            return None
        # running START_S after scheduling, ready at the next 5 s readiness probe
        running = self.scheduled + START_S
        return running + (5 - running % 5) % 5


@dataclass
class Scenario:
    """A load (cores of CPU the traffic needs, over time) against a cluster, and what goes wrong, if anything."""

    demand_cores: Callable[[float], float]
    minimum: int = 2
    maximum: int = 6
    target: int = 70
    pods_per_node: int = 6  # 250m requests on a t3.medium's 1930m allocatable, after the daemonsets
    nodes: int = 2
    max_nodes: int = 5
    node_boot_s: float = 150.0
    metrics_available: bool = True
    scale_update_refused: bool = False
    duration_s: float = 300.0
    sample_every_s: float = 5.0
    cpu_request_cores: float = 0.25
    _pods: list[Pod] = field(default_factory=list)

    def run(self) -> list[tuple[float, dict[str, Any], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
        """(epoch, hpa, deployment, pods, nodes) every ``sample_every_s``, as kubectl would return them."""
        name, namespace = "users-api", "users-api"
        pods = [Pod(f"users-api-{i}", -600, f"node-{i % self.nodes}", -600) for i in range(self.minimum)]
        nodes: dict[str, float] = {f"node-{i}": -3600 for i in range(self.nodes)}  # name -> ready since
        requested, desired, cpu_seen = self.minimum, self.minimum, None
        status_current = requested  # the HPA's status.currentReplicas: scale.Spec.Replicas as read before rescaling
        conditions: list[dict[str, Any]] = []
        out = []
        t = 0.0
        while t <= self.duration_s:
            ready = [p for p in pods if (r := p.ready_at()) is not None and r <= t]
            if t % SYNC_S == 0:
                window = t - t % METRICS_RESOLUTION_S - METRICS_RESOLUTION_S  # the last full resolution window
                ready_then = [p for p in pods if (r := p.ready_at()) is not None and r <= max(window, 0)] or ready
                cpu_seen = scale_up_cpu = None
                if self.metrics_available:
                    demand = self.demand_cores(max(window, 0))
                    usage = demand / (len(ready_then) * self.cpu_request_cores)
                    cpu_seen = min(400, round(usage * 100))  # limit 1 core = 400 % of a 250m request
                    # replica_calculator.go GetResourceReplicas: on a scale-up, pods not yet ready (or with no
                    # metrics yet) count as using 0 % of their request, so pods on their way damp the proposal.
                    scale_up_cpu = round(len(ready_then) * cpu_seen / requested)
                status_current = requested
                requested, desired, conditions = self._sync(requested, cpu_seen, scale_up_cpu, t)
                while len(pods) < requested:
                    pods.append(Pod(f"users-api-{len(pods)}", t))
            self._schedule(pods, nodes, t)
            ready = [p for p in pods if (r := p.ready_at()) is not None and r <= t]
            at = EPOCH0 + t
            out.append(
                (
                    at,
                    hpa_object(
                        name,
                        namespace,
                        self.minimum,
                        self.maximum,
                        self.target,
                        status_current,
                        desired,
                        cpu_seen,
                        conditions,
                        at,
                    ),
                    deployment_object(name, namespace, requested, len(ready), at),
                    [
                        pod_object(
                            p.name,
                            namespace,
                            "Running" if p.scheduled is not None and p.scheduled + START_S <= t else "Pending",
                            p in ready,
                            p.node,
                            at,
                        )
                        for p in pods
                    ],
                    [node_object(n, since <= t, at) for n, since in nodes.items()],
                )
            )
            t += self.sample_every_s
        return out

    def _sync(
        self, current: int, cpu: int | None, scale_up_cpu: int | None, t: float
    ) -> tuple[int, int, list[dict[str, Any]]]:
        at = EPOCH0 + t
        able = condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size", at)
        if cpu is None:
            return (
                current,
                current,
                [
                    able,
                    condition(
                        "ScalingActive",
                        "False",
                        "FailedGetResourceMetric",
                        "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get"
                        " metrics for resource cpu: no metrics returned from resource metrics API",
                        at,
                    ),
                ],
            )
        active = condition(
            "ScalingActive",
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource utilization"
            " (percentage of request)",
            at,
        )
        ratio = cpu / self.target
        if ratio > 1 and scale_up_cpu is not None:
            ratio = scale_up_cpu / self.target
        proposal = current if abs(ratio - 1) <= 0.1 else math.ceil(current * ratio)
        proposal = max(proposal, self.minimum)
        rate_limit = max(current * 2, current + 4)  # chart: max(+100 %, +4 pods) per 15 s
        limited = condition(
            "ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range", at
        )
        desired = proposal
        if proposal > min(self.maximum, rate_limit):
            desired = min(self.maximum, rate_limit)
            reason, message = (
                ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
                if self.maximum <= rate_limit
                else ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
            )
            limited = condition("ScalingLimited", "True", reason, message, at)
        if proposal < current:  # scale-down waits for its 300 s stabilisation window: not in these runs
            desired = current
        if desired != current and self.scale_update_refused:
            able = condition(
                "AbleToScale",
                "False",
                "FailedUpdateScale",
                'the HPA controller was unable to update the target scale: deployments.apps "users-api" is'
                " forbidden: exceeded quota: pods",
                at,
            )
            return current, desired, [able, active, limited]
        if desired != current:
            able = condition(
                "AbleToScale",
                "True",
                "SucceededRescale",
                f"the HPA controller was able to update the target scale to {desired}",
                at,
            )
        return desired, desired, [able, active, limited]

    def _schedule(self, pods: list[Pod], nodes: dict[str, float], t: float) -> None:
        waiting = [p for p in pods if p.node is None]
        for pod in waiting:
            room = [
                n
                for n, since in nodes.items()
                if since <= t and sum(1 for p in pods if p.node == n) < self.pods_per_node
            ]
            if room:
                pod.node, pod.scheduled = room[0], max(t, pod.created + 1)
        still = [p for p in pods if p.node is None]
        booting = [n for n, since in nodes.items() if since > t]
        if still and not booting and len(nodes) < self.max_nodes:
            first_pending = min(p.created for p in still)
            if t >= first_pending + NODE_NOTICE_S:
                nodes[f"node-{len(nodes)}"] = t + self.node_boot_s
