"""Locust for real: scenarios run headless against a local stack, and their verdicts are true to the run.

Counts and verdicts are asserted, never timings (a shared, noisy machine); the
figures (rates held, seconds to fail) go to the helper's report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devtools.processes import REPO_ROOT, free_port, gunicorn_command, spawn, stop, wait_for_http
from devtools.resources import app_environment
from loadtests.cleanup import CREATED
from loadtests.thresholds import EXIT_THRESHOLD_FAILED
from tests.integration.make import ctrl_c, recipe_status, start_in_terminal
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


def offered_in_full(verdict: dict[str, Any], processes: int = 1) -> None:
    """Every arrival the plan asked for was started or counted as dropped, stage by stage (the schedule ran)."""
    for stage in verdict["arrivals"]["stages"]:
        assert abs(stage["started"] + stage["dropped"] - stage["target"]) <= processes + 1, stage


@pytest.mark.parametrize("server", ["gunicorn", "lambda"])
def test_the_smoke_scenario_passes_on_both_local_paths_and_its_verdict_is_true_to_the_run(
    tmp_path: Path, server: str
) -> None:
    result = loadtest("--scenario", "smoke", "--server", server, "--time-scale", "0.3", "--results", str(tmp_path))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    final = json.loads((tmp_path / "locust.json").read_text())  # Locust's own final statistics
    assert verdict["passed"] is True
    assert verdict["requests"] == sum(entry["num_requests"] for entry in final) > 0
    assert verdict["failures"] == sum(entry["num_failures"] for entry in final) == 0
    assert {entry["name"] for entry in final} >= ENDPOINTS, "every kind of user ran"
    assert verdict["scaling"]["status"] == "not_applicable"
    assert verdict["coldStarts"] == sum(entry["num_requests"] for entry in final if "(cold start)" in entry["name"])
    for threshold in verdict["thresholds"]:
        assert threshold["passed"] is True
        assert threshold["observed"] is not None
    offered_in_full(verdict)
    assert verdict["cleanup"]["left"] == 0
    assert verdict["cleanup"]["recorded"] == len((tmp_path / CREATED).read_text().split())
    assert "Response time percentiles" in result.stdout + result.stderr, "defect 8: --json-file silenced it"
    for name in ("locust.html", "locust_stats_history.csv", "scaling_timeline.csv", "report.html", "run.json"):
        assert (tmp_path / name).is_file()


@pytest.mark.parametrize(("scenario", "busiest"), [("ramp", "hold"), ("spike", "spike")])
def test_ramp_and_spike_offer_their_stages_rates_split_over_two_worker_processes(
    tmp_path: Path, scenario: str, busiest: str
) -> None:
    """Defect 2: the rate was divided by the current users (flat shapes), and each of N workers offered all of it."""
    result = loadtest(
        "--scenario", scenario, "--time-scale", "0.1", "--target-rps", "20", "--processes", "2",
        "--results", str(tmp_path),
    )  # fmt: skip

    assert result.returncode in (0, EXIT_THRESHOLD_FAILED), result.stdout[-3000:] + result.stderr[-3000:]
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    offered_in_full(verdict, processes=2)
    stages = {stage["name"]: stage for stage in verdict["arrivals"]["stages"]}
    assert stages[busiest]["targetRate"] == 20
    assert stages["warm-up"]["targetRate"] == 2
    assert verdict["requests"] >= sum(stage["started"] for stage in stages.values()), "each arrival made its requests"


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
        (
            ["--scenario", "smoke", "--backend", "lambda"],
            "BACKEND='lambda' is now called SERVER: use make loadtest SERVER=lambda",
        ),
        (["--host", "127.0.0.1:5000"], "HOST_ADDRESS='127.0.0.1:5000' is not an http:// or https:// URL with a host"),
        (["--host", "http://127.0.0.1:99999"], "has a port that is not a number from 1 to 65535"),
        (["--max-in-flight", "0"], "MAX_IN_FLIGHT='0' is not a whole number from 1 to 10000"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(arguments: list[str], says: str) -> None:
    result = loadtest(*arguments)

    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr, "defect 1: an address without http:// gave 17 tracebacks"
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_dead_target_is_refused_before_the_run_naming_the_stale_address(tmp_path: Path) -> None:
    """Defect 1: nothing listening, the run went through the whole scenario and passed latency and rps."""
    dead = f"http://127.0.0.1:{free_port()}"

    result = loadtest("--scenario", "soak", "--results", str(tmp_path / "run"), env={"HOST_ADDRESS": dead})

    assert result.returncode == 2
    assert f"nothing answers at HOST_ADDRESS={dead} (connection refused)" in result.stderr
    assert "unset HOST_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists(), "no results folder for a run that never started"


def test_thresholds_a_file_lacks_for_the_run_are_refused_before_a_local_stack_starts(tmp_path: Path) -> None:
    """Defect 7: a PyYAML/threshold error came from inside Locust, after a local stack had been started."""
    file = tmp_path / "mine.yaml"
    file.write_text('eks: ["p95<300"]\n')

    result = loadtest("--scenario", "smoke", "--thresholds-file", str(file), "--results", str(tmp_path / "run"))

    assert result.returncode == 2
    assert "has no thresholds for 'local' and no 'default' entry: it has eks" in result.stderr
    assert "local stack |" not in result.stdout, "nothing was started"
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.fixture
def stub_api() -> Iterator[str]:
    """An API whose listed users' avatars are all gone (404), as when another run's cleanup deleted them."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/users?"):
                self._send(
                    200, json.dumps([{"email": f"gone-{n}@example.com", "name": "Gone"} for n in range(3)]).encode()
                )
            elif self.path.endswith("/avatar"):
                self._send(404, b'{"error": "not_found"}')
            else:
                self._send(200, b"{}")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(201, b"{}")

        def do_DELETE(self) -> None:
            self._send(404, b"{}")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_avatar_deleted_meanwhile_is_not_a_failure(tmp_path: Path, stub_api: str) -> None:
    """Defect 4: the 404 was neither success nor failure, so Locust failed it on its status."""
    result = loadtest(
        "--scenario", "smoke", "--time-scale", "0.2", "--results", str(tmp_path), env={"HOST_ADDRESS": stub_api}
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (avatars,) = [
        e for e in json.loads((tmp_path / "locust.json").read_text()) if e["name"] == "GET /users/[email]/avatar"
    ]
    assert avatars["num_requests"] > 0
    assert avatars["num_failures"] == 0


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


def users_in_emulator(moto_server: str, names: tuple[str, str]) -> tuple[int, int]:
    """(items in the users table, objects in the avatar bucket), read in the emulator itself."""
    table, bucket = names
    items = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_server).scan(TableName=table)["Count"]
    listing = boto3.client("s3", region_name=REGION, endpoint_url=moto_server).list_objects_v2(Bucket=bucket)
    return int(items), int(listing.get("KeyCount", 0))


