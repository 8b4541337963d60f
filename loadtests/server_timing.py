"""The app's own time per request, from its ``Server-Timing: app;dur=<ms>`` header: the parser and the run's file.

The handler's time is what a Lambda function bills (plus its runtime's few
milliseconds), where the client's response time also holds the network, the
load balancer or the local front and, locally, the emulator's queueing.
``loadtests/timing_listener.py`` records it during a run (Locust imports it);
this module stays free of Locust so that the comparison can read the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FILE_NAME = "server_timing.json"
_APP = re.compile(r"(?:^|,)\s*app\s*(?:;[^,]*?)?;\s*dur=\"?([0-9.]+)\"?", re.IGNORECASE)


def app_duration_ms(header: str | None) -> float | None:
    """The ``dur`` of the ``app`` metric in a Server-Timing header (W3C: comma-separated metrics, ``;``-params)."""
    if not header:
        return None
    match = _APP.search(header)
    return float(match.group(1)) if match else None


def read(results: Path) -> dict[str, Any]:
    path = results / FILE_NAME
    loaded: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return loaded
