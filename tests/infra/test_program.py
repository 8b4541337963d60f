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
from tests.infra.conftest import RecordingMocks

PROGRAM = Path(__file__).resolve().parents[2] / "__main__.py"
lambda_backend = importlib.import_module("backends.lambda")
package = importlib.import_module("backends.lambda.package")


def run_program(config: dict[str, str]) -> None:
    pulumi.runtime.set_all_config({f"flask-platform:{key}": value for key, value in config.items()})

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
        pytest.param({"backend": "lambda", "lambdaTimeoutSeconds": "60"}, ConfigError, id="bad-value"),
    ],
)
def test_bad_config_stops_the_program_before_any_resource(
    mocks: RecordingMocks, config: dict[str, str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        run_program(config)

    assert mocks.resources == []


def test_the_program_defines_no_resource_itself() -> None:
    source = PROGRAM.read_text()

    assert "pulumi_aws" not in source
    assert "ComponentResource" not in source
