"""FlaskPlatform: the whole platform as one Pulumi component, usable from any Pulumi language.

Pulumi infers the package schema from this module's type annotations and
docstrings (``pulumi.provider.experimental``): every attribute's docstring
below becomes the package's documentation. Inputs are plain values, known at
preview, because they choose what is created. Arguments are checked by the
same code, with the same messages, as the stack config of this repository's
own program (``backends/config.py``): the root ``__main__.py`` translates its
config into these args and uses this component too.

No ``from __future__ import annotations`` here: the schema analyzer reads the
annotations as live types.
"""

import enum
from typing import Any, Required, TypedDict

import pulumi

from backends import load_backend
from backends.base import AppSpec, Deployment
from backends.config import parse, stack_region

TYPE_TOKEN = "flask-platform:index:FlaskPlatform"  # noqa: S105 - a type token, not a secret


class BackendName(enum.StrEnum):
    """Where the app runs."""

    LAMBDA = "lambda"
    """AWS Lambda behind an API Gateway HTTP API."""
    EKS = "eks"
    """EKS with an ALB, a HorizontalPodAutoscaler and cluster-autoscaler, in a new VPC."""
    MINIKUBE = "minikube"
    """The Helm chart on Minikube, with DynamoDB and S3 in LocalStack or any AWS emulator."""


class ScalingArgs(TypedDict, total=False):
    """How the app scales on the Kubernetes backends."""

    min_replicas: int
    """Fewest app pods the HorizontalPodAutoscaler keeps (1-100, default 2)."""
    max_replicas: int
    """Most app pods the HorizontalPodAutoscaler may run (1-500, default 10; not below min_replicas)."""
    cpu_target_percent: int
    """Average CPU utilisation the HorizontalPodAutoscaler aims for (10-95, default 70)."""


class LambdaArgs(TypedDict, total=False):
    """The function and its API on the lambda backend."""

    runtime: str
    """Lambda runtime: python3.12 (default) or python3.13; the package is built for it."""
    architecture: str
    """arm64 (default) or x86_64; the package's wheels are chosen for it."""
    memory_mb: int
    """Memory in MB (128-10240, default 512); CPU grows with it."""
    timeout_seconds: int
    """Timeout in seconds (1-29, default 15): API Gateway gives up at 30."""
    reserved_concurrency: int
    """Reserved concurrency, a floor and a cap; -1 (default): the shared pool; 0 is refused (it throttles every
    request). AWS keeps 100 unreserved: a default account (quota 1000) reserves at most 900; more needs a raised
    quota."""
    throttle_rate_limit: int
    """API Gateway steady-state requests per second for the API's routes (default 100)."""
    throttle_burst_limit: int
    """API Gateway burst capacity for the API's routes (default 200)."""


class MinikubeArgs(TypedDict, total=False):
    """The cluster and the emulator on the minikube backend."""

    context: str
    """The kube context to deploy to (default minikube)."""
    namespace: str
    """The Kubernetes namespace of the release (default users-api)."""
    image: str
    """The app image built into Minikube by make minikube-image (default flask-platform/users-api:dev)."""
    node_port: int
    """The NodePort the app is reached on (30000-32767, default 30080)."""
    emulator_url: str
    """The AWS emulator as Pulumi reaches it (default http://localhost:4566, LocalStack's port)."""
    emulator_url_from_pods: str
    """The AWS emulator as the pods reach it (default http://host.minikube.internal:4566)."""
    minikube_ip: str
    """The output of `minikube ip`, which makes the url output; make localdev sets it."""


class EksArgs(TypedDict, total=False):
    """The network, cluster, nodes and image on the eks backend."""

    cluster_name: str
    """The EKS cluster's name (default <app_name>-<stack>)."""
    kubernetes_version: str
    """Kubernetes version: 1.33, 1.34 or 1.35 (default); cluster-autoscaler's image follows it."""
    availability_zones: int
    """Availability zones the VPC spans (2-4, default 2)."""
    nat_gateways: str
    """single (default, cheapest) or onePerAz (a zone's loss does not cut the others' egress)."""
    vpc_cidr: str
    """The VPC's IPv4 block, /16 to /20 (default 10.0.0.0/16)."""
    public_access_cidrs: list[str]
    """IPv4 blocks that may reach the cluster's public API endpoint (default 0.0.0.0/0: restrict it)."""
    log_types: list[str]
    """Control-plane logs to CloudWatch: api, audit, authenticator, controllerManager, scheduler (default the first
    three; an empty list for none)."""
    instance_types: list[str]
    """Node instance types, all x86_64 or all Graviton (default t3.medium); the AMI and image follow."""
    node_min: int
    """Fewest nodes cluster-autoscaler keeps (1-100, default 2)."""
    node_desired: int
    """Nodes at creation (0, the default, means node_min); afterwards cluster-autoscaler decides, and a later
    node_min/node_max change sends its current size moved into the new bounds."""
    node_max: int
    """Most nodes cluster-autoscaler may add (1-450, default 5)."""
    node_disk_gib: int
    """Each node's encrypted gp3 root volume in GiB (20-1000, default 20)."""
    namespace: str
    """The Kubernetes namespace of the app's release (default users-api)."""
    admin_principals: list[str]
    """ARNs of IAM roles or users (not STS sessions) that get cluster admin through EKS access entries, so CI or a
    teammate can run up and destroy (default none: only the cluster's creator, whom EKS adds itself; do not list
    the creator again)."""
    image: str
    """A prebuilt app image (registry/repo:tag or @sha256:digest); empty (default): build app/Dockerfile into ECR."""
    certificate_arn: str
    """An ACM certificate ARN: the ALB then serves HTTPS and redirects HTTP to it (needs hostname)."""
    hostname: str
    """The DNS name the certificate covers, pointed at the ALB (the albHostname extra) by you; the url uses it."""


