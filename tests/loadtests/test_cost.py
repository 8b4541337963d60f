"""The cost model against cases computed by hand (us-east-1 prices of loadtests/prices.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtests.cost import (
    FargateTasks,
    Workload,
    break_even_rps,
    break_even_sensitivity,
    cluster_monthly,
    eks_at_rest,
    fargate_monthly,
    lambda_monthly,
    lcus,
    load_prices,
    nodes_needed,
)
from loadtests.cost_report import readme_cells

PRICES = load_prices()
ROOT = Path(__file__).resolve().parents[2]
GB = 1024**3
MONTH_REQUESTS_AT_10 = 26_280_000  # 10 req/s x 730 h x 3600 s


def test_lambda_at_10_rps_50_ms_512_mb_arm64_with_its_log_lines() -> None:
    # requests 26.28 x $0.20 = $5.256; API Gateway 26.28 x $1.00 = $26.28
    # compute 26,280,000 x 0.05 s x 0.5 GB = 657,000 GB-s x $0.0000133334 = $8.7600438
    # logs 26,280,000 x 630 bytes = 15.4192 GiB x $0.50 = $7.7096
    cost = lambda_monthly(Workload(10, 50, 512, "arm64", log_bytes_per_request=630), PRICES)

    assert cost["requests"] == pytest.approx(5.256)
    assert cost["api_gateway"] == pytest.approx(26.28)
    assert cost["compute"] == pytest.approx(8.7600438)
    assert cost["logs"] == pytest.approx(MONTH_REQUESTS_AT_10 * 630 / GB * 0.50)
    assert cost["init"] == 0
    assert cost["total"] == pytest.approx(5.256 + 26.28 + 8.7600438 + 7.70962, rel=1e-5)


def test_x86_compute_costs_more_per_gb_second() -> None:
    # 657,000 GB-s x $0.0000166667 = $10.9500219
    assert lambda_monthly(Workload(10, 50, 512, "x86_64"), PRICES)["compute"] == pytest.approx(10.9500219)


def test_http_api_requests_are_billed_per_started_512_kb() -> None:
    # one request in six uploads 1.8 MB (4 increments): 26.28 million x (1 + 3/6) x $1.00
    cost = lambda_monthly(Workload(10, api_metered_requests_per_request=1.5), PRICES)

    assert cost["api_gateway"] == pytest.approx(26.28 * 1.5)


def test_init_time_is_billed_like_invocation_time() -> None:
    # one cold start in a hundred requests at 400 ms: 4 ms a request; 26,280,000 x 0.004 s x 0.5 GB x $0.0000133334
    cost = lambda_monthly(Workload(10, 50, 512, "arm64", init_ms_per_request=4), PRICES)

    assert cost["init"] == pytest.approx(MONTH_REQUESTS_AT_10 * 0.004 * 0.5 * 0.0000133334)


def test_the_cluster_at_rest_is_every_item_of_its_table() -> None:
    # 730 h x ($0.10 + $0.045 + $0.005 + 2 x $0.0416 + $0.0225 + 2 x $0.005) + 2 x 20 GiB x $0.08 = $197.161
    items = eks_at_rest(PRICES)

    assert [item.label for item in items] == [
        "EKS control plane",
        "NAT gateway, one, and its public IPv4",
        "2 x t3.medium nodes",
        "ALB and its 2 public IPv4s",
        "2 x 20 GiB gp3 root volumes",
    ]
    assert cluster_monthly(Workload(0), PRICES)["total"] == pytest.approx(197.161)


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        # processed bytes: 10 req/s x 100,000 bytes x 3600 s = 3.3528 GiB an hour = 3.35 LCUs (connections: 0.04)
        (Workload(10, processed_bytes_per_request=100_000), 10 * 100_000 * 3600 / GB),
        # new connections: every request on a new connection, 10/s over 25 per LCU = 0.4 (bytes: 0.034)
        (Workload(10, processed_bytes_per_request=1000, new_connections_per_request=1.0), 0.4),
        # active connections: 50 new a second held 120 s = 6,000 over 3,000 per LCU = 2 (new: 2, bytes: 0.17)
        (Workload(50, processed_bytes_per_request=1000, new_connections_per_request=1.0, connection_lifetime_s=120), 2),
    ],
)
def test_alb_capacity_units_are_the_largest_of_bytes_and_connections(load: Workload, expected: float) -> None:
    """The old model counted one LCU per 1,000 requests a second: 0.01 LCU at 10 req/s, whatever the bytes."""
    assert lcus(load, PRICES) == pytest.approx(expected)


@pytest.mark.parametrize(("rps", "nodes"), [(0, 2), (100, 2), (200, 4), (1000, 20)])
def test_nodes_follow_the_cpu_the_rate_needs(rps: float, nodes: int) -> None:
    # 20 ms of CPU a request at the HPA's 70 % on 1.5 app cores a node: 200 req/s = 4 cores / 0.7 / 1.5 = 3.8 -> 4
    assert nodes_needed(Workload(rps, cpu_seconds_per_request=0.02), PRICES) == nodes


def test_sustained_cpu_above_the_t3_baseline_is_surcharged() -> None:
    # 100 req/s x 20 ms = 2 cores on 2 nodes x 2 vCPU x 20 % baseline = 0.8: 1.2 vCPU x $0.05 x 730 h = $43.80
    cost = cluster_monthly(Workload(100, cpu_seconds_per_request=0.02), PRICES)

    assert cost["t3_surcharge"] == pytest.approx(43.8)
    assert cluster_monthly(Workload(30, cpu_seconds_per_request=0.02), PRICES)["t3_surcharge"] == 0


@pytest.mark.parametrize(
    ("architecture", "per_task_hour"),
    [("X86_64", 0.5 * 0.04048 + 1 * 0.004445), ("ARM64", 0.5 * 0.03238 + 1 * 0.00356)],
)
def test_fargate_bills_vcpu_and_gb_hours_for_its_tasks(architecture: str, per_task_hour: float) -> None:
    tasks = FargateTasks(cpu_units=512, memory_mib=1024, architecture=architecture, min_tasks=2, max_tasks=10)
    cost = fargate_monthly(Workload(10, processed_bytes_per_request=100_000), PRICES, tasks)

    assert cost["tasks"] == pytest.approx(2 * 730 * per_task_hour)  # 0.2 cores need one task; the minimum is 2
    assert cost["load_balancer"] == pytest.approx(730 * (0.0225 + 2 * 0.005))
    assert cost["nat_gateway"] == pytest.approx(730 * 0.05)
    assert cost["lcus"] == pytest.approx(730 * 0.008 * 10 * 100_000 * 3600 / GB)
    assert cost["logs"] == pytest.approx(MONTH_REQUESTS_AT_10 * 266 / GB * 0.5)


def test_fargates_log_lines_pay_the_nat_gateways_data_processing_on_their_way_to_cloudwatch() -> None:
    """Tasks in private subnets reach CloudWatch Logs through the NAT gateway ($0.045 per GB processed,
    aws.amazon.com/vpc/pricing); S3 and DynamoDB go through gateway endpoints and pay nothing."""
    cost = fargate_monthly(Workload(10), PRICES)

    assert cost["nat_data"] == pytest.approx(MONTH_REQUESTS_AT_10 * 266 / GB * 0.045)
    assert fargate_monthly(Workload(0), PRICES)["nat_data"] == 0  # nothing at rest: the README's row holds


def test_fargate_tasks_grow_with_the_cpu_and_stop_at_the_maximum() -> None:
    tasks = FargateTasks(cpu_units=1024, memory_mib=2048, min_tasks=1, max_tasks=4, cpu_target_percent=50)

    # 100 req/s x 20 ms = 2 cores at 50 % of 1 vCPU = 4 tasks; 300 req/s would want 12
    assert fargate_monthly(Workload(100), PRICES, tasks)["tasks"] == pytest.approx(4 * 730 * (0.04048 + 2 * 0.004445))
    assert (
        fargate_monthly(Workload(300), PRICES, tasks)["tasks"] == fargate_monthly(Workload(100), PRICES, tasks)["tasks"]
    )


def test_break_even_is_where_lambda_overtakes_the_cluster() -> None:
    # Lambda: $4.80072 a month per req/s (requests 0.5256 + API 2.628 + compute 0.87600 + logs 0.77096)
    # Cluster: $197.161 + $1.95813 per req/s (LCUs at 100 KB) + the t3 surcharge past 40 req/s (0.73 x rps - 29.2)
    # equal at (197.161 - 29.2) / (4.80072 - 1.95813 - 0.73) = 79.506 req/s
    assert break_even_rps(Workload(1), PRICES) == pytest.approx(79.506, rel=1e-3)


def test_the_break_even_moves_down_with_memory_and_duration() -> None:
    grid = break_even_sensitivity(Workload(1), PRICES)

    assert grid["durations_ms"] == [25.0, 50.0, 100.0]
    rows = {row["memory_mb"]: row["break_even_rps"] for row in grid["rows"]}
    assert rows[512][1] == pytest.approx(break_even_rps(Workload(1), PRICES))
    for values in rows.values():
        assert values == sorted(values, reverse=True), "a longer billed duration breaks even sooner"
    assert [rows[m][1] for m in (256, 512, 1024, 2048)] == sorted(
        (rows[m][1] for m in (256, 512, 1024, 2048)), reverse=True
    )


def test_the_readmes_cost_cells_are_the_models() -> None:
    """One source: the README's table (and eks.md's total) say what cost.py computes from prices.yaml."""
    cells = readme_cells()
    readme = (ROOT / "README.md").read_text()
    lambda_row = next(line for line in readme.splitlines() if line.startswith("| [lambda]"))
    eks_row = next(line for line in readme.splitlines() if line.startswith("| [eks]"))
    fargate_row = next(line for line in readme.splitlines() if line.startswith("| [fargate]"))

    assert f"| {cells['lambda per million']} |" in lambda_row
    assert f"| {cells['eks at rest']} | {cells['eks per million']} |" in eks_row
    assert f"| {cells['fargate at rest']} | {cells['fargate per million']} |" in fargate_row
    assert f"| {cells['eks total']} |" in (ROOT / "docs" / "eks.md").read_text()


def test_eks_mds_items_are_the_models_items() -> None:
    section = (ROOT / "docs" / "eks.md").read_text().split("## What it costs at rest")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    parts = rows[1:-1]  # between the header and the total
    amounts = [sum(float(x) for x in re.findall(r"\$([0-9.]+)", line.split("|")[2])) for line in parts]

    assert amounts == pytest.approx([round(item.per_hour, 4) for item in eks_at_rest(PRICES)], abs=5e-5)
