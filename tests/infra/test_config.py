"""Stack config: defaults in code, every bad value named with the command that fixes it."""

from __future__ import annotations

import pytest
import yaml

from backends.base import REPO_ROOT, AppSpec, EksSettings
from backends.config import KEYS, LAMBDA_MAX_AVATAR_BYTES, ConfigError, parse, reserved_concurrency_note


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
        ("lambdaReservedConcurrency", "-5", "is out of range -1..1000000"),
        ("lambdaReservedConcurrency", "0", "every request is throttled"),
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


def test_zero_reserved_concurrency_is_refused_with_the_shared_pool_as_the_fix() -> None:
    """0 is a valid Lambda setting that throttles every invocation: no stack wants it by accident."""
    with pytest.raises(ConfigError) as failure:
        parse({"backend": "lambda", "lambdaReservedConcurrency": "0"})

    assert "pulumi config set lambdaReservedConcurrency -1" in str(failure.value)


@pytest.mark.parametrize("reserved", [1000, 5000])
def test_reserved_concurrency_above_a_default_accounts_ceiling_is_allowed_with_a_note(reserved: int) -> None:
    """The account quota can be raised past 1,000; only the quota decides, and AWS checks it at deploy time."""
    spec = parse({"backend": "lambda", "lambdaReservedConcurrency": str(reserved)})
    note = reserved_concurrency_note(spec.scaling.reserved_concurrency)

    assert spec.scaling.reserved_concurrency == reserved
    assert note is not None
    assert f"at least {reserved + 100}" in note
    assert "pulumi config set lambdaReservedConcurrency 900" in note


@pytest.mark.parametrize("reserved", [None, 1, 900])
def test_reserved_concurrency_any_account_can_grant_has_no_note(reserved: int | None) -> None:
    assert reserved_concurrency_note(reserved) is None


CERTIFICATE_IN = "arn:aws:acm:{region}:123456789012:certificate/0f5e9b7c-3a1d-4c2e-9d8f-1b2a3c4d5e6f"


def test_a_certificate_in_another_region_than_the_stack_is_refused() -> None:
    """An ALB only uses ACM certificates of its own region: the controller would fail to make the listener."""
    config = {
        "backend": "eks",
        "eksCertificateArn": CERTIFICATE_IN.format(region="eu-west-1"),
        "eksHostname": "api.example.com",
    }
    with pytest.raises(ConfigError) as failure:
        parse(config, region="us-east-1")

    message = str(failure.value)
    assert message.startswith("eksCertificateArn is a certificate in eu-west-1")
    assert "pulumi config set eksCertificateArn arn:aws:acm:us-east-1:" in message


def test_a_certificate_of_the_stacks_region_is_accepted() -> None:
    arn = CERTIFICATE_IN.format(region="us-east-1")
    spec = parse({"backend": "eks", "eksCertificateArn": arn, "eksHostname": "api.example.com"}, region="us-east-1")

    assert spec.eks.certificate_arn == arn


def test_the_stack_region_is_read_from_aws_region_config_then_the_sdk_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backends.config import stack_region

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert stack_region() == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert stack_region() == "eu-west-3"
