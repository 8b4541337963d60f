"""The per-run report: the verdict and the plots, from a run's own files."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests.report import history, scaling_series, write_report

HISTORY = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
1000,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
1001,3,GET,GET /users,2.0,0.0,12,14,15,15,17,31,31,31,31,31,31
1001,3,,Aggregated,2.500000,0.500000,12,14,15,15,17,31,31,40,40,40,40
1002,3,,Aggregated,3.000000,0.000000,13,14,15,15,17,33,33,45,45,45,45
"""


def test_the_report_holds_the_verdict_and_an_embedded_plot(tmp_path: Path) -> None:
    (tmp_path / "locust_stats_history.csv").write_text(HISTORY)
    (tmp_path / "scaling_timeline.csv").write_text("at_s,current_replicas,desired_replicas\n0,2,2\n15,2,3\n30,3,3\n")
    (tmp_path / "verdict.json").write_text(
        json.dumps(
            {
                "passed": False,
                "requests": 9,
                "failures": 1,
                "coldStarts": 1,
                "thresholds": [{"threshold": "p95 < 20 ms", "observed": 33.0, "passed": False, "note": ""}],
                "scaling": {"watcher": "kubernetes", "status": "passed", "reasons": []},
            }
        )
    )

    page = write_report(tmp_path, "ramp against eks").read_text()

    assert "ramp against eks: FAILED" in page
    assert "p95 &lt; 20 ms" in page
    assert "<b>passed</b>" in page
    assert "data:image/png;base64,iVBOR" in page, "a PNG is embedded: the report is one self-contained file"
    assert "<script" not in page


def test_only_the_aggregated_history_rows_are_plotted_on_one_time_axis(tmp_path: Path) -> None:
    (tmp_path / "locust_stats_history.csv").write_text(HISTORY)

    rows = history(tmp_path)

    assert [row["t"] for row in rows] == [0.0, 1.0, 2.0]
    assert rows[0]["p95"] is None
    assert (rows[1]["rps"], rows[1]["failures"], rows[1]["p99"]) == (2.5, 0.5, 40.0)
    assert scaling_series(tmp_path) == {}
