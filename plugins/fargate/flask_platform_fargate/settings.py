"""The fargate backend's settings: config object ``fargate`` (``pulumi config set --path fargate.maxTasks 20``), or
FlaskPlatform's ``backend_config``. Each setting's type, default, bounds and description are declared here once."""

from __future__ import annotations

import ipaddress
from typing import Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from backends.plugin import BackendSettings, ImageReferenceText, alb_certificate_arn, dns_hostname

# The task sizes Fargate runs: vCPU -> memory (GiB), as awsx computes them (awsx/ecs/fargateMemoryAndCpu.ts,
# pulumi/pulumi-awsx at e60adf3c: 0.25 vCPU with 0.5, 1 or 2 GB; 0.5 vCPU 1-4 GB; 1 vCPU 2-8 GB; 2 vCPU 4-16 GB;
# 4 vCPU 8-30 GB, in whole GB). Larger tasks (8 and 16 vCPU) take memory in coarser steps and are not offered here.
TASK_MEMORY_MIB: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
}
# The CPU architectures of a task's runtimePlatform.cpuArchitecture; the image is built for the same one.
IMAGE_ARCHITECTURES = {"X86_64": "x86_64", "ARM64": "arm64"}


class FargateSettings(BackendSettings):
    """The service's tasks, their autoscaling, the network and the image."""

    min_tasks: int = Field(2, ge=1, le=100, description="Fewest running tasks Application Auto Scaling keeps.")
    max_tasks: int = Field(10, ge=1, le=1000, description="Most running tasks Application Auto Scaling may start.")
    cpu_target_percent: int = Field(
        70, ge=10, le=95, description="Average service CPU utilisation the target-tracking policy aims for."
    )
    scale_out_cooldown_seconds: int = Field(
        60, ge=0, le=3600, description="Seconds after a scale-out before another scale-out may start."
    )
    scale_in_cooldown_seconds: int = Field(
        300, ge=0, le=3600, description="Seconds after a scale-in before another scale-in may start."
    )
    task_cpu_units: Literal[256, 512, 1024, 2048, 4096] = Field(
        512, description="CPU units of each task (1024 = 1 vCPU)."
    )
    task_memory_mib: int = Field(
        1024, alias="taskMemoryMiB", description="Memory of each task in MiB; the CPU units decide what is valid."
    )
    architecture: Literal["X86_64", "ARM64"] = Field(
        "X86_64", description="The tasks' CPU architecture (ARM64: Graviton, cheaper); the image is built for it."
    )
    image: ImageReferenceText = Field(
        "",
        description="A prebuilt app image; empty: build app/Dockerfile into a new ECR repository.",
        examples=["123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:1.0.0"],
    )
    availability_zones: int = Field(2, ge=2, le=4, description="Availability zones the VPC (and the ALB) spans.")
    nat_gateways: Literal["single", "onePerAz"] = Field(
        "single", description="single (cheapest) or onePerAz (a zone's loss does not cut the others' egress)."
    )
    vpc_cidr: str = Field("10.0.0.0/16", description="The VPC's IPv4 block, /16 to /20.")
    certificate_arn: str = Field(
        "",
        description="An ACM certificate of the stack's region: the ALB then serves HTTPS and redirects HTTP to it "
        "(needs hostname). Empty: plain HTTP only.",
        examples=["arn:aws:acm:<region>:<account>:certificate/<id>"],
    )
    hostname: str = Field(
        "", description="The DNS name the certificate covers, pointed at the ALB (albHostname) by its owner."
    )

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str, info: ValidationInfo) -> str:
        return alb_certificate_arn(value, info)

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        return dns_hostname(value)

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_block(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"is not an IPv4 CIDR block ({error})") from None
        if not 16 <= network.prefixlen <= 20:
            raise ValueError("must be a /16 to /20 block: each zone needs a public and a private subnet")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.certificate_arn and not self.hostname:
            raise ValueError(
                "certificateArn needs hostname, the name the certificate covers (no certificate covers the ALB's own "
                "*.elb.amazonaws.com name): set hostname to it (e.g. api.example.com), then point that name at the "
                "ALB (the albHostname output)"
            )
        if self.min_tasks > self.max_tasks:
            raise ValueError(
                f"minTasks={self.min_tasks} is above maxTasks={self.max_tasks}: raise maxTasks to {self.min_tasks} "
                "or lower minTasks"
            )
        allowed = TASK_MEMORY_MIB[self.task_cpu_units]
        if self.task_memory_mib not in allowed:
            raise ValueError(
                f"taskMemoryMiB={self.task_memory_mib} is not a Fargate size for taskCpuUnits={self.task_cpu_units}: "
                f"use one of {', '.join(map(str, allowed))}"
            )
        return self

    @property
    def image_architecture(self) -> str:
        """The architecture as the image build names it (x86_64, arm64)."""
        return IMAGE_ARCHITECTURES[self.architecture]
