"""Settings: each declared once (its class's field), validated once, only the chosen backend's, every bad value named
with the command that fixes it."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import yaml
from pydantic import model_validator

from backends.base import REPO_ROOT
from backends.config import ConfigError, parse
from backends.eks.settings import EksSettings
from backends.settings import (
    ARGS_HINTS,
    CONFIG_HINTS,
    AppSettings,
    BackendSettings,
    Hints,
    SettingProblem,
    app_setting_keys,
    validated,
)

lambda_settings = importlib.import_module("backends.lambda.settings")


def test_defaults_need_only_the_backend() -> None:
    spec = parse({"backend": "lambda"}, stack="dev")

    assert spec.name == "users-api"
    assert spec.tags == {
        "project": "flask-platform",
        "app": "users-api",
        "stack": "dev",
        "backend": "lambda",
        "managed-by": "pulumi",
    }
    assert spec.settings == lambda_settings.LambdaSettings()
    assert spec.settings_as(lambda_settings.LambdaSettings).reserved is None
    assert spec.deletion_protection is True


def test_the_app_settings_the_user_did_not_set_stay_the_apps_own() -> None:
    """Defaults have one owner: the platform passes MAX_AVATAR_BYTES and LOG_LEVEL only when they are set."""
    unset = parse({"backend": "lambda"})
    given = parse({"backend": "lambda", "maxAvatarBytes": "1048576", "logLevel": "debug"})

    assert (unset.max_avatar_bytes, unset.log_level, unset.app_environment()) == (None, None, {})
    assert given.app_environment() == {"LOG_LEVEL": "DEBUG", "MAX_AVATAR_BYTES": "1048576"}


def test_values_are_read_and_converted() -> None:
    spec = parse(
        {
            "backend": "lambda",
            "lambda": {"memoryMb": "1024", "reservedConcurrency": "50", "architecture": "x86_64"},
            "logLevel": "debug",
            "logRetentionDays": "30",
            "deletionProtection": "false",
        }
    )
    settings = spec.settings_as(lambda_settings.LambdaSettings)

    assert (settings.memory_mb, settings.reserved) == (1024, 50)
    assert (settings.architecture, spec.log_level, spec.log_retention_days) == ("x86_64", "DEBUG", 30)
    assert spec.deletion_protection is False


@pytest.mark.parametrize(
    ("config", "key", "says", "fix"),
    [
        ({"lambda": {"memoryMb": "lots"}}, "lambda.memoryMb", "valid integer", "--path lambda.memoryMb 512"),
        ({"lambda": {"memoryMb": "64"}}, "lambda.memoryMb", "greater than or equal to 128", "lambda.memoryMb 512"),
        ({"lambda": {"timeoutSeconds": "30"}}, "lambda.timeoutSeconds", "less than or equal to 29", "Seconds 15"),
        ({"lambda": {"runtime": "python3.11"}}, "lambda.runtime", "'python3.12' or 'python3.13'", "python3.12"),
        ({"lambda": {"architecture": "arm"}}, "lambda.architecture", "'arm64' or 'x86_64'", "architecture arm64"),
        ({"lambda": {"reservedConcurrency": "-5"}}, "lambda.reservedConcurrency", "greater than or equal to -1", "-1"),
        ({"lambda": {"reservedConcurrency": "0"}}, "lambda.reservedConcurrency", "every request is throttled", "-1"),
        ({"logRetentionDays": "10"}, "logRetentionDays", "not a CloudWatch retention period", "logRetentionDays 14"),
        ({"logLevel": "LOUD"}, "logLevel", "not a log level", "logLevel INFO"),
        ({"deletionProtection": "maybe"}, "deletionProtection", "valid boolean", "deletionProtection true"),
        ({"appName": "Users_API"}, "appName", "must be 2-32 lower-case", "appName users-api"),
        ({"maxAvatarBytes": "100"}, "maxAvatarBytes", "greater than or equal to 1024", "maxAvatarBytes 2097152"),
    ],
)
def test_a_bad_value_names_its_key_and_the_fix(config: dict[str, Any], key: str, says: str, fix: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", **config})

    message = str(failure.value)
    assert message.startswith(f"{key}=")
    assert says in message
    assert "pulumi config set" in message
    assert fix in message


def test_an_unknown_key_of_the_backends_object_lists_its_settings() -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", "lambda": {"memoryMB": 1024}})

    assert str(failure.value).startswith("lambda.memoryMB is not a setting of the lambda backend")
    assert "memoryMb" in str(failure.value)


def test_a_bad_setting_of_another_backend_does_not_break_this_one() -> None:
    """Only the chosen backend's settings are read: a wrong eks value cannot stop a lambda stack."""
    spec = parse({"backend": "lambda", "eks": {"nodeMin": "lots", "vpcCidr": "nonsense"}})

    assert spec.backend == "lambda"
    with pytest.raises(ConfigError, match=r"^eks.nodeMin='lots'"):
        parse({"backend": "eks", "eks": {"nodeMin": "lots"}})


def test_min_replicas_above_max_is_refused() -> None:
    with pytest.raises(ConfigError, match="minReplicas=5 is above maxReplicas=3"):
        parse({"backend": "eks", "eks": {"minReplicas": "5", "maxReplicas": "3"}})