def wait_for_sign_ups(folder: Path, count: int, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    created = folder / CREATED
    while time.monotonic() < deadline and process.poll() is None:
        if created.exists() and len(created.read_text().split()) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} sign-ups recorded before the deadline")


def test_ctrl_c_during_make_loadtest_deletes_every_user_it_created_and_writes_the_verdict(
    tmp_path: Path, own_server: str, moto_server: str, names: tuple[str, str]
) -> None:
    """Defect 3: Ctrl-C printed a traceback, wrote no verdict and left every user (22 after 15 s)."""
    results = tmp_path / "run"
    make = start_in_terminal(
        "loadtest", "SCENARIO=steady", f"HOST_ADDRESS={own_server}", f"RESULTS={results}", "TARGET_RPS=6"
    )
    wait_for_sign_ups(results, 5, make)

    ctrl_c(make)
    output, _ = make.communicate(timeout=180)

    assert recipe_status(output) == 130, output[-3000:]
    assert "Traceback" not in output
    verdict = json.loads((results / "verdict.json").read_text())
    assert (verdict["interrupted"], verdict["passed"]) == ("SIGINT", False)
    assert verdict["cleanup"]["left"] == 0
    assert verdict["cleanup"]["recorded"] >= 5
    assert users_in_emulator(moto_server, names) == (0, 0)
    assert (results / "report.html").is_file()


def test_sigterm_with_worker_processes_deletes_every_user_it_created(
    tmp_path: Path, own_server: str, moto_server: str, names: tuple[str, str]
) -> None:
    """Defect 3: SIGTERM left 148 users; with workers, the master stopped them a few seconds into their cleanup."""
    results = tmp_path / "run"
    run = subprocess.Popen(
        [sys.executable, "-m", "loadtests.run", "--scenario", "steady", "--processes", "2", "--target-rps", "8",
         "--results", str(results)],
        cwd=REPO_ROOT,
        env={**os.environ, "HOST_ADDRESS": own_server},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    wait_for_sign_ups(results, 8, run)

    run.send_signal(signal.SIGTERM)  # to make loadtest's own process only, as a supervisor would
    output, _ = run.communicate(timeout=180)

    assert run.returncode == 143, output[-3000:]
    assert "Traceback" not in output
    verdict = json.loads((results / "verdict.json").read_text())
    assert verdict["interrupted"] == "SIGTERM"
    assert verdict["cleanup"]["left"] == 0
    assert users_in_emulator(moto_server, names) == (0, 0)
