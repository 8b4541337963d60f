"""The Locust side of the load model and the thresholds: options, pacing, recording, abort-on-breach, verdict.

Import it from a locustfile (``loadtests/locustfile.py`` does). How it maps on
Locust's runners (read in locust 2.47.0, ``locust/runners.py`` and
``locust/main.py``):

- Every load-generating process (the ``LocalRunner``, or each ``WorkerRunner``)
  paces its share of the arrivals (``loadtests/pacer.py``) and records each
  request by the stage it started in and its time window
  (``loadtests/measure.py``). A worker's share is its part of the user pool:
  the master's dispatcher spreads the pool's users over the workers, and the
  worker learns its count in the ``spawn`` message (``start_worker`` sets
  ``target_user_count``). Workers also receive the master's own command-line
  options in that message (``custom_args_from_master``), so a worker started
  by hand paces the same plan.
- Workers send their recording as deltas through ``report_to_master``, fired
  by ``WorkerRunner._send_stats`` every few seconds and once more on the
  master's ``quit`` message; the master adds them up in ``worker_report``.
  Cold starts, being requests under their own name, are counted in every
  process.
- The master (or the local runner) judges: during the run for ``@abort``
  thresholds, and on ``quitting``, which ``main.shutdown`` fires before it
  stops the runner: so ``_judge`` quits the runner first (the master waits
  0.5 s for the workers' final reports), then judges.
"""

from __future__ import annotations

import gc
import json
import signal
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import events, stats
from locust.env import Environment
from locust.exception import CatchResponseError
from locust.runners import MasterRunner, WorkerRunner

from .arrivals import Plan, Stage, phase_at, scaled, window_seconds, worker_offset
from .measure import Recording, cold_starts, combined
from .pacer import Pacer
from .thresholds import (
    Threshold,
    ThresholdError,
    evaluate,
    exit_code,
    observations,
    resolve,
    verdict,
    write_verdict,
)

CHECK_EVERY_S = 1.0
ACTION_CYCLE = ("browse", "view", "browse", "sign_up", "view", "browse")  # 3 : 2 : 1
REPORT_KEY = "flask_platform"


class RunState:
    """This process's part of the run (one per process: Locust runs one environment per process)."""

    def __init__(self) -> None:
        self.thresholds: list[Threshold] = []
        self.sources = ""
        self.plan: Plan = ()
        self.window_s = 10.0
        self.recording = Recording()
        self.started = 0.0  # monotonic, at test_start in this process
        self.aborted: str | None = None
        self.pacer = Pacer(ACTION_CYCLE)
        self.late_max_s = 0.0  # the latest an arrival was handed out after its due time (the pacer's own lag)
        self.cpu_percent_max = 0.0  # this process's highest sample (a master: the highest of every worker's too)
        self.sampler: gevent.Greenlet | None = None


STATE = RunState()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("flask-platform load model and thresholds")
    group.add_argument(
        "--threshold-profile", default="local", help="default thresholds: local, lambda, eks, minikube or default"
    )
    group.add_argument("--thresholds-file", default=None, help="YAML list (or profile -> list) of thresholds")
    group.add_argument(
        "--threshold", action="append", default=[], help="one threshold, e.g. 'GET /users:p95<500' (repeatable)"
    )
    group.add_argument("--verdict-file", default="verdict.json", help="where the verdict is written")
    group.add_argument(
        "--target-rps",
        type=float,
        default=0.0,
        help="the scenario's peak arrival rate, in user actions per second (a browse may make 3 requests);"
        " 0 keeps the scenario's own rates",
    )
    group.add_argument("--time-scale", type=float, default=1.0, help="multiply every stage's duration")
    group.add_argument(
        "--max-in-flight", type=int, default=50, help="virtual users over all processes: the cap on in-flight actions"
    )
    group.add_argument(
        "--created-users-file", default="created-users.txt", help="where sign-ups write down the users they create"
    )


