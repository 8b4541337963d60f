"""The eks backend's settings: config object ``eks`` in this project's namespace
(``pulumi config set --path eks.nodeMax 6``, the key ``flask-platform:eks``; not ``eks:``, which is pulumi-eks's own
namespace), or FlaskPlatform's ``backend_config``. Each setting's type, default, bounds and description are here once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from backends.plugin import ImageReferenceText, KubernetesSettings, alb_certificate_arn, dns_hostname

# EKS versions this project pins a matching cluster-autoscaler image for (backends/eks/addons.py).
EKS_VERSIONS = ("1.33", "1.34", "1.35")
INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.[a-z0-9]+$")
# Graviton families: a "g" among the letters after the generation digit (t4g, m7g, c7gn, r6gd, is4gen), and a1.
GRAVITON_FAMILY = re.compile(r"^(a1|[a-z]+[0-9]+[a-z]*g[a-z]*)$")
EKS_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
# An IAM role (a path allowed) or user: what an EKS access entry takes; an STS session (assumed-role) is not.
IAM_PRINCIPAL_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+$"
)
ASSUMED_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<role>[^/]+)/"
)
# WAFv2 RateBasedStatement.Limit: 10 to 2,000,000,000 requests per evaluation window (the WAFv2 API reference).
MIN_WAF_RATE_LIMIT = 10
MAX_WAF_RATE_LIMIT = 2_000_000_000
WAF_WINDOWS = (60, 120, 300, 600)  # RateBasedStatement.EvaluationWindowSec
MOVED_KEYS = {  # the flat keys of earlier releases -> this object's keys
    "eksClusterName": "clusterName",
    "eksKubernetesVersion": "kubernetesVersion",
    "eksAvailabilityZones": "availabilityZones",
    "eksNatGateways": "natGateways",
    "eksVpcCidr": "vpcCidr",
    "eksPublicAccessCidrs": "publicAccessCidrs",
    "eksLogTypes": "logTypes",
    "eksInstanceTypes": "instanceTypes",
    "eksNodeMin": "nodeMin",
    "eksNodeDesired": "nodeDesired",
    "eksNodeMax": "nodeMax",
    "eksNodeDiskGib": "nodeDiskGib",
    "eksAdminPrincipals": "adminPrincipals",
    "eksImage": "image",
    "eksCertificateArn": "certificateArn",
    "eksHostname": "hostname",
    "namespace": "namespace",
    "minReplicas": "minReplicas",
    "maxReplicas": "maxReplicas",
    "cpuTargetPercent": "cpuTargetPercent",
}


def _listing(value: Any) -> Any:
    """A list from config: a YAML list (``--path eks.logTypes[0]``), or a comma-separated string; "none" is empty."""
    if isinstance(value, str):
        return [] if value.strip().lower() == "none" else [item.strip() for item in value.split(",") if item.strip()]
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block ({error})") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
Listing = BeforeValidator(_listing)
LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


def instance_architecture(instance_types: tuple[str, ...]) -> str:
    """arm64 for Graviton types, x86_64 otherwise; a node group's types must share one (one AMI, one image)."""
    architectures = set()
    for instance_type in instance_types:
        match = INSTANCE_TYPE.match(instance_type)
        if not match:
            raise ValueError(f"{instance_type!r} is not an EC2 instance type (e.g. t3.medium)")
        architectures.add("arm64" if GRAVITON_FAMILY.match(match["family"]) else "x86_64")
    if len(architectures) > 1:
        raise ValueError(
            f"{','.join(instance_types)} mixes arm64 (Graviton) and x86_64 types; one node group runs one AMI and one "
            "image: list only x86_64 types (t3.medium,t3a.medium) or only Graviton ones (t4g, m7g, ...)"
        )
    return architectures.pop()


