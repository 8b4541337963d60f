"""The plugin contract: an AppSpec in, a Deployment out.

Every backend is a ``pulumi.ComponentResource`` (type token
``flask-platform:backends:<Name>``) built as ``factory(name, spec, opts)``;
its ``deployment`` fills the same core outputs, so ``make address``, the load
tests and the comparison never need to know which backend ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pulumi

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = REPO_ROOT / "app"
CONTAINER_PORT = 5000
LIVENESS_PATH = "/livez"
READINESS_PATH = "/readyz"
AVATAR_PREFIX = "avatars/"  # the app stores every avatar under this key prefix


def folder_digest(folder: Path, skip: Callable[[Path], bool]) -> str:
    """SHA-256 (hex) over a folder's files, names and contents, in a fixed order; ``skip`` gets each file's path
    relative to ``folder``. What a backend passes so that a changed image context or chart is deployed again."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or skip(relative):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class ScalingPolicy:
    """How the service scales: replicas and CPU target on Kubernetes, concurrency on Lambda."""

    min_replicas: int = 2
    max_replicas: int = 10
    cpu_target_percent: int = 70
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class LambdaSettings:
    runtime: str = "python3.12"
    architecture: str = "arm64"
    memory_mb: int = 512
    timeout_seconds: int = 15
    throttle_rate_limit: float = 100.0
    throttle_burst_limit: int = 200


@dataclass(frozen=True)
class MinikubeSettings:
    context: str = "minikube"
    namespace: str = "users-api"
    image: str = "flask-platform/users-api:dev"
    node_port: int = 30080
    emulator_url: str = "http://localhost:4566"  # as Pulumi on this machine reaches the emulator
    emulator_url_from_pods: str = "http://host.minikube.internal:4566"  # as the pods reach it
    minikube_ip: str = ""  # `minikube ip`, set by make localdev; makes the url output


@dataclass(frozen=True)
class EksSettings:
    """The network, cluster and nodes of the eks backend (validated in backends/config.py)."""

    cluster_name: str = "users-api"
    kubernetes_version: str = "1.35"
    availability_zones: int = 2
    nat_gateways: str = "single"  # or "onePerAz": one NAT gateway per zone survives a zone's loss
    vpc_cidr: str = "10.0.0.0/16"
    public_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    log_types: tuple[str, ...] = ("api", "audit", "authenticator")
    instance_types: tuple[str, ...] = ("t3.medium",)
    node_min: int = 2
    node_desired: int = 2
    node_max: int = 5
    node_disk_gib: int = 20
    namespace: str = "users-api"
    # IAM roles/users given cluster admin through EKS access entries (beside the creator, whom EKS adds itself)
    admin_principals: tuple[str, ...] = ()
    image: str = ""  # a prebuilt image reference; empty: build app/Dockerfile and push it to a new ECR repository
    certificate_arn: str = ""  # an ACM certificate: the ALB then listens on HTTPS too
    hostname: str = ""  # the DNS name the certificate covers, pointed at the ALB by its owner: the url then
    architecture: str = "x86_64"  # of the instance types (all alike): the image and the AMI follow it


@dataclass(frozen=True)
class AppSpec:
    """What every backend deploys: one app, its settings, its scaling policy, its tags."""

    name: str
    backend: str
    app_dir: Path = APP_DIR
    environment: Mapping[str, str] = field(default_factory=dict)
    scaling: ScalingPolicy = field(default_factory=ScalingPolicy)
    max_avatar_bytes: int = 2 * 1024 * 1024
    log_level: str = "INFO"
    log_retention_days: int = 14
    deletion_protection: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    lambda_: LambdaSettings = field(default_factory=LambdaSettings)
    minikube: MinikubeSettings = field(default_factory=MinikubeSettings)
    eks: EksSettings = field(default_factory=EksSettings)


@dataclass
class Deployment:
    """The outputs every backend exports (the contract), plus its own extras."""

    url: pulumi.Input[str]
    backend: str
    table_name: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    scaling: pulumi.Input[Mapping[str, Any]]
    extras: dict[str, pulumi.Input[Any]] = field(default_factory=dict)

    def outputs(self) -> dict[str, pulumi.Input[Any]]:
        core: dict[str, pulumi.Input[Any]] = {
            "url": self.url,
            "backend": self.backend,
            "tableName": self.table_name,
            "bucketName": self.bucket_name,
            "scaling": self.scaling,
        }
        return {**core, **self.extras}


class BackendComponent(Protocol):
    deployment: Deployment


class BackendFactory(Protocol):
    def __call__(self, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> BackendComponent: ...
