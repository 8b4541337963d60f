"""Rolling updates behind an ALB with IP targets and the pod readiness gate lose no request.

A stopping pod: its endpoint is removed and the AWS Load Balancer Controller deregisters its target while the
preStop pause keeps it serving; then SIGTERM, and gunicorn drains in-flight requests for up to 25 s
(GUNICORN_GRACEFUL_TIMEOUT). The ALB keeps the target draining for the deregistration delay, and a connection the
target closes before that ends gets the client a 5xx; the kubelet kills the pod at its grace period. So:
pause + drain <= deregistration delay <= grace period, and the grace period is above pause + drain. With the
readiness gate a new pod is Ready only once its target is healthy, so maxUnavailable 0 keeps the old pods serving.
"""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import Release, render

GUNICORN_GRACEFUL_TIMEOUT = 25  # users_api.gunicorn_conf.graceful_timeout's default
ATTRIBUTES = "alb.ingress.kubernetes.io/target-group-attributes"
WITH_INGRESS: dict[str, Any] = {"ingress": {"enabled": True}}


def stop_timeline(rendered: Release) -> tuple[int, int, int | None]:
    """The preStop pause, the grace period and the ALB's deregistration delay (None without an Ingress)."""
    spec = rendered.one("Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    pre_stop = container.get("lifecycle", {}).get("preStop")
    pause = int(pre_stop["exec"]["command"][1]) if pre_stop else 0
    delay = None
    for ingress in rendered.of_kind("Ingress"):
        attributes = dict(item.split("=", 1) for item in ingress["metadata"]["annotations"][ATTRIBUTES].split(","))
        delay = int(attributes["deregistration_delay.timeout_seconds"])
    return pause, spec["terminationGracePeriodSeconds"], delay


def assert_consistent(rendered: Release) -> None:
    pause, grace, delay = stop_timeline(rendered)
    assert grace > pause + GUNICORN_GRACEFUL_TIMEOUT, "the pause plus gunicorn's drain must fit in the grace period"
    if delay is not None:
        assert pause + GUNICORN_GRACEFUL_TIMEOUT <= delay <= grace
        strategy = rendered.one("Deployment")["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"]["maxUnavailable"] in (0, "0%")
        assert strategy["rollingUpdate"]["maxSurge"] not in (0, "0%")


def test_every_value_set_stops_its_pods_without_losing_a_request(release: Release) -> None:
    assert_consistent(release)


def test_behind_the_alb_the_pause_outlasts_deregistration_and_new_pods_come_first(chart: helm.Chart) -> None:
    rendered = render(chart, WITH_INGRESS)
    pause, grace, delay = stop_timeline(rendered)

    assert pause >= 15, "the controller deregisters the target and the ALB stops routing to it within the pause"
    assert (pause, grace, delay) == (15, 60, 45)
    assert rendered.one("Deployment")["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
    assert_consistent(rendered)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"ingress": {"deregistrationDelaySeconds": 40}}, id="delay-at-pause-plus-drain"),
        pytest.param({"ingress": {"deregistrationDelaySeconds": 60}}, id="delay-at-grace"),
        pytest.param(
            {
                "preStopSleepSeconds": 20,
                "terminationGracePeriodSeconds": 90,
                "ingress": {"deregistrationDelaySeconds": 90},
            },
            id="longer-pause",
        ),
        pytest.param({"rollingUpdate": {"maxSurge": 2, "maxUnavailable": "0%"}}, id="surge-two"),
    ],
)
def test_consistent_settings_render(chart: helm.Chart, values: dict[str, Any]) -> None:
    assert_consistent(
        render(
            chart,
            {"ingress": {"enabled": True, **values.get("ingress", {})}}
            | {key: value for key, value in values.items() if key != "ingress"},
        )
    )


@pytest.mark.parametrize(
    ("values", "says"),
    [
        pytest.param(
            {"ingress": {"enabled": True, "deregistrationDelaySeconds": 39}},
            "ingress.deregistrationDelaySeconds (39) must be at least preStopSleepSeconds + gunicorn's 25 s drain (40)",
            id="delay-one-below-pause-plus-drain",
        ),
        pytest.param(
            {"ingress": {"enabled": True, "deregistrationDelaySeconds": 61}},
            "and at most terminationGracePeriodSeconds (60)",
            id="delay-one-past-grace",
        ),
        pytest.param(
            {"ingress": {"enabled": True}, "rollingUpdate": {"maxUnavailable": 1}},
            "rollingUpdate.maxUnavailable (1) must be 0 behind the ALB",
            id="max-unavailable-1",
        ),
        pytest.param(
            {"ingress": {"enabled": True, "annotations": {ATTRIBUTES: "deregistration_delay.timeout_seconds=5"}}},
            "set ingress.deregistrationDelaySeconds instead",
            id="delay-through-annotations",
        ),
    ],
)
def test_settings_that_would_drop_requests_are_refused_by_name(
    chart: helm.Chart, values: dict[str, Any], says: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(says)):
        render(chart, values)


def test_a_surge_of_zero_is_refused_by_the_schema(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmValuesError, match=re.escape("/rollingUpdate/maxSurge'")):
        render(chart, {"rollingUpdate": {"maxSurge": 0}})


def test_other_target_group_attributes_are_kept_next_to_the_delay(chart: helm.Chart) -> None:
    given = {ATTRIBUTES: "slow_start.duration_seconds=30"}
    rendered = render(chart, {"ingress": {"enabled": True, "annotations": given}})

    assert rendered.one("Ingress")["metadata"]["annotations"][ATTRIBUTES] == (
        "slow_start.duration_seconds=30,deregistration_delay.timeout_seconds=45"
    )


def test_without_the_alb_a_rollout_may_take_pods_down_first(chart: helm.Chart) -> None:
    rendered = render(chart, {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})

    assert rendered.one("Deployment")["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 1}
