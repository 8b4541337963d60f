"""Stack configuration, parsed once and validated, with the defaults in code.

Pulumi.yaml documents every key, but its defaults do not apply under unit-test
mocks, so the defaults that count are the ones here. Every problem names the
key and the command that fixes it, and stops the program before any resource
is created.

Note: ``backend`` here is this project's key (``flask-platform:backend``), set
with ``pulumi config set backend lambda``; it is not Pulumi's state
``backend:`` in Pulumi.yaml.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

import pulumi

from .base import AppSpec, EksSettings, LambdaSettings, MinikubeSettings, ScalingPolicy

PROJECT = "flask-platform"
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# python3.12+ run on Amazon Linux 2023 (glibc 2.34); python3.11's Amazon Linux 2 (glibc 2.26) cannot load the
# manylinux_2_28 wheels the pinned Pillow ships.
LAMBDA_RUNTIMES = ("python3.12", "python3.13")
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# Lambda's synchronous invoke payload is 6 MB; API Gateway base64-encodes binary bodies (4/3 larger),
# and the multipart envelope and event JSON need room: about 4.4 MB of raw upload fit.
LAMBDA_MAX_AVATAR_BYTES = 4_400_000
# API Gateway HTTP API waits at most 30 s for its integration; the function must answer before that.
LAMBDA_MAX_TIMEOUT_SECONDS = 29

# EKS versions this project pins a matching cluster-autoscaler image for (backends/eks/addons.py).
EKS_VERSIONS = ("1.33", "1.34", "1.35")
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NAT_GATEWAY_CHOICES = ("single", "onePerAz")
INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.[a-z0-9]+$")
# Graviton families: a "g" among the letters after the generation digit (t4g, m7g, c7gn, r6gd, is4gen), and a1.
GRAVITON_FAMILY = re.compile(r"^(a1|[a-z]+[0-9]+[a-z]*g[a-z]*)$")
EKS_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_IMAGE_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(  # [registry[:port]/]path[:tag][@sha256:digest], as docker reads references
    rf"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?{_IMAGE_PATH_PART}(?:/{_IMAGE_PATH_PART})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# An IAM role (a path allowed) or user: what an EKS access entry takes; an STS session (assumed-role) is not.
IAM_PRINCIPAL_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+$"
)
ASSUMED_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<role>[^/]+)/"
)
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]+$")
# Lambda's ReservedConcurrentExecutions: 0 is accepted by AWS but throttles every invoke. The ceiling is the account's
# concurrency quota minus the 100 AWS keeps unreserved: 900 with the default quota of 1,000, more where the quota was
# raised. The quota is not known here, so only what is invalid whatever the quota is refused (see parse()).
LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY = 1000
LAMBDA_UNRESERVED_MINIMUM = 100
LAMBDA_MAX_RESERVED_CONCURRENCY = 1_000_000  # a bound against typos only; AWS checks the account's real quota

T = TypeVar("T")


class ConfigError(pulumi.RunError):
    """A config value is missing or wrong; the message names the key and the fix."""


class _Reader:
    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get

    def text(self, key: str, default: str) -> str:
        value = self._get(key)
        return default if value is None or value.strip() == "" else value.strip()

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        raw = self._get(key)
        if raw is None or raw.strip() == "":
            return default
        if not re.fullmatch(r"-?[0-9]+", raw.strip()):
            raise ConfigError(f"{key}={raw!r} is not a whole number: `pulumi config set {key} {default}`")
        value = int(raw)
        if not low <= value <= high:
            raise ConfigError(f"{key}={value} is out of range {low}..{high}: `pulumi config set {key} {default}`")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        raw = self._get(key)
        if raw is None or raw.strip() == "":
            return default
        if raw.strip().lower() not in {"true", "false"}:
            raise ConfigError(f"{key}={raw!r} is not true or false: `pulumi config set {key} {str(default).lower()}`")
        return raw.strip().lower() == "true"

    def listing(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A comma-separated list (Pulumi config values are strings); "none" is the empty list."""
        raw = self._get(key)
        if raw is None or raw.strip() == "":
            return default
        if raw.strip().lower() == "none":
            return ()
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def choice(self, key: str, default: str, allowed: tuple[T, ...], convert: Callable[[str], T]) -> T:
        raw = self.text(key, default)
        value: T | None
        try:
            value = convert(raw)
        except ValueError:
            value = None
        if value is None or value not in allowed:
            listed = ", ".join(str(option) for option in allowed)
            raise ConfigError(
                f"{key}={raw!r} is not allowed: use one of {listed} (`pulumi config set {key} {default}`)"
            )
        return value


