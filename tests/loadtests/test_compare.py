"""make compare-local: both local paths at the same arrival rate, one report with the cost model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import REPO_ROOT

pytestmark = pytest.mark.integration


def test_compare_local_writes_a_side_by_side_report_with_costs() -> None:
    before = set((REPO_ROOT / "results").glob("compare-smoke-*")) if (REPO_ROOT / "results").exists() else set()
    env = {key: value for key, value in os.environ.items() if key != "HOST_ADDRESS"}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.compare",
            "--local",
            "--scenario",
            "smoke",
            "--time-scale",
            "0.2",
            "--rate",
            "3",
            "--cost-rps",
            "100",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (folder,) = set((REPO_ROOT / "results").glob("compare-smoke-*")) - before
    report = json.loads((folder / "compare.json").read_text())
    page = (folder / "compare.html").read_text()
    assert [target["target"] for target in report["targets"]] == ["container (gunicorn)", "lambda (local front)"]
    for target in report["targets"]:
        assert target["requests"] > 0
        assert Path(target["results"], "report.html").is_file()
    cost = report["cost"]
    assert cost["given"]["rps"] == 100
    assert cost["given"]["lambda"]["total"] > cost["measured"]["lambda"]["total"]
    assert cost["break_even_rps"] > 0
    assert "side by side" in page
    assert "requests/s</b>" in page
