"""Load shapes in arrival rate: the stages of a scenario, and the Locust shape that keeps the user pool up.

A scenario's shape is an ``ArrivalShape`` with its ``stages`` (``loadtests/scenarios.py``):
the plugin paces arrivals from them on every load-generating process. The
shape itself only holds the pool of virtual users (``--max-in-flight``, the cap
on in-flight actions) for the scenario's duration, then ends the run: in
Locust 2.47.0 a shape's ``tick`` returning None stops the test
(``locust/runners.py``, ``Runner.shape_worker``).

It holds the pool ``DRAIN_S`` past the plan's end: the actions still in flight
finish (their requests count in the stage they started in), and each worker's
periodic report (every ``WORKER_REPORT_INTERVAL`` = 3 s) carries the last of
them to the master before it quits. Without it the last seconds went missing
from a distributed run: the master waits only 0.5 s for the final reports
after its ``quit`` message (``MasterRunner.quit``).
"""

from __future__ import annotations

from locust import LoadTestShape

from .arrivals import Stage, scaled, total_seconds

DRAIN_S = 4.0


class ArrivalShape(LoadTestShape):
    abstract = True
    stages: tuple[Stage, ...] = ()
    thresholds: tuple[str, ...] = ()  # the scenario's own, on top of the profile's (soak's drift)

    def _options(self) -> tuple[float, int]:
        options = self.runner.environment.parsed_options if self.runner else None
        return float(getattr(options, "time_scale", 1.0) or 1.0), int(getattr(options, "max_in_flight", 50) or 50)

    def tick(self) -> tuple[int, float] | None:
        time_scale, pool = self._options()
        if self.get_run_time() >= total_seconds(scaled(self.stages, time_scale)) + DRAIN_S:  # type: ignore[no-untyped-call]
            return None
        return pool, float(pool)  # the whole pool at once: arrivals, not users, carry the load

    @classmethod
    def total_seconds(cls) -> float:
        return total_seconds(cls.stages)
