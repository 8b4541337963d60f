"""S3_PRESIGN_ENDPOINT_URL: the one setting that lets clients follow an avatar redirect to an address they can reach.

Unset (EKS, Lambda) nothing changes: the S3 client itself presigns.
"""

from __future__ import annotations

import pytest

from users_api.aws import make_clients
from users_api.config import ConfigError, Settings

REQUIRED = {"AWS_REGION": "us-east-1", "DYNAMODB_TABLE": "users", "S3_BUCKET": "avatars"}


def test_unset_the_s3_client_itself_presigns() -> None:
    settings = Settings.from_env(REQUIRED | {"AWS_ENDPOINT_URL": "http://host.minikube.internal:4566"})
    clients = make_clients(settings)

    assert settings.presign_endpoint_url is None
    assert clients.s3_presigner is clients.s3


def test_set_avatar_urls_are_presigned_for_that_endpoint_and_everything_else_uses_the_apps() -> None:
    settings = Settings.from_env(
        REQUIRED
        | {"AWS_ENDPOINT_URL": "http://host.minikube.internal:4566", "S3_PRESIGN_ENDPOINT_URL": "http://127.0.0.1:4566"}
    )
    clients = make_clients(settings)

    url = clients.s3_presigner.generate_presigned_url("get_object", Params={"Bucket": "avatars", "Key": "a/b.png"})

    assert url.startswith("http://127.0.0.1:4566/avatars/a/b.png?")  # path-style, like the app's own client
    assert "X-Amz-Signature=" in url
    assert clients.s3.meta.endpoint_url == "http://host.minikube.internal:4566"


@pytest.mark.parametrize("value", ["127.0.0.1:4566", "ftp://127.0.0.1:4566", "http://"])
def test_a_value_that_is_not_an_http_url_is_named_with_the_fix(value: str) -> None:
    with pytest.raises(ConfigError, match=f"^S3_PRESIGN_ENDPOINT_URL='{value}' is not an http\\(s\\) URL"):
        Settings.from_env(REQUIRED | {"S3_PRESIGN_ENDPOINT_URL": value})
