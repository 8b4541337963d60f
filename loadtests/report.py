"""One HTML report per run: the verdict, and latency, throughput, failures and scaling on one time axis.

The plots are drawn by matplotlib and embedded as PNG, so the report is a
single file that opens anywhere, with no script or CDN.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

from .scaling_report import TIMELINE_SERIES, scaling_details

PERCENTILE_COLUMNS = {"p50": "50%", "p95": "95%", "p99": "99%"}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None


def history(results: Path) -> list[dict[str, Any]]:
    """The aggregated rows of Locust's per-second history, with seconds since the first row."""
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


def plot(rows: list[dict[str, Any]], scaling: dict[str, list[tuple[float, float]]], title: str) -> str:
    """The three panels as a base64 PNG."""
    figure, (latency, throughput, capacity) = plt.subplots(3, 1, sharex=True, figsize=(10, 8))
    times = [row["t"] for row in rows]
    for name in PERCENTILE_COLUMNS:
        latency.plot(times, [row[name] for row in rows], label=name)
    latency.set_ylabel("latency (ms)")
    latency.legend(loc="upper left")
    throughput.plot(times, [row["rps"] for row in rows], label="requests/s")
    throughput.plot(times, [row["failures"] for row in rows], label="failures/s", color="tab:red")
    throughput.set_ylabel("per second")
    throughput.legend(loc="upper left")
    if scaling:
        for key, points in scaling.items():
            capacity.step([p[0] for p in points], [p[1] for p in points], where="post", label=key.replace("_", " "))
        capacity.set_ylabel("replicas / concurrency")
    else:
        capacity.step(times, [row["users"] for row in rows], where="post", label="simulated users")
        capacity.set_ylabel("users (no scaling data)")
    capacity.legend(loc="upper left")
    capacity.set_xlabel("seconds since start")
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def verdict_table(verdict: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr class={'pass' if t['passed'] else 'fail'}><td>{html.escape(t['threshold'])}</td>"
        f"<td>{'' if t['observed'] is None else t['observed']}</td><td>{'PASS' if t['passed'] else 'FAIL'}</td>"
        f"<td>{html.escape(t.get('note') or '')}</td></tr>"
        for t in verdict.get("thresholds", [])
    )
    scaling = verdict.get("scaling", {})
    reasons = "; ".join(scaling.get("reasons", []))
    return (
        "<table><tr><th>threshold</th><th>observed</th><th>result</th><th>note</th></tr>" + rows + "</table>"
        f"<p>Scaling ({html.escape(str(scaling.get('watcher', 'none')))}): "
        f"<b>{html.escape(str(scaling.get('status', 'unknown')))}</b> {html.escape(reasons)}</p>"
    )


STYLE = (
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
    "padding:4px 8px}.pass{background:#e8f5e9}.fail{background:#ffebee}</style>"
)


def write_report(results: Path, title: str) -> Path:
    verdict = json.loads((results / "verdict.json").read_text())
    image = plot(history(results), scaling_series(results), title)
    outcome = "PASSED" if verdict.get("passed") else "FAILED"
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>{STYLE}</head><body>"
        f"<h1>{html.escape(title)}: {outcome}</h1>"
        f"<p>{verdict.get('requests', 0)} requests, {verdict.get('failures', 0)} failed, "
        f"{verdict.get('coldStarts', 0)} cold starts seen. "
        "Locust's own report: <a href=locust.html>locust.html</a>.</p>"
        + verdict_table(verdict)
        + scaling_details(verdict)
        + f"<img alt='latency, throughput and scaling over time' src='data:image/png;base64,{image}'>"
        + "</body></html>"
    )
    path = results / "report.html"
    path.write_text(page)
    return path
