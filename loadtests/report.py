"""One HTML report per run, an engineer's record of it: what ran, what it offered, what came back, the verdict.

From the run's own files: ``run.json`` (metadata), ``verdict.json``,
``measured.json`` (per stage and per time window, ``loadtests/measure.py``),
``scaling_timeline.csv``. Latency over time is per window of the given length,
of the successful requests that *started* in it (not Locust's rolling 10 s
window), with no point where a window had none; stage boundaries and the
threshold limits are drawn on it. The plots are drawn by matplotlib and
embedded as PNG, the page by a Jinja2 template with autoescaping, so the report
is a single file that opens anywhere, with no script or CDN.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from .arrivals import Plan, Stage, due_between
from .measure import Bucket, Recording, combined, is_cold_start
from .scaling_report import TIMELINE_SERIES, scaling_details
from .thresholds import PERCENTILES, bucket_stats

PERCENTILE_COLUMNS = {"p50": "50%", "p95": "95%", "p99": "99%"}
COLOURS = {"p50": "tab:green", "p95": "tab:orange", "p99": "tab:red"}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None


def _json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def history(results: Path) -> list[dict[str, Any]]:
    """The aggregated rows of Locust's per-second history (its rolling 10 s percentiles), from the first with data."""
    path = results / "locust_stats_history.csv"
    if not path.exists():
        return []
    with path.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"]
    if not rows:
        return []
    start = float(rows[0]["Timestamp"])
    return [
        {
            "t": float(row["Timestamp"]) - start,
            "users": _number(row.get("User Count")),
            "rps": _number(row.get("Requests/s")),
            "failures": _number(row.get("Failures/s")),
            **{name: _number(row.get(column)) for name, column in PERCENTILE_COLUMNS.items()},
        }
        for row in rows
    ]


