"""The cost model against cases computed by hand (us-east-1 prices of loadtests/prices.yaml)."""

from __future__ import annotations

import pytest

from loadtests.cost import Workload, break_even_rps, cluster_monthly, lambda_monthly, load_prices

PRICES = load_prices()


def test_lambda_at_10_rps_50_ms_512_mb_arm64() -> None:
    # 10 req/s x 730 h x 3600 s = 26,280,000 requests a month
    # requests 26.28 x $0.20 = $5.256; API Gateway 26.28 x $1.00 = $26.28
    # compute 26,280,000 x 0.05 s x 0.5 GB = 657,000 GB-s x $0.0000133334 = $8.7600438
    cost = lambda_monthly(Workload(10, 50, 512, "arm64"), PRICES)

    assert cost["requests"] == pytest.approx(5.256)
    assert cost["api_gateway"] == pytest.approx(26.28)
    assert cost["compute"] == pytest.approx(8.7600438)
    assert cost["total"] == pytest.approx(40.2960438)


def test_x86_compute_costs_more_per_gb_second() -> None:
    # 657,000 GB-s x $0.0000166667 = $10.9500219
    assert lambda_monthly(Workload(10, 50, 512, "x86_64"), PRICES)["compute"] == pytest.approx(10.9500219)


def test_the_cluster_costs_its_hours_idle_or_busy_plus_the_albs_lcus() -> None:
    # 730 h x ($0.10 + 2 x $0.0416 + $0.045 + $0.0225) = 730 x $0.2507 = $183.011, busy or not
    assert cluster_monthly(Workload(0), PRICES)["total"] == pytest.approx(183.011)
    # 500 req/s = 0.5 LCU: 0.5 x $0.008 x 730 h = $2.92 more
    assert cluster_monthly(Workload(500), PRICES)["total"] == pytest.approx(185.931)
    # 3,000 req/s = 3 LCUs: 3 x $0.008 x 730 h = $17.52 more
    assert cluster_monthly(Workload(3000), PRICES)["total"] == pytest.approx(200.531)


def test_break_even_is_where_lambda_overtakes_the_cluster() -> None:
    # Lambda costs $4.02960438 a month per req/s at 50 ms and 512 MB; the cluster $183.011 plus $0.00584 per
    # req/s (LCUs): equal at 183.011 / (4.02960438 - 0.00584) = 45.483 req/s
    rps = break_even_rps(Workload(1, 50, 512, "arm64"), PRICES)

    assert rps == pytest.approx(45.4825, rel=1e-4)


def test_a_bigger_cluster_moves_the_break_even_up() -> None:
    assert break_even_rps(Workload(1), PRICES, nodes=6) > break_even_rps(Workload(1), PRICES, nodes=2)
