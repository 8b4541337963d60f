"""The eks backend: a VPC, an EKS cluster with autoscaling nodes, its controllers, and the chart behind an ALB.

Order matters in three places, and the code says it with ``depends_on``:
the controllers wait for nodes to run on; every other release (metrics-server,
cluster-autoscaler, the app) waits for the load balancer controller's, which
is done only when its pods are Ready (its webhook must answer when their
Services and the Ingress are created; on destroy the app goes first so the
controller can remove the ALB before it goes itself, or the ALB is orphaned and
blocks the VPC's deletion); and the app's release waits for metrics-server
(the HPA's metrics).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from backends.plugin import (
    AppImage,
    AppSpec,
    BackendPlugin,
    ConfigError,
    Deployment,
    Storage,
    app_environment,
    app_policy_statements,
    build_and_push,
    prebuilt,
    reconciler_policy_statements,
    release_app,
    scaling_output,
)
from backends.plugin import chart_values as app_chart_values

from . import addons, waf
from .cluster import control_plane_log_group, create_cluster, create_node_group, node_launch_template, node_role
from .irsa import IrsaRole, irsa_role
from .network import create_vpc
from .settings import MOVED_KEYS, EksSettings

__all__ = [
    "Backend",
    "alb_hostname",
    "alb_url",
    "aws_region",
    "chart_values",
    "ingress_status",
    "plugin",
    "release_app",
]  # release_app: tests wrap it

# The load balancer controller's webhook injects its target-health readiness gate into new pods of namespaces
# bearing this label (docs/deploy/pod_readiness_gate.md at v3.5.0); IP targets only, which the chart's Ingress uses.
POD_READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
# How long the first `up` waits for the ALB's address: the controller writes it into the Ingress's status as soon
# as it has created the ALB (seconds to a minute after the release); the bound covers a slow first reconcile.
INGRESS_WAIT_SECONDS = 300
INGRESS_POLL_SECONDS = 10
wait = asyncio.sleep  # tests replace it
HPA_SYNC_SECONDS = 15  # metrics-server's resolution on EKS; the HPA's control loop runs every 15 s too


def aws_region() -> str:
    """The stack's region (``aws:region``, else the AWS SDK's variables): VPC endpoint names need it as text."""
    region = pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("the eks backend needs a region: `pulumi config set aws:region us-east-1`")  # AWS's key
    return region


def public_url(settings: EksSettings) -> str:
    """The API's base URL when the stack names it (eks.hostname); else empty and the app's URLs are relative (the
    ALB's own name is known only after the release)."""
    if not settings.hostname:
        return ""
    return f"{'https' if settings.certificate_arn else 'http'}://{settings.hostname}"


def reconciler_service_account(spec: AppSpec) -> str:
    """The reconciler CronJob's own service account (its IRSA role lists the bucket; the app's may not)."""
    return f"{spec.name}-reconciler"


def chart_values(
    spec: AppSpec,
    image: AppImage,
    region: str,
    table: str,
    bucket: str,
    role_arn: str,
    *,
    reconciler_role_arn: str,
    waf_acl_arn: str | None = None,
) -> dict[str, Any]:
    """The chart's values on EKS: the ALB Ingress (with the web ACL, when there is one), ClusterIP for IP targets,
    IRSA, no static credentials, and the reconciler's CronJob under its own IRSA role."""
    settings = spec.settings_as(EksSettings)
    return app_chart_values(
        spec,
        settings,
        image=image,
        environment={
            **app_environment(spec, region, table, bucket),
            "AWS_ENDPOINT_URL": "",  # real AWS
            "TRUSTED_PROXIES": "1",  # the ALB is the one proxy in front: its X-Forwarded-* are trusted
            "PUBLIC_URL": public_url(settings),
        },
        service={"type": "ClusterIP", "port": 80},
        ingress={
            "enabled": True,
            "className": "alb",
            "scheme": "internet-facing",
            "certificateArn": settings.certificate_arn,
            # The controller associates the ALB with this web ACL (and disassociates it when the annotation goes).
            **({"annotations": {waf.ACL_ANNOTATION: waf_acl_arn}} if waf_acl_arn else {}),
        },
        role_arn=role_arn,
        service_account_name=spec.name,  # the Ingress, the HPA and the service account are all named after the app
        # The ALB's health check (/readyz) and the pod readiness gate decide traffic and rollouts; Kubernetes'
        # own readiness on /readyz would deregister every target during a short DynamoDB or S3 outage, leaving
        # the ALB nothing to fail open to (v3.5.0 pkg/backend/endpoint_resolver.go skips not-ready pods).
        readinessPath="/livez",
        reconciler={
            "enabled": True,
            "serviceAccount": {"roleArn": reconciler_role_arn, "name": reconciler_service_account(spec)},
        },
    )


def _field(value: Any, name: str) -> Any:
    """An attribute of the SDK's output types (IngressStatus, ...), or a key of a plain dict."""
    return value.get(name) if type(value) is dict else getattr(value, name, None)


def alb_hostname(status: Any) -> str:
    """The ALB's DNS name from the Ingress's status, or "" while the controller has not provisioned it yet."""
    ingress = _field(_field(status, "load_balancer"), "ingress") or []
    return next((str(_field(entry, "hostname")) for entry in ingress if _field(entry, "hostname")), "")


def alb_url(status: Any, https: bool) -> str:
    hostname = alb_hostname(status)
    return f"{'https' if https else 'http'}://{hostname}" if hostname else ""


def app_namespace(
    name: str, namespace: str, kubeconfig: pulumi.Input[str], controller: k8s.helm.v3.Release, parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    """The app's namespace, labelled for the load balancer controller's pod readiness gate.

    With the label, the controller's webhook gives each new pod a readiness gate that turns true only when its
    ALB target is healthy, so a rolling update (maxUnavailable 0) stops an old pod only once a new one takes
    traffic; without it pods are Ready while their targets are still "initial" and a 2-pod rollout can leave the
    ALB no healthy target. Helm's create_namespace cannot label a namespace, so Pulumi creates it.

    Its own provider upserts: a stack made before this resource existed has the namespace already (Helm made
    it), and a plain create would fail with "already exists"; server-side apply adds the label and adopts it.
    Upserting for good has one danger (pulumi-kubernetes 4.34's provider docs): a renamed resource becomes
    "create (silently adopts the live object), then delete", and deleting would take the namespace with the
    running app. So Pulumi never deletes it (retain_on_delete); destroy removes the app's release, and with it
    the Ingress and the ALB, while the controller still runs, and the namespace goes with the cluster. It
    depends on the controller, so the webhook that labels its pods is there before anything lands in it.
    """
    adopting = k8s.Provider(
        f"{name}-kubernetes-namespace",
        kubeconfig=kubeconfig,
        upsert_existing_objects=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace, labels={POD_READINESS_GATE_LABEL: "enabled"}),
        opts=pulumi.ResourceOptions(parent=parent, provider=adopting, depends_on=[controller], retain_on_delete=True),
    )


def ingress_status(
    name: str,
    ingress_id: pulumi.Output[str],
    kubernetes: k8s.Provider,
    release: pulumi.Resource,
    parent: pulumi.Resource,
) -> pulumi.Output[Any]:
    """The app's Ingress status once the controller has written the ALB's address into it, waiting a bounded time.

    The chart's release creates the Ingress, and Helm does not wait for its status; pulumi-kubernetes awaits an
    Ingress's address only for an Ingress Pulumi itself creates or updates (provider/pkg/await/ingress.go,
    DefaultIngressTimeoutMins = 10). A ``.get`` returns the object as it is, without that await
    (provider/pkg/await/await.go, ``Read``: "If the resource is read from a .get or an import, simply return the
    resource state from the cluster"). So the Ingress is read with ``.get`` until its status has a hostname, every
    INGRESS_POLL_SECONDS for at most INGRESS_WAIT_SECONDS, with a progress message on the component. Each retry
    is a new read (``<name>-ingress-<n>``): a read resource is never deleted from the cluster, and reads an
    update no longer makes just leave the state. Past the bound `up` still succeeds, with a warning and an
    empty url (`make address` reads the Ingress again later). A preview reads once and never waits."""
    attempts = 1 if pulumi.runtime.is_dry_run() else INGRESS_WAIT_SECONDS // INGRESS_POLL_SECONDS + 1

    async def poll(identifier: str) -> Any:
        status: Any = None
        for attempt in range(attempts):
            ingress = k8s.networking.v1.Ingress.get(
                f"{name}-ingress" if attempt == 0 else f"{name}-ingress-{attempt}",
                identifier,
                opts=pulumi.ResourceOptions(parent=parent, provider=kubernetes, depends_on=[release]),
            )
            status = await ingress.status.future()
            if alb_hostname(status) or attempt + 1 == attempts:
                break
            pulumi.log.info(
                f"waiting for the load balancer controller to write the ALB's address into Ingress {identifier} "
                f"({attempt * INGRESS_POLL_SECONDS} s of at most {INGRESS_WAIT_SECONDS} s)",
                resource=parent,
            )
            await wait(INGRESS_POLL_SECONDS)
        if not alb_hostname(status) and attempts > 1:
            pulumi.log.warn(
                f"Ingress {identifier} has no address after {INGRESS_WAIT_SECONDS} s: the url output is empty. "
                "See why with `kubectl -n kube-system logs deploy/aws-load-balancer-controller` and "
                f"`kubectl -n {identifier.split('/')[0]} describe ingress`; `make address` reads it again later.",
                resource=parent,
            )
        return status

    return ingress_id.apply(lambda identifier: pulumi.Output.from_input(asyncio.ensure_future(poll(identifier))))


class Backend(pulumi.ComponentResource):
    """Network, cluster, nodes, controllers, image and the app, in the order AWS and Kubernetes need them."""

    def __init__(self, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flask-platform:backends:Eks", name, None, opts)
        settings = spec.settings_as(EksSettings)
        region = aws_region()
        tags = dict(spec.tags)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition

        vpc = create_vpc(name, settings, region, tags, parent=self)
        cluster = create_cluster(
            name,
            settings,
            vpc,
            tags,
            parent=self,
            log_group=control_plane_log_group(name, settings, spec.log_retention_days, tags, parent=self),
        )
        nodes = create_node_group(
            name,
            settings,
            cluster,
            vpc,
            node_role(name, partition, tags, parent=self),
            node_launch_template(name, settings, tags, parent=self),
            tags,
            parent=self,
        )
        kubernetes = k8s.Provider(
            f"{name}-kubernetes", kubeconfig=cluster.kubeconfig_json, opts=pulumi.ResourceOptions(parent=self)
        )
        storage = Storage(
            name, tags=tags, deletion_protection=spec.deletion_protection, opts=pulumi.ResourceOptions(parent=self)
        )

        def role_for(role_name: str, namespace: str, service_account: str, policy: pulumi.Input[Any]) -> IrsaRole:
            return irsa_role(
                f"{name}-{role_name}",
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer=cluster.oidc_issuer,
                namespace=namespace,
                service_account=service_account,
                policy=policy,
                tags=tags,
                parent=self,
            )

        controller_role = role_for(
            "lb-controller",
            addons.SYSTEM_NAMESPACE,
            addons.LOAD_BALANCER_CONTROLLER.service_account,
            addons.load_balancer_controller_policy(),
        )
        autoscaler_role = role_for(
            "cluster-autoscaler",
            addons.SYSTEM_NAMESPACE,
            addons.CLUSTER_AUTOSCALER.service_account,
            pulumi.Output.all(partition, account_id).apply(
                lambda found: addons.cluster_autoscaler_policy(settings.cluster_name, found[0], region, found[1])
            ),
        )
        app_role = role_for(
            "app",
            settings.namespace,
            spec.name,  # the chart's service account: serviceAccount.name below
            pulumi.Output.all(storage.table.arn, storage.bucket.arn).apply(
                lambda arns: {"Version": "2012-10-17", "Statement": app_policy_statements(arns[0], arns[1])}
            ),
        )
        reconciler_role = role_for(
            "reconciler",
            settings.namespace,
            reconciler_service_account(spec),
            pulumi.Output.all(storage.table.arn, storage.bucket.arn).apply(
                lambda arns: {"Version": "2012-10-17", "Statement": reconciler_policy_statements(arns[0], arns[1])}
            ),
        )

        # The controller's chart registers a Service mutating webhook (failure policy Fail) whose pods start with
        # it: a Service created before they are Ready is refused ("no endpoints available for service
        # aws-load-balancer-webhook-service") and an atomic release rolls back. So its release waits for its pods
        # (addons.release) and every other release, each of which creates Services, starts after it.
        controller = addons.release(
            name,
            addons.LOAD_BALANCER_CONTROLLER,
            pulumi.Output.all(vpc.vpc_id, controller_role.role.arn).apply(
                lambda found: addons.load_balancer_controller_values(settings.cluster_name, region, found[0], found[1])
            ),
            kubernetes,
            self,
            depends_on=[nodes, *controller_role.resources],  # its permissions outlive it: it deletes the ALB
        )
        metrics_server = addons.release(
            name,
            addons.METRICS_SERVER,
            addons.metrics_server_values(),
            kubernetes,
            self,
            depends_on=[nodes, controller],
        )
        addons.release(
            name,
            addons.CLUSTER_AUTOSCALER,
            autoscaler_role.role.arn.apply(
                lambda arn: addons.cluster_autoscaler_values(
                    settings.cluster_name, region, settings.kubernetes_version, arn
                )
            ),
            kubernetes,
            self,
            depends_on=[nodes, *autoscaler_role.resources, controller],
        )

        image: AppImage = (
            prebuilt(settings.image)
            if settings.image
            else build_and_push(name, settings.architecture, spec.deletion_protection, tags, parent=self)
        )
        acl = (
            waf.rate_limit_acl(
                name,
                settings.waf_rate_limit,
                settings.waf_rate_window_seconds,
                tags,
                pulumi.ResourceOptions(parent=self),
            )
            if settings.waf_rate_limit
            else None
        )
        values = pulumi.Output.all(
            image.repository,
            image.tag,
            image.digest,
            storage.table.name,
            storage.bucket.bucket,
            app_role.role.arn,
            reconciler_role.role.arn,
            acl.arn if acl is not None else "",
        ).apply(
            lambda found: chart_values(
                spec,
                AppImage(repository=found[0], tag=found[1], digest=found[2]),
                region,
                found[3],
                found[4],
                found[5],
                reconciler_role_arn=found[6],
                waf_acl_arn=found[7] or None,
            )
        )
        namespace = app_namespace(name, settings.namespace, cluster.kubeconfig_json, controller, parent=self)
        app = release_app(
            name,
            spec,
            namespace.metadata.name,
            values,
            kubernetes,
            parent=self,
            depends_on=[namespace, controller, metrics_server, *app_role.resources, *reconciler_role.resources],
            create_namespace=False,
        )
        # The ID is known once the release is done (an unknown ID at preview skips the reads).
        status = ingress_status(
            name, app.status.apply(lambda _: f"{settings.namespace}/{spec.name}"), kubernetes, app, parent=self
        )
        https = bool(settings.certificate_arn)
        hostname = status.apply(alb_hostname)
        # eks.hostname (its owner points it at the ALB; a certificate must cover it), else the ALB's own name.
        scheme = "https" if https else "http"
        url = f"{scheme}://{settings.hostname}" if settings.hostname else status.apply(lambda s: alb_url(s, https))
        self.deployment = Deployment(
            url=url,
            backend="eks",
            table_name=storage.table.name,
            bucket_name=storage.bucket.bucket,
            scaling=scaling_output(settings, metrics_resolution_seconds=HPA_SYNC_SECONDS),
            extras={
                "kubeconfig": pulumi.Output.secret(cluster.kubeconfig_json),
                "clusterName": settings.cluster_name,
                "namespace": settings.namespace,
                "releaseName": app.name,
                "region": region,
                "https": https,  # make address builds the URL from the Ingress when `url` was not known yet
                "albHostname": hostname,  # where eks.hostname's DNS record must point
            },
        )
        self.register_outputs(self.deployment.outputs())


plugin = BackendPlugin(
    name="eks",
    settings=EksSettings,
    factory=Backend,
    description="EKS with an ALB, a HorizontalPodAutoscaler and cluster-autoscaler, in a new VPC.",
    moved_keys=MOVED_KEYS,
)
