"""The scaling part of a run's report: which timeline series are plotted, and the watcher's figures as a table."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

# The capacity panel: what the autoscaler asked for beside what was ready or running, and what was waiting.
TIMELINE_SERIES = (
    "desired_replicas",
    "current_replicas",
    "ready_replicas",
    "pending_pods",
    "ready_nodes",
    "concurrency",
    "desired_tasks",
    "running_tasks",
)


def scaling_details(verdict: Mapping[str, Any]) -> str:
    """The scaling check's figures (times to decision, to ready capacity, to p95 recovery; peaks; limits)."""
    details = (verdict.get("scaling") or {}).get("details") or {}
    if not details:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(_shown(value))}</td></tr>"
        for key, value in sorted(details.items())
    )
    return "<details><summary>Scaling figures</summary><table>" + rows + "</table></details>"


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {_shown(item)}" for key, item in value.items())
    return "n/a" if value is None else str(value)
