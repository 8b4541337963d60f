"""The per-run report: what ran, what was offered, what came back and the verdict, from a run's own files."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests.arrivals import WARM_UP
from loadtests.measure import Recording
from loadtests.report import RunMeasurements, aggregate_limits, history, scaling_series, window_series, write_report

HISTORY = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
1000,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
1001,3,GET,GET /users,2.0,0.0,12,14,15,15,17,31,31,31,31,31,31
1001,3,,Aggregated,2.500000,0.500000,12,14,15,15,17,31,31,40,40,40,40
1002,3,,Aggregated,3.000000,0.000000,13,14,15,15,17,33,33,45,45,45,45
"""
STAGES = [{"name": WARM_UP, "seconds": 2.0, "judged": False}, {"name": "steady", "seconds": 4.0, "judged": True}]


def a_run(folder: Path) -> Path:
    """A results folder as make loadtest leaves it: a warm-up, a judged stage, a cold start, two kinds of failure."""
    recording = Recording()
    recording.add_request(WARM_UP, 0, "GET /users (cold start)", 2400.0, None)
    recording.add_request(WARM_UP, 1, "GET /users", 900.0, None)
    for n in range(40):
        recording.add_request("steady", 2 + n // 10, "GET /users", 20.0 + n, None)
        recording.add_arrival("steady", 2 + n // 10, started=n != 7)
    recording.add_request("steady", 3, "POST /user", 180.0, "503: unavailable")
    recording.add_request("steady", 3, "POST /user", 30000.0, "ReadTimeout: read timed out")
    recording.add_request("steady", 4, "POST /user", 210.0, "503: unavailable")
    (folder / "measured.json").write_text(json.dumps({"windowSeconds": 1.0, "stages": STAGES, **recording.to_json()}))
    (folder / "run.json").write_text(
        json.dumps(
            {"startedAt": "2026-12-02T00:20:00+00:00", "commit": "abc1234", "scenario": "smoke", "maxInFlight": 50}
        )
    )
    (folder / "scaling_timeline.csv").write_text("at_s,current_replicas,desired_replicas\n0,2,2\n3,2,3\n5,3,3\n")
    (folder / "verdict.json").write_text(
        json.dumps(
            {
                "passed": False,
                "requests": 45,
                "failures": 3,
                "coldStarts": 1,
                "loadGeneratorCpuPercentMax": 97.0,
                "thresholds": [
                    {"threshold": "p95 < 50 ms", "metric": "p95", "endpoint": None, "stage": None, "limit": 50,
                     "observed": 58.0, "passed": False, "note": ""},
                    {"threshold": "p99 < 900 ms in stage steady", "metric": "p99", "endpoint": None, "stage": "steady",
                     "limit": 900, "observed": 59.0, "passed": True, "note": ""},
                ],
                "arrivals": {
                    "stages": [
                        {"name": "steady", "judged": True, "seconds": 4.0, "target": 40, "started": 39, "dropped": 1,
                         "targetRate": 10.0, "achievedRate": 9.75},
                    ],
                    "judged": {"target": 40, "started": 39, "dropped": 1, "targetRate": 10.0, "achievedRate": 9.75},
                },
                "scaling": {"watcher": "kubernetes", "status": "passed", "reasons": []},
                "cleanup": {"recorded": 3, "deleted": 3, "left": 0},
            }
        )
    )  # fmt: skip
    return folder


def test_the_report_holds_the_metadata_the_offered_load_and_the_verdict_in_one_file(tmp_path: Path) -> None:
    page = write_report(a_run(tmp_path), "smoke against eks").read_text()

    assert "smoke against eks: FAILED" in page
    for expected in ("abc1234", "2026-12-02T00:20:00", "9.75", "p95 &lt; 50 ms", "p99 &lt; 900 ms in stage steady"):
        assert expected in page
    assert "near saturation" in page, "a load generator at 97 % CPU is called out"
    assert "<b>passed</b>" in page
    assert page.count("data:image/png;base64,iVBOR") == 2, "over time and the distribution, embedded"
    assert "<script" not in page


def test_the_report_breaks_failures_down_by_endpoint_and_cause(tmp_path: Path) -> None:
    page = write_report(a_run(tmp_path), "smoke").read_text()

    assert '<td>POST /user</td><td>503: unavailable</td><td class="n">2</td>' in page
    assert '<td>POST /user</td><td>ReadTimeout: read timed out</td><td class="n">1</td>' in page


def test_the_endpoint_table_is_of_the_judged_stages_with_failures_counted_not_timed(tmp_path: Path) -> None:
    page = write_report(a_run(tmp_path), "smoke").read_text()
    row = page.split("<td>POST /user</td>", 1)[1].split("</tr>", 1)[0]

    assert '<td class="n">3</td><td class="n">3</td>' in row, "3 requests, 3 failed"
    assert "30000" not in row, "a failed request's time is not a latency"
    assert "GET /users (cold start)" not in page.split("Endpoints over the judged stages")[1].split("Failures")[0], (
        "the warm-up's cold start is not in the judged stages' table"
    )


def test_latency_over_time_is_per_window_of_successes_with_no_point_where_there_were_none(tmp_path: Path) -> None:
    rows = window_series(RunMeasurements.read(a_run(tmp_path)))

    assert [row["t"] for row in rows] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert rows[0]["p95"] is None, "window 0 had only a cold start: no point, never a made-up 0"
    assert rows[1]["p95"] == 900
    assert (rows[2]["started"], rows[2]["dropped"]) == (9.0, 1.0)
    assert rows[4]["failures"] == 1.0


def test_the_limits_drawn_are_the_aggregate_ones_over_the_judged_stages(tmp_path: Path) -> None:
    verdict = json.loads((a_run(tmp_path) / "verdict.json").read_text())

    assert aggregate_limits(verdict) == {"p95": 50.0}


def test_locusts_history_is_read_from_its_aggregated_rows(tmp_path: Path) -> None:
    (tmp_path / "locust_stats_history.csv").write_text(HISTORY)

    rows = history(tmp_path)

    assert [row["t"] for row in rows] == [0.0, 1.0, 2.0]
    assert rows[0]["p95"] is None
    assert (rows[1]["rps"], rows[1]["failures"], rows[1]["p99"]) == (2.5, 0.5, 40.0)
    assert scaling_series(tmp_path) == {}