def plan_of(environment: Environment) -> Plan:
    """The scenario's stages, scaled by --time-scale and --target-rps (the same on every process)."""
    shape = environment.shape_class
    stages: tuple[Stage, ...] = tuple(getattr(shape, "stages", ()) or ())
    options = environment.parsed_options
    if not stages or options is None:
        return ()
    return scaled(stages, float(options.time_scale), float(options.target_rps) or None)


@events.init.add_listener
def _load(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    STATE.plan = plan_of(environment)
    STATE.window_s = window_seconds(STATE.plan) if STATE.plan else 10.0
    if isinstance(environment.runner, WorkerRunner):
        return
    # SIGTERM is handled as Ctrl-C, so a shape run ends with its verdict rather than dying. In locust 2.47.0
    # a headless run with a shape joins the shape's greenlet inside start_automatic_run() (locust/main.py),
    # before main() installs its own SIGTERM handler: until the shape ends, SIGTERM killed the process outright
    # (no quitting event, no verdict, workers left running), while a KeyboardInterrupt there is caught
    # ("Exiting due to CTRL+C interruption") and the run shuts down in order. Once main() installs its own
    # handler (after the shape), it replaces this one.
    # Python's own Ctrl-C handler even when started with SIGINT ignored (a shell's background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main = gevent.getcurrent()  # init runs in main(): the greenlet that waits on the shape
    gevent.signal_handler(signal.SIGTERM, lambda: gevent.get_hub().loop.run_callback(main.throw, KeyboardInterrupt))
    if options.time_scale <= 0:
        raise SystemExit("--time-scale must be greater than 0, e.g. --time-scale 0.1 for a short run")
    if options.target_rps < 0:
        raise SystemExit("--target-rps must be 0 (the scenario's rates) or a positive rate")
    if options.max_in_flight < 1:
        raise SystemExit("--max-in-flight must be at least 1, e.g. --max-in-flight 50")
    try:
        file = Path(options.thresholds_file) if options.thresholds_file else None
        scenario = getattr(environment.shape_class, "thresholds", ())
        resolved = resolve(options.threshold_profile, file, options.threshold, scenario)
    except ThresholdError as exc:
        raise SystemExit(f"thresholds: {exc}") from None
    STATE.thresholds, STATE.sources = resolved.thresholds, resolved.sources


def _error(exception: BaseException) -> str:
    """A failure's cause as the breakdown shows it: our own messages start with the status code."""
    if isinstance(exception, CatchResponseError):
        return str(exception)[:120]
    return f"{type(exception).__name__}: {str(exception)[:100]}"


@events.request.add_listener
def _record(name: str, response_time: float, exception: BaseException | None = None, **_: Any) -> None:
    """Every request, by the stage and window it started in (a master makes none)."""
    if not STATE.started:
        return
    began = time.monotonic() - (response_time or 0) / 1000 - STATE.started
    STATE.recording.add_request(
        phase_at(STATE.plan, began),
        int(max(began, 0) // STATE.window_s),
        name,
        float(response_time or 0),
        None if exception is None else _error(exception),
    )


def _arrived(due: float, started: bool, late: float) -> None:
    STATE.late_max_s = max(STATE.late_max_s, late)
    STATE.recording.add_arrival(phase_at(STATE.plan, due), int(due // STATE.window_s), started=started)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    STATE.started = time.monotonic()
    STATE.aborted = None
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _watch(environment)
        return
    STATE.recording = Recording()
    gevent.spawn(_pace, environment)
    STATE.sampler = gevent.spawn(_sample_cpu)
    if runner is not None and not isinstance(runner, WorkerRunner):
        _watch(environment)


def _pace(environment: Environment) -> None:
    """Start pacing once this process knows its part of the pool (a worker: from its spawn message)."""
    runner = environment.runner
    options = environment.parsed_options
    if runner is None or options is None or not STATE.plan:
        return
    share = 1.0
    if isinstance(runner, WorkerRunner):
        while not runner.target_user_count:
            gevent.sleep(0.01)
        share = min(1.0, runner.target_user_count / max(1, int(options.max_in_flight)))
    STATE.pacer.start(STATE.plan, share, worker_offset(max(0, getattr(runner, "worker_index", 0))), _arrived)


def _sample_cpu() -> None:
    """The load generator's own CPU: near 100 % it, not the target, may be what limits the run."""
    process = psutil.Process()  # made here, not at import: --processes forks the workers after the import
    process.cpu_percent()  # the first call only starts the interval (psutil)
    while True:
        gevent.sleep(2.0)
        STATE.cpu_percent_max = max(STATE.cpu_percent_max, process.cpu_percent())


@events.test_stop.add_listener
def _stop(**_: Any) -> None:
    STATE.pacer.stop()
    if STATE.sampler is not None:
        STATE.sampler.kill(block=False)


@events.report_to_master.add_listener
def _report(data: dict[str, Any], **_: Any) -> None:
    data[REPORT_KEY] = {"recording": STATE.recording.drain(), "cpu": STATE.cpu_percent_max, "late": STATE.late_max_s}


@events.worker_report.add_listener
def _merge(data: dict[str, Any], **_: Any) -> None:
    report = data.get(REPORT_KEY)
    if report:
        STATE.recording.merge(Recording.from_json(report["recording"]))
        STATE.cpu_percent_max = max(STATE.cpu_percent_max, float(report.get("cpu", 0.0)))
        STATE.late_max_s = max(STATE.late_max_s, float(report.get("late", 0.0)))


def _watch(environment: Environment) -> None:
    watched = [t for t in STATE.thresholds if t.abort_after_s is not None]
    if watched:
        gevent.spawn(_abort_on_breach, environment, watched)


def _abort_on_breach(environment: Environment, watched: list[Threshold]) -> None:
    while environment.runner is not None and environment.runner.state not in {"stopped", "quitting"}:
        gevent.sleep(CHECK_EVERY_S)
        elapsed = time.monotonic() - STATE.started
        due = [t for t in watched if elapsed >= (t.abort_after_s or 0)]
        if not due:
            continue
        observed = observations(STATE.recording, STATE.plan, elapsed)
        breached = [o for o in evaluate(due, observed) if not o.passed and o.observed is not None]
        if breached:
            STATE.aborted = f"{breached[0].threshold} breached (observed {breached[0].observed}) after {elapsed:.0f} s"
            environment.runner.quit()
            return


def arrivals_summary(recording: Recording, plan: Plan) -> dict[str, Any]:
    """Target, started and dropped arrivals, and rates, per stage and for the judged stages."""
    stages: list[dict[str, Any]] = []
    for stage in plan:
        bucket = recording.phases.get(stage.name)
        started, dropped = (bucket.started, bucket.dropped) if bucket else (0, 0)
        stages.append(
            {
                "name": stage.name,
                "judged": stage.judged,
                "seconds": round(stage.seconds, 3),
                "target": round(stage.arrivals, 1),
                "started": started,
                "dropped": dropped,
                "targetRate": round(stage.arrivals / stage.seconds, 3) if stage.seconds else 0.0,
                "achievedRate": round(started / stage.seconds, 3) if stage.seconds else 0.0,
            }
        )
    judged = [s for s in stages if s["judged"]]
    seconds = sum(s["seconds"] for s in judged)
    target = sum(s["target"] for s in judged)
    started = sum(s["started"] for s in judged)
    return {
        "stages": stages,
        "judged": {
            "target": round(target, 1),
            "started": started,
            "dropped": sum(s["dropped"] for s in judged),
            "targetRate": round(target / seconds, 3) if seconds else 0.0,
            "achievedRate": round(started / seconds, 3) if seconds else 0.0,
        },
    }


@events.quitting.add_listener
def _judge(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) or options is None:
        return
    if environment.runner is not None:
        environment.runner.quit()  # users stop, workers send their last report: nothing lands after the verdict
    STATE.pacer.stop()
    observed = observations(STATE.recording, STATE.plan)
    outcomes = evaluate(STATE.thresholds, observed)
    exceptions = len(environment.runner.exceptions) if environment.runner is not None else 0
    everything = combined(STATE.recording.phases.values())
    requests = sum(h.total for h in everything.ok.values()) + sum(sum(c.values()) for c in everything.failed.values())
    document = verdict(
        outcomes,
        aborted=STATE.aborted,
        profile=options.threshold_profile,
        thresholdSources=STATE.sources,
        host=environment.host,
        requests=requests,
        failures=sum(sum(c.values()) for c in everything.failed.values()),
        coldStarts=cold_starts(everything),  # every process's, through the worker reports
        exceptions=exceptions,  # Python errors raised in the user classes: a broken locustfile must not pass
        arrivals={**arrivals_summary(STATE.recording, STATE.plan), "lateMaxMs": round(STATE.late_max_s * 1000, 1)},
        maxInFlight=options.max_in_flight,
        loadGeneratorCpuPercentMax=round(STATE.cpu_percent_max, 1),
    )
    if exceptions:
        document["passed"] = False
    verdict_path = Path(options.verdict_file)
    write_verdict(verdict_path, document)
    measured = {
        "windowSeconds": STATE.window_s,
        "stages": [{"name": s.name, "seconds": s.seconds, "judged": s.judged} for s in STATE.plan],
        **STATE.recording.to_json(),
    }
    verdict_path.with_name("measured.json").write_text(json.dumps(measured) + "\n")
    _print(document, environment)
    environment.process_exit_code = exit_code(document)


@events.quit.add_listener
def _stop_csv_writer(**_: Any) -> None:
    """Stop Locust's CSV writer before Locust closes its files, so an interrupted run ends without a traceback.

    In locust 2.47.0, ``main.shutdown`` fires ``quit`` and then closes the CSV files while the writer greenlet
    (``StatsCSVFileWriter.stats_writer``, spawned without a handle) still runs; with ``--processes`` the
    master's atexit wait for its workers (``kill_workers``, a gevent-patched ``time.sleep``) lets it run
    again: "ValueError: seek of closed file". Its last write is at most ``CSV_STATS_INTERVAL_SEC`` (1 s) old.
    """
    for candidate in gc.get_objects():
        if isinstance(candidate, gevent.Greenlet) and getattr(getattr(candidate, "_run", None), "__name__", "") == (
            "stats_writer"
        ):
            candidate.kill(block=True, timeout=1)


def _print(document: dict[str, Any], environment: Environment) -> None:
    options = environment.parsed_options
    if options is not None and getattr(options, "json_file", None) and environment.runner is not None:
        # Locust prints its summary only without --json-file (locust/main.py, shutdown): print it here.
        stats.print_stats(environment.runner.stats, current=False)
        stats.print_percentile_stats(environment.runner.stats)
        stats.print_error_report(environment.runner.stats)
    judged = document["arrivals"]["judged"]
    print(
        f"arrivals (judged stages): {judged['achievedRate']:g}/s achieved of {judged['targetRate']:g}/s target, "
        f"{judged['dropped']} dropped, none handed out more than {document['arrivals']['lateMaxMs']:g} ms late; "
        f"cold starts {document['coldStarts']}"
    )
    for outcome in document["thresholds"]:
        mark = "PASS" if outcome["passed"] else "FAIL"
        print(f"threshold {mark}  {outcome['threshold']}  observed {outcome['observed']}  {outcome['note']}".rstrip())
    if document["aborted"]:
        print(f"aborted: {document['aborted']}")
    if document["exceptions"]:
        print(f"{document['exceptions']} distinct exceptions were raised in the user classes: see Locust's report")
