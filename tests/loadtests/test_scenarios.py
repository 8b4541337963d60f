"""Locust for real: scenarios run headless against a local stack, and their verdicts are true to the run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.processes import REPO_ROOT, free_port, gunicorn_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from loadtests.thresholds import EXIT_THRESHOLD_FAILED
from tests.support import REGION

pytestmark = pytest.mark.integration
ENDPOINTS = {"GET /users", "POST /user", "GET /users/[email]/avatar"}


def loadtest(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "HOST_ADDRESS"}
    return subprocess.run(
        [sys.executable, "-m", "loadtests.run", *arguments],
        cwd=REPO_ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("backend", ["gunicorn", "lambda"])
def test_the_smoke_scenario_passes_on_both_local_paths_and_its_verdict_is_true_to_the_run(
    tmp_path: Path, backend: str
) -> None:
    result = loadtest("--scenario", "smoke", "--backend", backend, "--time-scale", "0.3", "--results", str(tmp_path))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    final = json.loads((tmp_path / "locust.json").read_text())  # Locust's own final statistics
    assert verdict["passed"] is True
    assert verdict["requests"] == sum(entry["num_requests"] for entry in final) > 0
    assert verdict["failures"] == sum(entry["num_failures"] for entry in final) == 0
    assert {entry["name"] for entry in final} >= ENDPOINTS, "every kind of user ran"
    assert verdict["scaling"]["status"] == "not_applicable"
    assert isinstance(verdict["coldStarts"], int)  # make local's readiness probe may take the first one
    for threshold in verdict["thresholds"]:
        assert threshold["passed"] is True
        assert threshold["observed"] is not None
    for name in ("locust.html", "locust_stats_history.csv", "scaling_timeline.csv"):
        assert (tmp_path / name).is_file()


@pytest.mark.parametrize("backend", ["gunicorn", "lambda"])
def test_a_short_ramp_runs_its_steps(tmp_path: Path, backend: str) -> None:
    result = loadtest("--scenario", "ramp", "--backend", backend, "--time-scale", "0.04", "--results", str(tmp_path))

    assert result.returncode == 0, result.stdout[-3000:]
    with (tmp_path / "locust_stats_history.csv").open() as handle:
        users = {int(row["User Count"]) for row in csv.DictReader(handle)}
    assert max(users) > 5, "the ramp stepped up past its first stage"


@pytest.fixture
def own_server(moto_server: str, names: tuple[str, str]) -> Iterator[str]:
    port = free_port()
    server = spawn(
        gunicorn_command(port, workers=1),
        env=app_environment(moto_server, REGION, *names, log_level="WARNING"),
    )
    wait_for_http(f"http://127.0.0.1:{port}/readyz", server, timeout=60)
    yield f"http://127.0.0.1:{port}"
    stop(server)


def test_an_impossible_threshold_fails_with_its_own_exit_code_and_the_run_cleans_up(
    tmp_path: Path, own_server: str
) -> None:
    result = loadtest(
        "--scenario",
        "smoke",
        "--time-scale",
        "0.2",
        "--results",
        str(tmp_path),
        "--threshold",
        "p50<0.001",
        env={"HOST_ADDRESS": own_server},
    )

    assert result.returncode == EXIT_THRESHOLD_FAILED, result.stdout[-3000:]
    verdict: dict[str, Any] = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["passed"] is False
    (impossible,) = [t for t in verdict["thresholds"] if t["threshold"] == "p50 < 0.001 ms"]
    assert impossible["passed"] is False
    assert impossible["observed"] > 0.001
    assert requests.get(f"{own_server}/users", timeout=10).json() == [], "the users it created were deleted"


def test_a_breached_threshold_with_abort_stops_the_run_early(tmp_path: Path, own_server: str) -> None:
    started = time.monotonic()
    result = loadtest(
        "--scenario",
        "steady",
        "--results",
        str(tmp_path),
        "--threshold",
        "p50<0.001@abort=2",
        env={"HOST_ADDRESS": own_server},
    )

    assert result.returncode == EXIT_THRESHOLD_FAILED, result.stdout[-3000:]
    assert time.monotonic() - started < 120, "steady lasts 5 minutes; the abort cut it short"
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["aborted"].startswith("p50 < 0.001 ms breached")


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--scenario", "marathon"], "SCENARIO='marathon' is not one of"),
        (["--scenario", "smoke", "--time-scale", "0"], "TIME_SCALE='0' is not a number greater than 0"),
        (["--scenario", "smoke", "--threshold", "p95>5"], "upper bound"),
        (["--scenario", "smoke", "--thresholds-file", "nope.yaml"], "does not exist"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(arguments: list[str], says: str) -> None:
    result = loadtest(*arguments)

    assert result.returncode == 2
    assert says in result.stderr


def test_sign_ups_upload_photo_sized_avatars_of_every_format_without_a_failure(tmp_path: Path, own_server: str) -> None:
    mix = "jpeg:1.9m,png:1.5m,webp:800k,gif:300k,jpeg:300k"

    result = loadtest(
        "--scenario",
        "smoke",
        "--time-scale",
        "0.3",
        "--results",
        str(tmp_path),
        env={"HOST_ADDRESS": own_server, "LOCUST_AVATAR_MIX": mix},
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sign_ups,) = [e for e in json.loads((tmp_path / "locust.json").read_text()) if e["name"] == "POST /user"]
    assert sign_ups["num_requests"] > 0
    assert sign_ups["num_failures"] == 0


def test_a_bad_avatar_mix_is_refused_naming_the_make_variable(tmp_path: Path, own_server: str) -> None:
    result = loadtest(
        "--scenario",
        "smoke",
        "--results",
        str(tmp_path),
        env={"HOST_ADDRESS": own_server, "LOCUST_AVATAR_MIX": "bmp:1m"},
    )

    assert result.returncode == 2
    assert "AVATAR_MIX='bmp:1m'" in result.stderr
    assert "Traceback" not in result.stderr
