"""Scaling checks against recorded HPA objects and CloudWatch responses."""

from __future__ import annotations

import argparse
import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loadtests.scaling import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    HpaWatcher,
    Watcher,
    evaluate_hpa,
    evaluate_lambda,
    hpa_sample,
    lambda_series,
    latency_after_scale_out,
)

RECORDED = Path(__file__).resolve().parent / "recorded"
SCALING = {"kind": "kubernetes", "minReplicas": 2, "maxReplicas": 6, "cpuTargetPercent": 70}


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def samples(name: str, every_s: float = 15.0) -> list[Any]:
    return [hpa_sample(item, at_s=i * every_s) for i, item in enumerate(recorded(name))]


def test_an_hpa_object_becomes_a_sample() -> None:
    sample = hpa_sample(recorded("hpa_scales_out.json")[2], at_s=30)

    assert (sample.current_replicas, sample.desired_replicas, sample.cpu_percent) == (2, 3, 88.0)
    assert (sample.able_to_scale, sample.scaling_limited) == (True, False)


def test_an_hpa_without_metrics_yet_has_no_cpu_figure() -> None:
    assert hpa_sample(recorded("hpa_scales_out.json")[0], at_s=0).cpu_percent is None


def test_a_run_that_scales_out_in_time_passes() -> None:
    result = evaluate_hpa(samples("hpa_scales_out.json"), SCALING, scale_out_within_s=60)

    assert result.status == PASSED, result.reasons
    assert result.details["peakReplicas"] == 4
    assert result.details["timeToScaleOutS"] == 15.0


def test_a_run_that_scales_out_too_late_fails() -> None:
    result = evaluate_hpa(samples("hpa_scales_out.json"), SCALING, scale_out_within_s=10)

    assert result.status == FAILED
    assert "15 s after CPU crossed the target (allowed 10 s)" in result.reasons[0]


def test_a_run_that_never_scales_fails() -> None:
    result = evaluate_hpa(samples("hpa_never_scales.json"), SCALING, scale_out_within_s=180)

    assert result.status == FAILED
    assert result.reasons == ["replicas never rose above 2 although CPU crossed the 70% target at 15 s"]


def test_a_run_that_exceeds_the_maximum_fails() -> None:
    result = evaluate_hpa(samples("hpa_exceeds_max.json"), SCALING, scale_out_within_s=180)

    assert result.status == FAILED
    assert "replicas reached 7, above the maximum of 6" in result.reasons


def test_a_load_too_light_to_cross_the_target_does_not_pass() -> None:
    result = evaluate_hpa(samples("hpa_light_load.json"), SCALING, scale_out_within_s=180)

    assert result.status == FAILED
    assert "never crossed the 70% target" in result.reasons[0]


def test_the_watcher_reads_the_hpa_through_kubectl_with_the_stacks_kubeconfig() -> None:
    objects = iter(recorded("hpa_scales_out.json"))
    commands: list[list[str]] = []

    def kubectl(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, json.dumps(next(objects)), "")

    watcher = HpaWatcher(SCALING, "users-api", "users", "/tmp/kubeconfig", 60, run=kubectl)
    for second in range(0, 90, 15):
        watcher.sample(second)

    assert commands[0] == [
        "kubectl",
        "get",
        "hpa",
        "users-api",
        "--namespace",
        "users",
        "--output",
        "json",
        "--kubeconfig",
        "/tmp/kubeconfig",
    ]
    assert watcher.evaluate(cold_starts=0).status == PASSED
    assert [row["current_replicas"] for row in watcher.timeline] == [2, 2, 2, 3, 4, 4]


