"""Fixtures for the chart's tests: the chart loaded once by real Helm, and one release per value set."""

from __future__ import annotations

from collections.abc import Iterator

import helm_python as helm
import pytest

from tests.chart.support import CHART_DIR, VALUE_SETS, Release, render


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session", params=list(VALUE_SETS))
def release(request: pytest.FixtureRequest, chart: helm.Chart) -> Release:
    """The chart rendered with each value set in turn: the defaults, eks, minikube, the old README's --set lines."""
    name: str = request.param
    return render(chart, VALUE_SETS[name], name)
