"""The app image: the one image-reference parser, and an ECR repository with the image built from app/Dockerfile
and pushed by Pulumi (plugin API: any backend that runs the container uses it).

The tag is a digest of the build context, so an unchanged app keeps its tag.
The chart is given the pushed image's digest, so a pod only ever runs the
bytes built here: integrity rests on the digest, which is why the tags may be
mutable (a rebuild of the same context, byte-different by build metadata, must
be able to push its tag again; with immutable tags that push fails).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build
from pydantic import AfterValidator

from .base import APP_DIR, folder_digest

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


_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# [registry[:port]/]path[:tag][@sha256:digest], as docker reads references.
IMAGE_REFERENCE = re.compile(
    rf"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)


def prebuilt(reference: str, default_tag: str = "latest") -> AppImage:
    """An image built elsewhere: ``repo:tag``, ``repo@sha256:...`` or both, split into repository, tag and digest.
    ``ValueError`` when it is not an image reference. Without tag or digest, ``default_tag``."""
    if not IMAGE_REFERENCE.match(reference):
        raise ValueError(
            f"{reference!r} is not an image reference (registry/repository:tag or repository@sha256:<64 hex>)"
        )
    name, _, digest = reference.partition("@")
    repository, tag = name, ""
    if ":" in name.rsplit("/", 1)[-1]:  # a colon before the last slash is a registry's port, not a tag
        repository, tag = name.rsplit(":", 1)
    return AppImage(repository=repository, tag=tag or ("" if digest else default_tag), digest=digest)


def _image_reference(value: str) -> str:
    if value:
        prebuilt(value)  # raises ValueError with the reason
    return value


# A settings field holding an image reference ("" allowed: the backend builds the image).
ImageReferenceText = Annotated[str, AfterValidator(_image_reference)]


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
