"""The chart rendered with exactly the values the minikube backend passes (not a copy of them)."""

from __future__ import annotations

import importlib
from typing import Any

import helm_python as helm
import kubernetes_validate

from backends.config import parse
from tests.chart.support import render

minikube = importlib.import_module("backends.minikube")


def backend_values(**config: str) -> dict[str, Any]:
    spec = parse({"backend": "minikube", **config})
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
