"""Which watcher a stack gets: by its ``scaling.kind`` output, never by the backend's name."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path
from typing import Any

import pytest

from loadtests.scaling import NOT_APPLICABLE, EcsWatcher, KubernetesWatcher, LambdaWatcher, Watcher, watcher_for

KUBERNETES = {
    "kind": "kubernetes",
    "minReplicas": 2,
    "maxReplicas": 6,
    "cpuTargetPercent": 70,
    "metricsResolutionSeconds": 15,
}
ECS = {
    "kind": "ecs",
    "clusterName": "users-api",
    "serviceName": "users-api",
    "minTasks": 2,
    "maxTasks": 6,
    "cpuTargetPercent": 70,
    "scaleOutCooldownSeconds": 60,
    "scaleInCooldownSeconds": 300,
    "taskCpuUnits": 512,
    "taskMemoryMiB": 1024,
    "architecture": "ARM64",
}
LAMBDA = {"kind": "lambda", "reservedConcurrency": None, "memoryMb": 512, "timeoutSeconds": 30}


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients are made, never called: a region and fake keys keep botocore from looking further."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.parametrize(
    ("outputs", "kind"),
    [
        ({"backend": "eks", "scaling": KUBERNETES}, KubernetesWatcher),
        ({"backend": "minikube", "scaling": KUBERNETES}, KubernetesWatcher),
        ({"backend": "my-k8s-plugin", "scaling": KUBERNETES}, KubernetesWatcher),
        ({"backend": "fargate", "scaling": ECS, "url": "http://a.us-east-1.elb.amazonaws.com"}, EcsWatcher),
        (
            {
                "backend": "lambda",
                "scaling": LAMBDA,
                "functionName": "fn",
                "apiId": "a1b2c3d4e5",
                "url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
            },
            LambdaWatcher,
        ),
        ({"backend": "eks", "scaling": {"kind": "something-new"}}, Watcher),
        ({"backend": "eks"}, Watcher),
        ({}, Watcher),
    ],
)
def test_the_watcher_is_chosen_by_the_scaling_kind(outputs: dict[str, Any], kind: type, tmp_path: Path) -> None:
    watcher = watcher_for(outputs, tmp_path, scale_out_within_s=90)

    assert type(watcher) is kind


def test_an_unknown_kind_is_not_applicable_never_passed(tmp_path: Path) -> None:
    watcher = watcher_for({"scaling": {"kind": "something-new"}}, tmp_path, scale_out_within_s=90)

    result = watcher.evaluate(cold_starts=0)
    watcher.write_timeline(tmp_path / "timeline.csv")

    assert result.status == NOT_APPLICABLE
    assert (tmp_path / "timeline.csv").read_text().strip() == "at_s"


def test_the_lambda_watcher_reads_the_region_of_the_stacks_url(tmp_path: Path) -> None:
    outputs = {"scaling": LAMBDA, "functionName": "fn", "url": "https://x.execute-api.eu-west-1.amazonaws.com"}

    watcher = watcher_for(outputs, tmp_path, scale_out_within_s=90)

    assert isinstance(watcher, LambdaWatcher)
    assert watcher._cloudwatch.meta.region_name == "eu-west-1"


def test_a_kubernetes_stacks_kubeconfig_is_written_private_through_run_py(tmp_path: Path) -> None:
    from loadtests.run import make_watcher

    outputs = {
        "backend": "eks",
        "scaling": KUBERNETES,
        "kubeconfig": '{"apiVersion": "v1"}',
        "namespace": "users-api",
        "releaseName": "users-api",
    }
    watcher = make_watcher(outputs, argparse.Namespace(scale_out_within=90, allow_throttles=False), tmp_path)

    assert isinstance(watcher, KubernetesWatcher)
    kubeconfig = tmp_path / "kubeconfig"
    assert kubeconfig.read_text() == '{"apiVersion": "v1"}'
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600


def test_the_report_plots_ready_capacity_beside_the_hpas_request_and_lists_the_figures(tmp_path: Path) -> None:
    from loadtests.report import scaling_series, write_report

    (tmp_path / "scaling_timeline.csv").write_text(
        "at_s,current_replicas,desired_replicas,ready_replicas,pending_pods,ready_nodes,cpu_percent\n"
        "0,2,2,2,0,2,60\n15,2,5,2,0,2,160\n30,5,5,2,3,2,160\n45,5,5,4,1,3,90\n"
    )
    (tmp_path / "verdict.json").write_text(
        '{"passed": false, "thresholds": [], "scaling": {"watcher": "kubernetes", "status": "failed", "reasons": [],'
        ' "details": {"timeToScaleOutS": 170.0, "readyNodes": {"first": 2, "peak": 3}, "hpaAskedReplicas": 5}}}'
    )

    series = scaling_series(tmp_path)
    page = write_report(tmp_path, "ramp against eks").read_text()

    assert series["ready_replicas"] == [(0, 2), (15, 2), (30, 2), (45, 4)]
    assert series["pending_pods"][2] == (30, 3)
    assert series["ready_nodes"][-1] == (45, 3)
    assert "<tr><td>timeToScaleOutS</td><td>170</td></tr>" in page
    assert "<tr><td>readyNodes</td><td>first 2, peak 3</td></tr>" in page


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "eu-west-1"),
        ("http://users-api-1234567890.us-east-2.elb.amazonaws.com", "us-east-2"),
        ("https://api.example.com", None),
    ],
)
def test_the_region_is_read_from_the_stacks_url(url: str, region: str | None) -> None:
    from loadtests.scaling import region_of

    assert region_of({"url": url}) == region


def test_no_region_anywhere_is_unobserved_with_the_reason_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    outputs = {"scaling": ECS, "url": "https://api.example.com"}

    watcher = watcher_for(outputs, tmp_path, scale_out_within_s=90)
    result = watcher.evaluate(cold_starts=0)

    assert result.status == "unobserved"
    assert result.reasons[0].startswith("no AWS client for the ecs watcher (NoRegionError:")
