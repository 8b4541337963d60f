"""The cost model: monthly cost of Lambda, EKS and ECS Fargate deployments of the app at a request rate.

Every figure comes from the dated price table (``loadtests/prices.yaml``) and a
``Workload``: the request rate and what one request costs in billed time,
memory, log bytes, bytes through a load balancer and CPU. Which of those were
measured and which assumed is ``cost_inputs``'s business; this module only
prices them.

- **Lambda**: requests, billed duration x memory (by architecture), INIT time
  (billed since 2025-08), the HTTP API's requests (metered per started 512 KB),
  CloudWatch Logs ingestion. Nothing at rest.
- **EKS**, every hour busy or not: the control plane, the nodes (as many as the
  app's CPU at the rate needs, never fewer than the node group's minimum), their
  root volumes, one NAT gateway and its public IPv4, the ALB and its public
  IPv4s; then the ALB's LCUs (the largest of new connections, active
  connections, processed bytes and rule evaluations) and the t3 unlimited
  surcharge when the nodes' CPU stays above their credit baseline.
- **ECS Fargate**: tasks (vCPU-hours and GB-hours by architecture, as many as
  the CPU at the rate needs within the service's min and max), the same ALB and
  NAT gateway, and the app's log lines: ingested, and processed by the NAT
  gateway on their way to CloudWatch Logs (the awslogs driver from private
  subnets, no Logs interface endpoint).

NAT data processing is otherwise nil on both container backends: their VPCs
route S3 and DynamoDB (the app's data, and ECR's image layers, which are served
from S3) through gateway endpoints, and EKS ships no container logs.

No free tier, no data transfer out, no savings plans; DynamoDB and S3 cost the
same on every backend and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).resolve().parent / "prices.yaml"
# AWS's price pages say "GB"; the model counts 2^30 bytes (7 % more bytes per GB than 10^9; not checked against a bill)
BYTES_PER_GB = 1024**3


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = yaml.safe_load(path.read_text())
    return prices


@dataclass(frozen=True)
class Workload:
    """One request's costs, and the rate. Defaults are the model's assumptions, each named in ``cost_inputs``."""

    requests_per_second: float
    average_duration_ms: float = 50.0  # the function's billed duration per request
    memory_mb: int = 512
    architecture: str = "arm64"
    init_ms_per_request: float = 0.0  # INIT time billed per request: cold starts x init duration / requests
    api_metered_requests_per_request: float = 1.0  # HTTP API requests count once per started 512 KB
    log_bytes_per_request: float = 630.0  # ingested into CloudWatch Logs, per request (Lambda's lines included)
    processed_bytes_per_request: float = 100_000.0  # through the ALB, request and response
    new_connections_per_request: float = 0.1  # clients keep connections alive: one new per ten requests
    connection_lifetime_s: float = 60.0  # how long an idle keep-alive connection stays open (the ALB's default)
    cpu_seconds_per_request: float = 0.02  # the app's CPU per request on a container
    container_log_bytes_per_request: float = 266.0  # the app's one JSON line and CloudWatch's 26 bytes per event

    def at(self, requests_per_second: float) -> Workload:
        return replace(self, requests_per_second=requests_per_second)


def seconds_per_month(prices: Mapping[str, Any]) -> float:
    return float(prices["hours_per_month"]) * 3600


def _with_total(parts: dict[str, float]) -> dict[str, float]:
    return {**parts, "total": sum(parts.values())}


def log_ingestion(requests: float, bytes_per_request: float, prices: Mapping[str, Any]) -> float:
    return requests * bytes_per_request / BYTES_PER_GB * float(prices["cloudwatch_logs"]["ingestion_per_gb"])


def lambda_monthly(load: Workload, prices: Mapping[str, Any]) -> dict[str, float]:
    requests = load.requests_per_second * seconds_per_month(prices)
    millions = requests / 1e6
    gb = load.memory_mb / 1024
    per_gb_second = float(prices["lambda"]["per_gb_second"][load.architecture])
    return _with_total(
        {
            "requests": millions * prices["lambda"]["per_million_requests"],
            "compute": requests * (load.average_duration_ms / 1000) * gb * per_gb_second,
            "init": requests * (load.init_ms_per_request / 1000) * gb * per_gb_second,
            "api_gateway": millions
            * load.api_metered_requests_per_request
            * prices["api_gateway_http"]["per_million_requests"],
            "logs": log_ingestion(requests, load.log_bytes_per_request, prices),
        }
    )


# --- what every container backend pays: the ALB and its LCUs, the NAT gateway ------------------------------


def lcus(load: Workload, prices: Mapping[str, Any]) -> float:
    """The ALB's capacity units at the rate: the largest of its four dimensions (rules: one, within the free ten)."""
    alb, rate = prices["alb"], load.requests_per_second
    new_connections = rate * load.new_connections_per_request
    active_connections = new_connections * load.connection_lifetime_s
    processed_gb_per_hour = rate * load.processed_bytes_per_request * 3600 / BYTES_PER_GB
    return max(
        new_connections / float(alb["lcu_new_connections_per_second"]),
        active_connections / float(alb["lcu_active_connections"]),
        processed_gb_per_hour / float(alb["lcu_processed_gb_per_hour"]),
        0.0,  # rule evaluations: one rule, and the first ten are free
    )


