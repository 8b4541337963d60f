"""The chart is well formed: Helm lints it clean and every object it renders is valid Kubernetes."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from tests.chart.support import CHART_DIR, NAMESPACE, OLD_README_SET_LINES, VALUE_SETS, Release

# The Kubernetes minor the platform targets, and the newest one kubernetes-validate bundles.
TARGET_KUBERNETES = "1.33"
KUBERNETES_VERSIONS = sorted({TARGET_KUBERNETES, kubernetes_validate.latest_version()})
ALWAYS = {"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Pod", "Service"}
EXPECTED_KINDS = {
    "defaults": ALWAYS | {"ServiceAccount"},
    "eks": ALWAYS | {"ServiceAccount", "Ingress", "NetworkPolicy", "CronJob"},
    "minikube": ALWAYS | {"ServiceAccount", "Secret", "CronJob"},  # the reconciler
    "old-readme-set-lines": ALWAYS | {"Secret"},  # serviceAccount.enabled=false: the namespace's default account
}


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_helm_lint_finds_nothing_above_info(value_set: str) -> None:
    report = helm.lint(
        CHART_DIR, VALUE_SETS[value_set], strict=True, namespace=NAMESPACE, kube_version=f"v{TARGET_KUBERNETES}.0"
    )

    assert report["errors"] == []
    # Severity 1 is INFO ("icon is recommended"); 2 is a warning, 3 an error.
    assert [message for message in report["messages"] if message["severity"] > 1] == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_against_the_kubernetes_schema(release: Release, version: str) -> None:
    assert release.manifests
    for manifest in release.manifests:
        # Strict: an unknown or misplaced field is an error, not silently dropped by the API server.
        kubernetes_validate.validate(manifest, version, strict=True)


def test_each_value_set_renders_the_objects_it_asks_for(release: Release) -> None:
    kinds = {manifest["kind"] for manifest in release.manifests}

    assert kinds == EXPECTED_KINDS[release.name]


def test_every_object_lives_in_the_release_namespace(release: Release) -> None:
    assert {manifest["metadata"]["namespace"] for manifest in release.manifests} == {NAMESPACE}


def test_the_old_readme_set_lines_make_the_old_readme_value_set() -> None:
    values: dict[str, Any] = {}
    for line in OLD_README_SET_LINES:
        _deep_merge(values, helm.parse_set_string(line))

    assert values == VALUE_SETS["old-readme-set-lines"]


def _deep_merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
