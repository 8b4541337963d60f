"""Declarative pass/fail thresholds for a Locust run, and the verdict they give.

Pure Python, no Locust import: the Locust plugin (``loadtests/plugin.py``)
feeds it statistics, and the tests can exercise it without gevent.

A threshold reads ``[ENDPOINT:]METRIC OP LIMIT[@abort=SECONDS]``:

    p95<500                      aggregated 95th percentile under 500 ms
    GET /users:p99<800           one endpoint (its Locust request name)
    failure_ratio<0.01           fewer than 1 % of requests failed
    rps>=5                       at least 5 requests per second overall
    p95<2000@abort=30            stop the run early if breached after 30 s

Latency and failure thresholds are upper bounds (``<`` or ``<=``);
throughput thresholds are lower bounds (``>`` or ``>=``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXIT_THRESHOLD_FAILED = 3  # distinct from Locust's 1 ("some requests failed") and 2 (usage errors)
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
UPPER_BOUNDS = {*PERCENTILES, "failure_ratio"}
LOWER_BOUNDS = {"rps"}
METRICS = UPPER_BOUNDS | LOWER_BOUNDS
DEFAULTS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"
_SPEC = re.compile(
    r"^(?:(?P<endpoint>[A-Z]+ [^:]+):)?\s*(?P<metric>[a-z_0-9]+)\s*(?P<op><=|>=|<|>)\s*(?P<limit>[0-9.]+)"
    r"\s*(?:@abort=(?P<abort>[0-9.]+))?$"
)


class ThresholdError(ValueError):
    """A threshold that cannot be understood; the message shows the expected form."""


@dataclass(frozen=True)
class Threshold:
    metric: str
    limit: float
    endpoint: str | None = None  # a Locust request name such as "GET /users"; None is the aggregate
    inclusive: bool = False  # <= or >= rather than < or >
    abort_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ThresholdError(f"unknown metric {self.metric!r}: use one of {', '.join(sorted(METRICS))}")
        if self.limit < 0:
            raise ThresholdError(f"{self.describe()}: the limit must not be negative")

    @property
    def upper_bound(self) -> bool:
        return self.metric in UPPER_BOUNDS

    def describe(self) -> str:
        op = ("<=" if self.inclusive else "<") if self.upper_bound else (">=" if self.inclusive else ">")
        unit = " ms" if self.metric in PERCENTILES else (" req/s" if self.metric == "rps" else "")
        where = f"{self.endpoint}: " if self.endpoint else ""
        return f"{where}{self.metric} {op} {self.limit:g}{unit}"

    def holds(self, value: float) -> bool:
        if self.upper_bound:
            return value <= self.limit if self.inclusive else value < self.limit
        return value >= self.limit if self.inclusive else value > self.limit


def parse_threshold(spec: str) -> Threshold:
    match = _SPEC.match(spec.strip())
    if not match:
        raise ThresholdError(
            f"cannot read threshold {spec!r}: write [ENDPOINT:]METRIC OP LIMIT[@abort=SECONDS], "
            "e.g. 'p95<500', 'GET /users:p99<800', 'failure_ratio<0.01', 'rps>=5'"
        )
    metric, op = match["metric"], match["op"]
    if (metric in UPPER_BOUNDS and op.startswith(">")) or (metric in LOWER_BOUNDS and op.startswith("<")):
        bound = "an upper bound (<)" if metric in UPPER_BOUNDS else "a lower bound (>)"
        raise ThresholdError(f"{spec!r}: {metric} takes {bound}")
    return Threshold(
        metric=metric,
        limit=float(match["limit"]),
        endpoint=match["endpoint"],
        inclusive=op.endswith("="),
        abort_after_s=float(match["abort"]) if match["abort"] else None,
    )


def load_thresholds(path: Path, profile: str | None = None) -> list[Threshold]:
    """Thresholds from a YAML file: a list of specs, or a mapping of profile -> list (then ``profile`` picks)."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ThresholdError(f"cannot read thresholds file {path}: {exc}") from None
    return thresholds_in(document, str(path), profile)


def thresholds_in(document: Any, source: str, profile: str | None = None) -> list[Threshold]:
    """The thresholds of a parsed thresholds file (``source`` names it in errors): its list, or its profile's."""
    if isinstance(document, Mapping):
        if profile is None or profile not in document:
            known = ", ".join(sorted(document))
            raise ThresholdError(f"{source} has no thresholds for {profile!r}: it has {known}")
        document = document[profile]
    if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
        raise ThresholdError(f"{source}: expected a list of threshold specs such as 'p95<500'")
    return [parse_threshold(item) for item in document]


def resolve(profile: str, file: Path | None = None, overrides: Iterable[str] = ()) -> list[Threshold]:
    """Defaults for the profile, replaced by a file's, then by command-line specs (same metric and endpoint)."""
    chosen = {(t.endpoint, t.metric): t for t in load_thresholds(DEFAULTS_FILE, profile)}
    if file is not None:
        chosen |= {(t.endpoint, t.metric): t for t in load_thresholds(file, profile if _is_profiled(file) else None)}
    for spec in overrides:
        threshold = parse_threshold(spec)
        chosen[(threshold.endpoint, threshold.metric)] = threshold
    return list(chosen.values())


def _is_profiled(path: Path) -> bool:
    return isinstance(yaml.safe_load(path.read_text()), Mapping)


@dataclass(frozen=True)
class EndpointStats:
    requests: int
    failures: int
    rps: float
    percentiles_ms: Mapping[str, float] = field(default_factory=dict)  # "p50" -> ms

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def value(self, metric: str) -> float:
        if metric in PERCENTILES:
            return float(self.percentiles_ms[metric])
        if metric == "failure_ratio":
            return self.failure_ratio
        return self.rps


@dataclass(frozen=True)
class Outcome:
    threshold: str
    metric: str
    endpoint: str | None
    limit: float
    observed: float | None
    passed: bool
    note: str = ""


def evaluate(
    thresholds: Iterable[Threshold], endpoints: Mapping[str, EndpointStats], aggregate: EndpointStats
) -> list[Outcome]:
    outcomes = []
    for threshold in thresholds:
        stats = aggregate if threshold.endpoint is None else endpoints.get(threshold.endpoint)
        if stats is None or stats.requests == 0:
            outcomes.append(
                Outcome(
                    threshold.describe(),
                    threshold.metric,
                    threshold.endpoint,
                    threshold.limit,
                    None,
                    False,
                    "no request was made to it: a threshold on nothing cannot pass",
                )
            )
            continue
        observed = stats.value(threshold.metric)
        outcomes.append(
            Outcome(
                threshold.describe(),
                threshold.metric,
                threshold.endpoint,
                threshold.limit,
                round(observed, 4),
                threshold.holds(observed),
            )
        )
    return outcomes


def verdict(outcomes: list[Outcome], *, aborted: str | None = None, **extra: Any) -> dict[str, Any]:
    """The document written to verdict.json."""
    return {
        "passed": all(outcome.passed for outcome in outcomes) and aborted is None,
        "aborted": aborted,
        "thresholds": [asdict(outcome) for outcome in outcomes],
        **extra,
    }


def write_verdict(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
