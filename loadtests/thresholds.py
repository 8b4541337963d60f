"""Declarative pass/fail thresholds for a Locust run, and the verdict they give.

Pure Python, no Locust import: the Locust plugin (``loadtests/plugin.py``)
feeds it what the run measured (``loadtests/measure.py``), and the tests can
exercise it without gevent.

A threshold reads ``[ENDPOINT:]METRIC OP LIMIT[@abort=SECONDS][@stage=NAME]``:

    p95<500                      95th percentile of successful requests under 500 ms
    GET /users:p99<800           one endpoint (its Locust request name)
    failure_ratio<0.01           fewer than 1 % of requests failed
    dropped_ratio<0.01           fewer than 1 % of arrivals found no free virtual user
    rps>=5                       at least 5 requests per second overall
    p95<2000@abort=30            stop the run early if breached after 30 s
    p95<300@stage=hold           judged on one stage of the scenario only
    p95_drift<1.5                the last judged stage's p95 at most 1.5 x the first's (soak)

Without ``@stage`` a threshold judges the scenario's judged stages together:
never the warm-up, nor a stage marked unjudged (the under-provisioned steps of
a ramp). Latencies are of successful requests only, and cold starts are judged
under their own name (``GET /users (cold start)``), not in the aggregate.
Latency, failure, drop and drift thresholds are upper bounds (``<`` or ``<=``);
throughput thresholds are lower bounds (``>`` or ``>=``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .arrivals import Plan
from .measure import Bucket, Recording, combined, failures, warm_latency

EXIT_THRESHOLD_FAILED = 3  # distinct from Locust's 1 (errors in the run) and 2 (usage errors)
EXIT_RUN_BROKE = 1  # Locust's own meaning of 1 for exceptions: here, raised in the user classes
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
DRIFTS = {f"{name}_drift": name for name in PERCENTILES}  # last judged stage / first judged stage
UPPER_BOUNDS = {*PERCENTILES, *DRIFTS, "failure_ratio", "dropped_ratio"}
LOWER_BOUNDS = {"rps"}
METRICS = UPPER_BOUNDS | LOWER_BOUNDS
DEFAULTS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"
DEFAULT_PROFILE = "default"  # for a backend with no profile of its own (a new plugin's, say)
_SPEC = re.compile(
    r"^(?:(?P<endpoint>[A-Z]+ [^:]+):)?\s*(?P<metric>[a-z_0-9]+)\s*(?P<op><=|>=|<|>)\s*(?P<limit>[0-9.]+)"
    r"(?P<options>(?:\s*@[a-z]+=[^@]+)*)$"
)
_OPTION = re.compile(r"@(?P<key>[a-z]+)=(?P<value>[^@]+)")


class ThresholdError(ValueError):
    """A threshold that cannot be understood; the message shows the expected form."""


@dataclass(frozen=True)
class Threshold:
    metric: str
    limit: float
    endpoint: str | None = None  # a Locust request name such as "GET /users"; None is the aggregate
    inclusive: bool = False  # <= or >= rather than < or >
    abort_after_s: float | None = None
    stage: str | None = None  # one stage of the scenario; None: its judged stages together

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ThresholdError(f"unknown metric {self.metric!r}: use one of {', '.join(sorted(METRICS))}")
        if self.limit < 0:
            raise ThresholdError(f"{self.describe()}: the limit must not be negative")
        if self.metric in DRIFTS and self.stage is not None:
            raise ThresholdError(f"{self.describe()}: a drift compares the last judged stage with the first")

    @property
    def upper_bound(self) -> bool:
        return self.metric in UPPER_BOUNDS

    def describe(self) -> str:
        op = ("<=" if self.inclusive else "<") if self.upper_bound else (">=" if self.inclusive else ">")
        unit = " ms" if self.metric in PERCENTILES else (" req/s" if self.metric == "rps" else "")
        where = f"{self.endpoint}: " if self.endpoint else ""
        stage = f" in stage {self.stage}" if self.stage else ""
        return f"{where}{self.metric} {op} {self.limit:g}{unit}{stage}"

    def holds(self, value: float) -> bool:
        if self.upper_bound:
            return value <= self.limit if self.inclusive else value < self.limit
        return value >= self.limit if self.inclusive else value > self.limit


def parse_threshold(spec: str) -> Threshold:
    match = _SPEC.match(spec.strip())
    if not match:
        raise ThresholdError(
            f"cannot read threshold {spec!r}: write [ENDPOINT:]METRIC OP LIMIT[@abort=SECONDS][@stage=NAME], "
            "e.g. 'p95<500', 'GET /users:p99<800', 'failure_ratio<0.01', 'rps>=5', 'p95<300@stage=hold'"
        )
    metric, op = match["metric"], match["op"]
    if (metric in UPPER_BOUNDS and op.startswith(">")) or (metric in LOWER_BOUNDS and op.startswith("<")):
        bound = "an upper bound (<)" if metric in UPPER_BOUNDS else "a lower bound (>)"
        raise ThresholdError(f"{spec!r}: {metric} takes {bound}")
    options = {m["key"]: m["value"].strip() for m in _OPTION.finditer(match["options"] or "")}
    unknown = set(options) - {"abort", "stage"}
    if unknown:
        raise ThresholdError(f"{spec!r}: unknown option @{sorted(unknown)[0]}=: use @abort=SECONDS or @stage=NAME")
    try:
        abort = float(options["abort"]) if "abort" in options else None
    except ValueError:
        raise ThresholdError(f"{spec!r}: @abort= takes seconds, e.g. @abort=30") from None
    return Threshold(
        metric=metric,
        limit=float(match["limit"]),
        endpoint=match["endpoint"],
        inclusive=op.endswith("="),
        abort_after_s=abort,
        stage=options.get("stage"),
    )


def read_document(path: Path) -> Any:
    """A thresholds file parsed; any problem reading it is a ThresholdError naming the file (and the line)."""
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ThresholdError(f"{path} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ThresholdError(
            f"{path} is not valid YAML ({getattr(exc, 'problem', None) or 'unreadable'}{where})"
        ) from None


def load_thresholds(path: Path, profile: str | None = None) -> list[Threshold]:
    """Thresholds from a YAML file: a list of specs, or a mapping of profile -> list (then ``profile`` picks)."""
    return thresholds_in(read_document(path), str(path), profile)


def profile_in(document: Mapping[str, Any], profile: str | None) -> str | None:
    """The profile of a profiled file that applies: ``profile`` itself, else its ``default`` entry, else None."""
    if profile in document:
        return profile
    return DEFAULT_PROFILE if DEFAULT_PROFILE in document else None


def thresholds_in(document: Any, source: str, profile: str | None = None) -> list[Threshold]:
    """The thresholds of a parsed thresholds file (``source`` names it in errors): its list, or its profile's."""
    if isinstance(document, Mapping):
        chosen = profile_in(document, profile)
        if chosen is None:
            known = ", ".join(sorted(map(str, document)))
            raise ThresholdError(
                f"{source} has no thresholds for {profile!r} and no {DEFAULT_PROFILE!r} entry: it has {known}"
            )
        document = document[chosen]
    if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
        raise ThresholdError(f"{source}: expected a list of threshold specs such as 'p95<500'")
    return [parse_threshold(item) for item in document]


