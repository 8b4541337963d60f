"""An existing stack's flat keys of an earlier release, and a backend's key set without --path: refused with every
fix's command in one error, its values quoted for the shell, and a secret's value never echoed (the error reaches the
console and CI logs)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pulumi
import pytest

from backends.config import ConfigError, stack_config
from tests.infra.conftest import RecordingMocks

PROJECT = "flask-platform"
SHELL = shutil.which("sh") or "sh"


@pytest.fixture(autouse=True)
def project(mocks: RecordingMocks) -> Iterator[None]:
    """The mock engine names the project (pulumi.Config's namespace); no secret keys are left to the next test."""
    yield
    pulumi.runtime.set_all_config({}, [])


def set_config(values: dict[str, str], secret: tuple[str, ...] = ()) -> None:
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{key}": value for key, value in values.items()},
        [f"{PROJECT}:{key}" for key in secret],
    )


def refused(values: dict[str, str], secret: tuple[str, ...] = ()) -> list[str]:
    set_config(values, secret)
    with pytest.raises(ConfigError) as failure:
        stack_config()
    return str(failure.value).splitlines()


def test_every_old_key_of_the_stack_is_named_in_one_error() -> None:
    lines = refused({"backend": "lambda", "lambdaMemoryMb": "1024", "lambdaTimeoutSeconds": "20", "logLevel": "INFO"})

    assert lines == [
        "lambdaMemoryMb is no longer read: the lambda backend's settings are in its own config object. "
        "`pulumi config set --path lambda.memoryMb 1024` then `pulumi config rm lambdaMemoryMb`",
        "lambdaTimeoutSeconds is no longer read: the lambda backend's settings are in its own config object. "
        "`pulumi config set --path lambda.timeoutSeconds 20` then `pulumi config rm lambdaTimeoutSeconds`",
    ]


@pytest.mark.parametrize(
    "value", ['["t3.large","t3.xlarge"]', "t3.large t3.xlarge", "10.0.0.0/8,192.168.0.0/16", "it's"]
)
def test_the_value_in_the_command_survives_the_shell(value: str) -> None:
    (line,) = refused({"backend": "eks", "eksInstanceTypes": value})
    command = line.split("`")[1]

    # What a POSIX shell hands pulumi: the command's words, the value one word, unchanged.
    words = subprocess.run(
        [SHELL, "-c", f'printf "%s\\n" {command.removeprefix("pulumi ")}'], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert words == ["config", "set", "--path", "eks.instanceTypes", value]
    assert shlex.split(command)[-1] == value


def test_a_secret_old_keys_value_is_never_echoed() -> None:
    secret = json.dumps("s3cr3t-value-do-not-print")
    message = "\n".join(refused({"backend": "eks", "eksClusterName": secret}, secret=("eksClusterName",)))

    assert "s3cr3t" not in message
    assert "`pulumi config set --path eks.clusterName --secret <value>` then `pulumi config rm eksClusterName`" in (
        message
    )


def test_a_stack_without_old_keys_reads_its_backends_object() -> None:
    set_config({"backend": "lambda", "lambda": json.dumps({"memoryMb": 1024})})

    assert stack_config() == {"backend": "lambda", "backend_config": {"memoryMb": 1024}}


def test_a_key_set_without_path_is_refused_with_the_path_command() -> None:
    lines = refused({"backend": "fargate", "fargate.maxTasks": "20", "fargate": json.dumps({"minTasks": 3})})

    assert lines == [
        "fargate.maxTasks is a key of its own, which nothing reads (it was set without --path): "
        "`pulumi config rm fargate.maxTasks` then `pulumi config set --path fargate.maxTasks 20`"
    ]


def test_another_backends_dotted_key_does_not_stop_this_one() -> None:
    set_config({"backend": "lambda", "fargate.maxTasks": "20"})

    assert stack_config()["backend"] == "lambda"
