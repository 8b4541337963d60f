"""Staged load shapes: a list of (seconds, users, spawn rate) steps, stretched by --time-scale."""

from __future__ import annotations

from locust import LoadTestShape

Stage = tuple[float, int, float]  # (duration in seconds, users, spawn rate per second)


class StagedShape(LoadTestShape):
    abstract = True
    stages: tuple[Stage, ...] = ()

    def scale(self) -> float:
        options = self.runner.environment.parsed_options if self.runner else None
        return float(getattr(options, "time_scale", 1.0) or 1.0)

    def tick(self) -> tuple[int, float] | None:
        elapsed = float(self.get_run_time()) / self.scale()  # type: ignore[no-untyped-call]
        for seconds, users, spawn_rate in self.stages:
            if elapsed < seconds:
                return users, spawn_rate
            elapsed -= seconds
        return None

    @classmethod
    def total_seconds(cls) -> float:
        return sum(seconds for seconds, _, _ in cls.stages)
