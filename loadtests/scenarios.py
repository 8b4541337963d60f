"""The scenarios, in arrival rate (user actions per second; a browse may make three requests).

Pure data, read by ``make loadtest`` before anything starts (the scenario's own
thresholds are checked with the rest) and by the Locust shapes in
``loadtests/shapes/`` (one file per scenario, as Locust picks a shape per file).
"""

from __future__ import annotations

from dataclasses import dataclass

from .arrivals import WARM_UP, Stage


@dataclass(frozen=True)
class Scenario:
    summary: str
    stages: tuple[Stage, ...]
    thresholds: tuple[str, ...] = ()  # the scenario's own, on top of the profile's


SCENARIOS: dict[str, Scenario] = {
    "smoke": Scenario(
        "2 actions/s for 30 s: does every endpoint answer at all?",
        (Stage(5, 2, WARM_UP, judged=False), Stage(30, 2, "steady")),
    ),
    "steady": Scenario(
        "10 actions/s for 5 minutes: a baseline to compare backends on",
        (Stage(30, 10, WARM_UP, judged=False), Stage(300, 10, "steady")),
    ),
    "ramp": Scenario(
        "2 to 20 actions/s over 3 minutes (not judged: capacity follows), then 2 minutes at 20 (judged)",
        (
            Stage(30, 2, WARM_UP, judged=False),
            Stage(180, 20, "ramp", ramp_from=2, judged=False),
            Stage(120, 20, "hold"),
        ),
    ),
    "spike": Scenario(
        "2 actions/s, a sudden 20 for a minute, back to 2: cold starts and scale-out speed",
        (
            Stage(30, 2, WARM_UP, judged=False),
            Stage(60, 2, "before"),
            Stage(60, 20, "spike"),
            Stage(60, 2, "after"),
        ),
    ),
    "soak": Scenario(
        "5 actions/s for 30 minutes: leaks, drift; the last 5 minutes' p95 against the first 5 minutes'",
        (
            Stage(60, 5, WARM_UP, judged=False),
            Stage(300, 5, "first window"),
            Stage(1140, 5, "middle"),
            Stage(300, 5, "last window"),
        ),
        ("p95_drift<1.5",),
    ),
}
