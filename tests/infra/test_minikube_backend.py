"""The minikube backend under Pulumi mocks: the emulator provider, storage through it, the chart's values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from backends.config import ConfigError, parse
from backends.minikube import CHART, Backend, local_image_reference
from backends.plugin import context_digest
from backends.settings import app_setting_keys
from tests.infra.conftest import RecordingMocks

STORAGE_TYPES = {
    "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketPolicy:BucketPolicy",
}


def deploy(mocks: RecordingMocks, **config: str) -> dict[str, Any]:
    """Build the backend under mocks from app settings (logLevel) and its own (nodePort); return its outputs."""
    app = {key: value for key, value in config.items() if key in app_setting_keys()}
    own = {key: value for key, value in config.items() if key not in app}
    spec = parse({"backend": "minikube", **app, "minikube": own}, stack="local")
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        backend = Backend("users-api", spec)
        return pulumi.Output.all(**backend.deployment.outputs()).apply(resolved.update)

    run()
    return resolved


@pytest.fixture
def outputs(mocks: RecordingMocks) -> dict[str, Any]:
    return deploy(mocks, ip="192.168.49.2")


def test_the_aws_provider_points_at_the_emulator_with_only_what_it_needs(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    provider = mocks.one("pulumi:providers:aws").inputs
    endpoints = json.loads(provider["endpoints"])  # provider configuration arrives JSON-encoded

    assert endpoints == [{"dynamodb": "http://localhost:4566", "s3": "http://localhost:4566"}]
    assert json.loads(provider["s3UsePathStyle"]) is True
    for flag in (
        "skipCredentialsValidation",
        "skipMetadataApiCheck",
        "skipRequestingAccountId",
        "skipRegionValidation",
    ):
        assert json.loads(provider[flag]) is True


def test_the_storage_is_created_through_the_emulator_provider(mocks: RecordingMocks, outputs: dict[str, Any]) -> None:
    for resource in mocks.resources:
        if resource.typ in STORAGE_TYPES:
            assert resource.provider is not None
            assert "users-api-emulator" in resource.provider, resource.name


def test_the_chart_is_released_into_the_configured_context_with_node_port_secret_and_hpa(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    cluster = mocks.one("pulumi:providers:kubernetes").inputs
    release = mocks.one("kubernetes:helm.sh/v3:Release").inputs
    values = release["values"]

    assert cluster["context"] == "minikube"
    assert release["chart"] == "charts/flask-app", "relative to the project: no machine's path in the state"
    assert release["chart"] == CHART.as_posix()
    assert release["namespace"] == "users-api"
    assert values["service"] == {"type": "NodePort", "port": 80, "nodePort": 30080}
    assert values["ingress"] == {"enabled": False}
    assert values["serviceAccount"]["roleArn"] == ""
    assert values["image"] == {
        "repository": "flask-platform/users-api",
        "tag": context_digest(),
        "digest": "",
        "pullPolicy": "IfNotPresent",
    }
    assert values["env"]["AWS_ENDPOINT_URL"] == "http://host.minikube.internal:4566"
    assert (values["env"]["AWS_ACCESS_KEY_ID"], values["env"]["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert values["env"]["DYNAMODB_TABLE"] == outputs["tableName"]
    assert values["hpa"] == {"enabled": True, "minReplicas": 2, "maxReplicas": 10, "cpuTargetPercent": 70}
    assert values["reconciler"] == {"enabled": True}  # the emulator runs no lifecycle rule: the CronJob resolves


def test_the_outputs_fill_the_contract(outputs: dict[str, Any]) -> None:
    assert outputs["url"] == "http://192.168.49.2:30080"
    assert outputs["backend"] == "minikube"
    assert outputs["scaling"]["kind"] == "kubernetes"
    assert outputs["scaling"]["metricsResolutionSeconds"] == 60
    assert (outputs["namespace"], outputs["nodePort"]) == ("users-api", 30080)


def test_without_the_minikube_ip_the_url_is_left_empty_for_make_address(mocks: RecordingMocks) -> None:
    assert deploy(mocks)["url"] == ""


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("nodePort", "8080", "greater than or equal to 30000"),
        ("emulatorUrl", "localhost:4566", "is not an http(s) URL of a host"),
        ("namespace", "Users_API", "is not a Kubernetes name"),
        ("image", "https://registry/app", "is not an image reference"),
    ],
)
def test_bad_minikube_settings_are_named(key: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "minikube", "minikube": {key: value}})

    assert str(failure.value).startswith(f"minikube.{key}=")
    assert says in str(failure.value)
    assert f"`pulumi config set --path minikube.{key} " in str(failure.value)


def test_the_apps_own_urls_are_built_on_the_stacks_url_never_a_clients_host(
    mocks: RecordingMocks, outputs: dict[str, Any]
) -> None:
    values = mocks.one("kubernetes:helm.sh/v3:Release").inputs["values"]

    assert values["env"]["PUBLIC_URL"] == outputs["url"] == "http://192.168.49.2:30080"


def test_without_the_minikube_ip_the_apps_own_urls_are_relative(mocks: RecordingMocks) -> None:
    deploy(mocks)

    assert mocks.one("kubernetes:helm.sh/v3:Release").inputs["values"]["env"]["PUBLIC_URL"] == ""


def test_avatar_urls_are_presigned_for_the_emulator_as_this_machine_reaches_it(mocks: RecordingMocks) -> None:
    deploy(mocks, emulatorUrl="http://127.0.0.1:4567", emulatorUrlFromPods="http://host.minikube.internal:4567")
    env = mocks.one("kubernetes:helm.sh/v3:Release").inputs["values"]["env"]

    assert env["AWS_ENDPOINT_URL"] == "http://host.minikube.internal:4567"  # the pods' calls
    assert env["S3_PRESIGN_ENDPOINT_URL"] == "http://127.0.0.1:4567"  # the redirects the user's curl follows


def test_the_default_image_is_tagged_by_the_apps_content_so_a_changed_app_rolls_out(
    mocks: RecordingMocks, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("print('v1')\n")
    before = context_digest(tmp_path)
    (tmp_path / "app.py").write_text("print('v2')\n")

    assert context_digest(tmp_path) != before
    assert local_image_reference() == f"flask-platform/users-api:{context_digest()}"
    assert context_digest() != "dev"


@pytest.mark.parametrize(
    ("reference", "image"),
    [
        pytest.param("users-api", ("users-api", "latest", ""), id="a bare name is :latest, as docker reads it"),
        pytest.param("localhost:5000/users-api", ("localhost:5000/users-api", "latest", ""), id="registry:port/name"),
        pytest.param(
            "localhost:5000/users-api:v2", ("localhost:5000/users-api", "v2", ""), id="registry:port/name:tag"
        ),
        pytest.param("users-api@sha256:" + "a" * 64, ("users-api", "", "sha256:" + "a" * 64), id="name@digest"),
    ],
)
def test_an_image_setting_is_read_by_the_plugin_apis_parser(
    mocks: RecordingMocks, reference: str, image: tuple[str, str, str]
) -> None:
    deploy(mocks, image=reference)
    values = mocks.one("kubernetes:helm.sh/v3:Release").inputs["values"]["image"]

    assert (values["repository"], values["tag"], values["digest"]) == image