class FlaskPlatformArgs(TypedDict, total=False):
    """The platform's settings: the backend, the app's limits, and the settings of each backend."""

    backend: Required[BackendName]
    """Where the app runs: lambda, eks or minikube."""
    app_name: str
    """Prefix of every resource's name: 2-32 lower-case letters, digits and dashes (default users-api)."""
    max_avatar_bytes: int
    """Largest avatar accepted, in bytes (default 2097152; at most 4400000 on lambda, whose invoke payload is 6 MB)."""
    log_level: str
    """The app's log level: DEBUG, INFO (default), WARNING, ERROR or CRITICAL."""
    log_retention_days: int
    """Days CloudWatch keeps the logs (a CloudWatch retention value, default 14): lambda, the function's and the API's;
    eks, the control plane's (/aws/eks/<cluster>/cluster, created by the stack before the cluster)."""
    deletion_protection: bool
    """Protect the users table; destroy then retains it, the bucket and (eks) the image repository (default true)."""
    scaling: ScalingArgs
    """Scaling on the Kubernetes backends."""
    lambda_function: LambdaArgs
    """The function and its API on the lambda backend."""
    minikube: MinikubeArgs
    """The cluster and the emulator on the minikube backend."""
    eks: EksArgs
    """The network, cluster, nodes and image on the eks backend."""


