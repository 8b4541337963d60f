"""The eks backend's controllers against what upstream ships at the pinned versions, under Pulumi mocks.

tests/infra/upstream/ holds each pinned chart's values.yaml, copied unchanged at its tag (SOURCE.md there):
Helm ignores a value key the chart does not read, so a misspelt or renamed key would be a setting that silently
never applies. The controller's IAM policy is checked against its provenance the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from backends.eks import addons
from tests.infra.conftest import REGION, RecordingMocks
from tests.infra.test_eks_backend import RELEASE, deploy, releases

UPSTREAM = Path(__file__).resolve().parent / "upstream"
# Each pinned chart's values at its tag: the directory names the tag, so a version bump needs a new copy.
VALUES_FIXTURES = {
    addons.LOAD_BALANCER_CONTROLLER.name: f"aws-load-balancer-controller-v{addons.LOAD_BALANCER_CONTROLLER.version}",
    addons.CLUSTER_AUTOSCALER.name: f"cluster-autoscaler-chart-{addons.CLUSTER_AUTOSCALER.version}",
    addons.METRICS_SERVER.name: f"metrics-server-helm-chart-{addons.METRICS_SERVER.version}",
}
# Maps the chart passes through as they are, whatever their keys: cluster-autoscaler's extraArgs become its
# command-line flags (each flag we set is in cluster-autoscaler/config/flags/flags.go at the image tags we pin).
FREE_FORM: set[tuple[str, ...]] = {("cluster-autoscaler", "extraArgs")}


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)


def unknown_keys(chart: str, given: dict[str, Any], upstream: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Key paths of ``given`` that the chart's values do not have. Below a key whose upstream default is an empty
    map or null (annotations, podDisruptionBudget, ...) any key is the chart's to accept."""
    for key, value in given.items():
        here = (*path, key)
        if not isinstance(upstream, dict) or key not in upstream:
            yield ".".join(here)
            continue
        below = upstream[key]
        if isinstance(below, dict) and below and (chart, *here) not in FREE_FORM:
            if isinstance(value, dict):
                yield from unknown_keys(chart, value, below, here)
            else:
                yield f"{'.'.join(here)} (a map upstream, given {type(value).__name__})"


def test_unknown_keys_finds_misspelt_and_misplaced_keys() -> None:
    upstream = {"serviceAccount": {"create": True, "annotations": {}}, "podDisruptionBudget": {}, "region": None}
    given = {
        "serviceAccount": {"create": True, "annotation": {}, "annotations": {"any": "thing"}},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "region": "eu-west-1",
        "vpcID": "vpc-1",
    }

    assert list(unknown_keys("c", given, upstream)) == ["serviceAccount.annotation", "vpcID"]
    assert list(unknown_keys("c", {"serviceAccount": "x"}, upstream)) == ["serviceAccount (a map upstream, given str)"]


@pytest.mark.parametrize("chart", [addons.LOAD_BALANCER_CONTROLLER, addons.CLUSTER_AUTOSCALER, addons.METRICS_SERVER])
def test_every_value_key_the_backend_sets_exists_in_the_pinned_charts_values(
    mocks: RecordingMocks, chart: addons.Chart
) -> None:
    fixture = UPSTREAM / VALUES_FIXTURES[chart.name] / "values.yaml"
    assert fixture.is_file(), f"copy {chart.name} {chart.version}'s values.yaml there (tests/infra/upstream/SOURCE.md)"
    upstream = yaml.safe_load(fixture.read_text())
    deploy(mocks)
    values = releases(mocks)[chart.name]["values"]

    assert list(unknown_keys(chart.name, values, upstream)) == []


def test_the_controllers_are_the_current_releases() -> None:
    assert addons.LOAD_BALANCER_CONTROLLER.version == "3.5.0"
    assert addons.CLUSTER_AUTOSCALER.version == "9.59.0"
    assert addons.CLUSTER_AUTOSCALER_IMAGES == {"1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2"}