def _kubernetes_name(value: str, key: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise ConfigError(
            f"{key}={value!r} is not a Kubernetes name (lower-case letters, digits, dashes): "
            f"`pulumi config set {key} users-api`"
        )
    return value


def _url(value: str, key: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(:[0-9]+)?/?", value):
        raise ConfigError(
            f"{key}={value!r} is not an http(s) URL of a host: `pulumi config set {key} http://localhost:4566`"
        )
    return value.rstrip("/")


def _cidrs(values: tuple[str, ...], key: str, example: str) -> tuple[str, ...]:
    for value in values:
        try:
            ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ConfigError(
                f"{key}: {value!r} is not an IPv4 CIDR block ({error}): `pulumi config set {key} {example}`"
            ) from None
    return values


def _instance_architecture(instance_types: tuple[str, ...]) -> str:
    """arm64 for Graviton types, x86_64 otherwise; a node group's types must share one (one AMI, one image)."""
    if not instance_types:
        raise ConfigError("eksInstanceTypes is empty: `pulumi config set eksInstanceTypes t3.medium`")
    architectures = set()
    for instance_type in instance_types:
        match = INSTANCE_TYPE.match(instance_type)
        if not match:
            raise ConfigError(
                f"eksInstanceTypes: {instance_type!r} is not an EC2 instance type: "
                "`pulumi config set eksInstanceTypes t3.medium,t3a.medium`"
            )
        architectures.add("arm64" if GRAVITON_FAMILY.match(match["family"]) else "x86_64")
    if len(architectures) > 1:
        raise ConfigError(
            f"eksInstanceTypes={','.join(instance_types)} mixes arm64 (Graviton) and x86_64 types; one node group "
            "runs one AMI and one image: `pulumi config set eksInstanceTypes t3.medium,t3a.medium` (or t4g, m7g, ...)"
        )
    return architectures.pop()


def stack_region() -> str | None:
    """The stack's AWS region: ``aws:region``, else the AWS SDK's variables; None when none is set."""
    return pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _admin_principals(principals: tuple[str, ...]) -> tuple[str, ...]:
    example = "arn:aws:iam::123456789012:role/ci-deployer"
    for principal in principals:
        session = ASSUMED_ROLE_ARN.match(principal)
        if session:
            role = f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}"
            raise ConfigError(
                f"eksAdminPrincipals: {principal!r} is an STS session, which an access entry cannot name; use the "
                f"role's own ARN (with its path, if any): `pulumi config set eksAdminPrincipals {role}`"
            )
        if not IAM_PRINCIPAL_ARN.match(principal):
            raise ConfigError(
                f"eksAdminPrincipals: {principal!r} is not the ARN of an IAM role or user: "
                f"`pulumi config set eksAdminPrincipals {example}` (comma-separated for several)"
            )
    if len(set(principals)) != len(principals):
        raise ConfigError(
            f"eksAdminPrincipals lists a principal twice (EKS allows one access entry per principal): "
            f"`pulumi config set eksAdminPrincipals {','.join(dict.fromkeys(principals))}`"
        )
    return principals


def _eks(read: _Reader, app_name: str, stack: str, region: str | None) -> EksSettings:
    default_cluster = re.sub(r"[^A-Za-z0-9-]", "-", f"{app_name}-{stack}")[:100]
    cluster_name = read.text("eksClusterName", default_cluster)
    if not EKS_CLUSTER_NAME.match(cluster_name):
        raise ConfigError(
            f"eksClusterName={cluster_name!r} must be 1-100 letters, digits, dashes and underscores, starting with a "
            f"letter or digit: `pulumi config set eksClusterName {default_cluster}`"
        )
    vpc_cidr = _cidrs((read.text("eksVpcCidr", "10.0.0.0/16"),), "eksVpcCidr", "10.0.0.0/16")[0]
    if not 16 <= ipaddress.IPv4Network(vpc_cidr).prefixlen <= 20:
        raise ConfigError(
            f"eksVpcCidr={vpc_cidr} must be a /16 to /20 block: each zone needs a public and a private subnet with "
            "room for a pod IP per pod: `pulumi config set eksVpcCidr 10.0.0.0/16`"
        )
    public_access_cidrs = read.listing("eksPublicAccessCidrs", ("0.0.0.0/0",))
    if not public_access_cidrs:
        raise ConfigError(
            "eksPublicAccessCidrs is empty: list who may reach the cluster's API, e.g. your office's block: "
            "`pulumi config set eksPublicAccessCidrs 203.0.113.0/24`"
        )
    _cidrs(public_access_cidrs, "eksPublicAccessCidrs", "203.0.113.0/24")
    log_types = read.listing("eksLogTypes", ("api", "audit", "authenticator"))
    for log_type in log_types:
        if log_type not in EKS_LOG_TYPES:
            raise ConfigError(
                f"eksLogTypes: {log_type!r} is not a control-plane log type: use some of {', '.join(EKS_LOG_TYPES)}, "
                "or none (`pulumi config set eksLogTypes api,audit,authenticator`)"
            )
    instance_types = read.listing("eksInstanceTypes", ("t3.medium",))
    architecture = _instance_architecture(instance_types)
    node_min = read.integer("eksNodeMin", 2, 1, 100)
    node_max = read.integer("eksNodeMax", 5, 1, 450)
    node_desired = read.integer("eksNodeDesired", 0, 0, 450) or node_min  # 0: as many as the minimum
    # What EKS is sent (backends/eks/cluster.py, node_scaling): these three when the node group is created; later
    # min and max with the autoscaler's desired size moved into them, so only min <= max matters after creation.
    # eksNodeDesired is checked too because it is used as given when the group is (re)created.
    if not node_min <= node_desired <= node_max:
        raise ConfigError(
            f"the node group needs eksNodeMin <= eksNodeDesired <= eksNodeMax, got {node_min} <= {node_desired} <= "
            f"{node_max} (eksNodeDesired, 0 for eksNodeMin, is the size at creation only; later the autoscaler's "
            f"size, moved into the bounds, is sent): `pulumi config set eksNodeMax {max(node_min, node_desired)}` "
            "or lower the others"
        )
    admin_principals = _admin_principals(read.listing("eksAdminPrincipals", ()))
    image = read.text("eksImage", "")
    if image and not IMAGE_REFERENCE.match(image):
        raise ConfigError(
            f"eksImage={image!r} is not an image reference (registry/repository:tag or @sha256:digest): "
            "`pulumi config set eksImage 123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:1.0.0`, "
            "or `pulumi config rm eksImage` to build app/Dockerfile"
        )
    certificate_arn = read.text("eksCertificateArn", "")
    certificate = CERTIFICATE_ARN.match(certificate_arn)
    if certificate_arn and not certificate:
        raise ConfigError(
            f"eksCertificateArn={certificate_arn!r} is not an ACM certificate ARN "
            "(arn:aws:acm:<region>:<account>:certificate/<id>): `pulumi config rm eksCertificateArn` for HTTP only"
        )
    if certificate and region and certificate["region"] != region:
        # An ALB can only use an ACM certificate of its own region; the controller would fail to make the listener.
        raise ConfigError(
            f"eksCertificateArn is a certificate in {certificate['region']}, but the stack (aws:region) is in "
            f"{region}: an ALB only uses certificates of its own region. Request or import one in {region}, then "
            f"`pulumi config set eksCertificateArn arn:aws:acm:{region}:<account>:certificate/<id>`"
        )
    hostname = read.text("eksHostname", "").lower().rstrip(".")
    if hostname and not HOSTNAME.match(hostname):
        raise ConfigError(
            f"eksHostname={hostname!r} is not a DNS name: `pulumi config set eksHostname api.example.com`"
        )
    if certificate_arn and not hostname:
        raise ConfigError(
            "eksCertificateArn needs eksHostname, the name the certificate covers (no certificate covers the "
            "ALB's own *.elb.amazonaws.com name): `pulumi config set eksHostname api.example.com`, then point that "
            "name at the ALB (the albHostname output)"
        )
    return EksSettings(
        cluster_name=cluster_name,
        kubernetes_version=read.choice("eksKubernetesVersion", "1.35", EKS_VERSIONS, str),
        # EKS needs subnets in two zones at least; past four, awsx's per-zone block (prefix + ceil(log2(zones)))
        # is no bigger than the private subnet itself, and the plan fails with "Subnets are too large for VPC".
        availability_zones=read.integer("eksAvailabilityZones", 2, 2, 4),
        nat_gateways=read.choice("eksNatGateways", "single", NAT_GATEWAY_CHOICES, str),
        vpc_cidr=vpc_cidr,
        public_access_cidrs=public_access_cidrs,
        log_types=log_types,
        instance_types=instance_types,
        node_min=node_min,
        node_desired=node_desired,
        node_max=node_max,
        node_disk_gib=read.integer("eksNodeDiskGib", 20, 20, 1000),
        namespace=_kubernetes_name(read.text("namespace", "users-api"), "namespace"),
        admin_principals=admin_principals,
        image=image,
        certificate_arn=certificate_arn,
        hostname=hostname,
        architecture=architecture,
    )


def _unreserved_as_none(value: int) -> int | None:
    """-1, as in Lambda's own API, means no reserved concurrency: the account's shared pool."""
    return None if value == -1 else value


def _reserved_concurrency(read: _Reader) -> int | None:
    reserved = read.integer("lambdaReservedConcurrency", -1, -1, LAMBDA_MAX_RESERVED_CONCURRENCY)
    if reserved == 0:
        raise ConfigError(
            "lambdaReservedConcurrency=0 lets no invocation run: every request is throttled (429). "
            "`pulumi config set lambdaReservedConcurrency -1` for the account's shared pool, or a positive number "
            "to reserve (and cap) that many concurrent executions"
        )
    return _unreserved_as_none(reserved)


def reserved_concurrency_note(reserved: int | None) -> str | None:
    """What a reservation above a default account's ceiling needs; None when any account can grant it.

    Not refused: accounts whose concurrency quota was raised may reserve more. AWS refuses the function's
    update at deploy time when the quota is too small, so the note says where to look first."""
    ceiling = LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY - LAMBDA_UNRESERVED_MINIMUM
    if reserved is None or reserved <= ceiling:
        return None
    return (
        f"lambdaReservedConcurrency={reserved} needs an account concurrency quota of at least "
        f"{reserved + LAMBDA_UNRESERVED_MINIMUM} (AWS keeps {LAMBDA_UNRESERVED_MINIMUM} unreserved; the default "
        f"quota is {LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY}, so {ceiling} is the most a default account reserves). "
        "Check Service Quotas > AWS Lambda > Concurrent executions in this region, or "
        f"`pulumi config set lambdaReservedConcurrency {ceiling}`"
    )


def parse(values: Mapping[str, str], stack: str = "dev", region: str | None = None) -> AppSpec:
    """An AppSpec from config values keyed without the project prefix (``backend``, ``lambdaMemoryMb``, ...).

    ``region`` is the stack's AWS region when known (``stack_region()``): settings tied to a region are checked
    against it."""
    read = _Reader(values.get)
    backend = read.text("backend", "")
    name = read.text("appName", "users-api")
    if not APP_NAME.match(name):
        raise ConfigError(
            f"appName={name!r} must be 2-32 lower-case letters, digits and dashes, starting with a letter: "
            "`pulumi config set appName users-api`"
        )
    scaling = ScalingPolicy(
        min_replicas=read.integer("minReplicas", 2, 1, 100),
        max_replicas=read.integer("maxReplicas", 10, 1, 500),
        cpu_target_percent=read.integer("cpuTargetPercent", 70, 10, 95),
        reserved_concurrency=_reserved_concurrency(read),
    )
    if scaling.min_replicas > scaling.max_replicas:
        raise ConfigError(
            f"minReplicas={scaling.min_replicas} is above maxReplicas={scaling.max_replicas}: "
            f"`pulumi config set maxReplicas {scaling.min_replicas}` or lower minReplicas"
        )
    lambda_settings = LambdaSettings(
        runtime=read.choice("lambdaRuntime", "python3.12", LAMBDA_RUNTIMES, str),
        architecture=read.choice("lambdaArchitecture", "arm64", LAMBDA_ARCHITECTURES, str),
        memory_mb=read.integer("lambdaMemoryMb", 512, 128, 10240),
        timeout_seconds=read.integer("lambdaTimeoutSeconds", 15, 1, LAMBDA_MAX_TIMEOUT_SECONDS),
        throttle_rate_limit=float(read.integer("apiThrottleRateLimit", 100, 1, 10000)),
        throttle_burst_limit=read.integer("apiThrottleBurstLimit", 200, 1, 5000),
    )
    minikube = MinikubeSettings(
        context=read.text("minikubeContext", "minikube"),
        namespace=_kubernetes_name(read.text("namespace", "users-api"), "namespace"),
        image=read.text("appImage", "flask-platform/users-api:dev"),
        node_port=read.integer("nodePort", 30080, 30000, 32767),
        emulator_url=_url(read.text("emulatorUrl", "http://localhost:4566"), "emulatorUrl"),
        emulator_url_from_pods=_url(
            read.text("emulatorUrlFromPods", "http://host.minikube.internal:4566"), "emulatorUrlFromPods"
        ),
        minikube_ip=read.text("minikubeIp", ""),
    )
    max_avatar_bytes = read.integer("maxAvatarBytes", 2 * 1024 * 1024, 1024, 64 * 1024 * 1024)
    if backend == "lambda" and max_avatar_bytes > LAMBDA_MAX_AVATAR_BYTES:
        raise ConfigError(
            f"maxAvatarBytes={max_avatar_bytes} is above what the lambda backend can receive: a Lambda invoke "
            f"payload is at most 6 MB and API Gateway base64-encodes uploads (4/3 larger), so about "
            f"{LAMBDA_MAX_AVATAR_BYTES} bytes fit: `pulumi config set maxAvatarBytes {LAMBDA_MAX_AVATAR_BYTES}`"
        )
    return AppSpec(
        name=name,
        backend=backend,
        scaling=scaling,
        max_avatar_bytes=max_avatar_bytes,
        log_level=read.choice("logLevel", "INFO", LOG_LEVELS, str.upper),
        log_retention_days=read.choice("logRetentionDays", "14", LOG_RETENTION_DAYS, int),
        deletion_protection=read.boolean("deletionProtection", True),
        tags={"project": PROJECT, "app": name, "stack": stack, "backend": backend, "managed-by": "pulumi"},
        lambda_=lambda_settings,
        minikube=minikube,
        eks=_eks(read, name, stack, region),
    )


KEYS = (
    "backend",
    "appName",
    "minReplicas",
    "maxReplicas",
    "cpuTargetPercent",
    "lambdaReservedConcurrency",
    "lambdaRuntime",
    "lambdaArchitecture",
    "lambdaMemoryMb",
    "lambdaTimeoutSeconds",
    "apiThrottleRateLimit",
    "apiThrottleBurstLimit",
    "maxAvatarBytes",
    "logLevel",
    "logRetentionDays",
    "deletionProtection",
    "minikubeContext",
    "namespace",
    "appImage",
    "nodePort",
    "emulatorUrl",
    "emulatorUrlFromPods",
    "minikubeIp",
    "eksClusterName",
    "eksKubernetesVersion",
    "eksAvailabilityZones",
    "eksNatGateways",
    "eksVpcCidr",
    "eksPublicAccessCidrs",
    "eksLogTypes",
    "eksInstanceTypes",
    "eksNodeMin",
    "eksNodeDesired",
    "eksNodeMax",
    "eksNodeDiskGib",
    "eksAdminPrincipals",
    "eksImage",
    "eksCertificateArn",
    "eksHostname",
)


def from_stack() -> AppSpec:
    """The AppSpec of the running Pulumi stack."""
    config = pulumi.Config()
    values = {key: value for key in KEYS if (value := config.get(key)) is not None}
    return parse(values, stack=pulumi.get_stack(), region=stack_region())
