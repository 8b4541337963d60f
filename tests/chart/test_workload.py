"""The Deployment and what scales and protects it: selectors, probes, resources, HPA, PDB, rollouts, spreading."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import DIGEST, FULLNAME, RELEASE, Release, annotations_of, render

HELM_CREATE_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
SELECTOR = {"app.kubernetes.io/name": "flask-app", "app.kubernetes.io/instance": RELEASE}


def test_every_object_but_the_test_hook_carries_the_helm_create_labels(release: Release) -> None:
    for manifest in release.manifests:
        if annotations_of(manifest).get("helm.sh/hook") == "test":
            continue
        labels = manifest["metadata"]["labels"]
        assert set(HELM_CREATE_LABELS) <= set(labels), manifest["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "flask-app-0.1.0"


def test_the_deployment_selects_its_own_pods_by_name_and_instance_only(release: Release) -> None:
    deployment = release.one("Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]

    assert selector == SELECTOR
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_service_selects_exactly_the_deployments_pods(release: Release) -> None:
    deployment = release.one("Deployment")

    assert release.one("Service")["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_service_targets_the_container_port_named_http_on_5000(release: Release) -> None:
    (port,) = release.one("Service")["spec"]["ports"]

    assert port["targetPort"] == "http"
    assert release.app_container()["ports"] == [{"name": "http", "containerPort": 5000, "protocol": "TCP"}]


def test_the_hpa_scales_the_deployment_and_owns_its_replica_count(release: Release) -> None:
    hpa = release.one("HorizontalPodAutoscaler")
    deployment = release.one("Deployment")

    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert deployment["metadata"]["name"] == FULLNAME
    assert "replicas" not in deployment["spec"], "with the HPA on, a replica count in the Deployment fights it"
    assert hpa["spec"]["minReplicas"] == release.values["hpa"]["minReplicas"]
    assert hpa["spec"]["maxReplicas"] == release.values["hpa"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": release.values["hpa"]["cpuTargetPercent"]},
    }


def test_the_hpa_states_its_behaviour_both_ways_and_scales_down_after_five_quiet_minutes(release: Release) -> None:
    behavior = release.one("HorizontalPodAutoscaler")["spec"]["behavior"]

    assert behavior["scaleUp"]["policies"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["policies"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_without_the_hpa_the_deployment_runs_replica_count_pods(chart: helm.Chart) -> None:
    rendered = render(chart, {"hpa": {"enabled": False}, "replicaCount": 3})

    assert rendered.of_kind("HorizontalPodAutoscaler") == []
    assert rendered.one("Deployment")["spec"]["replicas"] == 3


def test_readiness_checks_dependencies_while_liveness_and_startup_check_only_the_process(release: Release) -> None:
    container = release.app_container()
    startup, liveness, readiness = (container[f"{kind}Probe"] for kind in ("startup", "liveness", "readiness"))

    assert readiness["httpGet"] == {"path": "/readyz", "port": "http"}
    assert liveness["httpGet"] == {"path": "/livez", "port": "http"}
    assert startup["httpGet"] == {"path": "/livez", "port": "http"}
    assert readiness["httpGet"]["path"] != liveness["httpGet"]["path"]
    settings = [
        {key: value for key, value in probe.items() if key != "httpGet"} for probe in (startup, liveness, readiness)
    ]
    assert len({tuple(sorted(setting.items())) for setting in settings}) == 3, "each probe has its own timing"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30, "gunicorn gets time to start"


@pytest.mark.parametrize("part", ["requests", "limits"])
@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_every_container_has_cpu_and_memory_requests_and_limits(release: Release, part: str, resource: str) -> None:
    for owner, spec in release.pod_specs.items():
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["resources"][part][resource], f"{owner}/{container['name']} has no {resource} {part}"


def test_the_app_container_gets_the_resources_asked_for(release: Release) -> None:
    assert release.app_container()["resources"] == release.values["resources"]


@pytest.mark.parametrize(
    ("values", "budget"),
    [
        pytest.param({}, True, id="hpa-floor-of-2"),
        pytest.param({"hpa": {"minReplicas": 1, "maxReplicas": 5}}, False, id="hpa-floor-of-1"),
        pytest.param({"hpa": {"enabled": False}, "replicaCount": 3}, True, id="three-replicas-without-hpa"),
        pytest.param({"hpa": {"enabled": False}, "replicaCount": 1}, False, id="one-replica-without-hpa"),
        pytest.param({"pdb": {"enabled": False}}, False, id="pdb-disabled"),
    ],
)
def test_a_disruption_budget_exists_exactly_when_more_than_one_pod_always_runs(
    chart: helm.Chart, values: dict[str, Any], budget: bool
) -> None:
    rendered = render(chart, values)

    budgets = rendered.of_kind("PodDisruptionBudget")
    assert len(budgets) == int(budget)
    if budget:
        assert budgets[0]["spec"]["selector"]["matchLabels"] == SELECTOR
        assert budgets[0]["spec"]["minAvailable"] == rendered.values["pdb"]["minAvailable"]


def test_a_digest_wins_over_the_tag(chart: helm.Chart) -> None:
    rendered = render(chart, {"image": {"repository": "registry.example/users-api", "tag": "1.2.3", "digest": DIGEST}})

    for spec in rendered.pod_specs.values():
        assert [container["image"] for container in spec["containers"]] == [f"registry.example/users-api@{DIGEST}"]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        pytest.param({"tag": "1.2.3"}, "flask-platform/users-api:1.2.3", id="tag"),
        pytest.param({"tag": 42}, "flask-platform/users-api:42", id="numeric-tag-from-set"),
        pytest.param({"tag": ""}, "flask-platform/users-api:0.1.0", id="empty-tag-means-app-version"),
    ],
)
def test_without_a_digest_the_image_is_pinned_by_tag(chart: helm.Chart, image: dict[str, Any], expected: str) -> None:
    rendered = render(chart, {"image": image})

    assert rendered.app_container()["image"] == expected


def test_the_pull_policy_is_passed_through(release: Release) -> None:
    for spec in release.pod_specs.values():
        assert {container["imagePullPolicy"] for container in spec["containers"]} == {
            release.values["image"]["pullPolicy"]
        }


def test_a_change_of_configuration_rolls_the_pods(chart: helm.Chart) -> None:
    def sums(values: dict[str, Any]) -> dict[str, str]:
        annotations: dict[str, str] = render(chart, values).one("Deployment")["spec"]["template"]["metadata"][
            "annotations"
        ]
        return {key: value for key, value in annotations.items() if key.startswith("checksum/")}

    credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    before = sums({"env": credentials})

    assert sums({"env": credentials}) == before, "the same values give the same sums"
    assert sums({"env": credentials | {"LOG_LEVEL": "DEBUG"}})["checksum/config"] != before["checksum/config"]
    more_workers = {"gunicorn": {"workers": 4}, "resources": {"limits": {"memory": "1Gi"}}, "env": credentials}
    assert sums(more_workers)["checksum/config"] != before["checksum/config"]
    rotated = sums({"env": credentials | {"AWS_SECRET_ACCESS_KEY": "rotated"}})
    assert rotated["checksum/secret"] != before["checksum/secret"]
    assert rotated["checksum/config"] == before["checksum/config"]


def test_a_stopping_pod_pauses_then_drains_within_its_grace_period(release: Release) -> None:
    spec = release.one("Deployment")["spec"]["template"]["spec"]
    pause = release.values["preStopSleepSeconds"]

    assert release.app_container()["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", str(pause)]}}
    assert spec["terminationGracePeriodSeconds"] == release.values["terminationGracePeriodSeconds"]
    assert spec["terminationGracePeriodSeconds"] > pause + 25, "the pause plus gunicorn's 25 s drain must fit"


def test_no_pause_means_no_pre_stop_hook(chart: helm.Chart) -> None:
    assert "lifecycle" not in render(chart, {"preStopSleepSeconds": 0}).app_container()


def test_pods_spread_across_zones_and_nodes_without_ever_blocking_scheduling(release: Release) -> None:
    constraints = release.one("Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]

    assert [constraint["topologyKey"] for constraint in constraints] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    for constraint in constraints:
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"] == {"matchLabels": SELECTOR}


def test_spreading_can_be_turned_off(chart: helm.Chart) -> None:
    spec = render(chart, {"topologySpread": {"enabled": False}}).one("Deployment")["spec"]["template"]["spec"]

    assert "topologySpreadConstraints" not in spec


def test_the_config_map_holds_the_apps_environment(release: Release) -> None:
    data = release.one("ConfigMap")["data"]
    env = release.values["env"]

    assert data["AWS_REGION"] == env["AWS_REGION"]
    assert data["DYNAMODB_TABLE"] == env["DYNAMODB_TABLE"]
    assert data["S3_BUCKET"] == env["S3_BUCKET"]
    assert data.get("AWS_ENDPOINT_URL", "") == env["AWS_ENDPOINT_URL"], "empty means real AWS: not set at all"
    assert (data["LOG_LEVEL"], data["MAX_AVATAR_BYTES"], data["TRUSTED_PROXIES"]) == ("INFO", "2097152", "1")
    assert data["AVATAR_URL_TTL_SECONDS"] == "900", "the app's own default (15 minutes)"
    assert data["REQUEST_DEADLINE_SECONDS"] == "10", "below gunicorn's 25 s graceful drain"
    assert (data["GUNICORN_WORKERS"], data["GUNICORN_WORKER_CONNECTIONS"], data["PORT"]) == ("2", "1000", "5000")
    assert "GUNICORN_THREADS" not in data, "gevent workers ignore it"
    assert release.app_container()["envFrom"] == [{"configMapRef": {"name": FULLNAME}}]


def test_numbers_given_with_set_become_strings_in_the_environment(chart: helm.Chart) -> None:
    data = render(chart, {"env": {"MAX_AVATAR_BYTES": 1048576, "TRUSTED_PROXIES": 0}}).one("ConfigMap")["data"]

    assert (data["MAX_AVATAR_BYTES"], data["TRUSTED_PROXIES"]) == ("1048576", "0")


@pytest.mark.parametrize("ttl", [1, "3600", 604800])
def test_the_avatar_url_lifetime_reaches_the_app_in_its_range(chart: helm.Chart, ttl: int | str) -> None:
    data = render(chart, {"env": {"AVATAR_URL_TTL_SECONDS": ttl}}).one("ConfigMap")["data"]

    assert data["AVATAR_URL_TTL_SECONDS"] == str(ttl)


@pytest.mark.parametrize("deadline", [5, "24"])
def test_a_request_deadline_within_gunicorns_drain_reaches_the_app(chart: helm.Chart, deadline: int | str) -> None:
    data = render(chart, {"env": {"REQUEST_DEADLINE_SECONDS": deadline}}).one("ConfigMap")["data"]

    assert data["REQUEST_DEADLINE_SECONDS"] == str(deadline)


@pytest.mark.parametrize("deadline", [4, "25", 60, "ten"])
def test_a_request_deadline_that_outlasts_gunicorns_drain_is_refused(chart: helm.Chart, deadline: int | str) -> None:
    """gunicorn waits 25 s for running requests after SIGTERM (gunicorn_conf.graceful_timeout): a longer deadline
    lets a pod's stop cut a request between its writes; the app itself refuses below 5 s."""
    with pytest.raises(Exception, match="REQUEST_DEADLINE_SECONDS"):
        render(chart, {"env": {"REQUEST_DEADLINE_SECONDS": deadline}})


def test_the_public_url_reaches_the_app_only_when_set(chart: helm.Chart) -> None:
    given = render(chart, {"env": {"PUBLIC_URL": "https://api.example.com"}}).one("ConfigMap")["data"]
    default = render(chart, {}).one("ConfigMap")["data"]

    assert given["PUBLIC_URL"] == "https://api.example.com"
    assert "PUBLIC_URL" not in default, "empty: the app's own URLs are relative"


@pytest.mark.parametrize("url", ["api.example.com", "https://api.example.com/?a=1", "https://u@api.example.com"])
def test_a_public_url_the_app_would_refuse_is_refused_at_render(chart: helm.Chart, url: str) -> None:
    with pytest.raises(Exception, match="PUBLIC_URL"):
        render(chart, {"env": {"PUBLIC_URL": url}})


def test_the_old_threads_value_is_refused_naming_it(chart: helm.Chart) -> None:
    """gevent workers ignore threads: a release still setting gunicorn.threads stops instead of changing nothing."""
    with pytest.raises(Exception, match="threads"):
        render(chart, {"gunicorn": {"threads": 8}})