def test_the_policy_file_is_the_one_its_source_names_at_the_pinned_controllers_tag() -> None:
    source = (addons.POLICY_DIR / "SOURCE.md").read_text()
    policy = (addons.POLICY_DIR / "aws-load-balancer-controller.json").read_bytes()
    recorded = re.search(r"sha256 `([0-9a-f]{64})`", source)

    assert f"Tag: `v{addons.LOAD_BALANCER_CONTROLLER.version}`" in source
    assert "Path there: `docs/install/iam_policy.json`" in source
    assert re.search(r"Commit: `[0-9a-f]{40}`", source)
    assert recorded, "SOURCE.md records the file's sha256"
    assert hashlib.sha256(policy).hexdigest() == recorded.group(1)
    assert f"{len(policy)} bytes" in source


def test_the_policy_grants_what_controllers_since_v2_12_call() -> None:
    """The actions the v3.5.0 policy added over the v2.11-era file: without them the controller's calls fail."""
    granted = {
        action
        for statement in addons.load_balancer_controller_policy()["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    assert {"ec2:DescribeIpamPools", "ec2:DescribeRouteTables", "elasticloadbalancing:SetRulePriorities"} <= granted


def waits_for(mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, **config: str) -> dict[str, set[str]]:
    """Each resource's logical name -> the logical names it ``depends_on``, as the program really creates them."""
    edges: dict[str, set[str]] = {}
    real_init = pulumi.CustomResource.__init__

    def recording(self: pulumi.CustomResource, t: str, name: str, *args: Any, **kwargs: Any) -> None:
        opts = kwargs.get("opts") or (args[1] if len(args) > 1 else None)  # (props, opts, ...)
        depends_on = getattr(opts, "depends_on", None) or []
        edges[name] = {resource._name for resource in depends_on}
        real_init(self, t, name, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", recording)
    deploy(mocks, **config)
    return edges


CONTROLLER_RELEASE = f"users-api-{addons.LOAD_BALANCER_CONTROLLER.name}"


def test_every_other_release_starts_after_the_load_balancer_controllers_webhook_answers(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14, item 1: metrics-server and cluster-autoscaler released beside the controller had their Services
    refused by its webhook (no endpoints yet) and rolled back. Each of these releases creates Services."""
    edges = waits_for(mocks, monkeypatch)
    others = sorted(resource.name for resource in mocks.of_type(RELEASE) if resource.name != CONTROLLER_RELEASE)

    assert others == ["users-api-cluster-autoscaler", "users-api-metrics-server", "users-api-release"]
    assert {name: CONTROLLER_RELEASE in edges[name] for name in others} == dict.fromkeys(others, True)


def test_the_load_balancer_controllers_release_waits_for_its_pods_and_rolls_back_on_failure(
    mocks: RecordingMocks,
) -> None:
    deploy(mocks)
    controller = mocks.one_named(RELEASE, CONTROLLER_RELEASE)

    assert controller.get("skipAwait") is False, "Helm's --wait: done only when its pods (and so its webhook) are Ready"
    assert controller["atomic"] is True
    assert 300 <= controller["timeout"] <= 900, "nodes join and images pull within it; a stuck release fails"


NAMESPACE = "kubernetes:core/v1:Namespace"
READINESS_GATE = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}  # docs/deploy/pod_readiness_gate.md


@pytest.mark.parametrize("namespace", ["users-api", "shop"])
def test_the_apps_namespace_is_pulumis_own_labelled_for_the_pod_readiness_gate_and_holds_the_release(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, namespace: str
) -> None:
    """Issue 14, item 3: without the label, new pods are Ready before their ALB targets are healthy, and a 2-pod
    rolling update can drain the old targets while the new ones are still "initial"."""
    edges = waits_for(mocks, monkeypatch, namespace=namespace)
    created = mocks.one(NAMESPACE)
    app = mocks.one_named(RELEASE, "users-api-release")

    assert created.name == "users-api-namespace"
    assert created.inputs["metadata"]["name"] == namespace
    assert created.inputs["metadata"]["labels"] == READINESS_GATE
    assert app["namespace"] == namespace
    assert app["createNamespace"] is False, "Helm's namespace would carry no label"
    assert "users-api-namespace" in edges["users-api-release"], "labelled before the first pod is created"


def test_the_namespace_goes_before_the_controller_on_destroy_and_adopts_one_helm_made(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    edges = waits_for(mocks, monkeypatch)
    created = mocks.one(NAMESPACE)
    providers = {resource.name: resource for resource in mocks.of_type("pulumi:providers:kubernetes")}

    assert CONTROLLER_RELEASE in edges["users-api-namespace"], "its TargetGroupBindings' finalizers need the controller"
    assert created.provider is not None
    adopting = providers[created.provider.split("::")[-2]]  # urn:...::<name>::<id>
    assert adopting.inputs["upsertExistingObjects"] == "true", "stacks made before it have a namespace Helm made"
    assert adopting.inputs["kubeconfig"] == providers["users-api-kubernetes"].inputs["kubeconfig"]
    assert all(
        resource.provider and "::users-api-kubernetes::" in resource.provider for resource in mocks.of_type(RELEASE)
    ), "only the namespace is upserted"


def test_the_readiness_gate_webhook_fails_closed_and_a_drain_leaves_a_controller_pod(mocks: RecordingMocks) -> None:
    """A pod created while the controller is unreachable would get no gate (the chart's default is Ignore) and
    could let a rollout stop old pods for ones the ALB never routes to."""
    deploy(mocks)
    values = releases(mocks)[addons.LOAD_BALANCER_CONTROLLER.name]["values"]

    assert values["podMutatorWebhookConfig"] == {"failurePolicy": "Fail"}
    assert values["replicaCount"] == 2
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}, "rendered only when replicaCount > 1"
    [spread] = values["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["whenUnsatisfiable"]) == ("kubernetes.io/hostname", "DoNotSchedule")
    assert spread["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "aws-load-balancer-controller"}


def test_an_upgrade_keeps_the_controllers_webhook_certificate(mocks: RecordingMocks) -> None:
    """Regenerated on every render otherwise (v3.5.0 values.yaml keepTLSSecret: false), while running pods keep
    serving the old certificate: Fail-policy webhooks would refuse Services and pods until they reload it."""
    deploy(mocks)

    assert releases(mocks)[addons.LOAD_BALANCER_CONTROLLER.name]["values"]["keepTLSSecret"] is True


GUNICORN_GRACEFUL_SECONDS = 25  # app/users_api/gunicorn_conf.py: graceful_timeout, the drain after SIGTERM


def test_the_charts_rollout_settings_on_eks_hold_with_the_readiness_gate(mocks: RecordingMocks) -> None:
    """The chart rendered (real Helm) with the values the eks backend really passes: the gate applies (IP targets,
    a Service selecting the pods behind the Ingress), a rollout stops an old pod only for a gated new one
    (maxUnavailable 0), and the ALB drains a stopping pod no sooner than the pod stops serving."""
    import helm_python as helm

    from backends.kubernetes_app import CHART_DIR
    from tests.chart.support import render

    deploy(mocks)
    release = render(helm.Chart.load(str(CHART_DIR)), releases(mocks)["users-api"]["values"], "eks-backend")
    deployment = release.one("Deployment")["spec"]
    pod = deployment["template"]["spec"]
    service = release.one("Service")
    ingress = release.one("Ingress")
    annotations = ingress["metadata"]["annotations"]
    attributes = dict(
        item.split("=", 1) for item in annotations["alb.ingress.kubernetes.io/target-group-attributes"].split(",")
    )
    pre_stop = int(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1])
    deregistration = int(attributes["deregistration_delay.timeout_seconds"])

    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip", "readiness gates work with IP targets only"
    assert service["spec"]["selector"].items() <= deployment["template"]["metadata"]["labels"].items()
    backends = [
        path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    ]
    assert set(backends) == {service["metadata"]["name"]}
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["strategy"]["rollingUpdate"]["maxSurge"] not in (0, "0%")
    assert pre_stop >= 10, "the controller deregisters the target and the ALB stops routing to it meanwhile"
    # The ALB keeps a draining target's in-flight requests for the deregistration delay: it must outlast the
    # pod's own serving (the preStop pause, then gunicorn's graceful drain), or the ALB cuts requests the pod is
    # still finishing; and the pod must outlast both (charts/flask-app enforces the same at render time).
    assert pre_stop + GUNICORN_GRACEFUL_SECONDS <= deregistration <= pod["terminationGracePeriodSeconds"]
    assert pre_stop + GUNICORN_GRACEFUL_SECONDS < pod["terminationGracePeriodSeconds"]
