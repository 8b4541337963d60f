"""FlaskPlatform as a component package: its inferred schema, its resource graph, its errors, the YAML example."""

from __future__ import annotations

import importlib
import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

import backends
from backends.component import (
    TYPE_TOKEN,
    BackendName,
    EksArgs,
    FlaskPlatform,
    FlaskPlatformArgs,
    LambdaArgs,
    MinikubeArgs,
)
from backends.config import ConfigError
from backends.package_schema import SCHEMA_FILE, package_schema, rendered
from tests.infra.conftest import RecordingMocks

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "yaml" / "Pulumi.yaml"
lambda_backend = importlib.import_module("backends.lambda")
package = importlib.import_module("backends.lambda.package")


@pytest.fixture(autouse=True)
def no_real_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(spec: Any) -> Any:
        return package.Package(Path("users-api.zip"), 1, "aGFzaA==", True)

    monkeypatch.setattr(lambda_backend, "build_package", fake)


def test_the_committed_schema_is_what_the_analyzer_infers_today() -> None:
    assert SCHEMA_FILE.read_text() == rendered(), "run `make schema` and commit provider/schema.json"


def described(properties: dict[str, Any]) -> list[str]:
    return [name for name, spec in properties.items() if not spec.get("description")]


def test_every_input_output_and_type_property_is_described() -> None:
    schema = package_schema()
    component = schema["resources"][TYPE_TOKEN]

    assert component["description"]
    assert described(component["inputProperties"]) == []
    assert described(component["properties"]) == []
    for name, typ in schema["types"].items():
        assert typ.get("description"), name
        assert described(typ.get("properties", {})) == [], name


def test_the_backend_input_is_constrained_to_the_registrys_names() -> None:
    schema = package_schema()
    component = schema["resources"][TYPE_TOKEN]
    backend_type = schema["types"][component["inputProperties"]["backend"]["$ref"].removeprefix("#/types/")]

    assert "backend" in component["requiredInputs"]
    assert {member["value"] for member in backend_type["enum"]} == set(backends.BUILTIN)


def test_the_outputs_are_the_contracts() -> None:
    outputs = set(package_schema()["resources"][TYPE_TOKEN]["properties"])

    assert outputs >= {"url", "backend", "tableName", "bucketName", "scaling"}


def _asset_path(value: Any) -> str:
    return str(getattr(value, "path", type(value).__name__))


def graph(mocks: RecordingMocks) -> list[tuple[str, str, str]]:
    return sorted(
        (resource.typ, resource.name, json.dumps(resource.inputs, sort_keys=True, default=_asset_path))
        for resource in mocks.resources
    )


@pytest.mark.parametrize(
    ("config", "args"),
    [
        pytest.param(
            {"backend": "lambda", "lambdaMemoryMb": "1024"},
            FlaskPlatformArgs(backend=BackendName.LAMBDA, lambda_function=LambdaArgs(memory_mb=1024)),
            id="lambda",
        ),
        pytest.param(
            {"backend": "minikube", "nodePort": "30111", "namespace": "api"},
            FlaskPlatformArgs(backend=BackendName.MINIKUBE, minikube=MinikubeArgs(node_port=30111, namespace="api")),
            id="minikube",
        ),
        pytest.param(
            {"backend": "eks", "eksNodeMax": "9", "eksPublicAccessCidrs": "203.0.113.0/24", "namespace": "api"},
            FlaskPlatformArgs(
                backend=BackendName.EKS,
                eks=EksArgs(node_max=9, public_access_cidrs=["203.0.113.0/24"], namespace="api"),
                minikube=MinikubeArgs(namespace="ignored-on-eks"),  # the chosen backend's own namespace wins
            ),
            id="eks",
        ),
    ],
)
def test_the_component_builds_the_same_graph_as_the_root_program(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], args: FlaskPlatformArgs
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    pulumi.runtime.set_all_config({f"flask-platform:{key}": value for key, value in config.items()})

    @pulumi.runtime.test
    def root_program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    root_program()
    from_program = graph(mocks)
    mocks.resources.clear()

    @pulumi.runtime.test
    def component() -> None:
        FlaskPlatform("users-api", args)

    component()

    assert graph(mocks) == from_program
    assert TYPE_TOKEN in {resource.typ for resource in mocks.resources}
    assert len(from_program) > 5


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        pytest.param({"backend": "nomad"}, {"backend": "nomad"}, "unknown backend 'nomad'", id="unknown-backend"),
        pytest.param(
            {"backend": "lambda", "max_avatar_bytes": 5_000_000},
            {"backend": "lambda", "maxAvatarBytes": "5000000"},
            "above what the lambda backend can receive",
            id="lambda-avatar-ceiling",
        ),
        pytest.param(
            {"backend": "eks", "scaling": {"min_replicas": 5, "max_replicas": 2}},
            {"backend": "eks", "minReplicas": "5", "maxReplicas": "2"},
            "minReplicas=5 is above maxReplicas=2",
            id="min-above-max",
        ),
    ],
)
def test_invalid_args_fail_with_the_config_paths_message(
    mocks: RecordingMocks, args: dict[str, Any], config: dict[str, str], message: str
) -> None:
    with pytest.raises((ConfigError, backends.UnknownBackend)) as from_args:
        FlaskPlatform("users-api", args)  # type: ignore[arg-type]
    pulumi.runtime.set_all_config({f"flask-platform:{key}": value for key, value in config.items()})

    @pulumi.runtime.test
    def root_program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    with pytest.raises((ConfigError, backends.UnknownBackend)) as from_config:
        root_program()

    assert message in str(from_args.value)
    assert str(from_args.value) == str(from_config.value)
    assert mocks.resources == []


def test_the_yaml_example_names_only_inputs_the_schema_has() -> None:
    schema = package_schema()
    component = schema["resources"][TYPE_TOKEN]
    program = yaml.safe_load(EXAMPLE.read_text())
    (resource,) = program["resources"].values()

    assert resource["type"] == TYPE_TOKEN
    assert set(resource["properties"]) <= set(component["inputProperties"])
    for name, value in resource["properties"].items():
        reference = component["inputProperties"][name].get("$ref", "").removeprefix("#/types/")
        if isinstance(value, dict):
            assert set(value) <= set(schema["types"][reference]["properties"]), name
        elif reference:
            assert value in {member["value"] for member in schema["types"][reference]["enum"]}
    for expression in program["outputs"].values():
        assert expression.removeprefix("${platform.").removesuffix("}") in component["properties"]


def test_the_hosted_provider_serves_the_committed_schema() -> None:
    from pulumi.provider.experimental.component import ComponentProvider

    from backends.package_schema import PACKAGE, VERSION

    hosted = ComponentProvider([FlaskPlatform], PACKAGE, None, VERSION)

    assert json.loads(hosted.schema or "{}") == json.loads(SCHEMA_FILE.read_text())


def test_the_plugin_folder_hosts_the_component_with_the_python_runtime() -> None:
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    entry = (ROOT / "provider" / "__main__.py").read_text()

    assert plugin == {"runtime": "python"}
    assert "component_provider_host([FlaskPlatform]" in entry
