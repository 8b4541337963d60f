"""``make loadtest SCENARIO=<name>``: one scenario, headless, with thresholds, scaling checks and a results folder.

The target is ``--host`` (or ``HOST_ADDRESS``); with neither, a local stack is
started for the run (``--server lambda`` for the local Lambda front) and
stopped after it. What the deployment is, and its scaling targets, come from
``pulumi stack output --json`` (or ``--stack-outputs FILE``): the load tests
never import the app or the platform. Everything the user gives is checked
before anything starts: the options, the thresholds that will apply, and that
something answers at the target.

However the run ends (its end, Ctrl-C, SIGTERM), the users it created are
deleted from this process once Locust and its workers have exited, the verdict
says how it ended, and the report is written.

Exit codes: 0 all thresholds and scaling checks passed, 3 one of them failed,
2 bad usage (or nothing answers at the target), 1 the run itself broke,
130 / 143 interrupted by Ctrl-C / SIGTERM (after cleaning up).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import requests

from devtools.make_args import MakeArgumentParser, number, one_of, whole_number
from devtools.stack import selected_stack_outputs

from .avatar_mix import DEFAULT_MIX, parse_mix
from .cleanup import CREATED, delete_recorded
from .report import history, write_report
from .scaling import NOT_APPLICABLE, Watcher, latency_after_scale_out, watcher_for
from .scenarios import SCENARIOS as SCENARIO_PLANS
from .thresholds import EXIT_THRESHOLD_FAILED, Resolved, ThresholdError, parse_threshold, read_document, resolve

ROOT = Path(__file__).resolve().parent.parent
SHAPES = Path(__file__).resolve().parent / "shapes"
SCENARIOS = sorted(SCENARIO_PLANS)
RESULTS = ROOT / "results"
PREFLIGHT_TIMEOUT_S = 5.0
EXIT_BROKE = 1
EXIT_USAGE = 2
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


def thresholds_file(raw: str) -> Path:
    """A thresholds file read now, before anything starts: it parses as YAML and every threshold in it reads."""
    path = Path(raw)
    if not path.exists():
        raise ValueError(f"{raw!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{raw!r} is a directory, not a file")
    try:
        document = read_document(path)
        from .thresholds import thresholds_in

        for profile in document if isinstance(document, dict) else [None]:  # every profile's list must read
            thresholds_in(document, "the file", profile)
    except ThresholdError as exc:
        raise ValueError(f"{raw!r} does not read as thresholds: {exc}") from None
    return path


def target_url(raw: str) -> str:
    """An http(s) URL with a host, without its trailing slash: what Locust's --host takes."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is not an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - a port that does not read raises here
    except ValueError:
        raise ValueError(f"{raw!r} has a port that is not a number from 1 to 65535") from None
    return raw.strip().rstrip("/")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = MakeArgumentParser("loadtest", description=(__doc__ or "").splitlines()[0])
    parser.add_variable("SCENARIO", "--scenario", one_of(SCENARIOS), default="smoke", help="the load shape")
    parser.add_variable(
        "HOST_ADDRESS",
        "--host",
        target_url,
        default=os.environ.get("HOST_ADDRESS") or None,
        help="the API's URL; unset: a fresh local stack",
        example="http://127.0.0.1:5000",
    )
    parser.add_variable(
        "SERVER", "--server", one_of(("gunicorn", "lambda")), default="gunicorn", help="with no host: the local path"
    )
    parser.add_renamed("BACKEND", "SERVER", "--backend")
    parser.add_argument("--stack-outputs", type=Path, help="a `pulumi stack output --json` file (default: ask pulumi)")
    parser.add_variable(
        "THRESHOLDS",
        "--thresholds-file",
        thresholds_file,
        help="thresholds replacing the profile's defaults",
        example="loadtests/thresholds.yaml",
    )
    parser.add_argument("--threshold", action="append", default=[], help="one threshold, e.g. 'p95<500' (repeatable)")
    parser.add_variable(
        "TIME_SCALE",
        "--time-scale",
        number(0, inclusive=False),
        default=1.0,
        help="stretch (>1) or shrink (<1) the shape",
    )
    parser.add_variable(
        "TARGET_RPS",
        "--target-rps",
        number(0, inclusive=True),
        default=0.0,
        help="the scenario's peak arrival rate in user actions/s (its stages scale to it); 0: its own",
    )
    parser.add_variable(
        "MAX_IN_FLIGHT",
        "--max-in-flight",
        whole_number(1, 10000),
        default=50,
        help="virtual users: the cap on actions in flight; an arrival finding none free is dropped",
    )
    parser.add_variable(
        "PROCESSES", "--processes", whole_number(0), default=0, help="Locust worker processes on this machine (0: one)"
    )
    parser.add_variable(
        "AVATAR_MIX",
        "--avatar-mix",
        avatar_mix,
        default=os.environ.get("LOCUST_AVATAR_MIX") or DEFAULT_MIX,
        help="the photo-like avatars sign-ups upload, cycled: FORMAT:SIZE,...",
        example="jpeg:300k,png:1.5m",
    )
    parser.add_argument("--scale-out-within", type=float, default=180.0, help="seconds allowed to scale out")
    parser.add_argument("--allow-throttles", action="store_true", help="Lambda throttles (429) do not fail the run")
    parser.add_argument("--results", type=Path, default=None, help="results folder (default results/<scenario>-<time>)")
    args = parser.parse_args(argv)
    for spec in args.threshold:
        try:
            parse_threshold(spec)
        except ThresholdError as exc:
            parser.error(str(exc))
    return args


