"""The Kubernetes watcher judges ready capacity, not the HPA's request, on inputs built from the controllers'
behaviour (see kubernetes_cluster.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from loadtests.kubernetes_scaling import (
    Condition,
    KubernetesWatcher,
    evaluate_kubernetes,
    kubernetes_sample,
    pod_cpu_request_cores,
)
from loadtests.watching import FAILED, PASSED, UNOBSERVED, LatencyRow
from tests.loadtests.kubernetes_cluster import EPOCH0, Scenario, deployment_object

SCALING = {
    "kind": "kubernetes",
    "minReplicas": 2,
    "maxReplicas": 6,
    "cpuTargetPercent": 70,
    "metricsResolutionSeconds": 15,
}


def step(before: float, after: float, at_s: float = 30.0) -> Any:
    return lambda t: before if t < at_s else after


SCENARIOS = {
    # 0.8 cores on 2 x 250m pods: 160 % -> the HPA asks for ceil(2 x 160 / 70) = 5, nodes have room
    "room on the nodes": Scenario(step(0.3, 0.8)),
    # the same, but each node has room for one more app pod: the new pods wait for cluster-autoscaler's nodes
    "new nodes needed": Scenario(step(0.3, 0.8), pods_per_node=2, max_nodes=5),
    # 1.2 cores want ceil(0.25 x 7 ...) = 7 pods: the HPA clamps to 6 and says so
    "beyond the maximum": Scenario(step(0.3, 1.4)),
    "no metrics API": Scenario(step(0.3, 0.8), metrics_available=False),
    "scale update refused": Scenario(step(0.3, 0.8), scale_update_refused=True),
    "too light": Scenario(step(0.3, 0.35)),
}


def samples(name: str) -> list[Any]:
    return [kubernetes_sample(hpa, dep, pods, nodes, at) for at, hpa, dep, pods, nodes in SCENARIOS[name].run()]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_object_the_watcher_is_given_validates_against_the_kubernetes_schema(name: str) -> None:
    for index, (_, hpa, deployment, pods, nodes) in enumerate(SCENARIOS[name].run()):
        if index % 4:  # every 20 s of the run is plenty: the objects differ only in their numbers in between
            continue
        for item in [hpa, deployment, *pods, *nodes]:
            kubernetes_validate.validate(item, "1.33", strict=True)


def test_capacity_that_arrives_on_running_nodes_passes_with_the_time_to_ready_pods() -> None:
    result = evaluate_kubernetes(samples("room on the nodes"), SCALING, scale_out_within_s=90)

    assert result.status == PASSED, result.reasons
    assert result.details["peakDesiredReplicas"] == 5
    # the load steps at 30 s; metrics-server's 30-45 s window shows it at the 45 s sync; pods ready ~15 s later
    assert result.details["cpuCrossedTargetAtS"] == 45
    assert result.details["timeToDecisionS"] == 0
    assert 10 <= result.details["timeToScaleOutS"] <= 20


def test_requested_replicas_are_not_capacity_pods_waiting_for_nodes_fail_the_check() -> None:
    """The old check passed this run (scaled out 15 s after the crossing): status.currentReplicas is a request."""
    run = samples("new nodes needed")
    requested_at = next(s.at_epoch for s in run if s.requested_replicas > 2)

    result = evaluate_kubernetes(run, SCALING, scale_out_within_s=90)

    assert requested_at - EPOCH0 == 60, "status.currentReplicas caught up one sync after the decision"
    assert result.status == FAILED
    assert result.details["peakPendingPods"] >= 1
    assert result.details["readyNodes"]["peak"] > result.details["readyNodes"]["first"]
    assert result.reasons[0].startswith("the 5 replicas the HPA asked for were ready only 170 s after CPU crossed")
    # Pending from 45 s; cluster-autoscaler asks at 55 s; the node is Ready 150 s later; the pod ready 10 s after that
    assert result.details["timeToScaleOutS"] == 170


def test_wanting_more_than_the_maximum_is_reported_as_at_max() -> None:
    run = samples("beyond the maximum")

    result = evaluate_kubernetes(run, SCALING, scale_out_within_s=90)

    assert max(s.requested_replicas for s in run) == 6, "the HPA clamps: replicas above the maximum cannot be seen"
    assert result.status == FAILED
    assert [r for r in result.reasons if r.startswith("at max:")] == [
        "at max: from 45 s the HPA wanted more than maxReplicas=6 (ScalingLimited, TooManyReplicas) with CPU at"
        " 280%: the load is beyond the scaling policy; raise maxReplicas or lower the load"
    ]


def test_missing_metrics_are_not_a_light_load() -> None:
    result = evaluate_kubernetes(samples("no metrics API"), SCALING, scale_out_within_s=90)

    assert result.status == FAILED
    assert result.reasons[0].startswith("metrics missing: from 0 s the HPA reported ScalingActive=False")
    assert "FailedGetResourceMetric" in result.reasons[0]
    assert not any("too light" in reason for reason in result.reasons)


def test_a_refused_scale_update_is_unable_to_scale() -> None:
    result = evaluate_kubernetes(samples("scale update refused"), SCALING, scale_out_within_s=90)

    assert result.status == FAILED
    assert result.reasons[0].startswith(
        "unable to scale: from 45 s the HPA reported AbleToScale=False (FailedUpdateScale"
    )


def test_a_load_within_the_tolerance_is_too_light_to_test_scaling() -> None:
    result = evaluate_kubernetes(samples("too light"), SCALING, scale_out_within_s=90)

    assert result.status == FAILED
    assert result.reasons == [
        "load too light: CPU never crossed the 70% target by the HPA's 10% tolerance (peak 70%), so scaling was not"
        " tested"
    ]


@pytest.mark.parametrize(
    ("p95s", "status", "recovers_after_s"),
    [
        ([900, 900, 400, 300], PASSED, 10.0),  # back under 500 ms 10 s after ready capacity
        ([900, 900, 900, 900], FAILED, None),
    ],
)
def test_latency_must_recover_once_ready_capacity_arrives(
    p95s: list[float], status: str, recovers_after_s: float | None
) -> None:
    run = samples("room on the nodes")
    ready_at = EPOCH0 + evaluate_kubernetes(run, SCALING, 90, origin=EPOCH0).details["readyCapacityAtS"]
    # Locust's rolling p95, one row every 5 s from ready capacity on; a bad second before it does not count
    history = [LatencyRow(ready_at - 5, 3000.0)] + [LatencyRow(ready_at + 5 * i, p) for i, p in enumerate(p95s)]

    result = evaluate_kubernetes(run, SCALING, 90, history, p95_limit_ms=500, origin=EPOCH0)

    assert result.status == status
    assert result.details.get("p95RecoveredAtS") == (
        None if recovers_after_s is None else ready_at + recovers_after_s - EPOCH0
    )
    assert result.details["worstRollingP95AfterReadyMs"] == 900
    if status == FAILED:
        assert result.reasons[-1].startswith("latency never recovered: the rolling 10 s p95 stayed at or above 500 ms")


Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def kubectl_for(name: str, calls: list[list[str]]) -> Kubectl:
    """kubectl as the watcher runs it, answering from the scenario, one sample at a time."""
    frames = iter(SCENARIOS[name].run())
    current: dict[str, Any] = {}

    def kubectl(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        if command[2].startswith("horizontalpodautoscalers.v2.autoscaling/"):
            _at, hpa, deployment, pods, nodes = next(frames)
            current.update(pods=pods, nodes=nodes)
            body: dict[str, Any] = {"apiVersion": "v1", "kind": "List", "items": [hpa, deployment]}
        else:
            body = {"apiVersion": "v1", "kind": "List", "items": current[command[2]]}
        return subprocess.CompletedProcess(command, 0, json.dumps(body), "")

    return kubectl


def test_the_watcher_reads_hpa_deployment_pods_and_nodes_with_the_stacks_kubeconfig(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    watcher = KubernetesWatcher(
        SCALING, "users-api", "users-api", "/run/kubeconfig", 90, run=kubectl_for("room on the nodes", calls)
    )

    for second in range(0, 301, 5):
        watcher.sample(EPOCH0 + second)

    assert calls[:3] == [
        [
            "kubectl",
            "get",
            "horizontalpodautoscalers.v2.autoscaling/users-api",
            "deployments.v1.apps/users-api",
            "--namespace",
            "users-api",
            "--output",
            "json",
            "--kubeconfig",
            "/run/kubeconfig",
        ],
        [
            "kubectl",
            "get",
            "pods",
            "--namespace",
            "users-api",
            "--selector",
            "app.kubernetes.io/instance=users-api,app.kubernetes.io/name=flask-app",
            "--output",
            "json",
            "--kubeconfig",
            "/run/kubeconfig",
        ],
        ["kubectl", "get", "nodes", "--output", "json", "--kubeconfig", "/run/kubeconfig"],
    ]
    assert watcher.cpu_request_cores == 0.25
    assert watcher.evaluate(cold_starts=0).status == PASSED
    timeline = tmp_path / "timeline.csv"
    watcher.write_timeline(timeline)
    header = timeline.read_text().splitlines()[0].split(",")
    assert header[0] == "at_s"
    assert {"current_replicas", "desired_replicas", "ready_replicas", "pending_pods", "ready_nodes"} <= set(header)


def test_the_timeline_counts_seconds_from_locusts_first_history_row(tmp_path: Path) -> None:
    """The report plots both on one axis: the watcher started 3 s before Locust's first row."""
    (tmp_path / "locust_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
        f"{int(EPOCH0) + 3},0,,Aggregated,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
    )
    calls: list[list[str]] = []
    watcher = KubernetesWatcher(
        SCALING, "users-api", "users-api", None, 90, run=kubectl_for("room on the nodes", calls), results=tmp_path
    )
    watcher.sample(EPOCH0)
    watcher.sample(EPOCH0 + 5)

    watcher.write_timeline(tmp_path / "scaling_timeline.csv")

    rows = (tmp_path / "scaling_timeline.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows] == ["at_s", "-3.0", "2.0"]


def test_a_kubeconfig_that_cannot_list_nodes_is_noted_and_the_rest_still_judged() -> None:
    calls: list[list[str]] = []
    answer = kubectl_for("room on the nodes", calls)

    def no_nodes(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if command[2] == "nodes":
            raise subprocess.CalledProcessError(
                1, command, "", 'nodes is forbidden: User "ci" cannot list resource "nodes"'
            )
        return answer(command, **kwargs)

    watcher = KubernetesWatcher(SCALING, "users-api", "users-api", None, 90, run=no_nodes)
    for second in range(0, 301, 5):
        watcher.sample(EPOCH0 + second)

    result = watcher.evaluate(cold_starts=0)
    assert result.status == PASSED
    assert result.details["nodesNote"].startswith("the kubeconfig cannot list nodes: node counts were not recorded")
    assert 'User "ci" cannot list resource "nodes"' in result.details["nodesNote"]
    assert "readyNodes" not in result.details


def test_the_watcher_judges_latency_from_the_runs_own_files_on_locusts_clock(tmp_path: Path) -> None:
    """run.py's order: Locust has written its history and verdict when the watcher is evaluated."""
    run = samples("room on the nodes")
    ready_at = EPOCH0 + evaluate_kubernetes(run, SCALING, 90, origin=EPOCH0).details["readyCapacityAtS"]
    # one row a second from 2 s after the first sample; the rolling p95 is 900 ms until 20 s after ready capacity
    stamps = [EPOCH0 + 2 + s for s in range(300)]
    rows = [
        f"{int(t)},10,,Aggregated,5.0,0.0,90,95,99,100,110,{900 if t < ready_at + 20 else 300},400,450,500,500,500"
        for t in stamps
    ]
    (tmp_path / "locust_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
        + "\n".join(rows)
        + "\n"
    )
    (tmp_path / "verdict.json").write_text(
        json.dumps({"thresholds": [{"metric": "p95", "endpoint": None, "limit": 500.0, "passed": True}]})
    )
    watcher = KubernetesWatcher(
        SCALING, "users-api", "users-api", None, 90, run=kubectl_for("room on the nodes", []), results=tmp_path
    )
    for second in range(0, 301, 5):
        watcher.sample(EPOCH0 + second)

    result = watcher.evaluate(cold_starts=0)

    assert result.status == PASSED, result.reasons
    assert result.details["p95LimitMs"] == 500.0
    # Locust's first row is 2 s after the watcher's first sample: seconds count from Locust's
    assert result.details["cpuCrossedTargetAtS"] == 43.0
    assert result.details["p95RecoveredAtS"] == ready_at + 20 - (EPOCH0 + 2)


def test_one_sync_without_metrics_while_new_pods_start_is_the_controller_retrying_not_metrics_missing() -> None:
    run = samples("room on the nodes")
    flap = next(i for i, s in enumerate(run) if s.at_epoch - EPOCH0 == 60)
    failing = Condition("False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count")
    run[flap] = replace(run[flap], conditions={**run[flap].conditions, "ScalingActive": failing})

    result = evaluate_kubernetes(run, SCALING, scale_out_within_s=90)

    assert result.status == PASSED, result.reasons
    assert result.details["ScalingActiveFalseSamples"] == 1


# kubectl's own stderr for each refusal (kubectl 1.33 prints "Error from server (<Reason>): <message>"; the messages
# are the API server's, staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go's forbidden()).
FORBIDDEN = (
    'Error from server (Forbidden): horizontalpodautoscalers.autoscaling "users-api" is forbidden: User "ci" cannot'
    ' get resource "horizontalpodautoscalers" in API group "autoscaling" in the namespace "users-api"\n'
)
NOT_FOUND = 'Error from server (NotFound): horizontalpodautoscalers.autoscaling "users-api" not found\n'
NO_CREDENTIALS = (
    'Unable to locate credentials. You can configure credentials by running "aws configure".\n'
    "E1202 01:15:00.000000   1 memcache.go:265] couldn't get current server API group list: Get"
    ' "https://ABC.gr7.us-east-1.eks.amazonaws.com/api?timeout=32s": getting credentials: exec: executable aws'
    " failed with exit code 253\n"
)


# Captured from kubectl v1.32.4 run by the watcher against a kubeconfig whose server refuses connections.
REFUSED = (
    "".join(
        f'E1202 01:28:53.53721{n}   20631 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API'
        ' group list: Get \\"https://127.0.0.1:1/api?timeout=32s\\": dial tcp 127.0.0.1:1: connect:'
        ' connection refused"\n'
        for n in range(6)
    )
    + "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n"
)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (subprocess.CalledProcessError(1, ["kubectl"], "", FORBIDDEN), "grant the kubeconfig's identity get"),
        (
            subprocess.CalledProcessError(1, ["kubectl"], "", REFUSED),
            "kubectl failed: The connection to the server 127.0.0.1:1 was refused - did you specify the right host or"
            " port?: is the cluster's API endpoint reachable",
        ),
        (subprocess.CalledProcessError(1, ["kubectl"], "", NOT_FOUND), "releaseName/namespace"),
        (subprocess.CalledProcessError(1, ["kubectl"], "", NO_CREDENTIALS), "set credentials for the cluster's"),
        (FileNotFoundError(2, "No such file or directory", "kubectl"), "kubectl was not found on PATH"),
        (subprocess.TimeoutExpired(["kubectl"], 20), "did not answer within 20 s"),
    ],
    ids=["forbidden", "refused", "not found", "no credentials", "no kubectl", "timeout"],
)
def test_a_cluster_the_watcher_cannot_read_is_unobserved_in_kubectls_words_never_a_failed_scale_out(
    failure: BaseException, expected: str
) -> None:
    def refusing(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        raise failure

    watcher = KubernetesWatcher(SCALING, "users-api", "users-api", None, 90, run=refusing)
    for second in range(0, 31, 5):
        watcher.sample(EPOCH0 + second)

    result = watcher.evaluate(cold_starts=0)

    assert result.status == UNOBSERVED
    assert expected in result.reasons[0]
    assert "memcache.go" not in result.reasons[0]  # client-go's retry log is noise next to kubectl's conclusion
    if isinstance(failure, subprocess.CalledProcessError):  # kubectl's own words, its first line's opening
        assert failure.stderr.splitlines()[-1 if failure.stderr is REFUSED else 0][:40] in result.reasons[0]
    assert result.details["kubectlErrors"] == 7
    assert "error" in watcher.timeline[0]


def test_an_hpa_served_as_autoscaling_v1_is_refused_not_read_as_metrics_missing() -> None:
    """autoscaling/v1 has no status.currentMetrics nor conditions: read as v2 it would look like missing metrics."""
    calls: list[list[str]] = []
    answer = kubectl_for("room on the nodes", calls)

    def served_as_v1(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = answer(command, **kwargs)
        body = json.loads(result.stdout)
        for item in body["items"]:
            if item["kind"] == "HorizontalPodAutoscaler":
                item["apiVersion"] = "autoscaling/v1"
        return subprocess.CompletedProcess(command, 0, json.dumps(body), "")

    watcher = KubernetesWatcher(SCALING, "users-api", "users-api", None, 90, run=served_as_v1)
    watcher.sample(EPOCH0)

    result = watcher.evaluate(cold_starts=0)
    assert result.status == UNOBSERVED
    assert "'autoscaling/v1', not autoscaling/v2" in result.reasons[0]


def test_kubectl_errors_between_good_samples_are_counted_and_the_samples_still_judged() -> None:
    calls: list[list[str]] = []
    answer = kubectl_for("room on the nodes", calls)
    count = {"hpa": 0}

    def flaky(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if command[2].startswith("horizontalpodautoscalers"):
            count["hpa"] += 1
            if count["hpa"] == 3:
                raise subprocess.TimeoutExpired(command, 20)
        return answer(command, **kwargs)

    watcher = KubernetesWatcher(SCALING, "users-api", "users-api", None, 90, run=flaky)
    for second in range(0, 301, 5):
        watcher.sample(EPOCH0 + second)

    result = watcher.evaluate(cold_starts=0)
    assert result.status == PASSED
    assert result.details["kubectlErrors"] == 1
    assert "did not answer within 20 s" in result.details["lastKubectlError"]


SIDECAR = {  # a native sidecar (restartPolicy: Always in initContainers, Kubernetes 1.29+)
    "name": "log-router",
    "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4",
    "restartPolicy": "Always",
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
}
ONE_SHOT = {"name": "migrate", "image": "busybox:1.36", "resources": {"requests": {"cpu": "2"}}}


@pytest.mark.parametrize(
    ("init_containers", "app_request", "expected"),
    [
        ([], "250m", 0.25),
        ([SIDECAR], "250m", 0.35),  # the HPA divides the pod's usage by app + sidecar requests
        ([ONE_SHOT], "250m", 0.25),  # a run-to-completion init container is not counted
        ([SIDECAR], None, None),  # a container without a CPU request: the HPA cannot compute utilisation either
    ],
    ids=["one container", "native sidecar", "init container", "no request"],
)
def test_cpu_per_pod_is_what_the_hpa_divides_usage_by(
    init_containers: list[dict[str, Any]], app_request: str | None, expected: float | None
) -> None:
    deployment = deployment_object("users-api", "users-api", 2, 2, EPOCH0)
    pod_spec = deployment["spec"]["template"]["spec"]
    if init_containers:
        pod_spec["initContainers"] = init_containers
    if app_request is None:
        del pod_spec["containers"][0]["resources"]["requests"]["cpu"]
    kubernetes_validate.validate(deployment, "1.33", strict=True)

    cores = pod_cpu_request_cores(deployment)
    if expected is None:
        assert cores is None
    else:
        assert cores == pytest.approx(expected)
