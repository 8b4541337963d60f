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
from backends.component import TYPE_TOKEN, FlaskPlatform, FlaskPlatformArgs
from backends.config import ConfigError
from backends.package_schema import SCHEMA_FILE, package_schema, rendered, type_token
from tests.infra.conftest import RecordingMocks, stack_config

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


def test_each_built_in_backends_settings_are_a_documented_type_of_backend_config() -> None:
    schema = package_schema()
    component = schema["resources"][TYPE_TOKEN]

    assert "backend" in component["requiredInputs"]
    assert component["inputProperties"]["backendConfig"]["type"] == "object"
    for name in backends.builtin_backends():
        documented = schema["types"][type_token(name)]
        settings = backends.load_plugin(name).settings
        shown = {field.alias for field in settings.model_fields.values() if not field.exclude}
        assert set(documented["properties"]) == shown, name
        assert type_token(name) in component["inputProperties"]["backendConfig"]["description"]


def test_a_documented_default_is_the_settings_class_own() -> None:
    documented = package_schema()["types"][type_token("lambda")]["properties"]["memoryMb"]["description"]
    default = backends.load_plugin("lambda").settings.model_fields["memory_mb"].default

    assert f"default {default}" in documented


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
            {"backend": "lambda", "lambda": {"memoryMb": 1024}},
            FlaskPlatformArgs(backend="lambda", backend_config={"memoryMb": 1024}),
            id="lambda",
        ),
        pytest.param(
            {"backend": "minikube", "minikube": {"nodePort": 30111, "namespace": "api"}, "eks": {"nodeMax": "x"}},
            FlaskPlatformArgs(backend="minikube", backend_config={"nodePort": 30111, "namespace": "api"}),
            id="minikube",  # another backend's (even wrong) settings are not read
        ),
        pytest.param(
            {"backend": "eks", "eks": {"nodeMax": 9, "publicAccessCidrs": ["203.0.113.0/24"], "namespace": "api"}},
            FlaskPlatformArgs(
                backend="eks",
                backend_config={"nodeMax": 9, "publicAccessCidrs": ["203.0.113.0/24"], "namespace": "api"},
            ),
            id="eks",
        ),
    ],
)
def test_the_component_builds_the_same_graph_as_the_root_program(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], args: FlaskPlatformArgs
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    stack_config(config)

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
    ("args", "config", "args_message", "config_message"),
    [
        pytest.param(
            {"backend": "nomad"},
            {"backend": "nomad"},
            "unknown backend 'nomad'",
            "unknown backend 'nomad'",
            id="unknown-backend",
        ),
        pytest.param(
            {"backend": "lambda", "max_avatar_bytes": 5_000_000},
            {"backend": "lambda", "maxAvatarBytes": "5000000"},
            "max_avatar_bytes: 5000000 is above what the lambda backend can receive",
            "`pulumi config set maxAvatarBytes 4400000`",
            id="lambda-avatar-ceiling",
        ),
        pytest.param(
            {"backend": "eks", "backend_config": {"minReplicas": 5, "maxReplicas": 2}},
            {"backend": "eks", "eks": {"minReplicas": 5, "maxReplicas": 2}},
            "minReplicas=5 is above maxReplicas=2",
            "minReplicas=5 is above maxReplicas=2",
            id="min-above-max",
        ),
        pytest.param(
            {"backend": "lambda", "backend_config": {"memoryMb": 64}},
            {"backend": "lambda", "lambda": {"memoryMb": "64"}},
            'backend_config["memoryMb"]=64: Input should be greater than or equal to 128: '
            'pass backend_config["memoryMb"]=512',
            "lambda.memoryMb='64': Input should be greater than or equal to 128: "
            "`pulumi config set --path lambda.memoryMb 512`",
            id="backend-setting",
        ),
    ],
)
def test_invalid_args_fail_with_a_fix_phrased_for_where_the_value_came_from(
    mocks: RecordingMocks, args: dict[str, Any], config: dict[str, Any], args_message: str, config_message: str
) -> None:
    """The same check for both paths; the component's user is never told to run `pulumi config set`."""
    with pytest.raises((ConfigError, backends.UnknownBackend)) as from_args:
        FlaskPlatform("users-api", args)  # type: ignore[arg-type]
    stack_config(config)

    @pulumi.runtime.test
    def root_program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    with pytest.raises((ConfigError, backends.UnknownBackend)) as from_config:
        root_program()

    assert args_message in str(from_args.value)
    assert config_message in str(from_config.value)
    assert "pulumi config" not in str(from_args.value)
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
        if name == "backendConfig":
            backend_type = schema["types"][type_token(resource["properties"]["backend"])]
            assert set(value) <= set(backend_type["properties"]), name
        elif isinstance(value, dict):
            assert set(value) <= set(schema["types"][reference]["properties"]), name
    for expression in program["outputs"].values():
        assert expression.removeprefix("${platform.").removesuffix("}") in component["properties"]


def test_the_hosted_provider_serves_the_committed_schema() -> None:
    from backends.package_schema import hosted_provider

    hosted = hosted_provider()

    assert json.loads(hosted.schema or "{}") == json.loads(SCHEMA_FILE.read_text())


def test_the_plugin_folder_hosts_the_component_with_the_python_runtime() -> None:
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    entry = (ROOT / "provider" / "__main__.py").read_text()

    assert plugin == {"runtime": "python"}
    assert "main(hosted_provider(), sys.argv[1:])" in entry
