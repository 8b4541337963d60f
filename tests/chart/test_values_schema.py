"""A wrong value fails at render time, naming itself: values.schema.json first, the templates' checks after it."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import CHART_DIR, VALUE_SETS, render


def _objects(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every schema object with `properties` in the schema, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "properties" in node and node.get("type") == "object":
            found.append((path, node))
        for key, child in node.items():
            found.extend(_objects(child, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.extend(_objects(child, f"{path}/{index}"))
    return found


SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())


@pytest.mark.parametrize(("where", "node"), _objects(SCHEMA), ids=[path for path, _ in _objects(SCHEMA)])
def test_every_object_in_the_schema_rejects_keys_it_does_not_define(where: str, node: dict[str, Any]) -> None:
    assert node.get("additionalProperties") is False, where


def test_the_schema_documents_every_default_value(chart: helm.Chart) -> None:
    defined = set(SCHEMA["properties"])

    assert set(chart.values) <= defined
    assert set(SCHEMA["required"]) <= set(chart.values)


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_value_set_passes_the_schema(chart: helm.Chart, value_set: str) -> None:
    chart.validate_schema(chart.merge_values(VALUE_SETS[value_set]))


@pytest.mark.parametrize(
    ("values", "says"),
    [
        pytest.param({"replicas": 3}, "additional properties 'replicas' not allowed", id="unknown-top-level-key"),
        pytest.param({"service": {"type": "Foo"}}, "/service/type': value must be one of", id="service-type-Foo"),
        pytest.param({"hpa": {"cpuTargetPercent": 150}}, "/hpa/cpuTargetPercent': maximum", id="cpu-target-150"),
        pytest.param(
            {"image": {"pullPolicy": "Sometimes"}},
            "/image/pullPolicy': value must be one of",
            id="pull-policy-Sometimes",
        ),
        pytest.param({"replicaCount": -1}, "/replicaCount': minimum", id="replica-count-negative"),
        pytest.param({"env": {"AWS_REGON": "us-east-1"}}, "additional properties 'AWS_REGON'", id="misspelt-env-key"),
        pytest.param({"hpa": {"enabled": "yes"}}, "/hpa/enabled': got string, want boolean", id="string-for-boolean"),
        pytest.param({"image": {"digest": "sha256:abc"}}, "/image/digest'", id="short-digest"),
        pytest.param(
            {"service": {"nodePort": 30080}}, "/service/nodePort': got number, want null", id="clusterip-port"
        ),
        pytest.param(
            {"service": {"type": "NodePort", "nodePort": 80}}, "/service/nodePort': minimum", id="low-nodeport"
        ),
        pytest.param({"env": {"LOG_LEVEL": "LOUD"}}, "/env/LOG_LEVEL'", id="log-level-LOUD"),
        pytest.param({"env": {"AWS_ENDPOINT_URL": "localstack:4566"}}, "/env/AWS_ENDPOINT_URL'", id="url-no-scheme"),
        pytest.param(
            {"env": {"AWS_ACCESS_KEY_ID": "test"}}, "/env/AWS_SECRET_ACCESS_KEY': minLength", id="half-credentials"
        ),
        pytest.param(
            {"existingSecret": "aws", "env": {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}},
            "/env/AWS_ACCESS_KEY_ID': maxLength",
            id="credentials-and-existing-secret",
        ),
        pytest.param(
            {"serviceAccount": {"enabled": False, "roleArn": "arn:aws:iam::123456789012:role/x"}},
            "/serviceAccount/enabled': value must be true",
            id="role-without-service-account",
        ),
        pytest.param({"serviceAccount": {"roleArn": "users-role"}}, "/serviceAccount/roleArn'", id="role-not-an-arn"),
        pytest.param({"resources": {"limits": {"memory": None}}}, "missing property 'memory'", id="limit-set-to-null"),
        pytest.param({"resources": {"requests": {"cpu": "lots"}}}, "/resources/requests/cpu'", id="cpu-not-quantity"),
        pytest.param({"env": {"MAX_AVATAR_BYTES": 99999999}}, "/env/MAX_AVATAR_BYTES'", id="avatar-bytes-too-big"),
        pytest.param({"env": {"AVATAR_URL_TTL_SECONDS": 0}}, "/env/AVATAR_URL_TTL_SECONDS'", id="url-ttl-zero"),
        pytest.param({"env": {"AVATAR_URL_TTL_SECONDS": "0"}}, "/env/AVATAR_URL_TTL_SECONDS'", id="url-ttl-zero-str"),
        pytest.param({"env": {"AVATAR_URL_TTL_SECONDS": 604801}}, "/env/AVATAR_URL_TTL_SECONDS'", id="url-ttl-8-days"),
        pytest.param({"env": {"AVATAR_URL_TTL_SECONDS": "1h"}}, "/env/AVATAR_URL_TTL_SECONDS'", id="url-ttl-not-int"),
    ],
)
def test_the_schema_rejects_a_bad_value_by_name(chart: helm.Chart, values: dict[str, Any], says: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=re.escape(says)):
        render(chart, values)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        pytest.param(
            {"hpa": {"minReplicas": 5, "maxReplicas": 3}},
            "hpa.minReplicas (5) is greater than hpa.maxReplicas (3)",
            id="min-above-max",
        ),
        pytest.param(
            {"pdb": {"minAvailable": 2}},
            "pdb.minAvailable (2) must be below the replica floor (2",
            id="pdb-blocks-drains",
        ),
        pytest.param(
            {"preStopSleepSeconds": 40},
            "terminationGracePeriodSeconds (60) must exceed preStopSleepSeconds + gunicorn's 25 s graceful drain (65)",
            id="grace-shorter-than-drain",
        ),
        pytest.param(
            {"env": {"MAX_AVATAR_BYTES": "99999999"}}, "env.MAX_AVATAR_BYTES (99999999) is above", id="avatar-string"
        ),
        pytest.param(
            {"env": {"AVATAR_URL_TTL_SECONDS": "604801"}},
            "env.AVATAR_URL_TTL_SECONDS (604801) is above 604800",
            id="url-ttl-string-past-7-days",
        ),
    ],
)
def test_the_templates_reject_what_the_schema_cannot_express(
    chart: helm.Chart, values: dict[str, Any], says: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(says)):
        render(chart, values)
