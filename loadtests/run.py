"""``make loadtest SCENARIO=<name>``: one scenario, headless, with thresholds, scaling checks and a results folder.

The target is ``--host`` (or ``HOST_ADDRESS``); with neither, a local stack is
started for the run (``--backend lambda`` for the local Lambda front) and
stopped after it. What the deployment is, and its scaling targets, come from
``pulumi stack output --json`` (or ``--stack-outputs FILE``): the load tests
never import the app or the platform.

Exit codes: 0 all thresholds and scaling checks passed, 3 one of them failed,
2 bad usage, 1 the run itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from devtools.make_args import MakeArgumentParser, number, one_of, whole_number
from devtools.stack import selected_stack_outputs

from .avatar_mix import DEFAULT_MIX, parse_mix
from .report import history, write_report
from .scaling import NOT_APPLICABLE, Watcher, latency_after_scale_out, watcher_for
from .thresholds import EXIT_THRESHOLD_FAILED, ThresholdError, parse_threshold, thresholds_in

ROOT = Path(__file__).resolve().parent.parent
SHAPES = Path(__file__).resolve().parent / "shapes"
SCENARIOS = sorted(path.stem for path in SHAPES.glob("*.py") if not path.stem.startswith("_"))
RESULTS = ROOT / "results"


def thresholds_file(raw: str) -> Path:
    """A thresholds file read now, before anything starts: it parses as YAML and every threshold in it reads."""
    path = Path(raw)
    if not path.exists():
        raise ValueError(f"{raw!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{raw!r} is a directory, not a file")
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ValueError(f"{raw!r} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(
            f"{raw!r} is not valid YAML ({getattr(exc, 'problem', None) or 'unreadable'}{where})"
        ) from None
    for profile in document if isinstance(document, dict) else [None]:  # every profile's list must read
        try:
            thresholds_in(document, "the file", profile)
        except ThresholdError as exc:
            raise ValueError(f"{raw!r} does not read as thresholds: {exc}") from None
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = MakeArgumentParser("loadtest", description=(__doc__ or "").splitlines()[0])
    parser.add_variable("SCENARIO", "--scenario", one_of(SCENARIOS), default="smoke", help="the load shape")
    parser.add_argument("--host", default=os.environ.get("HOST_ADDRESS") or None, help="the API's URL (HOST_ADDRESS)")
    parser.add_variable(
        "BACKEND", "--backend", one_of(("gunicorn", "lambda")), default="gunicorn", help="with no host: the local path"
    )
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
        help="fixed arrival rate; 0 keeps a closed loop",
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
def local_stack(backend: str) -> Iterator[str]:
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
        backend,
        "--log-level",
        "WARNING",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
        "--json-file", str(results / "locust"),  # Locust adds .json
        "--threshold-profile", profile, "--verdict-file", str(results / "verdict.json"),
        "--time-scale", str(args.time_scale), "--target-rps", str(args.target_rps),
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
    limits = [t["limit"] for t in verdict.get("thresholds", []) if t["metric"] == "p95" and t["endpoint"] is None]
    return float(limits[0]) if limits else None


def run(args: argparse.Namespace, host: str, outputs: dict[str, Any]) -> int:
    profile = str(outputs.get("backend") or "local")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = args.results or RESULTS / f"{args.scenario}-{stamp}"
    results.mkdir(parents=True, exist_ok=True)
    watcher = make_watcher(outputs, args, results)
    print(f"make loadtest: {args.scenario} against {host} (thresholds: {profile}; results: {results})", flush=True)
    watcher.start()
    try:
        code = subprocess.run(locust_command(args, host, profile, results), cwd=ROOT, check=False).returncode
    finally:
        watcher.stop()
    verdict_file = results / "verdict.json"
    if not verdict_file.exists():
        print(f"make loadtest: Locust exited with {code} before writing a verdict", file=sys.stderr)
        return code or 1
    verdict = json.loads(verdict_file.read_text())
    scaling = latency_after_scale_out(
        watcher.evaluate(int(verdict.get("coldStarts", 0))), history(results), aggregate_p95_limit(verdict)
    )
    watcher.write_timeline(results / "scaling_timeline.csv")
    verdict["scaling"] = {"watcher": watcher.kind, **scaling.as_dict()}
    verdict["passed"] = bool(verdict["passed"]) and scaling.status != "failed"
    verdict_file.write_text(json.dumps(verdict, indent=2) + "\n")
    report = write_report(results, f"{args.scenario} against {host} ({profile})")
    note = "; ".join(scaling.reasons)
    print(f"scaling {scaling.status.upper().replace('_', ' ')}{': ' + note if note else ''}")
    print(f"verdict: {'PASSED' if verdict['passed'] else 'FAILED'}  ({verdict_file}; report: {report})")
    if code not in (0, EXIT_THRESHOLD_FAILED):
        return code
    if scaling.status == NOT_APPLICABLE:
        return code
    return 0 if verdict["passed"] else EXIT_THRESHOLD_FAILED


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.host:
        host = args.host.rstrip("/")
        outputs = stack_outputs(args.stack_outputs)
        if outputs and str(outputs.get("url", "")).rstrip("/") != host:
            print(f"make loadtest: {host} is not the selected stack's url: judged as a plain host", flush=True)
            outputs = {}
        return run(args, host, outputs)
    with local_stack(args.backend) as host:
        return run(args, host, {})


if __name__ == "__main__":
    sys.exit(main())
