"""The app image on EKS: an ECR repository and the image built from app/Dockerfile and pushed by Pulumi.

The tag is a digest of the build context, so an unchanged app is neither
rebuilt nor redeployed, and tags are immutable. The chart is given the pushed
image's digest too, so a pod can only ever run the bytes that were built here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from backends.base import APP_DIR

# What app/.dockerignore leaves out of the build context, so it does not change the tag either.
IGNORED_PARTS = {"__pycache__", "build", "dist", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
PLATFORMS = {"x86_64": docker_build.Platform.LINUX_AMD64, "arm64": docker_build.Platform.LINUX_ARM64}
KEPT_IMAGES = 10


@dataclass(frozen=True)
class AppImage:
    """Chart values for the image: repository, tag and, when known, the digest."""

    repository: pulumi.Input[str]
    tag: pulumi.Input[str]
    digest: pulumi.Input[str]


def context_digest(app_dir: Path = APP_DIR) -> str:
    """A short digest of every file the image is built from (paths and contents, in a fixed order)."""
    digest = hashlib.sha256()
    for path in sorted(app_dir.rglob("*")):
        relative = path.relative_to(app_dir)
        if not path.is_file() or IGNORED_PARTS & set(relative.parts) or path.suffix == ".pyc":
            continue
        if any(part.endswith(".egg-info") for part in relative.parts):
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def prebuilt(reference: str) -> AppImage:
    """Chart values for an image built elsewhere: ``repo:tag``, ``repo@sha256:...`` or both."""
    name, _, digest = reference.partition("@")
    repository, tag = name, ""
    if ":" in name.rsplit("/", 1)[-1]:  # a colon before the last slash is a registry's port, not a tag
        repository, tag = name.rsplit(":", 1)
    return AppImage(repository=repository, tag=tag or ("" if digest else "latest"), digest=digest)


def build_and_push(
    name: str, architecture: str, deletion_protection: bool, tags: Mapping[str, str], parent: pulumi.Resource
) -> AppImage:
    repository = aws.ecr.Repository(
        f"{name}-app",
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
        force_delete=not deletion_protection,  # otherwise `pulumi destroy` stops at a repository holding images
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.ecr.LifecyclePolicy(
        f"{name}-app-lifecycle",
        repository=repository.name,
        policy=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": f"keep the newest {KEPT_IMAGES} images",
                        "selection": {
                            "tagStatus": "any",
                            "countType": "imageCountMoreThan",
                            "countNumber": KEPT_IMAGES,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
        opts=pulumi.ResourceOptions(parent=repository),
    )
    token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
    tag = context_digest()
    image = docker_build.Image(
        f"{name}-image",
        tags=[pulumi.Output.concat(repository.repository_url, ":", tag)],
        context=docker_build.BuildContextArgs(location=str(APP_DIR)),
        dockerfile=docker_build.DockerfileArgs(location=str(APP_DIR / "Dockerfile")),
        platforms=[PLATFORMS[architecture]],  # the nodes' architecture, whatever this machine's is
        push=True,
        registries=[
            docker_build.RegistryArgs(
                address=repository.repository_url, username=token.user_name, password=token.password
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return AppImage(repository=repository.repository_url, tag=tag, digest=image.digest)
