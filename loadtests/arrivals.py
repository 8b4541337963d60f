"""Open-model load: arrival-rate stages and the schedule of arrivals they give.

A scenario is a list of stages in *arrivals per second* (user actions: a
browse may make three requests), as k6's ``constant-arrival-rate`` and
``ramping-arrival-rate`` executors: a stage holds its rate, or ramps linearly
from ``ramp_from`` to ``rate`` over its duration. Arrivals are due on a fixed
schedule whatever the response times; the Locust side (``loadtests/pacer.py``)
starts each one on an idle virtual user or counts it as dropped.

Pure Python (no Locust, no gevent): the schedule is tested exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

WARM_UP = "warm-up"
AFTER_END = "after end"  # requests that complete once the plan is over (the stop drains them)
GOLDEN = 0.6180339887498949  # spreads the first arrival of each worker over one interval


@dataclass(frozen=True)
class Stage:
    seconds: float
    rate: float  # arrivals per second (at the end of the stage when it ramps)
    name: str
    ramp_from: float | None = None  # linear from this rate to ``rate`` (k6's ramping-arrival-rate); None: constant
    judged: bool = True  # False: warm-up, or a deliberately under-provisioned step that thresholds skip

    @property
    def start_rate(self) -> float:
        return self.rate if self.ramp_from is None else self.ramp_from

    def rate_at(self, t: float) -> float:
        if self.seconds <= 0:
            return self.rate
        return self.start_rate + (self.rate - self.start_rate) * min(max(t, 0.0), self.seconds) / self.seconds

    def arrivals_until(self, t: float) -> float:
        """Arrivals due in the first ``t`` seconds of the stage (the integral of its rate)."""
        t = min(max(t, 0.0), self.seconds)
        return (self.start_rate + self.rate_at(t)) / 2 * t

    @property
    def arrivals(self) -> float:
        return self.arrivals_until(self.seconds)


Plan = tuple[Stage, ...]


def scaled(stages: Sequence[Stage], time_scale: float = 1.0, peak_rate: float | None = None) -> Plan:
    """Durations multiplied by ``time_scale``; rates multiplied so the highest is ``peak_rate`` (when given)."""
    if time_scale <= 0:
        raise ValueError("the time scale must be greater than 0")
    peak = max((max(s.rate, s.start_rate) for s in stages), default=0.0)
    factor = peak_rate / peak if peak_rate and peak else 1.0
    return tuple(
        replace(
            stage,
            seconds=stage.seconds * time_scale,
            rate=stage.rate * factor,
            ramp_from=None if stage.ramp_from is None else stage.ramp_from * factor,
        )
        for stage in stages
    )


def total_seconds(plan: Plan) -> float:
    return sum(stage.seconds for stage in plan)


def stage_at(plan: Plan, t: float) -> Stage | None:
    """The stage running ``t`` seconds after the start; None after the end."""
    for stage in plan:
        if t < stage.seconds:
            return stage
        t -= stage.seconds
    return None


def phase_at(plan: Plan, t: float) -> str:
    stage = stage_at(plan, t)
    return stage.name if stage is not None else AFTER_END


def target_rate(plan: Plan, t: float) -> float:
    stage = stage_at(plan, t)
    if stage is None:
        return 0.0
    return stage.rate_at(t - sum(s.seconds for s in plan[: plan.index(stage)]))


def due_between(plan: Plan, start: float, end: float) -> float:
    """Arrivals the plan asks for from ``start`` to ``end`` seconds (the target, for a window of the report)."""
    due, offset = 0.0, 0.0
    for stage in plan:
        due += stage.arrivals_until(end - offset) - stage.arrivals_until(start - offset)
        offset += stage.seconds
    return due


def arrival_times(plan: Plan, share: float = 1.0, offset: float = 0.5) -> Iterator[float]:
    """Seconds since the start at which this process's arrivals are due: its ``share`` of the plan's rate.

    Arrival k is due when the integral of the rate reaches ``k + offset``, so N processes with shares that add
    up to 1 offer the plan's rate together; ``offset`` in [0, 1) staggers them (see ``worker_offset``).
    """
    if share <= 0:
        return
    owed = offset  # arrivals (in this process's units) to cover before the next one is due
    start = 0.0
    for stage in plan:
        a, b = stage.start_rate * share, (stage.rate - stage.start_rate) * share / stage.seconds if stage.seconds else 0
        total = stage.arrivals * share
        while owed < total:
            yield start + _time_for(a, b, owed)
            owed += 1.0
        owed -= total
        start += stage.seconds


def _time_for(a: float, b: float, count: float) -> float:
    """The t at which a*t + b*t^2/2 = count (a rate a + b*t from 0)."""
    if abs(b) < 1e-12:
        return count / a if a > 0 else math.inf
    return (-a + math.sqrt(max(a * a + 2 * b * count, 0.0))) / b


def worker_offset(index: int) -> float:
    """A first-arrival offset for worker ``index``: workers with equal shares do not fire in lockstep."""
    return (0.5 + index * GOLDEN) % 1.0


def window_seconds(plan: Plan) -> float:
    """The report's time window: about 60 points over the run, from 1 s to 10 s each."""
    return min(10.0, max(1.0, round(total_seconds(plan) / 60.0)))
