"""Stack config: defaults in code, every bad value named with the command that fixes it."""

from __future__ import annotations

import pytest
import yaml

from backends.base import REPO_ROOT, AppSpec, EksSettings
from backends.config import KEYS, LAMBDA_MAX_AVATAR_BYTES, ConfigError, parse


def test_defaults_need_only_the_backend() -> None:
    spec = parse({"backend": "lambda"}, stack="dev")

    assert spec == AppSpec(
        name="users-api",
        backend="lambda",
        tags={
            "project": "flask-platform",
            "app": "users-api",
            "stack": "dev",
            "backend": "lambda",
            "managed-by": "pulumi",
        },
        eks=EksSettings(cluster_name="users-api-dev"),  # the cluster is named after the app and the stack
    )
    assert spec.lambda_.runtime == "python3.12"
    assert spec.lambda_.architecture == "arm64"
    assert spec.scaling.reserved_concurrency is None
    assert spec.deletion_protection is True


def test_values_are_read_and_converted() -> None:
    spec = parse(
        {
            "backend": "lambda",
            "lambdaMemoryMb": "1024",
            "lambdaReservedConcurrency": "50",
            "lambdaArchitecture": "x86_64",
            "logLevel": "debug",
            "logRetentionDays": "30",
            "deletionProtection": "false",
            "minReplicas": "3",
            "maxReplicas": "3",
        }
    )

    assert (spec.lambda_.memory_mb, spec.scaling.reserved_concurrency) == (1024, 50)
    assert (spec.lambda_.architecture, spec.log_level, spec.log_retention_days) == ("x86_64", "DEBUG", 30)
    assert spec.deletion_protection is False
    assert (spec.scaling.min_replicas, spec.scaling.max_replicas) == (3, 3)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("lambdaMemoryMb", "lots", "is not a whole number"),
        ("lambdaMemoryMb", "64", "is out of range 128..10240"),
        ("lambdaTimeoutSeconds", "30", "is out of range 1..29"),
        ("lambdaRuntime", "python2.7", "is not allowed"),
        ("lambdaArchitecture", "arm", "is not allowed"),
        ("logRetentionDays", "10", "is not allowed"),
        ("logLevel", "LOUD", "is not allowed"),
        ("deletionProtection", "maybe", "is not true or false"),
        ("appName", "Users_API", "must be 2-32 lower-case"),
        ("lambdaReservedConcurrency", "-5", "is out of range -1..900"),
        ("lambdaReservedConcurrency", "1000", "is out of range -1..900"),
        ("lambdaRuntime", "python3.11", "is not allowed"),
    ],
)
def test_a_bad_value_names_its_key_and_the_fix(key: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", key: value})

    message = str(failure.value)
    assert message.startswith(f"{key}=")
    assert says in message
    assert f"pulumi config set {key}" in message


def test_min_replicas_above_max_is_refused() -> None:
    with pytest.raises(ConfigError, match="minReplicas=5 is above maxReplicas=3"):
        parse({"backend": "eks", "minReplicas": "5", "maxReplicas": "3"})


def test_the_lambda_backend_refuses_an_avatar_limit_past_the_payload_ceiling() -> None:
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", "maxAvatarBytes": str(LAMBDA_MAX_AVATAR_BYTES + 1)})

    assert "6 MB" in str(failure.value)
    assert "base64" in str(failure.value)
    assert parse({"backend": "eks", "maxAvatarBytes": str(LAMBDA_MAX_AVATAR_BYTES + 1)}).max_avatar_bytes > (
        LAMBDA_MAX_AVATAR_BYTES
    )


@pytest.mark.parametrize("backend", ["eks", "lambda", "minikube"])
def test_the_defaults_pulumi_yaml_applies_are_the_codes_own(backend: str) -> None:
    """`pulumi up` applies Pulumi.yaml's defaults; mocks do not: both must give the same settings."""
    declared = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    defaults = {
        key: str(entry["default"]).lower() if isinstance(entry["default"], bool) else str(entry["default"])
        for key, entry in declared.items()
        if "default" in entry
    }

    assert parse({**defaults, "backend": backend}, stack="dev") == parse({"backend": backend}, stack="dev")
    assert set(declared) == set(KEYS), "every config key the code reads is declared, and no other"
    assert all(entry.get("description") for entry in declared.values())