def load_balancer_at_rest_per_hour(prices: Mapping[str, Any]) -> float:
    return float(prices["alb"]["per_hour"]) + float(
        prices["alb"]["public_ipv4s"] * prices["vpc"]["public_ipv4_per_hour"]
    )


def nat_at_rest_per_hour(prices: Mapping[str, Any]) -> float:
    return float(prices["vpc"]["nat_gateway_per_hour"]) + float(prices["vpc"]["public_ipv4_per_hour"])


# --- EKS ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtRestItem:
    label: str
    per_hour: float


def eks_at_rest(prices: Mapping[str, Any], nodes: int | None = None) -> list[AtRestItem]:
    """What the cluster costs an hour with no request at all: the README's and eks.md's table, item by item."""
    ec2, alb, ebs = prices["ec2"], prices["alb"], prices["ebs"]
    count = int(ec2["nodes_minimum"]) if nodes is None else nodes
    hours = float(prices["hours_per_month"])
    return [
        AtRestItem("EKS control plane", float(prices["eks"]["control_plane_per_hour"])),
        AtRestItem("NAT gateway, one, and its public IPv4", nat_at_rest_per_hour(prices)),
        AtRestItem(f"{count} x {ec2['node_type']} nodes", count * float(ec2["node_per_hour"])),
        AtRestItem(f"ALB and its {alb['public_ipv4s']} public IPv4s", load_balancer_at_rest_per_hour(prices)),
        AtRestItem(
            f"{count} x {ebs['node_disk_gib']} GiB gp3 root volumes",
            count * ebs["node_disk_gib"] * ebs["gp3_per_gb_month"] / hours,
        ),
    ]


def at_rest_per_hour(items: list[AtRestItem]) -> float:
    return sum(item.per_hour for item in items)


def app_cores(load: Workload) -> float:
    return load.requests_per_second * load.cpu_seconds_per_request


def nodes_needed(load: Workload, prices: Mapping[str, Any], cpu_target_percent: float = 70.0) -> int:
    """Nodes for the app's pods at the rate: CPU at the rate, held at the HPA's target, packed on the app's share."""
    ec2 = prices["ec2"]
    cores = app_cores(load) / (cpu_target_percent / 100)
    return max(int(ec2["nodes_minimum"]), math.ceil(cores / float(ec2["node_app_cores"])))


def t3_surcharge_per_hour(load: Workload, prices: Mapping[str, Any], nodes: int) -> float:
    """t3 unlimited: CPU above the credit baseline, sustained, is billed per vCPU-hour (the app's CPU only)."""
    ec2 = prices["ec2"]
    vcpus = nodes * float(ec2["node_vcpus"])
    surplus = max(0.0, app_cores(load) - vcpus * float(ec2["baseline_per_vcpu"]))
    return surplus * float(ec2["unlimited_surplus_per_vcpu_hour"])


def cluster_monthly(load: Workload, prices: Mapping[str, Any], nodes: int | None = None) -> dict[str, float]:
    hours = float(prices["hours_per_month"])
    count = nodes_needed(load, prices) if nodes is None else nodes
    items = {item.label: item.per_hour for item in eks_at_rest(prices, count)}
    labels = list(items)
    return _with_total(
        {
            "control_plane": hours * items[labels[0]],
            "nat_gateway": hours * items[labels[1]],
            "nodes": hours * items[labels[2]],
            "load_balancer": hours * items[labels[3]],
            "node_volumes": hours * items[labels[4]],
            "lcus": hours * lcus(load, prices) * prices["alb"]["lcu_per_hour"],
            "t3_surcharge": hours * t3_surcharge_per_hour(load, prices, count),
        }
    )


