"""The app image on EKS: an ECR repository and the image built from app/Dockerfile and pushed by Pulumi.

The tag is a digest of the build context, so an unchanged app keeps its tag.
The chart is given the pushed image's digest, so a pod only ever runs the
bytes built here: integrity rests on the digest, which is why the tags may be
mutable (a rebuild of the same context, byte-different by build metadata, must
be able to push its tag again; with immutable tags that push fails).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from backends.base import APP_DIR, folder_digest

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
    return folder_digest(app_dir, _not_in_context)[:16]


def _not_in_context(relative: Path) -> bool:
    return (
        bool(IGNORED_PARTS & set(relative.parts))
        or relative.suffix == ".pyc"
        or any(part.endswith(".egg-info") for part in relative.parts)
    )


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
        image_tag_mutability="MUTABLE",  # deployed by digest; see the module's docstring
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
        force_delete=not deletion_protection,  # otherwise `pulumi destroy` stops at a repository holding images
        tags=dict(tags),
        # protected: `pulumi destroy` leaves the repository and its images rather than stopping halfway
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=deletion_protection),
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
        opts=pulumi.ResourceOptions(parent=repository, retain_on_delete=deletion_protection),
    )
    token = aws.ecr.get_authorization_token_output(
        registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    tag = context_digest()
    # Relative to the project (Pulumi runs the program there): the same app from another checkout is no change.
    context = os.path.relpath(APP_DIR)
    image = docker_build.Image(
        f"{name}-image",
        tags=[pulumi.Output.concat(repository.repository_url, ":", tag)],
        context=docker_build.BuildContextArgs(location=context),
        dockerfile=docker_build.DockerfileArgs(location=os.path.join(context, "Dockerfile")),
        build_on_preview=False,  # a preview needs no Docker engine and stays quick
        platforms=[PLATFORMS[architecture]],  # the nodes' architecture, whatever this machine's is
        push=True,
        registries=[
            docker_build.RegistryArgs(
                address=repository.repository_url, username=token.user_name, password=token.password
            )
        ],
        # Always kept: pulumi-docker-build's Image deletes the tags it pushed when it is deleted or replaced unless
        # retained (its docs, "Tag deletion and refreshes"). Deleted, a protected stack's destroy would empty the
        # repository it claims to keep; replaced, the previous digest goes while the old ReplicaSet still runs it
        # during the rollout, and a `helm rollback` could no longer pull it. The repository's lifecycle policy
        # (newest KEPT_IMAGES) expires old images, and an unprotected destroy deletes the repository with them
        # (force_delete), so keeping them here leaves nothing behind.
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )
    return AppImage(repository=repository.repository_url, tag=tag, digest=image.digest)