@pytest.mark.parametrize(
    ("response", "scaling", "allow", "status", "reason"),
    [
        ("cloudwatch_healthy.json", {"reservedConcurrency": None}, False, PASSED, None),
        (
            "cloudwatch_healthy.json",
            {"reservedConcurrency": 5},
            False,
            FAILED,
            "concurrency reached 11, above its limit of 5",
        ),
        (
            "cloudwatch_throttled.json",
            {"reservedConcurrency": 10},
            False,
            FAILED,
            "49 invocations were throttled (429)",
        ),
        ("cloudwatch_throttled.json", {"reservedConcurrency": 10}, True, PASSED, None),
    ],
)
def test_lambda_scaling_against_recorded_cloudwatch_metrics(
    response: str, scaling: dict[str, Any], allow: bool, status: str, reason: str | None
) -> None:
    result = evaluate_lambda(lambda_series(recorded(response)), scaling, cold_starts=4, allow_throttles=allow)

    assert result.status == status
    if reason:
        assert reason in result.reasons
    assert result.details["coldStarts"] == 4


def test_without_a_cluster_or_a_cloud_scaling_is_not_applicable_never_passed(tmp_path: Path) -> None:
    watcher = Watcher()

    result = watcher.evaluate(cold_starts=0)
    watcher.write_timeline(tmp_path / "timeline.csv")

    assert result.status == NOT_APPLICABLE
    assert (tmp_path / "timeline.csv").read_text().strip() == "at_s"


@pytest.mark.parametrize(
    ("p95s", "status"),
    [([400, 300, 200], PASSED), ([400, 300, 650], FAILED)],
)
def test_latency_must_hold_once_the_replicas_have_scaled_out(p95s: list[float], status: str) -> None:
    scaled = evaluate_hpa(samples("hpa_scales_out.json"), SCALING, scale_out_within_s=60)  # out at 45 s
    history = [{"t": 30.0, "p95": 2000.0}] + [{"t": 45.0 + 15 * i, "p95": p} for i, p in enumerate(p95s)]

    result = latency_after_scale_out(scaled, history, p95_limit_ms=500)

    assert result.status == status
    assert result.details["worstP95AfterScaleOutMs"] == max(p95s), "the 2000 ms before scaling out does not count"


def test_a_failed_or_inapplicable_check_is_left_as_it_is() -> None:
    never = evaluate_hpa(samples("hpa_never_scales.json"), SCALING, scale_out_within_s=60)

    assert latency_after_scale_out(never, [{"t": 0.0, "p95": 1.0}], 500) is never


def test_no_cloudwatch_data_is_not_a_pass() -> None:
    result = evaluate_lambda({}, {"reservedConcurrency": None}, cold_starts=0, allow_throttles=False)

    assert result.status == NOT_APPLICABLE
    assert "no ConcurrentExecutions data" in result.reasons[0]


def test_replicas_left_over_from_an_earlier_run_are_not_a_scale_out() -> None:
    leftover = [hpa_sample(item, at_s=i * 15.0) for i, item in enumerate(recorded("hpa_never_scales.json"))]
    leftover = [type(s)(s.at_s, 4, 4, s.cpu_percent) for s in leftover]  # 4 replicas throughout, min 2

    result = evaluate_hpa(leftover, SCALING, scale_out_within_s=60)

    assert result.status == FAILED
    assert "replicas never rose above 4" in result.reasons[0]


def test_cpu_within_the_hpas_tolerance_does_not_count_as_crossing() -> None:
    near = [type(s)(s.at_s, 2, 2, 75.0) for s in samples("hpa_light_load.json")]  # 75% vs 70% target: within 10%

    result = evaluate_hpa(near, SCALING, scale_out_within_s=60)

    assert "never crossed the 70% target" in result.reasons[0]


def test_an_eks_stacks_watcher_reads_the_hpa_with_the_stacks_kubeconfig_kept_private(tmp_path: Path) -> None:
    from loadtests.run import make_watcher

    outputs = {
        "backend": "eks",
        "scaling": SCALING,
        "kubeconfig": '{"apiVersion": "v1"}',
        "namespace": "users-api",
        "releaseName": "users-api",
    }
    watcher = make_watcher(outputs, argparse.Namespace(scale_out_within=90), tmp_path)

    assert isinstance(watcher, HpaWatcher)
    kubeconfig = tmp_path / "kubeconfig"
    assert kubeconfig.read_text() == '{"apiVersion": "v1"}'
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
