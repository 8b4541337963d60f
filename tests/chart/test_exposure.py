"""How the app is reached: the Service (ClusterIP or NodePort), the ALB Ingress, and what NOTES.txt tells the user."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import CERTIFICATE_ARN, FULLNAME, NAMESPACE, Release, annotations_of, render

ALB = "alb.ingress.kubernetes.io/"


def test_the_service_has_the_type_and_port_asked_for(release: Release) -> None:
    service = release.one("Service")
    (port,) = service["spec"]["ports"]

    assert service["spec"]["type"] == release.values["service"]["type"]
    assert port["port"] == release.values["service"]["port"]
    assert port.get("nodePort") == release.values["service"].get("nodePort")


def test_minikube_gets_the_node_port_it_asks_for(chart: helm.Chart) -> None:
    service = render(chart, {"service": {"type": "NodePort", "nodePort": 30080}}).one("Service")

    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["nodePort"] == 30080


def test_a_node_port_service_without_a_fixed_port_lets_kubernetes_pick(chart: helm.Chart) -> None:
    service = render(chart, {"service": {"type": "NodePort"}}).one("Service")

    assert service["spec"]["type"] == "NodePort"
    assert "nodePort" not in service["spec"]["ports"][0]


def test_the_ingress_sends_the_alb_to_the_pods_and_health_checks_readyz(release: Release) -> None:
    if not release.values["ingress"]["enabled"]:
        assert release.of_kind("Ingress") == []
        return
    ingress = release.one("Ingress")
    notes = annotations_of(ingress)

    assert ingress["spec"]["ingressClassName"] == "alb"
    assert notes[f"{ALB}target-type"] == "ip"
    assert notes[f"{ALB}healthcheck-path"] == "/readyz"
    assert notes[f"{ALB}scheme"] == release.values["ingress"]["scheme"]
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": FULLNAME, "port": {"name": "http"}}}
    assert (path["path"], path["pathType"]) == ("/", "Prefix")


@pytest.mark.parametrize(
    ("certificate", "listeners", "https"),
    [
        pytest.param(CERTIFICATE_ARN, '[{"HTTP": 80}, {"HTTPS": 443}]', True, id="with-certificate"),
        pytest.param("", '[{"HTTP": 80}]', False, id="without-certificate"),
    ],
)
def test_a_certificate_adds_an_https_listener_and_redirects_http_to_it(
    chart: helm.Chart, certificate: str, listeners: str, https: bool
) -> None:
    ingress = render(chart, {"ingress": {"enabled": True, "certificateArn": certificate}}).one("Ingress")
    notes = annotations_of(ingress)

    assert notes[f"{ALB}listen-ports"] == listeners
    assert (f"{ALB}ssl-redirect" in notes) is https
    assert notes.get(f"{ALB}certificate-arn") == (certificate or None)


def test_ingress_annotations_given_in_values_win_over_the_charts(chart: helm.Chart) -> None:
    values: dict[str, Any] = {
        "ingress": {
            "enabled": True,
            "scheme": "internal",
            "annotations": {f"{ALB}healthcheck-interval-seconds": "30", f"{ALB}group.name": "shared"},
        }
    }
    notes = annotations_of(render(chart, values).one("Ingress"))

    assert notes[f"{ALB}healthcheck-interval-seconds"] == "30"
    assert notes[f"{ALB}group.name"] == "shared"
    assert notes[f"{ALB}scheme"] == "internal"


@pytest.mark.parametrize(
    ("values", "says"),
    [
        pytest.param(
            {}, "kubectl port-forward --namespace users-api service/users-api-flask-app 8080:80", id="clusterip"
        ),
        pytest.param(
            {"service": {"type": "NodePort", "nodePort": 30080}},
            "minikube service users-api-flask-app --namespace users-api --url",
            id="nodeport",
        ),
        pytest.param({"ingress": {"enabled": True}}, "kubectl get ingress users-api-flask-app", id="ingress"),
        pytest.param(
            {"service": {"type": "LoadBalancer"}}, "kubectl get service users-api-flask-app", id="loadbalancer"
        ),
    ],
)
def test_the_notes_say_how_to_reach_the_app(chart: helm.Chart, values: dict[str, Any], says: str) -> None:
    notes = render(chart, values).notes

    assert says in notes
    assert "export HOST_ADDRESS=" in notes
    assert f"helm test users-api --namespace {NAMESPACE}" in notes


def test_every_value_set_gets_notes_that_name_its_way_in(release: Release) -> None:
    if release.values["ingress"]["enabled"]:
        assert "kubectl get ingress" in release.notes
        scheme = "https" if release.values["ingress"]["certificateArn"] else "http"
        assert f"export HOST_ADDRESS={scheme}://" in release.notes
    elif release.values["service"]["type"] == "NodePort":
        assert "minikube service" in release.notes
    else:
        assert "kubectl port-forward" in release.notes
