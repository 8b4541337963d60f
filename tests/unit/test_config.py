"""Configuration comes from the environment only, and a bad value names itself and its fix."""

from __future__ import annotations

import pytest

from users_api.config import DEFAULT_MAX_AVATAR_BYTES, ConfigError, Settings

REQUIRED = {"AWS_REGION": "eu-west-1", "DYNAMODB_TABLE": "users", "S3_BUCKET": "avatars"}


def test_defaults_apply_when_only_the_required_variables_are_set() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings == Settings(region="eu-west-1", table_name="users", bucket_name="avatars")
    assert settings.max_avatar_bytes == DEFAULT_MAX_AVATAR_BYTES == 2 * 1024 * 1024
    assert settings.endpoint_url is None
    assert settings.log_level == "INFO"


def test_every_variable_is_read() -> None:
    env = REQUIRED | {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "LOG_LEVEL": "debug",
        "MAX_AVATAR_BYTES": "1000",
        "AVATAR_URL_TTL_SECONDS": "60",
        "TRUSTED_PROXIES": "0",
    }

    settings = Settings.from_env(env)

    assert settings.endpoint_url == "http://127.0.0.1:4566"
    assert (settings.log_level, settings.max_avatar_bytes) == ("DEBUG", 1000)
    assert (settings.avatar_url_ttl_seconds, settings.trusted_proxies) == (60, 0)


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_required_variable_is_named(missing: str) -> None:
    env = {key: value for key, value in REQUIRED.items() if key != missing}

    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("LOG_LEVEL", "LOUD", "is not a log level"),
        ("MAX_AVATAR_BYTES", "2MB", "is not a whole number"),
        ("MAX_AVATAR_BYTES", "0", "is out of range"),
        ("TRUSTED_PROXIES", "11", "is out of range"),
        ("AVATAR_URL_TTL_SECONDS", "9999999", "is out of range"),
    ],
)
def test_an_invalid_value_is_named_with_the_fix(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}=.*{says}"):
        Settings.from_env(REQUIRED | {name: value})