# --- ECS Fargate --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FargateTasks:
    """The service's task size and bounds, as its ``scaling`` output gives them (ECS's spellings)."""

    cpu_units: int = 512  # 1024 units = 1 vCPU
    memory_mib: int = 1024
    architecture: str = "X86_64"
    min_tasks: int = 2
    max_tasks: int = 10
    cpu_target_percent: float = 70.0

    @classmethod
    def from_scaling(cls, scaling: Mapping[str, Any]) -> FargateTasks:
        defaults = cls()
        return cls(
            cpu_units=int(scaling.get("taskCpuUnits", defaults.cpu_units)),
            memory_mib=int(scaling.get("taskMemoryMiB", defaults.memory_mib)),
            architecture=str(scaling.get("architecture", defaults.architecture)),
            min_tasks=int(scaling.get("minTasks", defaults.min_tasks)),
            max_tasks=int(scaling.get("maxTasks", defaults.max_tasks)),
            cpu_target_percent=float(scaling.get("cpuTargetPercent", defaults.cpu_target_percent)),
        )


def fargate_tasks_needed(load: Workload, tasks: FargateTasks) -> int:
    vcpus = tasks.cpu_units / 1024
    wanted = math.ceil(app_cores(load) / (vcpus * tasks.cpu_target_percent / 100)) if app_cores(load) else 0
    return min(tasks.max_tasks, max(tasks.min_tasks, wanted))


def fargate_monthly(load: Workload, prices: Mapping[str, Any], tasks: FargateTasks | None = None) -> dict[str, float]:
    """Tasks for the CPU at the rate, the ALB and its LCUs, one NAT gateway, the app's log lines."""
    spec = tasks or FargateTasks()
    hours = float(prices["hours_per_month"])
    fargate = prices["fargate"]
    count = fargate_tasks_needed(load, spec)
    per_task = (spec.cpu_units / 1024) * fargate["per_vcpu_hour"][spec.architecture] + (
        spec.memory_mib / 1024
    ) * fargate["per_gb_hour"][spec.architecture]
    requests = load.requests_per_second * seconds_per_month(prices)
    return _with_total(
        {
            "tasks": hours * count * per_task,
            "load_balancer": hours * load_balancer_at_rest_per_hour(prices),
            "lcus": hours * lcus(load, prices) * prices["alb"]["lcu_per_hour"],
            "nat_gateway": hours * nat_at_rest_per_hour(prices),
            "logs": log_ingestion(requests, load.container_log_bytes_per_request, prices),
            "nat_data": requests
            * load.container_log_bytes_per_request
            / BYTES_PER_GB
            * float(prices["vpc"]["nat_gateway_per_gb"]),
        }
    )


# --- where Lambda starts to cost more -------------------------------------------------------------------------


def break_even_rps(template: Workload, prices: Mapping[str, Any], nodes: int | None = None) -> float:
    """The lowest request rate at which Lambda costs more than the cluster (doubling, then bisection).

    The cluster's cost grows by steps (nodes) and slowly (LCUs), Lambda's in
    proportion, so the gap changes sign once in practice; ``inf`` when Lambda
    stays cheaper up to 10 million requests per second.
    """

    def gap(rps: float) -> float:
        load = template.at(rps)
        return lambda_monthly(load, prices)["total"] - cluster_monthly(load, prices, nodes)["total"]

    low, high = 0.0, 1.0
    while gap(high) < 0:
        low, high = high, high * 2
        if high > 1e7:
            return float("inf")
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if gap(middle) < 0 else (low, middle)
    return (low + high) / 2


SENSITIVITY_MEMORY_MB = (256, 512, 1024, 2048)
SENSITIVITY_DURATION_FACTORS = (0.5, 1.0, 2.0)


def break_even_sensitivity(template: Workload, prices: Mapping[str, Any]) -> dict[str, Any]:
    """Break-even rates over memory sizes (rows) and billed durations of x0.5, x1 and x2 the input (columns)."""
    durations = [round(template.average_duration_ms * factor, 3) for factor in SENSITIVITY_DURATION_FACTORS]
    return {
        "durations_ms": durations,
        "rows": [
            {
                "memory_mb": memory,
                "break_even_rps": [
                    break_even_rps(replace(template, memory_mb=memory, average_duration_ms=duration), prices)
                    for duration in durations
                ],
            }
            for memory in SENSITIVITY_MEMORY_MB
        ],
    }