def avatar_mix(raw: str) -> str:
    """The mix as given, once every entry reads (checked here, before a local stack or Locust starts)."""
    try:
        parse_mix(raw)
    except ValueError as exc:
        raise ValueError(f"{raw!r} is not a mix of FORMAT:SIZE entries: {exc}") from None
    return raw


def preflight(host: str) -> str | None:
    """Why nothing answers at ``host`` (None: something does). Any HTTP status counts as an answer."""
    try:
        requests.get(f"{host}/", timeout=PREFLIGHT_TIMEOUT_S, allow_redirects=False)
    except requests.ConnectionError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else "cannot connect"
        return f"{reason}"
    except requests.Timeout:
        return f"no answer within {PREFLIGHT_TIMEOUT_S:g} s"
    except requests.RequestException as exc:
        return type(exc).__name__
    return None


def stack_outputs(path: Path | None) -> dict[str, Any]:
    """The deployment's outputs: from a file, or the selected Pulumi stack; {} when there is none."""
    if path is not None:
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    return selected_stack_outputs("make loadtest", show_secrets=True)  # devtools/stack.py: the one stack-outputs reader


def make_watcher(outputs: dict[str, Any], args: argparse.Namespace, results: Path) -> Watcher:
    return watcher_for(
        outputs,
        results,
        scale_out_within_s=args.scale_out_within,
        allow_throttles=getattr(args, "allow_throttles", False),
    )


