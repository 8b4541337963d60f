"""Reading CloudWatch for a run: GetMetricData over the run's whole minutes, polled until the figures settle.

CloudWatch publishes Lambda, API Gateway and ECS metrics in one-minute periods,
a minute or more late, and a period's value can still grow after it first
appears. So the window is the run's own minutes (from the minute it started, not
a minute before), and the poll stops when a period covering the run's last
minute has arrived and two polls in a row return the same figures, or when the
wait runs out (then the verdict says the late minutes may be missing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PERIOD_S = 60
Series = dict[str, dict[float, float]]  # query id -> epoch second of the period's start -> value


@dataclass(frozen=True)
class MetricQuery:
    id: str
    namespace: str
    name: str
    dimensions: Mapping[str, str]
    stat: str

    def as_request(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "ReturnData": True,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.name,
                    "Dimensions": [{"Name": key, "Value": value} for key, value in self.dimensions.items()],
                },
                "Period": PERIOD_S,
                "Stat": self.stat,
            },
        }


def minute_floor(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch - epoch % PERIOD_S, UTC)


def minute_ceil(epoch: float) -> datetime:
    rest = epoch % PERIOD_S
    return datetime.fromtimestamp(epoch + (PERIOD_S - rest if rest else 0), UTC)


def epoch_of(stamp: Any) -> float:
    if isinstance(stamp, datetime):
        return stamp.timestamp()
    return datetime.fromisoformat(str(stamp)).timestamp()


def read_series(
    cloudwatch: Any,
    queries: Sequence[MetricQuery],
    started: float,
    stopped: float,
    problems: list[str] | None = None,
) -> Series:
    """GetMetricData for the run's minutes, every page, as id -> period start (epoch) -> value.

    A result whose ``StatusCode`` is ``InternalError`` or ``Forbidden`` (the API's MetricDataResult; ``PartialData``
    only means another page follows) has lost data without an error: its id and ``Messages`` go to ``problems``.
    """
    series: Series = {query.id: {} for query in queries}
    arguments: dict[str, Any] = {
        "MetricDataQueries": [query.as_request() for query in queries],
        "StartTime": minute_floor(started),
        "EndTime": minute_ceil(stopped),
        "ScanBy": "TimestampAscending",
    }
    while True:
        response = cloudwatch.get_metric_data(**arguments)
        for result in response.get("MetricDataResults", []):
            points = zip(result.get("Timestamps", []), result.get("Values", []), strict=True)
            series.setdefault(result["Id"], {}).update({epoch_of(stamp): float(value) for stamp, value in points})
            status = result.get("StatusCode", "Complete")
            if problems is not None and status not in {"Complete", "PartialData"}:
                said = "; ".join(str(m.get("Value", "")) for m in result.get("Messages") or [])
                problem = f"{result['Id']}: {status}" + (f" ({said})" if said else "")
                if problem not in problems:
                    problems.append(problem)
        token = response.get("NextToken")
        if not token:
            return series
        arguments["NextToken"] = token


@dataclass(frozen=True)
class Polled:
    series: Series
    settled: bool
    waited_s: float


# CloudWatch's Lambda, API Gateway and ECS metrics usually arrive within two minutes; a minute with no traffic has no
# data point at all, so past this grace after the run, two equal reads settle it even without the last minute.
LATE_DATA_GRACE_S = 150.0


def last_minute_start(stopped: float) -> float:
    """The start of the last one-minute period that holds any of the run (EndTime is exclusive)."""
    return minute_ceil(stopped).timestamp() - PERIOD_S


def poll_until_settled(
    read: Callable[[], Series],
    stopped: float,
    watch_id: str,
    wait_s: float,
    every_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Polled:
    """Read until two reads agree and ``watch_id`` has the run's last minute (or the grace after the run has passed)."""
    began = clock()
    last = last_minute_start(stopped)
    previous: Series | None = None
    while True:
        current = read()
        arrived = any(stamp >= last for stamp in current.get(watch_id, {})) or wall() - stopped >= LATE_DATA_GRACE_S
        if arrived and current == previous:
            return Polled(current, True, clock() - began)
        if clock() - began >= wait_s:
            return Polled(current, False, clock() - began)
        previous = current
        sleep(every_s)


def total(points: Mapping[float, float]) -> float:
    return float(sum(points.values()))


def mean(points: Mapping[float, float]) -> float | None:
    return sum(points.values()) / len(points) if points else None


def weighted_mean(points: Mapping[float, float], weights: Mapping[float, float]) -> float | None:
    """The mean of per-period averages weighted by each period's count (an average over requests, not minutes)."""
    pairs = [(value, weights.get(stamp, 0.0)) for stamp, value in points.items()]
    weight = sum(w for _, w in pairs)
    return sum(value * w for value, w in pairs) / weight if weight else mean(points)


def peak(points: Mapping[float, float]) -> float | None:
    return max(points.values()) if points else None


def aws_error(exc: Exception, action: str) -> str:
    """A one-line account of an AWS error for a verdict: what was refused and what to grant or set."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        fix = f": grant {action}" if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"} else ""
        return f"{action} was refused ({code}: {message}){fix}"
    name = type(exc).__name__
    fix = (
        ": set AWS credentials (AWS_PROFILE or the environment) for the stack's account"
        if "Credentials" in name
        else ""
    )
    return f"{action} failed ({name}: {exc}){fix}"
