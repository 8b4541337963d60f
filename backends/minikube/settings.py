"""The minikube backend's settings: config object ``minikube`` (``pulumi config set --path minikube.nodePort 30081``),
or FlaskPlatform's ``backend_config``. Each setting's type, default, bounds and description are declared here once."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from backends.plugin import ImageReferenceText, KubernetesSettings

MOVED_KEYS = {  # the flat keys of earlier releases -> this object's keys
    "minikubeContext": "context",
    "namespace": "namespace",
    "appImage": "image",
    "nodePort": "nodePort",
    "emulatorUrl": "emulatorUrl",
    "emulatorUrlFromPods": "emulatorUrlFromPods",
    "minikubeIp": "ip",
    "minReplicas": "minReplicas",
    "maxReplicas": "maxReplicas",
    "cpuTargetPercent": "cpuTargetPercent",
}
URL_OF_A_HOST = r"^https?://[^\s/]+(:[0-9]+)?/?$"


def _url_of_a_host(value: str) -> str:
    if not re.fullmatch(URL_OF_A_HOST, value):
        raise ValueError("is not an http(s) URL of a host (e.g. http://localhost:4566)")
    return value.rstrip("/")


HostUrl = Annotated[str, AfterValidator(_url_of_a_host)]


class MinikubeSettings(KubernetesSettings):
    """The cluster and the AWS emulator on the minikube backend."""

    context: str = Field("minikube", min_length=1, description="The kube context to deploy to.")
    image: ImageReferenceText = Field(
        "",
        examples=["localhost:5000/users-api:v2"],
        description=(
            "An image reference to run instead of the app built into Minikube (`name`, `name:tag`, "
            "`registry:port/name`, `name@sha256:...`); empty: flask-platform/users-api tagged with the app's content "
            "digest, as make minikube-image and make localdev build it."
        ),
    )
    node_port: int = Field(30080, ge=30000, le=32767, description="The NodePort the app is reached on.")
    emulator_url: HostUrl = Field(
        "http://localhost:4566",
        description=(
            "The AWS emulator as this machine reaches it (LocalStack's port by default): Pulumi creates the table and "
            "bucket there, and avatar URLs are presigned for it, so a browser or curl here can follow them."
        ),
    )
    emulator_url_from_pods: HostUrl = Field(
        "http://host.minikube.internal:4566", description="The AWS emulator as the pods reach it."
    )
    ip: str = Field(
        "",
        description=(
            "The host this machine reaches the NodePort on, which makes the url output: `minikube ip`, or 127.0.0.1 "
            "where the docker driver publishes the NodePort (macOS, Windows, WSL); make localdev sets it."
        ),
    )
