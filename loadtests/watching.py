"""What every scaling watcher shares: the result, the statuses, a sampling thread, and one clock with Locust.

Samples are stamped with wall-clock epoch seconds, the clock of Locust's
``locust_stats_history.csv`` (its ``Timestamp`` column). The timeline written
for the report, and every "seconds since start" in a verdict, count from
Locust's first history row, so replicas, concurrency and latency share one
time axis (a monotonic clock started by the watcher was offset from Locust's by
the seconds Locust took to start).
"""

from __future__ import annotations

import csv
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"
UNOBSERVED = "unobserved"  # the watcher could not read its source (permissions, credentials): never a pass
HISTORY_FILE = "locust_stats_history.csv"


@dataclass(frozen=True)
class ScalingResult:
    status: str
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LatencyRow:
    """One aggregated row of Locust's per-second history: epoch seconds and the p95 of the last 10 s.

    With ``--csv-full-history`` (run.py passes it) Locust 2.47's history rows hold
    the *current* percentile (``_percentile_fields(use_current=self.full_history)``:
    a rolling window of ``CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`` = 10 s,
    locust/stats.py), not the whole run's: it says when latency recovered, not
    whether the run's p95 held (the threshold itself judges that).
    """

    at_epoch: float
    p95_ms: float | None


def locust_history(results: Path | None) -> list[LatencyRow]:
    """The aggregated rows of ``locust_stats_history.csv``, on the epoch clock; [] when there is none."""
    path = None if results is None else results / HISTORY_FILE
    if path is None or not path.exists():
        return []
    rows = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated":
                continue
            raw = row.get("95%")
            p95 = float(raw) if raw not in (None, "", "N/A") else None
            rows.append(LatencyRow(float(row["Timestamp"]), p95))
    return rows


def aggregate_p95_limit(results: Path | None) -> float | None:
    """The run's aggregate p95 threshold, from the verdict Locust wrote (``None`` without one)."""
    import json

    path = None if results is None else results / "verdict.json"
    if path is None or not path.exists():
        return None
    verdict = json.loads(path.read_text())
    limits = [t["limit"] for t in verdict.get("thresholds", []) if t["metric"] == "p95" and t["endpoint"] is None]
    return float(limits[0]) if limits else None


def run_origin(results: Path | None, fallback: float) -> float:
    """Epoch second 0 of the run: Locust's first history row, else ``fallback`` (the watcher's start)."""
    rows = locust_history(results)
    return rows[0].at_epoch if rows else fallback


class Watcher:
    """Samples something every ``interval_s`` on a thread until stopped; the base class records nothing."""

    kind = "none"

    def __init__(self, interval_s: float = 5.0, results: Path | None = None) -> None:
        self.interval_s = interval_s
        self.results = results
        self.timeline: list[dict[str, Any]] = []
        self.started_epoch = time.time()
        self.stopped_epoch: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.started_epoch = time.time()
        self._thread.start()

    def stop(self) -> None:
        self.stopped_epoch = time.time()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            try:
                self.sample(now)
            except (OSError, ValueError, subprocess.SubprocessError) as exc:
                self.timeline.append({"at_epoch": round(now, 1), "error": str(exc)})
            self._stop.wait(self.interval_s)

    def sample(self, at_epoch: float) -> None:
        """Record one sample; subclasses read the Kubernetes API or AWS."""

    def evaluate(self, cold_starts: int) -> ScalingResult:
        return ScalingResult(NOT_APPLICABLE, ["no cluster and no cloud here: scaling was not observed"])

    def write_timeline(self, path: Path) -> None:
        """The timeline as CSV, ``at_s`` counted from Locust's first history row (the report's time axis)."""
        origin = run_origin(self.results, self.started_epoch)
        rows = [timeline_row(row, origin) for row in self.timeline]
        keys = sorted({key for row in rows for key in row}, key=lambda k: (k != "at_s", k))
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys or ["at_s"])
            writer.writeheader()
            writer.writerows(rows)


def timeline_row(row: Mapping[str, Any], origin: float) -> dict[str, Any]:
    out = {key: value for key, value in row.items() if key != "at_epoch"}
    if "at_epoch" in row:
        out["at_s"] = round(float(row["at_epoch"]) - origin, 1)
    return out


def seconds(at_epoch: float | None, origin: float) -> float | None:
    return None if at_epoch is None else round(at_epoch - origin, 1)


def p95_recovery(
    history: Sequence[LatencyRow], after_epoch: float, limit_ms: float | None
) -> tuple[float | None, float | None, bool]:
    """(epoch when the rolling p95 was back under ``limit_ms`` at or after ``after_epoch``, worst p95 seen before
    that, whether it recovered). With no limit or no rows, (None, None, True): nothing to judge."""
    if limit_ms is None:
        return None, None, True
    rows = [row for row in history if row.at_epoch >= after_epoch and row.p95_ms is not None]
    if not rows:
        return None, None, True
    worst = None
    for row in rows:
        assert row.p95_ms is not None
        if row.p95_ms < limit_ms:
            return row.at_epoch, worst, True
        worst = row.p95_ms if worst is None else max(worst, row.p95_ms)
    return None, worst, False
