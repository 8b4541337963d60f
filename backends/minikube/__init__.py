"""The minikube backend: the Helm chart on a local Minikube, DynamoDB and S3 in an AWS emulator.

LocalStack by default, any emulator that speaks the AWS APIs works (moto
server included): Pulumi reaches it at ``minikube.emulatorUrl`` and the pods at
``minikube.emulatorUrlFromPods`` (``host.minikube.internal`` is the machine Minikube
runs on, so no one pastes an IP address). The backend is chosen by config
alone; no stack name means anything.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from backends.plugin import (
    CHART,
    AppImage,
    AppSpec,
    BackendPlugin,
    Deployment,
    Storage,
    app_environment,
    context_digest,
    prebuilt,
    release_app,
    scaling_output,
)
from backends.plugin import chart_values as app_chart_values

from .settings import MOVED_KEYS, MinikubeSettings

__all__ = ["CHART", "Backend", "MinikubeSettings", "chart_values", "plugin"]
EMULATOR_REGION = "us-east-1"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}  # emulators accept any
LOCAL_REPOSITORY = "flask-platform/users-api"  # what make minikube-image builds into Minikube


def local_image_reference() -> str:
    """The app image as make minikube-image tags it: by the build context's content digest (as the eks backend tags
    its ECR image), so a changed app is a new tag, a new release and a rollout; an unchanged one is no change."""
    return f"{LOCAL_REPOSITORY}:{context_digest()}"


def app_image(settings: MinikubeSettings) -> AppImage:
    """``minikube.image`` through the plugin API's parser (a bare name is ``:latest``, as docker reads it), or the
    app built into Minikube."""
    return prebuilt(settings.image or local_image_reference())


def public_url(settings: MinikubeSettings) -> str:
    """http://<minikube ip>:<node port> when the IP is known (make localdev sets it), else empty: relative URLs."""
    return f"http://{settings.ip}:{settings.node_port}" if settings.ip else ""


def chart_values(spec: AppSpec, table_name: str, bucket_name: str) -> dict[str, Any]:
    """The chart's values on Minikube: NodePort, no Ingress, no IRSA, the emulator and its dummy keys (a Secret)."""
    settings = spec.settings_as(MinikubeSettings)
    return app_chart_values(
        spec,
        settings,
        image=app_image(settings),
        environment={
            **app_environment(spec, EMULATOR_REGION, table_name, bucket_name),
            "AWS_ENDPOINT_URL": settings.emulator_url_from_pods,
            # host.minikube.internal exists only inside Minikube, and SigV4 signs the host: avatar redirects are
            # presigned for the emulator's address on this machine instead, where the client follows them.
            "S3_PRESIGN_ENDPOINT_URL": settings.emulator_url,
            **EMULATOR_CREDENTIALS,
            "TRUSTED_PROXIES": "0",
            "PUBLIC_URL": public_url(settings),
        },
        service={"type": "NodePort", "port": 80, "nodePort": settings.node_port},
        ingress={"enabled": False},
        # The reconciler as a CronJob with the app's image and credentials (the emulator has no IAM to narrow).
        reconciler={"enabled": True},
        # One node of MINIKUBE_START's size: the chart's 25% surge at the HPA's maximum would not fit beside it
        # (tests/chart/test_minikube_sizing.py), so a rollout there replaces one pod at a time.
        rollingUpdate={"maxSurge": 1, "maxUnavailable": 0},
    )


class Backend(pulumi.ComponentResource):
    """Storage in the emulator through an explicit provider, and the chart released into Minikube."""

    def __init__(self, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flask-platform:backends:Minikube", name, None, opts)
        settings = spec.settings_as(MinikubeSettings)
        emulator = aws.Provider(
            f"{name}-emulator",
            region=EMULATOR_REGION,
            access_key=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            endpoints=[aws.ProviderEndpointArgs(dynamodb=settings.emulator_url, s3=settings.emulator_url)],
            s3_use_path_style=True,  # one emulator host: virtual-hosted bucket names would not resolve
            skip_credentials_validation=True,
            skip_metadata_api_check=True,
            skip_requesting_account_id=True,
            skip_region_validation=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        storage = Storage(
            name,
            tags=dict(spec.tags),
            deletion_protection=False,  # local data: `pulumi destroy` should leave nothing behind
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": emulator}),
        )
        cluster = k8s.Provider(f"{name}-minikube", context=settings.context, opts=pulumi.ResourceOptions(parent=self))
        values = pulumi.Output.all(storage.table.name, storage.bucket.bucket).apply(
            lambda names: chart_values(spec, names[0], names[1])
        )
        release = release_app(name, spec, settings.namespace, values, cluster, parent=self)
        url = public_url(settings)
        self.deployment = Deployment(
            url=url,
            backend="minikube",
            table_name=storage.table.name,
            bucket_name=storage.bucket.bucket,
            scaling=scaling_output(settings, metrics_resolution_seconds=60),  # Minikube's metrics-server: every 60 s
            extras={
                "namespace": settings.namespace,
                "releaseName": release.name,
                "nodePort": settings.node_port,
                "kubeContext": settings.context,
            },
        )
        self.register_outputs(self.deployment.outputs())


plugin = BackendPlugin(
    name="minikube",
    settings=MinikubeSettings,
    factory=Backend,
    description="The Helm chart on Minikube, with DynamoDB and S3 in LocalStack or any AWS emulator.",
    moved_keys=MOVED_KEYS,
    public=False,  # served on the developer's machine only
)
