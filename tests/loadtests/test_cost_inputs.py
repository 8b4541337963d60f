"""The comparison's cost inputs: measured where a run measured them, assumed (and said so) where not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadtests.compare import Measured, costs, page
from loadtests.cost import load_prices
from loadtests.cost_inputs import ASSUMED, MEASURED, comparison_costs, mean_upload_bytes
from loadtests.server_timing import app_duration_ms

PRICES = load_prices()
HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
)


def results(
    folder: Path,
    average_ms: float,
    watcher: str = "none",
    details: dict[str, Any] | None = None,
    app_ms: float | None = None,
) -> Path:
    """A run's folder as make loadtest leaves it: Locust's stats, the verdict, the handler's timing."""
    folder.mkdir(parents=True)
    (folder / "locust_stats.csv").write_text(
        HEADER
        + f"POST,POST /user,100,0,250,{average_ms},80,900,310,1.0,0.0,250,260,270,280,300,320,340,350,400,400,400\n"
        + f"GET,GET /users,500,0,40,{average_ms},10,300,5200,5.0,0.0,40,45,50,55,60,70,80,90,100,100,100\n"
        + f",Aggregated,600,0,50,{average_ms},10,900,4385,6.0,0.0,50,60,70,80,100,150,200,250,400,400,400\n"
    )
    verdict = {
        "passed": True,
        "coldStarts": 2,
        "scaling": {"watcher": watcher, "status": "passed", "details": details or {}},
    }
    (folder / "verdict.json").write_text(json.dumps(verdict))
    if app_ms is not None:
        (folder / "server_timing.json").write_text(json.dumps({"requests": 600, "meanAppMs": app_ms}))
    return folder


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in result["inputs"]}


def test_locally_the_billed_duration_is_the_handlers_own_time_not_the_slowest_clients_average(tmp_path: Path) -> None:
    """The old comparison billed Lambda for the largest client-side average of any target (300 ms here)."""
    container = results(tmp_path / "gunicorn", average_ms=120, app_ms=18.5)
    function = results(tmp_path / "lambda", average_ms=300, app_ms=21.0)
    rows = [_measured("container (gunicorn)", container, 120), _measured("lambda (local front)", function, 300)]

    money = costs(rows, PRICES, at_rps=50, lambda_memory_mb=512)

    duration = by_name(money)["Lambda billed duration"]
    assert (duration["value"], duration["source"]) == (21.0, MEASURED)
    assert "the handler's own time (Server-Timing)" in duration["how"]
    assert money["lambda_duration_ms"] == 21.0
    assert by_name(money)["Lambda memory"]["source"] == ASSUMED
    assert by_name(money)["CPU per request"] == {
        "name": "CPU per request",
        "value": 18.5,
        "unit": "ms",
        "source": MEASURED,
        "how": "container (gunicorn): the handler's time (Server-Timing), an upper bound of its CPU",
    }


def test_on_aws_the_report_lines_memory_architecture_and_log_bytes_come_from_the_stack(tmp_path: Path) -> None:
    details = {
        "meanBilledDurationMs": 62.25,
        "reportLines": 4000,
        "initCount": 8,
        "meanInitDurationMs": 400.0,
        "memoryMb": 1024,
        "architecture": "x86_64",
        "logBytesPerRequest": 812.0,
    }
    function = results(tmp_path / "lambda-dev", average_ms=140, watcher="lambda", details=details)
    cluster = results(
        tmp_path / "eks-dev", average_ms=90, watcher="kubernetes", details={"cpuSecondsPerRequest": 0.012}
    )

    money = comparison_costs([("lambda-dev (lambda)", function), ("eks-dev (eks)", cluster)], PRICES, 50, 512)

    inputs = by_name(money)
    assert {name: (item["value"], item["source"]) for name, item in inputs.items()} == {
        "Lambda billed duration": (62.25, MEASURED),
        "Lambda memory": (1024, MEASURED),
        "Lambda architecture": ("x86_64", MEASURED),
        "INIT time per request": (0.0, MEASURED),
        # the default mix's uploads count 1, 1, 2, 2, 1 and 4 times: 11/6; 100 of 600 requests are sign-ups
        "API Gateway requests billed per request": (
            round(1 + 100 / 600 * (11 / 6 - 1), 4),
            MEASURED,
        ),  # 8 x 400 ms over 4,000, already in the Billed Durations
        "log bytes per request": (812.0, MEASURED),
        "CPU per request": (pytest.approx(12.0), MEASURED),
        "bytes through the ALB per request": (round(4385 + 100 * mean_upload_bytes() / 600), MEASURED),
        "new connections per request": (0.1, ASSUMED),
        "Fargate task": ("512 CPU units, 1024 MiB, X86_64", ASSUMED),
        "Fargate network": ("an ALB and one NAT gateway", ASSUMED),
    }
    assert inputs["INIT time per request"]["how"].endswith("(0.8 ms), already in Billed Duration")
    # x86_64 at 1 GB: 50 req/s x 730 h x 3600 s x 0.06225 s x 1 GB x $0.0000166667
    assert money["given"]["lambda"]["compute"] == pytest.approx(50 * 730 * 3600 * 0.06225 * 0.0000166667)
    assert money["given"]["lambda"]["init"] == 0