class FlaskPlatform(pulumi.ComponentResource):
    """The users API with its DynamoDB table and S3 bucket, deployed by the chosen backend."""

    url: pulumi.Output[str]
    """The API's base URL: curl it, or give it to the load tests as HOST_ADDRESS."""
    backend: pulumi.Output[str]
    """The backend that deployed it."""
    table_name: pulumi.Output[str]
    """The users table's name."""
    bucket_name: pulumi.Output[str]
    """The avatar bucket's name."""
    scaling: pulumi.Output[dict[str, Any]]
    """The scaling policy in force, as the load tests read it (kind, replicas or concurrency, limits)."""
    extras: pulumi.Output[dict[str, Any]]
    """The backend's own outputs (lambda: functionName, apiId, functionLogGroup, packageBytes; minikube: namespace,
    releaseName, nodePort, kubeContext; eks: kubeconfig (secret), clusterName, namespace, releaseName, region,
    https, albHostname)."""

    def __init__(self, name: str, args: FlaskPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = parse(
            config_values(args), stack=pulumi.get_stack(), region=stack_region()
        )  # fails before any resource on bad args
        factory = load_backend(spec.backend)
        super().__init__(TYPE_TOKEN, name, {}, opts)
        self.deployment: Deployment = factory(name, spec, pulumi.ResourceOptions(parent=self)).deployment
        self.url = pulumi.Output.from_input(self.deployment.url)
        self.backend = pulumi.Output.from_input(self.deployment.backend)
        self.table_name = pulumi.Output.from_input(self.deployment.table_name)
        self.bucket_name = pulumi.Output.from_input(self.deployment.bucket_name)
        self.scaling = pulumi.Output.from_input(self.deployment.scaling).apply(dict)
        self.extras = pulumi.Output.all(**self.deployment.extras).apply(dict)
        self.register_outputs(
            {
                "url": self.url,
                "backend": self.backend,
                "tableName": self.table_name,
                "bucketName": self.bucket_name,
                "scaling": self.scaling,
                "extras": self.extras,
            }
        )


# args key -> config key, for every plain setting (nested groups flattened)
_TOP = {
    "backend": "backend",
    "app_name": "appName",
    "max_avatar_bytes": "maxAvatarBytes",
    "log_level": "logLevel",
    "log_retention_days": "logRetentionDays",
    "deletion_protection": "deletionProtection",
}
_SCALING = {"min_replicas": "minReplicas", "max_replicas": "maxReplicas", "cpu_target_percent": "cpuTargetPercent"}
_LAMBDA = {
    "runtime": "lambdaRuntime",
    "architecture": "lambdaArchitecture",
    "memory_mb": "lambdaMemoryMb",
    "timeout_seconds": "lambdaTimeoutSeconds",
    "reserved_concurrency": "lambdaReservedConcurrency",
    "throttle_rate_limit": "apiThrottleRateLimit",
    "throttle_burst_limit": "apiThrottleBurstLimit",
}


_MINIKUBE = {
    "context": "minikubeContext",
    "namespace": "namespace",
    "image": "appImage",
    "node_port": "nodePort",
    "emulator_url": "emulatorUrl",
    "emulator_url_from_pods": "emulatorUrlFromPods",
    "minikube_ip": "minikubeIp",
}


_EKS = {
    "cluster_name": "eksClusterName",
    "kubernetes_version": "eksKubernetesVersion",
    "availability_zones": "eksAvailabilityZones",
    "nat_gateways": "eksNatGateways",
    "vpc_cidr": "eksVpcCidr",
    "public_access_cidrs": "eksPublicAccessCidrs",
    "log_types": "eksLogTypes",
    "instance_types": "eksInstanceTypes",
    "node_min": "eksNodeMin",
    "node_desired": "eksNodeDesired",
    "node_max": "eksNodeMax",
    "node_disk_gib": "eksNodeDiskGib",
    "namespace": "namespace",
    "admin_principals": "eksAdminPrincipals",
    "image": "eksImage",
    "certificate_arn": "eksCertificateArn",
    "hostname": "eksHostname",
}
_GROUPS = {"scaling": _SCALING, "lambda_function": _LAMBDA, "minikube": _MINIKUBE, "eks": _EKS}
_BACKEND_GROUPS = {"lambda": "lambda_function", "minikube": "minikube", "eks": "eks"}


def _text(value: Any) -> str:
    if isinstance(value, pulumi.Output):
        raise pulumi.RunError("FlaskPlatform's arguments must be plain values known at preview, not Outputs")
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(item) for item in value) or "none"  # config's list syntax; "none" is the empty list
    return str(value)


def config_values(args: FlaskPlatformArgs) -> dict[str, str]:
    """The component's args as the stack config keys they correspond to (one validation for both paths)."""
    given: dict[str, Any] = dict(args)
    values = {key: _text(given[name]) for name, key in _TOP.items() if name in given}
    # The chosen backend's group last: where two groups map to one key (namespace), the backend's own value wins.
    chosen = _BACKEND_GROUPS.get(_text(given.get("backend", "")), "")
    for group in sorted(_GROUPS, key=lambda group: group == chosen):
        keys = _GROUPS[group]
        settings: dict[str, Any] = dict(given.get(group) or {})
        values |= {key: _text(settings[name]) for name, key in keys.items() if name in settings}
    return values


def _fields_of(settings: Any, names: dict[str, str]) -> dict[str, Any]:
    """The settings dataclass's fields that an args group holds under the same names (tuples become lists)."""
    values = {name: getattr(settings, name) for name in names}
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


def args_from_spec(spec: AppSpec) -> FlaskPlatformArgs:
    """The args equal to an already validated AppSpec: how the root program passes its config on."""
    return FlaskPlatformArgs(
        backend=BackendName(spec.backend) if spec.backend in BackendName._value2member_map_ else spec.backend,  # type: ignore[typeddict-item]
        app_name=spec.name,
        max_avatar_bytes=spec.max_avatar_bytes,
        log_level=spec.log_level,
        log_retention_days=spec.log_retention_days,
        deletion_protection=spec.deletion_protection,
        scaling=ScalingArgs(**_fields_of(spec.scaling, _SCALING)),  # type: ignore[typeddict-item]
        lambda_function=LambdaArgs(
            runtime=spec.lambda_.runtime,
            architecture=spec.lambda_.architecture,
            memory_mb=spec.lambda_.memory_mb,
            timeout_seconds=spec.lambda_.timeout_seconds,
            reserved_concurrency=-1 if spec.scaling.reserved_concurrency is None else spec.scaling.reserved_concurrency,
            throttle_rate_limit=int(spec.lambda_.throttle_rate_limit),
            throttle_burst_limit=spec.lambda_.throttle_burst_limit,
        ),
        minikube=MinikubeArgs(**_fields_of(spec.minikube, _MINIKUBE)),  # type: ignore[typeddict-item]
        eks=EksArgs(**_fields_of(spec.eks, _EKS)),  # type: ignore[typeddict-item]
    )