@contextmanager
def local_stack(server: str) -> Iterator[str]:
    """A local stack for the run: started, waited for, and stopped afterwards."""
    from devtools.processes import free_port

    command = [
        sys.executable,
        "-m",
        "devtools.local_stack",
        "--port",
        str(free_port()),
        "--emulator-port",
        str(free_port()),
        "--server",  # devtools/local_stack.py's flag (make local SERVER=...)
        server,
        "--log-level",
        "WARNING",
    ]
    process = subprocess.Popen(  # its own session: Ctrl-C reaches this process only, which stops the stack last
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    host = None
    deadline = time.monotonic() + 120
    try:
        while host is None and time.monotonic() < deadline and process.poll() is None:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            print(f"  local stack | {line.rstrip()}", flush=True)
            if line.startswith("export HOST_ADDRESS="):
                host = line.strip().split("=", 1)[1]
        if host is None:
            raise SystemExit("make loadtest: the local stack did not start; see .local/ for its logs")
        yield host
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def locust_command(args: argparse.Namespace, host: str, profile: str, results: Path) -> list[str]:
    command = [
        sys.executable, "-m", "locust",
        "-f", f"{ROOT / 'loadtests' / 'locustfile.py'},{SHAPES / (args.scenario + '.py')}",
        "--headless", "--host", host, "--only-summary",
        "--csv", str(results / "locust"), "--csv-full-history", "--html", str(results / "locust.html"),
        "--json-file", str(results / "locust"),  # Locust adds .json; the plugin prints the summary it then skips
        "--threshold-profile", profile, "--verdict-file", str(results / "verdict.json"),
        "--time-scale", str(args.time_scale), "--target-rps", str(args.target_rps),
        "--max-in-flight", str(args.max_in_flight), "--created-users-file", str(results / CREATED),
        "--avatar-mix", args.avatar_mix,
    ]  # fmt: skip
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.thresholds_file:
        command += ["--thresholds-file", str(args.thresholds_file)]
    for spec in args.threshold:
        command += ["--threshold", spec]
    return command


def aggregate_p95_limit(verdict: dict[str, Any]) -> float | None:
    limits = [
        t["limit"]
        for t in verdict.get("thresholds", [])
        if t["metric"] == "p95" and t["endpoint"] is None and t.get("stage") is None
    ]
    return float(limits[0]) if limits else None


def thresholds_for(args: argparse.Namespace, profile: str) -> Resolved:
    """The thresholds this run will be judged by, resolved now: a file without them stops it before it starts."""
    scenario = SCENARIO_PLANS[args.scenario].thresholds
    return resolve(profile, args.thresholds_file, args.threshold, scenario)


def commit() -> str | None:
    """The checkout's commit (``-dirty`` with local changes), for the report; None outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return None
    result = subprocess.run(
        [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return None
    dirty = subprocess.run([git, "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def run_metadata(args: argparse.Namespace, host: str, profile: str, resolved: Resolved) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "startedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "scenario": args.scenario,
        "scenarioSummary": SCENARIO_PLANS[args.scenario].summary,
        "host": host,
        "profile": profile,
        "thresholdSources": resolved.sources,
        "timeScale": args.time_scale,
        "targetRps": args.target_rps,
        "maxInFlight": args.max_in_flight,
        "processes": args.processes,
        "avatarMix": args.avatar_mix,
        "locust": version("locust"),
        "python": platform.python_version(),
        "loadGeneratorCpus": os.cpu_count(),
    }


class Signals:
    """Ctrl-C and SIGTERM while Locust runs: passed on to Locust as Ctrl-C (it then judges and quits), remembered.

    Locust runs in its own session, so a terminal's Ctrl-C reaches this process only, once; SIGINT is what
    a headless shape run shuts down on in order (see ``_sigterm_as_ctrl_c`` in ``loadtests/plugin.py``).
    """

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for sig in EXIT_SIGNAL:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        first = self.received is None
        self.received = signal.Signals(signum)
        if first:
            print(f"\nmake loadtest: {self.received.name}: stopping the run, then deleting its test users", flush=True)
        if first and self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)


def remove_if_unfinished(results: Path, created_folder: bool) -> None:
    """A run that ended before any verdict leaves no folder of empty CSVs (a folder it did not make stays)."""
    if not created_folder or (results / "verdict.json").exists() or (results / CREATED).exists():
        return
    shutil.rmtree(results, ignore_errors=True)


def run(args: argparse.Namespace, host: str, outputs: dict[str, Any], resolved: Resolved | None = None) -> int:
    profile = str(outputs.get("backend") or "local")
    resolved = resolved or thresholds_for(args, profile)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = args.results or RESULTS / f"{args.scenario}-{stamp}"
    created_folder = not results.exists()
    results.mkdir(parents=True, exist_ok=True)
    metadata = run_metadata(args, host, profile, resolved)
    (results / "run.json").write_text(json.dumps(metadata, indent=2) + "\n")
    watcher = make_watcher(outputs, args, results)
    print(
        f"make loadtest: {args.scenario} against {host} (thresholds: {resolved.sources}; results: {results})",
        flush=True,
    )
    watcher.start()
    with Signals() as signals:
        try:
            process = subprocess.Popen(locust_command(args, host, profile, results), cwd=ROOT, start_new_session=True)
            signals.process = process
            if signals.received is not None:  # arrived while it started
                process.send_signal(signal.SIGINT)
            code = process.wait()
        finally:
            watcher.stop()
        cleanup = delete_recorded(host, results)  # after Locust and its workers: nothing stops it half-way
    print(cleanup.summary() + ("" if not cleanup.left else f": make loadtest-cleanup RESULTS={results}"), flush=True)
    verdict_file = results / "verdict.json"
    if not verdict_file.exists():
        print(f"make loadtest: Locust exited with {code} before writing a verdict", file=sys.stderr)
        remove_if_unfinished(results, created_folder and not cleanup.recorded)
        return EXIT_SIGNAL[signals.received] if signals.received else (code or EXIT_BROKE)
    verdict = json.loads(verdict_file.read_text())
    scaling = latency_after_scale_out(
        watcher.evaluate(int(verdict.get("coldStarts", 0))), history(results), aggregate_p95_limit(verdict)
    )
    watcher.write_timeline(results / "scaling_timeline.csv")
    verdict["scaling"] = {"watcher": watcher.kind, **scaling.as_dict()}
    verdict["cleanup"] = {"recorded": cleanup.recorded, "deleted": cleanup.deleted, "left": len(cleanup.left)}
    verdict["interrupted"] = signals.received.name if signals.received else None
    verdict["passed"] = bool(verdict["passed"]) and scaling.status != "failed" and signals.received is None
    verdict_file.write_text(json.dumps(verdict, indent=2) + "\n")
    report = write_report(results, f"{args.scenario} against {host} ({profile})")
    note = "; ".join(scaling.reasons)
    print(f"scaling {scaling.status.upper().replace('_', ' ')}{': ' + note if note else ''}")
    code = final_code(code, verdict, scaling.status, signals.received)
    print(f"verdict: {'PASSED' if verdict['passed'] else 'FAILED'} (exit {code}; {verdict_file}; report: {report})")
    return code


def final_code(locust_code: int, verdict: dict[str, Any], scaling_status: str, received: signal.Signals | None) -> int:
    """The run's exit code from Locust's (0, 1 or 3 from the plugin), the scaling check and any signal."""
    if received is not None:
        return EXIT_SIGNAL[received]
    if locust_code not in (0, EXIT_THRESHOLD_FAILED):
        return locust_code
    if scaling_status == NOT_APPLICABLE:
        return locust_code
    return 0 if verdict["passed"] else EXIT_THRESHOLD_FAILED


def refuse(message: str) -> int:
    print(f"make loadtest: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.host:
        outputs = stack_outputs(args.stack_outputs)
        if outputs and str(outputs.get("url", "")).rstrip("/") != args.host:
            print(f"make loadtest: {args.host} is not the selected stack's url: judged as a plain host", flush=True)
            outputs = {}
        try:
            resolved = thresholds_for(args, str(outputs.get("backend") or "local"))
        except ThresholdError as exc:
            return refuse(f"thresholds: {exc}")
        problem = preflight(args.host)
        if problem is not None:
            return refuse(
                f"nothing answers at HOST_ADDRESS={args.host} ({problem}): is it stale? "
                "Unset it (unset HOST_ADDRESS) to test a fresh local stack"
            )
        return run(args, args.host, outputs, resolved)
    try:
        resolved = thresholds_for(args, "local")
    except ThresholdError as exc:
        return refuse(f"thresholds: {exc}")
    with local_stack(args.server) as host:
        return run(args, host, {}, resolved)


if __name__ == "__main__":
    sys.exit(main())