def scaling_series(results: Path) -> dict[str, list[tuple[float, float]]]:
    path = results / "scaling_timeline.csv"
    if not path.exists():
        return {}
    series: dict[str, list[tuple[float, float]]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            at = _number(row.get("at_s"))
            for key in TIMELINE_SERIES:
                value = _number(row.get(key))
                if at is not None and value is not None:
                    series.setdefault(key, []).append((at, value))
    return series


class RunMeasurements:
    """``measured.json`` read back: the plan's stages, the window length, and the recording."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.window_s = float(data.get("windowSeconds", 10.0))
        self.plan: Plan = tuple(
            Stage(float(s["seconds"]), 0.0, str(s["name"]), judged=bool(s["judged"])) for s in data.get("stages", [])
        )
        self.recording = Recording.from_json(data)

    @classmethod
    def read(cls, results: Path) -> RunMeasurements:
        return cls(_json(results / "measured.json"))


def window_series(measured: RunMeasurements) -> list[dict[str, Any]]:
    """One row per window: its start, latency percentiles of successes (None when it had none), rates."""
    rows = []
    for index, bucket in sorted(measured.recording.windows.items()):
        warm = bucket_stats(bucket, measured.window_s)[1]
        rows.append(
            {
                "t": index * measured.window_s,
                **{m: warm.percentiles_ms.get(m) for m in PERCENTILES},
                "rps": warm.rps,
                "failures": warm.failures / measured.window_s,
                "started": bucket.started / measured.window_s,
                "dropped": bucket.dropped / measured.window_s,
            }
        )
    return rows


def _stage_lines(axes: Axes, plan: Plan, label: bool) -> None:
    start = 0.0
    for stage in plan:
        axes.axvline(start, color="0.75", linewidth=0.8, linestyle=":")
        if label:
            axes.annotate(stage.name, (start, 1.0), xycoords=("data", "axes fraction"), fontsize=7, va="top")
        start += stage.seconds


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def plot_over_time(
    measured: RunMeasurements,
    target_rates: list[tuple[float, float]],
    limits: Mapping[str, float],
    scaling: dict[str, list[tuple[float, float]]],
    title: str,
) -> str:
    """Latency per window with the limits, arrivals (target, achieved, dropped) and requests, capacity."""
    rows = window_series(measured)
    figure, (latency, rates, capacity) = plt.subplots(3, 1, sharex=True, figsize=(10, 9))
    times = [row["t"] + measured.window_s / 2 for row in rows]
    for name in PERCENTILES:
        latency.plot(times, [row[name] for row in rows], marker=".", label=name, color=COLOURS[name])
        if name in limits:
            latency.axhline(limits[name], color=COLOURS[name], linestyle="--", linewidth=1, label=f"{name} limit")
    latency.set_ylabel("ms")
    latency.set_title(f"latency of successful requests started in each {measured.window_s:g} s window", fontsize=9)
    latency.legend(loc="upper left", fontsize=7, ncol=2)
    _stage_lines(latency, measured.plan, label=True)
    rates.plot([t for t, _ in target_rates], [r for _, r in target_rates], "k--", zorder=3, label="target arrivals/s")
    rates.plot(times, [row["started"] for row in rows], marker=".", label="achieved arrivals/s")
    rates.plot(times, [row["dropped"] for row in rows], color="tab:purple", label="dropped arrivals/s")
    rates.plot(times, [row["rps"] for row in rows], color="tab:blue", alpha=0.5, label="requests/s")
    rates.plot(times, [row["failures"] for row in rows], color="tab:red", label="failed requests/s")
    rates.set_ylabel("per second")
    rates.legend(loc="upper left", fontsize=7, ncol=2)
    _stage_lines(rates, measured.plan, label=False)
    if scaling:
        for key, points in scaling.items():
            capacity.step([p[0] for p in points], [p[1] for p in points], where="post", label=key.replace("_", " "))
        capacity.set_ylabel("replicas / concurrency")
        capacity.legend(loc="upper left", fontsize=7)
    else:
        capacity.text(
            0.5, 0.5, "no scaling data (local stack or plain host)", ha="center", transform=capacity.transAxes
        )
    capacity.set_xlabel("seconds since the start")
    figure.suptitle(title)
    return _png(figure)


def plot_cdf(bucket: Bucket, limits: Mapping[str, float]) -> str:
    """The distribution of successful response times per endpoint (cold starts apart), with the limits."""
    figure, axes = plt.subplots(figsize=(10, 4))
    for name, histogram in sorted(bucket.ok.items()):
        points = histogram.cdf()
        axes.step([p[0] for p in points], [p[1] for p in points], where="post", label=name)
    for name, limit in limits.items():
        axes.axvline(limit, color=COLOURS.get(name, "black"), linestyle="--", linewidth=1, label=f"{name} limit")
    axes.set_xscale("log")
    axes.set_xlabel("response time (ms, log scale)")
    axes.set_ylabel("fraction of successful requests at or under")
    axes.set_title("cumulative distribution over the judged stages", fontsize=9)
    axes.legend(loc="lower right", fontsize=7)
    axes.grid(True, which="both", alpha=0.3)
    return _png(figure)


def aggregate_limits(verdict: Mapping[str, Any]) -> dict[str, float]:
    """The aggregate latency limits over the judged stages, to draw on the plots."""
    return {
        t["metric"]: float(t["limit"])
        for t in verdict.get("thresholds", [])
        if t["metric"] in PERCENTILES and t["endpoint"] is None and t.get("stage") is None
    }


def endpoint_rows(bucket: Bucket, seconds: float) -> list[dict[str, Any]]:
    per_name, aggregate = bucket_stats(bucket, seconds)
    rows = [{"name": name, "stats": stats, "cold": is_cold_start(name)} for name, stats in per_name.items()]
    return [*rows, {"name": "all (latency without cold starts)", "stats": aggregate, "cold": False}]


def failure_rows(bucket: Bucket) -> list[tuple[str, str, int]]:
    rows = [(name, cause, count) for name, causes in bucket.failed.items() for cause, count in causes.items()]
    return sorted(rows, key=lambda row: -row[2])


def target_curve(measured: RunMeasurements, arrivals: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The target arrival rate per window, from the stages' target rates in the verdict (a ramp's as a slope)."""
    rates = {s["name"]: s for s in arrivals.get("stages", [])}
    plan = tuple(
        Stage(stage.seconds, float(rates.get(stage.name, {}).get("targetRate", 0.0)), stage.name)
        for stage in measured.plan
    )
    if not plan:
        return []
    end = sum(stage.seconds for stage in plan)
    steps = max(1, int(end / measured.window_s))
    return [
        (
            i * measured.window_s + measured.window_s / 2,
            due_between(plan, i * measured.window_s, (i + 1) * measured.window_s) / measured.window_s,
        )
        for i in range(steps)
    ]


TEMPLATE = jinja2.Environment(loader=jinja2.PackageLoader("loadtests", "templates"), autoescape=True)


def write_report(results: Path, title: str) -> Path:
    verdict = _json(results / "verdict.json")
    metadata = _json(results / "run.json")
    measured = RunMeasurements.read(results)
    judged_names = [stage.name for stage in measured.plan if stage.judged]
    judged = combined(measured.recording.phases.get(name, Bucket()) for name in judged_names)
    judged_seconds = sum(stage.seconds for stage in measured.plan if stage.judged)
    everything = combined(measured.recording.phases.values())
    limits = aggregate_limits(verdict)
    arrivals = verdict.get("arrivals", {})
    page = TEMPLATE.get_template("report.html.j2").render(
        title=title,
        verdict=verdict,
        metadata=metadata,
        arrivals=arrivals,
        endpoints=endpoint_rows(judged, judged_seconds),
        failures=failure_rows(everything),
        over_time=plot_over_time(measured, target_curve(measured, arrivals), limits, scaling_series(results), title),
        cdf=plot_cdf(judged, limits) if judged.ok else None,
        style=STYLE,
        scaling_details=scaling_details(verdict),
    )
    path = results / "report.html"
    path.write_text(page)
    return path


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:0.5em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}td.n{text-align:right}"
    ".pass{background:#e8f5e9}.fail{background:#ffebee}.muted{color:#777}"
)
