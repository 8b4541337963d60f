"""The open model's schedule: arrivals due at the plan's rate, ramping and stepping, split exactly over processes."""

from __future__ import annotations

import pytest

from loadtests.arrivals import (
    AFTER_END,
    WARM_UP,
    Stage,
    arrival_times,
    due_between,
    phase_at,
    scaled,
    target_rate,
    total_seconds,
    worker_offset,
)
from loadtests.scenarios import SCENARIOS

SPIKE = (Stage(10, 2, WARM_UP, judged=False), Stage(10, 2, "before"), Stage(10, 20, "spike"), Stage(10, 2, "after"))
RAMP = (Stage(60, 20, "ramp", ramp_from=2), Stage(30, 20, "hold"))


def counts_per_stage(plan: tuple[Stage, ...], times: list[float]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in times:
        counts[phase_at(plan, t)] = counts.get(phase_at(plan, t), 0) + 1
    return counts


def test_a_constant_rate_is_one_arrival_every_interval_whatever_else_happens() -> None:
    times = list(arrival_times((Stage(10, 4, "steady"),)))

    assert len(times) == 40
    assert times[:3] == pytest.approx([0.125, 0.375, 0.625])


def test_a_step_carries_its_own_rate_from_its_first_second() -> None:
    """Defect 2: a spike carried the same load as the stages around it (the rate was divided by the users)."""
    counts = counts_per_stage(SPIKE, list(arrival_times(SPIKE)))

    assert counts == {WARM_UP: 20, "before": 20, "spike": 200, "after": 20}


def test_a_ramp_rises_linearly_as_k6s_ramping_arrival_rate() -> None:
    times = list(arrival_times(RAMP))
    first_half = sum(1 for t in times if t < 30)
    second_half = sum(1 for t in times if 30 <= t < 60)

    assert len(times) == round((2 + 20) / 2 * 60 + 20 * 30)  # the integral of the rate: 660 + 600
    assert first_half == round((2 + 11) / 2 * 30)
    assert second_half == round((11 + 20) / 2 * 30)
    assert target_rate(RAMP, 30) == pytest.approx(11)
    assert due_between(RAMP, 0, 30) == pytest.approx(195)


@pytest.mark.parametrize("shares", [(1.0,), (0.5, 0.5), (0.34, 0.33, 0.33), (0.25, 0.25, 0.25, 0.25)])
def test_processes_whose_shares_add_up_to_one_offer_the_plans_rate_together(shares: tuple[float, ...]) -> None:
    """With N workers, each paces its share: together the plan's rate, not N times it."""
    together = sorted(
        t for index, share in enumerate(shares) for t in arrival_times(SPIKE, share, worker_offset(index))
    )

    per_stage = counts_per_stage(SPIKE, together)

    for stage in SPIKE:
        assert abs(per_stage[stage.name] - stage.arrivals) <= len(shares), stage.name


def test_a_scaled_plan_stretches_time_and_sets_the_peak_rate() -> None:
    plan = scaled(SPIKE, time_scale=0.5, peak_rate=40)

    assert total_seconds(plan) == 20
    assert [stage.rate for stage in plan] == [4, 4, 40, 4]
    assert phase_at(plan, 20.5) == AFTER_END


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_starts_with_an_unjudged_warm_up_and_judges_something(name: str) -> None:
    stages = SCENARIOS[name].stages

    assert stages[0].name == WARM_UP
    assert not stages[0].judged
    assert any(stage.judged for stage in stages)
    assert len({stage.name for stage in stages}) == len(stages), "stage names are what thresholds name"