class EksSettings(KubernetesSettings):
    """The network, cluster, nodes and image on the eks backend."""

    cluster_name: str = Field(
        "", description="The EKS cluster's name (default <appName>-<stack>).", examples=["users-api-prod"]
    )
    kubernetes_version: Literal["1.33", "1.34", "1.35"] = Field(
        "1.35", description="Kubernetes version; cluster-autoscaler's image follows it."
    )
    # EKS needs subnets in two zones at least; past four, awsx's per-zone block (prefix + ceil(log2(zones)))
    # is no bigger than the private subnet itself, and the plan fails with "Subnets are too large for VPC".
    availability_zones: int = Field(2, ge=2, le=4, description="Availability zones the VPC spans.")
    nat_gateways: Literal["single", "onePerAz"] = Field(
        "single", description="single (cheapest) or onePerAz (a zone's loss does not cut the others' egress)."
    )
    vpc_cidr: Cidr = Field("10.0.0.0/16", description="The VPC's IPv4 block, /16 to /20.")
    public_access_cidrs: Annotated[tuple[Cidr, ...], Listing] = Field(
        ("0.0.0.0/0",),
        min_length=1,
        description="IPv4 blocks that may reach the cluster's public API endpoint (restrict it).",
        examples=[["203.0.113.0/24"]],
    )
    log_types: Annotated[tuple[LogType, ...], Listing] = Field(
        ("api", "audit", "authenticator"), description="Control-plane logs to CloudWatch ([] for none)."
    )
    instance_types: Annotated[tuple[str, ...], Listing] = Field(
        ("t3.medium",), min_length=1, description="Node instance types, all x86_64 or all Graviton."
    )
    node_min: int = Field(2, ge=1, le=100, description="Fewest nodes cluster-autoscaler keeps.")
    node_desired: int = Field(
        0, ge=0, le=450, description="Nodes at creation (0: nodeMin); afterwards cluster-autoscaler decides."
    )
    node_max: int = Field(5, ge=1, le=450, description="Most nodes cluster-autoscaler may add.")
    node_disk_gib: int = Field(20, ge=20, le=1000, description="Each node's encrypted gp3 root volume in GiB.")
    # IAM roles/users given cluster admin through EKS access entries (beside the creator, whom EKS adds itself)
    admin_principals: Annotated[tuple[str, ...], Listing] = Field(
        (),
        description="ARNs of IAM roles or users (not STS sessions) given cluster admin through access entries.",
        examples=[["arn:aws:iam::123456789012:role/ci-deployer"]],
    )
    image: ImageReferenceText = Field(
        "",
        description="A prebuilt app image; empty: build app/Dockerfile into a new ECR repository.",
        examples=["123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:1.0.0"],
    )
    certificate_arn: str = Field(
        "",
        description="An ACM certificate of the stack's region: the ALB then serves HTTPS (needs hostname).",
        examples=["arn:aws:acm:<region>:<account>:certificate/<id>"],
    )
    hostname: str = Field(
        "",
        description="The DNS name the certificate covers, pointed at the ALB by its owner.",
        examples=["api.example.com"],
    )
    waf_rate_limit: int = Field(
        0,
        ge=0,
        le=MAX_WAF_RATE_LIMIT,
        description="Requests one client IP may send per wafRateWindowSeconds before a WAF web ACL in front of the "
        f"ALB answers it 429; 0: no web ACL. WAF's own bounds: {MIN_WAF_RATE_LIMIT} to {MAX_WAF_RATE_LIMIT}.",
        examples=[1000],
    )
    waf_rate_window_seconds: int = Field(
        300, description="The window wafRateLimit counts over (WAF's evaluation windows: 60, 120, 300 or 600 s)."
    )
    architecture: str = Field("x86_64", exclude=True, description="Derived from instanceTypes; not a setting.")

    @field_validator("waf_rate_limit")
    @classmethod
    def _waf_limit(cls, value: int) -> int:
        if 0 < value < MIN_WAF_RATE_LIMIT:
            raise ValueError(
                f"WAF's rate-based rules count from {MIN_WAF_RATE_LIMIT} requests per window: use "
                f"{MIN_WAF_RATE_LIMIT} or more, or 0 for no web ACL"
            )
        return value

    @field_validator("waf_rate_window_seconds")
    @classmethod
    def _waf_window(cls, value: int) -> int:
        if value not in WAF_WINDOWS:
            raise ValueError(f"not a WAF evaluation window: use one of {', '.join(map(str, WAF_WINDOWS))}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derived(cls, values: Any, info: ValidationInfo) -> Any:
        """The cluster's default name (after the app and the stack); the architecture is never given."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if "architecture" in values:
            raise ValueError("architecture is not a setting: it follows instanceTypes")
        context = info.context or {}
        if not values.get("clusterName") and not values.get("cluster_name"):
            app, stack = context.get("app_name", "users-api"), context.get("stack", "dev")
            values["clusterName"] = re.sub(r"[^A-Za-z0-9-]", "-", f"{app}-{stack}")[:100]
        return values

    @field_validator("cluster_name")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        if not EKS_CLUSTER_NAME.match(value):
            raise ValueError("must be 1-100 letters, digits, dashes and underscores, starting with a letter or digit")
        return value

    @field_validator("instance_types")
    @classmethod
    def _one_architecture(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        instance_architecture(value)
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: str) -> str:
        if not 16 <= ipaddress.IPv4Network(value).prefixlen <= 20:
            raise ValueError(
                "must be a /16 to /20 block: each zone needs a public and a private subnet with room for a pod IP "
                "per pod"
            )
        return value

    @field_validator("admin_principals")
    @classmethod
    def _principals(cls, principals: tuple[str, ...]) -> tuple[str, ...]:
        for principal in principals:
            if session := ASSUMED_ROLE_ARN.match(principal):
                role = f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}"
                raise ValueError(
                    f"{principal!r} is an STS session, which an access entry cannot name; use the role's own ARN "
                    f"(with its path, if any): {role}"
                )
            if not IAM_PRINCIPAL_ARN.match(principal):
                raise ValueError(f"{principal!r} is not the ARN of an IAM role or user")
        if len(set(principals)) != len(principals):
            raise ValueError("lists a principal twice (EKS allows one access entry per principal)")
        return principals

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str, info: ValidationInfo) -> str:
        return alb_certificate_arn(value, info)

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        return dns_hostname(value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        object.__setattr__(self, "architecture", instance_architecture(self.instance_types))
        if self.certificate_arn and not self.hostname:
            raise ValueError(
                "certificateArn needs hostname, the name the certificate covers (no certificate covers the ALB's own "
                "*.elb.amazonaws.com name): set hostname to it (e.g. api.example.com), then point that name at the "
                "ALB (the albHostname output)"
            )
        # What EKS is sent (backends/eks/cluster.py, node_scaling): these three when the node group is created;
        # later min and max with the autoscaler's desired size moved into them, so only min <= max matters after
        # creation. nodeDesired is checked too because it is used as given when the group is (re)created.
        desired = self.node_desired or self.node_min
        if not self.node_min <= desired <= self.node_max:
            raise ValueError(
                f"the node group needs nodeMin <= nodeDesired <= nodeMax, got {self.node_min} <= {desired} <= "
                f"{self.node_max} (nodeDesired, 0 for nodeMin, is the size at creation only; later the autoscaler's "
                f"size, moved into the bounds, is sent): raise nodeMax to {max(self.node_min, desired)} or lower the "
                "others"
            )
        object.__setattr__(self, "node_desired", desired)
        return self
