"""The chart rendered with exactly the values the minikube backend passes (not a copy of them)."""

from __future__ import annotations

import importlib
from typing import Any

import helm_python as helm
import kubernetes_validate

from backends.config import parse
from backends.plugin import AppImage
from tests.chart.support import ROLE_ARN, render

minikube = importlib.import_module("backends.minikube")


def backend_values(**config: str) -> dict[str, Any]:
    spec = parse({"backend": "minikube", "minikube": config})
    values: dict[str, Any] = minikube.chart_values(spec, "users-api-users-1a2b", "users-api-avatars-3c4d")
    return values


def test_the_minikube_backends_values_render_valid_objects_named_after_the_release(chart: helm.Chart) -> None:
    release = render(chart, backend_values(nodePort="30123", maxReplicas="4"), "minikube-backend")

    for manifest in release.manifests:
        kubernetes_validate.validate(manifest, "1.33", strict=True)
    service = release.one("Service")
    hpa = release.one("HorizontalPodAutoscaler")
    assert (service["spec"]["type"], service["spec"]["ports"][0]["nodePort"]) == ("NodePort", 30123)
    assert hpa["metadata"]["name"] == "users-api", "the load tests' HPA watcher looks it up by the release's name"
    assert hpa["spec"]["maxReplicas"] == 4
    assert release.of_kind("Ingress") == []
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(release.one("Secret")["data"])


def test_the_eks_backends_values_render_an_alb_ingress_irsa_and_the_hpa(chart: helm.Chart) -> None:
    eks = importlib.import_module("backends.eks")
    spec = parse({"backend": "eks", "eks": {"maxReplicas": "12"}})
    image = AppImage(
        repository="123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api-app",
        tag="02d1b967959830fe",
        digest="sha256:" + "ab" * 32,
    )
    values = eks.chart_values(spec, image, "eu-west-1", "users-1a2b", "avatars-3c4d", ROLE_ARN)
    release = render(chart, values, "users-api")

    for manifest in release.manifests:
        kubernetes_validate.validate(manifest, "1.33", strict=True)
    ingress = release.one("Ingress")
    container = release.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert release.one("Service")["spec"]["type"] == "ClusterIP"
    assert release.one("ServiceAccount")["metadata"]["name"] == "users-api", "the IRSA role trusts this exact name"
    assert release.one("ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN
    assert container["image"] == f"{image.repository}@sha256:{'ab' * 32}"
    assert release.one("HorizontalPodAutoscaler")["spec"]["maxReplicas"] == 12
    assert release.of_kind("Secret") == [], "IRSA: no static credentials anywhere"


def test_on_eks_a_dependency_outage_leaves_the_targets_registered_for_the_alb_to_fail_open(chart: helm.Chart) -> None:
    """Kubernetes readiness on /readyz would take every pod out of the target group during a short DynamoDB or S3
    outage (the controller skips not-ready pods), leaving the ALB nothing to fail open to: on eks readiness asks
    /livez, while the ALB's health check, which also drives the pod readiness gate, stays on /readyz."""
    eks = importlib.import_module("backends.eks")
    values = eks.chart_values(
        parse({"backend": "eks"}),
        AppImage(repository="r", tag="t", digest="sha256:" + "ab" * 32),
        "eu-west-1",
        "users",
        "avatars",
        ROLE_ARN,
    )
    release = render(chart, values, "users-api")

    container = release.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/livez"
    assert release.one("Ingress")["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"] == "/readyz"
    default = render(chart, {}, "users-api").one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert default["readinessProbe"]["httpGet"]["path"] == "/readyz", "without an ALB, readiness checks AWS"
