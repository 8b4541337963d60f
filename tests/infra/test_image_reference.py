"""The one image-reference parser of the plugin API (backends/image.py): what every backend's image setting goes
through, and how the chart and the fargate task are given the image."""

from __future__ import annotations

import pytest

from backends.plugin import prebuilt

DIGEST = "sha256:" + "0f" * 32
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        (f"{ECR}/users-api:1.4.2", (f"{ECR}/users-api", "1.4.2", "")),
        (f"{ECR}/users-api@{DIGEST}", (f"{ECR}/users-api", "", DIGEST)),
        (f"{ECR}/users-api:1.4.2@{DIGEST}", (f"{ECR}/users-api", "1.4.2", DIGEST)),
        ("localhost:5000/team/users-api", ("localhost:5000/team/users-api", "latest", "")),  # a port, not a tag
        ("localhost:5000/users-api:dev", ("localhost:5000/users-api", "dev", "")),
        ("users-api", ("users-api", "latest", "")),
        ("users-api:" + "t" * 128, ("users-api", "t" * 128, "")),  # the longest tag docker accepts
    ],
)
def test_a_reference_splits_into_repository_tag_and_digest(reference: str, parts: tuple[str, str, str]) -> None:
    image = prebuilt(reference)

    assert (image.repository, image.tag, image.digest) == parts


def test_without_tag_or_digest_the_callers_default_tag_applies() -> None:
    assert prebuilt("flask-platform/users-api", default_tag="dev").tag == "dev"


@pytest.mark.parametrize(
    "reference",
    [
        "https://registry/app",
        "Users-API:1.0",  # upper case in the path
        "users-api:" + "t" * 129,  # one past the longest tag
        "users-api@sha256:abc",  # a short digest
        "users-api:",
        "",
    ],
)
def test_anything_else_is_refused_with_the_reason(reference: str) -> None:
    with pytest.raises(ValueError, match="is not an image reference"):
        prebuilt(reference)