@dataclass(frozen=True)
class Resolved:
    thresholds: list[Threshold]
    sources: str  # for the console: where they came from


def resolve(
    profile: str, file: Path | None = None, overrides: Iterable[str] = (), scenario: Iterable[str] = ()
) -> Resolved:
    """Defaults for the profile (or ``default``), the scenario's own, a file's, then command-line specs.

    Each later one replaces an earlier one that names the same endpoint, metric and stage.
    """
    defaults = read_document(DEFAULTS_FILE)
    used = profile_in(defaults, profile) or DEFAULT_PROFILE
    chosen = {_key(t): t for t in thresholds_in(defaults, str(DEFAULTS_FILE), used)}
    sources = [f"{used} defaults" + (f" (no {profile!r} profile)" if used != profile else "")]
    scenario_thresholds = [parse_threshold(spec) for spec in scenario]
    if scenario_thresholds:
        chosen |= {_key(t): t for t in scenario_thresholds}
        sources.append("the scenario's own")
    if file is not None:
        document = read_document(file)
        chosen |= {_key(t): t for t in thresholds_in(document, str(file), profile)}
        sources.append(str(file))
    specs = list(overrides)
    for spec in specs:
        threshold = parse_threshold(spec)
        chosen[_key(threshold)] = threshold
    if specs:
        sources.append(f"{len(specs)} on the command line")
    return Resolved(list(chosen.values()), ", then ".join(sources))