def test_the_lambda_backend_refuses_an_avatar_limit_past_the_payload_ceiling() -> None:
    ceiling = lambda_settings.MAX_AVATAR_BYTES
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", "maxAvatarBytes": str(ceiling + 1)})

    assert "6 MB" in str(failure.value)
    assert "base64" in str(failure.value)
    assert f"`pulumi config set maxAvatarBytes {ceiling}`" in str(failure.value)
    assert parse({"backend": "lambda", "maxAvatarBytes": str(ceiling)}).max_avatar_bytes == ceiling
    assert parse({"backend": "eks", "maxAvatarBytes": str(ceiling + 1)}).max_avatar_bytes == ceiling + 1


def test_pulumi_yaml_declares_the_app_settings_with_the_codes_defaults() -> None:
    """`pulumi up` applies Pulumi.yaml's defaults; mocks do not: they must be the settings class's own, and the keys
    whose default is the app's (maxAvatarBytes, logLevel) declare none, so the platform passes nothing."""
    declared = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]

    assert set(declared) == {"backend", *app_setting_keys()}
    assert all(entry.get("description") for entry in declared.values())
    for key, name in zip(app_setting_keys(), AppSettings.model_fields, strict=True):
        default = AppSettings.model_fields[name].default
        if default is None:
            assert "default" not in declared[key], key
        else:
            assert declared[key]["default"] == default, key


def test_zero_reserved_concurrency_is_refused_with_the_shared_pool_as_the_fix() -> None:
    """0 is a valid Lambda setting that throttles every invocation: no stack wants it by accident."""
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", "lambda": {"reservedConcurrency": "0"}})

    assert "`pulumi config set --path lambda.reservedConcurrency -1`" in str(failure.value)


@pytest.mark.parametrize("reserved", [1000, 5000])
def test_reserved_concurrency_above_a_default_accounts_ceiling_is_allowed_with_a_note(reserved: int) -> None:
    """The account quota can be raised past 1,000; only the quota decides, and AWS checks it at deploy time."""
    spec = parse({"backend": "lambda", "lambda": {"reservedConcurrency": str(reserved)}})
    settings = spec.settings_as(lambda_settings.LambdaSettings)
    note = lambda_settings.reserved_concurrency_note(settings.reserved)

    assert settings.reserved == reserved
    assert note is not None
    assert f"at least {reserved + 100}" in note
    assert "lambda.reservedConcurrency to 900" in note


@pytest.mark.parametrize("reserved", [None, 1, 900])
def test_reserved_concurrency_any_account_can_grant_has_no_note(reserved: int | None) -> None:
    assert lambda_settings.reserved_concurrency_note(reserved) is None


CERTIFICATE_IN = "arn:aws:acm:{region}:123456789012:certificate/0f5e9b7c-3a1d-4c2e-9d8f-1b2a3c4d5e6f"


def test_a_certificate_in_another_region_than_the_stack_is_refused() -> None:
    """An ALB only uses ACM certificates of its own region: the controller would fail to make the listener."""
    eks = {"certificateArn": CERTIFICATE_IN.format(region="eu-west-1"), "hostname": "api.example.com"}
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "eks", "eks": eks}, region="us-east-1")

    message = str(failure.value)
    assert message.startswith("eks.certificateArn=")
    assert "is a certificate in eu-west-1, but the stack (aws:region) is in us-east-1" in message
    assert "pulumi config set --path eks.certificateArn" in message


def test_a_certificate_of_the_stacks_region_is_accepted() -> None:
    arn = CERTIFICATE_IN.format(region="us-east-1")
    spec = parse({"backend": "eks", "eks": {"certificateArn": arn, "hostname": "api.example.com"}}, region="us-east-1")

    assert spec.settings_as(EksSettings).certificate_arn == arn


def test_the_stack_region_is_read_from_aws_region_config_then_the_sdk_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backends.config import stack_region

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert stack_region() == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert stack_region() == "eu-west-3"


class RunnerSettings(BackendSettings):
    """A third party's settings with a check across two fields, as ARCHITECTURE.md's plugin API says to write it."""

    min_instances: int = 1
    max_instances: int = 4

    @model_validator(mode="after")
    def _min_within_max(self) -> RunnerSettings:
        if self.min_instances > self.max_instances:
            raise SettingProblem("minInstances", f"is more than maxInstances ({self.max_instances})", 1)
        return self


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        (
            CONFIG_HINTS,
            "runner.minInstances: is more than maxInstances (4): `pulumi config set --path runner.minInstances 1`",
        ),
        (
            ARGS_HINTS,
            'backend_config["minInstances"]: is more than maxInstances (4): '
            'pass backend_config["minInstances"]=1 instead',
        ),
    ],
    ids=["stack config", "component args"],
)
def test_a_setting_problem_from_a_model_validator_names_the_key_and_the_fix(hints: Hints, expected: str) -> None:
    """Raised across fields, it is phrased like a field's error for where the value came from, not raised raw."""
    with pytest.raises(ConfigError) as failure:
        validated(RunnerSettings, {"minInstances": 6}, backend="runner", hints=hints)

    assert str(failure.value) == expected
