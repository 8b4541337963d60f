"""The cost model: monthly cost of the lambda and the Kubernetes (EKS) deployments at a request rate.

Deliberately simple and documented: Lambda costs requests plus GB-seconds plus
the HTTP API's requests; the cluster costs its control plane, nodes, a NAT
gateway and an ALB (with LCUs growing with the rate) for every hour of the
month, busy or not. No free tier, no data transfer, no savings plans. The
prices come from a dated table (``loadtests/prices.yaml``), overridable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).resolve().parent / "prices.yaml"


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = yaml.safe_load(path.read_text())
    return prices


@dataclass(frozen=True)
class Workload:
    requests_per_second: float
    average_duration_ms: float = 50.0  # the function's billed duration per request
    memory_mb: int = 512
    architecture: str = "arm64"


def seconds_per_month(prices: Mapping[str, Any]) -> float:
    return float(prices["hours_per_month"]) * 3600


def lambda_monthly(load: Workload, prices: Mapping[str, Any]) -> dict[str, float]:
    requests = load.requests_per_second * seconds_per_month(prices)
    millions = requests / 1e6
    gb_seconds = requests * (load.average_duration_ms / 1000) * (load.memory_mb / 1024)
    parts = {
        "requests": millions * prices["lambda"]["per_million_requests"],
        "compute": gb_seconds * prices["lambda"]["per_gb_second"][load.architecture],
        "api_gateway": millions * prices["api_gateway_http"]["per_million_requests"],
    }
    return {**parts, "total": sum(parts.values())}


def cluster_monthly(load: Workload, prices: Mapping[str, Any], nodes: int | None = None) -> dict[str, float]:
    eks, hours = prices["eks"], float(prices["hours_per_month"])
    # An approximation: requests as the LCU dimension that grows (ALB bills LCU-hours used, with no floor).
    lcus = load.requests_per_second / eks["requests_per_lcu_second"]
    count = eks["nodes"] if nodes is None else nodes
    parts = {
        "control_plane": hours * eks["control_plane_per_hour"],
        "nodes": hours * eks["node_per_hour"] * count,
        "nat_gateway": hours * eks["nat_gateway_per_hour"],
        "load_balancer": hours * (eks["load_balancer_per_hour"] + lcus * eks["lcu_per_hour"]),
    }
    return {**parts, "total": sum(parts.values())}


def break_even_rps(template: Workload, prices: Mapping[str, Any], nodes: int | None = None) -> float:
    """The request rate at which Lambda starts to cost more than the cluster (bisection; cost rises with rate)."""

    def gap(rps: float) -> float:
        load = Workload(rps, template.average_duration_ms, template.memory_mb, template.architecture)
        return lambda_monthly(load, prices)["total"] - cluster_monthly(load, prices, nodes)["total"]

    low, high = 0.0, 1.0
    while gap(high) < 0:
        high *= 2
        if high > 1e7:
            return float("inf")
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if gap(middle) < 0 else (low, middle)
    return (low + high) / 2