def _key(threshold: Threshold) -> tuple[str | None, str, str | None]:
    return (threshold.endpoint, threshold.metric, threshold.stage)


@dataclass(frozen=True)
class EndpointStats:
    requests: int  # successful and failed
    failures: int
    rps: float
    percentiles_ms: Mapping[str, float | None] = field(default_factory=dict)  # of successful requests only
    dropped_ratio: float = 0.0
    max_ms: float | None = None

    @property
    def successes(self) -> int:
        return self.requests - self.failures

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def value(self, metric: str) -> float | None:
        if metric in PERCENTILES:
            return self.percentiles_ms.get(metric)
        if metric == "failure_ratio":
            return self.failure_ratio
        if metric == "dropped_ratio":
            return self.dropped_ratio
        return self.rps


def bucket_stats(bucket: Bucket, seconds: float) -> tuple[dict[str, EndpointStats], EndpointStats]:
    """Per request name and in aggregate; the aggregate's latency leaves cold starts out."""
    names = sorted(set(bucket.ok) | set(bucket.failed))
    per_name = {}
    for name in names:
        histogram = bucket.ok.get(name)
        ok = histogram.total if histogram else 0
        failed = sum(bucket.failed.get(name, {}).values())
        per_name[name] = EndpointStats(
            requests=ok + failed,
            failures=failed,
            rps=(ok + failed) / seconds if seconds > 0 else 0.0,
            percentiles_ms={m: histogram.percentile(f) if histogram else None for m, f in PERCENTILES.items()},
            max_ms=histogram.max if histogram else None,
        )
    warm = warm_latency(bucket)
    total = sum(s.requests for s in per_name.values())
    arrivals = bucket.started + bucket.dropped
    aggregate = EndpointStats(
        requests=total,
        failures=failures(bucket),
        rps=total / seconds if seconds > 0 else 0.0,
        percentiles_ms={m: warm.percentile(f) for m, f in PERCENTILES.items()},
        dropped_ratio=bucket.dropped / arrivals if arrivals else 0.0,
        max_ms=warm.max,
    )
    return per_name, aggregate


@dataclass(frozen=True)
class Observations:
    """What thresholds are judged on: each stage, and the judged stages together."""

    stages: Mapping[str, tuple[Mapping[str, EndpointStats], EndpointStats]]
    judged_stages: Sequence[str]  # in the scenario's order
    judged: tuple[Mapping[str, EndpointStats], EndpointStats]


