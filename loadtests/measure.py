"""What a run measured, by phase and by time window: the numbers the verdict and the report are made of.

Each load-generating process records into a ``Recording``: successful
response times per request name as a histogram (rounded as Locust rounds
them, so percentiles agree with its own), failures per name and cause, and
arrivals started and dropped. Workers send theirs to the master as deltas in
Locust's worker reports, and the master merges them (``loadtests/plugin.py``):
counts from every process, cold starts included, whatever their number.

Pure Python: JSON in, JSON out, tested without Locust.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COLD_START_SUFFIX = " (cold start)"


def rounded_ms(ms: float) -> int:
    """Locust's rounding of a response time (locust/stats.py, StatsEntry._log_response_time, 2.47.0)."""
    if ms < 100:
        return round(ms)
    if ms < 1000:
        return int(round(ms, -1))
    if ms < 10000:
        return int(round(ms, -2))
    return int(round(ms, -3))


@dataclass
class Histogram:
    counts: Counter[int] = field(default_factory=Counter)

    def add(self, ms: float, count: int = 1) -> None:
        self.counts[rounded_ms(ms)] += count

    def merge(self, other: Histogram) -> None:
        self.counts.update(other.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def max(self) -> float | None:
        return float(max(self.counts)) if self.counts else None

    def percentile(self, fraction: float) -> float | None:
        """As locust/stats.py's calculate_response_time_percentile: the smallest time with ``fraction`` at or under."""
        total = self.total
        if not total:
            return None
        wanted = int(total * fraction)
        seen = 0
        for ms in sorted(self.counts, reverse=True):
            seen += self.counts[ms]
            if total - seen <= wanted:
                return float(ms)
        return 0.0

    def cdf(self) -> list[tuple[float, float]]:
        """(ms, fraction of requests at or under it), ascending."""
        total, seen, points = self.total, 0, []
        for ms in sorted(self.counts):
            seen += self.counts[ms]
            points.append((float(ms), seen / total))
        return points

    def to_json(self) -> dict[str, int]:
        return {str(ms): n for ms, n in sorted(self.counts.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, int]) -> Histogram:
        return cls(Counter({int(ms): int(n) for ms, n in data.items()}))


@dataclass
class Bucket:
    """One phase or one time window: successes, failures and arrivals."""

    ok: dict[str, Histogram] = field(default_factory=dict)  # request name -> successful response times
    failed: dict[str, Counter[str]] = field(default_factory=dict)  # request name -> cause -> count
    started: int = 0  # arrivals started on a virtual user
    dropped: int = 0  # arrivals due when every virtual user was busy

    def add_request(self, name: str, ms: float, error: str | None) -> None:
        if error is None:
            self.ok.setdefault(name, Histogram()).add(ms)
        else:
            self.failed.setdefault(name, Counter())[error] += 1

    def merge(self, other: Bucket) -> None:
        for name, histogram in other.ok.items():
            self.ok.setdefault(name, Histogram()).merge(histogram)
        for name, causes in other.failed.items():
            self.failed.setdefault(name, Counter()).update(causes)
        self.started += other.started
        self.dropped += other.dropped

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": {name: h.to_json() for name, h in self.ok.items()},
            "failed": {name: dict(c) for name, c in self.failed.items()},
            "started": self.started,
            "dropped": self.dropped,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bucket:
        return cls(
            ok={name: Histogram.from_json(h) for name, h in data.get("ok", {}).items()},
            failed={name: Counter(c) for name, c in data.get("failed", {}).items()},
            started=int(data.get("started", 0)),
            dropped=int(data.get("dropped", 0)),
        )


@dataclass
class Recording:
    phases: dict[str, Bucket] = field(default_factory=dict)
    windows: dict[int, Bucket] = field(default_factory=dict)

    def buckets(self, phase: str, window: int) -> tuple[Bucket, Bucket]:
        return self.phases.setdefault(phase, Bucket()), self.windows.setdefault(window, Bucket())

    def add_request(self, phase: str, window: int, name: str, ms: float, error: str | None) -> None:
        for bucket in self.buckets(phase, window):
            bucket.add_request(name, ms, error)

    def add_arrival(self, phase: str, window: int, *, started: bool) -> None:
        for bucket in self.buckets(phase, window):
            if started:
                bucket.started += 1
            else:
                bucket.dropped += 1

    def merge(self, other: Recording) -> None:
        for phase, bucket in other.phases.items():
            self.phases.setdefault(phase, Bucket()).merge(bucket)
        for window, bucket in other.windows.items():
            self.windows.setdefault(window, Bucket()).merge(bucket)

    def drain(self) -> dict[str, Any]:
        """This recording as JSON, emptied: a worker sends deltas, the master adds them up."""
        data = self.to_json()
        self.phases, self.windows = {}, {}
        return data

    def to_json(self) -> dict[str, Any]:
        return {
            "phases": {phase: b.to_json() for phase, b in self.phases.items()},
            "windows": {str(w): b.to_json() for w, b in sorted(self.windows.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        return cls(
            phases={phase: Bucket.from_json(b) for phase, b in data.get("phases", {}).items()},
            windows={int(w): Bucket.from_json(b) for w, b in data.get("windows", {}).items()},
        )


def is_cold_start(name: str) -> bool:
    return name.endswith(COLD_START_SUFFIX)


def combined(buckets: Iterable[Bucket]) -> Bucket:
    total = Bucket()
    for bucket in buckets:
        total.merge(bucket)
    return total


def cold_starts(bucket: Bucket) -> int:
    ok = sum(h.total for name, h in bucket.ok.items() if is_cold_start(name))
    return ok + sum(sum(c.values()) for name, c in bucket.failed.items() if is_cold_start(name))


def warm_latency(bucket: Bucket) -> Histogram:
    """Successful response times of every request but cold starts (those are judged under their own name)."""
    total = Histogram()
    for name, histogram in bucket.ok.items():
        if not is_cold_start(name):
            total.merge(histogram)
    return total


def failures(bucket: Bucket) -> int:
    return sum(sum(c.values()) for c in bucket.failed.values())


def successes(bucket: Bucket) -> int:
    return sum(h.total for h in bucket.ok.values())