def test_init_is_added_to_cloudwatchs_duration_which_does_not_hold_it(tmp_path: Path) -> None:
    details = {"meanDurationMs": 60.0, "reportLines": 1000, "initCount": 5, "meanInitDurationMs": 400.0}
    function = results(tmp_path / "lambda-dev", average_ms=140, watcher="lambda", details=details)

    money = comparison_costs([("lambda-dev (lambda)", function)], PRICES, 50, 512)

    init = by_name(money)["INIT time per request"]
    assert (init["value"], init["source"]) == (2.0, MEASURED)  # 5 x 400 ms over 1,000 invocations
    assert money["given"]["lambda"]["init"] == pytest.approx(50 * 730 * 3600 * 0.002 * 0.5 * 0.0000133334)


def test_a_fargate_stacks_task_size_comes_from_its_scaling_output(tmp_path: Path) -> None:
    scaling = {
        "taskCpuUnits": 1024,
        "taskMemoryMiB": 2048,
        "architecture": "ARM64",
        "minTasks": 1,
        "maxTasks": 4,
        "cpuTargetPercent": 60,
    }
    fargate = results(tmp_path / "fargate-dev", average_ms=80, watcher="ecs", details=scaling)

    money = comparison_costs([("fargate-dev (fargate)", fargate)], PRICES, 10, 512)

    assert by_name(money)["Fargate task"]["value"] == "1024 CPU units, 2048 MiB, ARM64"
    assert by_name(money)["Fargate task"]["source"] == MEASURED
    assert money["given"]["fargate"]["tasks"] == pytest.approx(730 * (0.03238 + 2 * 0.00356))  # one task at 10 req/s


def test_the_comparison_page_says_which_inputs_were_measured_and_shows_the_sensitivity(tmp_path: Path) -> None:
    container = results(tmp_path / "gunicorn", average_ms=120, app_ms=18.5)
    rows = [_measured("container (gunicorn)", container, 120)]
    money = costs(rows, PRICES, at_rps=50, lambda_memory_mb=512)

    html = page("steady", 5, rows, money)

    assert "The cost model's inputs (4 of 11 measured)" in html
    assert "<td><b>assumed</b></td><td>--lambda-memory-mb</td>" in html
    assert "EKS at rest: $0.27 an hour, $197.16 a month" in html
    assert "<th>9.25 ms</th><th>18.5 ms</th><th>37 ms</th>" in html
    assert "the slowest target" not in html
    json.dumps(money)  # compare.json holds it as it is


@pytest.mark.parametrize(
    ("header", "duration"),
    [
        ("app;dur=12.34", 12.34),
        ('cache;desc="Cache Read";dur=23.2, app;dur=7', 7.0),
        ('app;desc=handler;dur="3.5"', 3.5),
        ("db;dur=53", None),
        ("", None),
        (None, None),
    ],
)
def test_the_apps_server_timing_is_read_as_the_w3c_header_allows(header: str | None, duration: float | None) -> None:
    assert app_duration_ms(header) == duration


def _measured(target: str, folder: Path, average_ms: float) -> Measured:
    return Measured(target, True, 600, 0, 6.0, 50, 150, 250, average_ms, 2, None, str(folder))


def test_a_break_even_that_never_comes_is_said_in_words() -> None:
    from loadtests.cost_report import break_even_text

    assert break_even_text(float("inf")) == "no rate up to 10 million requests/s"
    assert break_even_text(79.506) == "79.5 requests/s"