def observations(recording: Recording, plan: Plan, elapsed: float | None = None) -> Observations:
    """Observations of a run: ``elapsed`` (while it runs) counts only the seconds of each stage already run."""
    stages: dict[str, tuple[dict[str, EndpointStats], EndpointStats]] = {}
    offset, judged_seconds, judged_names = 0.0, 0.0, []
    for stage in plan:
        seconds = stage.seconds if elapsed is None else min(max(elapsed - offset, 0.0), stage.seconds)
        offset += stage.seconds
        stages[stage.name] = bucket_stats(recording.phases.get(stage.name, Bucket()), seconds)
        if stage.judged:
            judged_names.append(stage.name)
            judged_seconds += seconds
    together = combined(recording.phases.get(name, Bucket()) for name in judged_names)
    return Observations(stages, judged_names, bucket_stats(together, judged_seconds))


@dataclass(frozen=True)
class Outcome:
    threshold: str
    metric: str
    endpoint: str | None
    limit: float
    observed: float | None
    passed: bool
    note: str = ""
    stage: str | None = None


def _outcome(threshold: Threshold, observed: float | None, note: str = "") -> Outcome:
    passed = observed is not None and threshold.holds(observed)
    return Outcome(
        threshold.describe(),
        threshold.metric,
        threshold.endpoint,
        threshold.limit,
        None if observed is None else round(observed, 4),
        passed,
        note,
        threshold.stage,
    )


def evaluate(thresholds: Iterable[Threshold], observed: Observations) -> list[Outcome]:
    return [_judge(threshold, observed) for threshold in thresholds]


def _judge(threshold: Threshold, observed: Observations) -> Outcome:
    if threshold.metric in DRIFTS:
        return _drift(threshold, observed)
    if threshold.stage is not None and threshold.stage not in observed.stages:
        known = ", ".join(observed.stages)
        return _outcome(threshold, None, f"the scenario has no stage {threshold.stage!r}: it has {known}")
    endpoints, aggregate = observed.stages[threshold.stage] if threshold.stage else observed.judged
    stats = aggregate if threshold.endpoint is None else endpoints.get(threshold.endpoint)
    if stats is None or stats.requests == 0:
        return _outcome(threshold, None, "no request was made to it: a threshold on nothing cannot pass")
    if threshold.metric in PERCENTILES and stats.successes == 0:
        return _outcome(threshold, None, "no request succeeded: latency cannot be judged, so it fails")
    return _outcome(threshold, stats.value(threshold.metric))


def _drift(threshold: Threshold, observed: Observations) -> Outcome:
    percentile = DRIFTS[threshold.metric]
    if len(observed.judged_stages) < 2:
        return _outcome(threshold, None, "a drift needs two judged stages (a first and a last window)")
    first_name, last_name = observed.judged_stages[0], observed.judged_stages[-1]

    def value(name: str) -> float | None:
        endpoints, aggregate = observed.stages[name]
        stats = aggregate if threshold.endpoint is None else endpoints.get(threshold.endpoint)
        return stats.value(percentile) if stats is not None and stats.successes else None

    first, last = value(first_name), value(last_name)
    if not first or last is None:
        return _outcome(threshold, None, f"no successful request in stage {first_name!r} or {last_name!r}")
    return _outcome(
        threshold, last / first, f"{percentile} {last:g} ms in {last_name!r}, {first:g} ms in {first_name!r}"
    )


def verdict(outcomes: list[Outcome], *, aborted: str | None = None, **extra: Any) -> dict[str, Any]:
    """The document written to verdict.json."""
    return {
        "passed": all(outcome.passed for outcome in outcomes) and aborted is None,
        "aborted": aborted,
        "thresholds": [asdict(outcome) for outcome in outcomes],
        **extra,
    }


def exit_code(document: Mapping[str, Any]) -> int:
    """0 passed; 1 the user classes raised (the run itself broke); 3 a threshold failed or the run aborted.

    Failed requests alone do not make a 1, as they do in plain Locust (``--exit-code-on-error``): the
    failure_ratio threshold judges them, so a run within its failure budget exits 0 and one past it 3.
    """
    if document.get("exceptions"):
        return EXIT_RUN_BROKE
    return 0 if document["passed"] else EXIT_THRESHOLD_FAILED


def write_verdict(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
