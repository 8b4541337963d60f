"""The Pulumi program itself (__main__.py) under mocks: config in, a backend chosen, outputs exported."""

from __future__ import annotations

import importlib
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from backends import UnknownBackend
from backends.config import ConfigError
from tests.infra.conftest import RecordingMocks, stack_config

PROGRAM = Path(__file__).resolve().parents[2] / "__main__.py"
lambda_backend = importlib.import_module("backends.lambda")
package = importlib.import_module("backends.lambda.package")


def run_program(config: dict[str, Any]) -> None:
    stack_config(config)

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    program()


@pytest.fixture(autouse=True)
def no_real_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(spec: Any) -> Any:
        return package.Package(Path("users-api.zip"), 1, "aGFzaA==", True)

    monkeypatch.setattr(lambda_backend, "build_package", fake)


def test_the_chosen_backend_is_deployed(mocks: RecordingMocks) -> None:
    run_program({"backend": "lambda"})

    assert {resource.typ for resource in mocks.resources} >= {
        "flask-platform:backends:Lambda",
        "flask-platform:storage:Storage",
        "aws:lambda/function:Function",
    }


@pytest.mark.parametrize(
    ("config", "error"),
    [
        pytest.param({}, UnknownBackend, id="no-backend"),
        pytest.param({"backend": "nomad"}, UnknownBackend, id="unknown-backend"),
        pytest.param({"backend": "lambda", "lambda": {"timeoutSeconds": "60"}}, ConfigError, id="bad-value"),
        pytest.param({"backend": "lambda", "lambda": "[512]"}, ConfigError, id="not-an-object"),
    ],
)
def test_bad_config_stops_the_program_before_any_resource(
    mocks: RecordingMocks, config: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        run_program(config)

    assert mocks.resources == []


@pytest.mark.parametrize(
    ("backend", "old", "value", "command"),
    [
        ("lambda", "lambdaMemoryMb", "1024", "`pulumi config set --path lambda.memoryMb 1024`"),
        ("eks", "eksNodeMax", "6", "`pulumi config set --path eks.nodeMax 6`"),
        ("eks", "minReplicas", "3", "`pulumi config set --path eks.minReplicas 3`"),
        ("minikube", "nodePort", "30081", "`pulumi config set --path minikube.nodePort 30081`"),
    ],
)
def test_an_existing_stacks_old_key_is_refused_with_the_new_keys_command(
    mocks: RecordingMocks, backend: str, old: str, value: str, command: str
) -> None:
    with pytest.raises(ConfigError) as failure:
        run_program({"backend": backend, old: value})

    assert str(failure.value).startswith(f"{old} is no longer read")
    assert command in str(failure.value)
    assert f"`pulumi config rm {old}`" in str(failure.value)
    assert mocks.resources == []


def test_another_backends_old_key_does_not_stop_this_one(mocks: RecordingMocks) -> None:
    run_program({"backend": "lambda", "eksNodeMax": "lots"})

    assert "aws:lambda/function:Function" in {resource.typ for resource in mocks.resources}


def test_the_program_defines_no_resource_itself() -> None:
    source = PROGRAM.read_text()

    assert "pulumi_aws" not in source
    assert "ComponentResource" not in source
