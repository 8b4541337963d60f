"""Locust listeners that sum the app's Server-Timing over a run and write ``server_timing.json`` beside the verdict.

Counted by this process: in a distributed run the master sees none (like cold starts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from .server_timing import FILE_NAME, app_duration_ms

_state = {"requests": 0, "total_ms": 0.0}


@events.request.add_listener
def _record(response: Any = None, **_: Any) -> None:
    headers = getattr(response, "headers", None)
    duration = app_duration_ms(headers.get("Server-Timing")) if headers is not None else None
    if duration is not None:
        _state["requests"] += 1
        _state["total_ms"] += duration


@events.quitting.add_listener
def _write(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    verdict_file = getattr(environment.parsed_options, "verdict_file", None)
    if not verdict_file:
        return
    count = int(_state["requests"])
    summary = {"requests": count, "meanAppMs": _state["total_ms"] / count if count else None}
    Path(verdict_file).with_name(FILE_NAME).write_text(json.dumps(summary) + "\n")
