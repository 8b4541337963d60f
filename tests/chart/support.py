"""The chart, the value sets its users pass, and what real Helm renders from them, as plain data."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "flask-app"
RELEASE = "users-api"
NAMESPACE = "users-api"
FULLNAME = "users-api-flask-app"  # the release name does not hold the chart name: <release>-<chart>

Manifest = dict[str, Any]

DIGEST = "sha256:" + "5e" * 32
ROLE_ARN = "arn:aws:iam::123456789012:role/users-api-pods"
RECONCILER_ROLE_ARN = "arn:aws:iam::123456789012:role/users-api-reconciler"
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f5e9b7c-3a1d-4c2e-9d8f-1b2a3c4d5e6f"

# What the old README told people to type; they must keep working.
OLD_README_SET_LINES = (
    "env.AWS_REGION=eu-west-1",
    "env.DYNAMODB_TABLE=users",
    "env.S3_BUCKET=users-avatars",
    "env.AWS_ENDPOINT_URL=http://localstack:4566",
    "env.AWS_ACCESS_KEY_ID=test",
    "env.AWS_SECRET_ACCESS_KEY=test",
    "serviceAccount.enabled=false",
)

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    # The eks backend: an ECR image by digest, ClusterIP behind an ALB with TLS, IRSA, the HPA.
    "eks": {
        "image": {
            "repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api",
            "tag": "0.1.0",
            "digest": DIGEST,
            "pullPolicy": "IfNotPresent",
        },
        "env": {"AWS_REGION": "us-east-1", "DYNAMODB_TABLE": "users-api-users", "S3_BUCKET": "users-api-avatars"},
        "serviceAccount": {"enabled": True, "roleArn": ROLE_ARN},
        "service": {"type": "ClusterIP", "port": 80},
        "ingress": {
            "enabled": True,
            "className": "alb",
            "scheme": "internet-facing",
            "certificateArn": CERTIFICATE_ARN,
        },
        "hpa": {"enabled": True, "minReplicas": 2, "maxReplicas": 10, "cpuTargetPercent": 70},
        "networkPolicy": {"enabled": True},
        "reconciler": {"enabled": True, "serviceAccount": {"roleArn": RECONCILER_ROLE_ARN, "name": ""}},
    },
    # The minikube backend: a locally loaded image, a fixed NodePort, LocalStack on the host, the HPA.
    "minikube": {
        "image": {"repository": "flask-platform/users-api", "tag": "dev", "pullPolicy": "IfNotPresent"},
        "env": {
            "AWS_ENDPOINT_URL": "http://host.minikube.internal:4566",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        },
        "service": {"type": "NodePort", "nodePort": 30080},
        "ingress": {"enabled": False},
        "hpa": {"enabled": True, "minReplicas": 2, "maxReplicas": 5, "cpuTargetPercent": 70},
        "reconciler": {"enabled": True},
    },
    # OLD_README_SET_LINES, as the values dict `--set` makes of them.
    "old-readme-set-lines": {
        "env": {
            "AWS_REGION": "eu-west-1",
            "DYNAMODB_TABLE": "users",
            "S3_BUCKET": "users-avatars",
            "AWS_ENDPOINT_URL": "http://localstack:4566",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        },
        "serviceAccount": {"enabled": False},
    },
}

CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@dataclass(frozen=True)
class Release:
    """One `helm template`: the value set's name, the merged values, every rendered object, and NOTES.txt."""

    name: str
    values: dict[str, Any]
    manifests: list[Manifest]
    notes: str

    def of_kind(self, kind: str) -> list[Manifest]:
        return [manifest for manifest in self.manifests if manifest["kind"] == kind]

    def one(self, kind: str) -> Manifest:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
        return found[0]

    @property
    def test_pods(self) -> list[Manifest]:
        return [pod for pod in self.of_kind("Pod") if annotations_of(pod).get("helm.sh/hook") == "test"]

    @property
    def pod_specs(self) -> dict[str, dict[str, Any]]:
        """Every pod this release can start: the Deployment's template, the reconciler's, and each `helm test` Pod."""
        specs = {"Deployment": self.one("Deployment")["spec"]["template"]["spec"]}
        specs |= {
            f"CronJob/{job['metadata']['name']}": job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            for job in self.of_kind("CronJob")
        }
        specs |= {f"Pod/{pod['metadata']['name']}": pod["spec"] for pod in self.test_pods}
        return specs

    def app_container(self) -> dict[str, Any]:
        containers: list[dict[str, Any]] = self.one("Deployment")["spec"]["template"]["spec"]["containers"]
        assert len(containers) == 1
        return containers[0]


def annotations_of(manifest: Manifest) -> dict[str, str]:
    found: dict[str, str] = manifest["metadata"].get("annotations") or {}
    return found


def decoded(secret: Manifest) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}


def render(chart: helm.Chart, values: dict[str, Any], name: str = "custom") -> Release:
    """Render as `helm template users-api charts/flask-app --namespace users-api` with these values would."""
    rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    manifests: list[Manifest] = []
    notes = ""
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        manifests.extend(document for document in yaml.safe_load_all(text) if document)
    return Release(name=name, values=chart.merge_values(values), manifests=manifests, notes=notes)


def as_yaml(manifests: list[Manifest]) -> str:
    return yaml.safe_dump_all(manifests, sort_keys=False)
