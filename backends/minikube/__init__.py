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
    AppSpec,
    BackendPlugin,
    Deployment,
    Storage,
    app_environment,
    prebuilt,
    release_app,
    scaling_output,
)
from backends.plugin import chart_values as app_chart_values

from .settings import MOVED_KEYS, MinikubeSettings

__all__ = ["CHART", "Backend", "MinikubeSettings", "chart_values", "plugin"]
EMULATOR_REGION = "us-east-1"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}  # emulators accept any


def chart_values(spec: AppSpec, table_name: str, bucket_name: str) -> dict[str, Any]:
    """The chart's values on Minikube: NodePort, no Ingress, no IRSA, the emulator and its dummy keys (a Secret)."""
    settings = spec.settings_as(MinikubeSettings)
    return app_chart_values(
        spec,
        settings,
        image=prebuilt(settings.image, default_tag="dev"),
        environment={
            **app_environment(spec, EMULATOR_REGION, table_name, bucket_name),
            "AWS_ENDPOINT_URL": settings.emulator_url_from_pods,
            **EMULATOR_CREDENTIALS,
            "TRUSTED_PROXIES": "0",
        },
        service={"type": "NodePort", "port": 80, "nodePort": settings.node_port},
        ingress={"enabled": False},
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
        url = f"http://{settings.ip}:{settings.node_port}" if settings.ip else ""
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
)
