"""Real botocore clients with a Stubber: each canned response is checked against the service's model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.stub import Stubber

MINUTE = 60
T0 = 1_796_000_400.0  # a whole minute (2026-11-29T...:00Z): the run starts 20 s into it


def client(service: str) -> Any:
    return botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@contextmanager
def stubbed(service: str) -> Iterator[tuple[Any, Stubber]]:
    made = client(service)
    with Stubber(made) as stubber:
        yield made, stubber


def metric_data(series: Mapping[str, Mapping[float, float]]) -> dict[str, Any]:
    """A GetMetricData response: one result per id, timestamps ascending, as CloudWatch answers ``ScanBy`` ascending."""
    return {
        "MetricDataResults": [
            {
                "Id": key,
                "Label": key,
                "Timestamps": [datetime.fromtimestamp(stamp, UTC) for stamp in sorted(points)],
                "Values": [float(points[stamp]) for stamp in sorted(points)],
                "StatusCode": "Complete",
            }
            for key, points in series.items()
        ],
        "Messages": [],
    }


def minutes(*values: float, first: float = T0) -> dict[float, float]:
    """Per-minute values from the run's first minute on."""
    return {first + MINUTE * index: value for index, value in enumerate(values)}


def report_line(duration: float, billed: int, init: float | None = None, memory: int = 512) -> str:
    """A REPORT line as Lambda writes it in the text log format (tab-separated; Init Duration on cold starts only)."""
    line = (
        "REPORT RequestId: 6f1d2b0c-4a3e-4b8e-9d6f-0c1e2a3b4c5d\t"
        f"Duration: {duration:.2f} ms\tBilled Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: 98 MB\t"
    )
    if init is not None:
        line += f"Init Duration: {init:.2f} ms\t"
    return line + "\n"
