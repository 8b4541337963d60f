"""The Locust side of the thresholds: options, abort-on-breach, and verdict.json with its own exit code.

Import it from a locustfile (``loadtests/locustfile.py`` does). Thresholds are
evaluated on the master (or the single local runner) only: workers see just
their own share of the statistics.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

from .thresholds import (
    EXIT_THRESHOLD_FAILED,
    PERCENTILES,
    EndpointStats,
    Threshold,
    ThresholdError,
    evaluate,
    resolve,
    verdict,
    write_verdict,
)

CHECK_EVERY_S = 1.0
_state: dict[str, Any] = {"thresholds": [], "aborted": None, "started": 0.0, "cold_starts": 0}
COLD_START_HEADER = "X-Cold-Start"


@events.request.add_listener
def _count_cold_starts(response: Any = None, **_: Any) -> None:
    """The app marks the first response of each process (container worker or Lambda environment)."""
    headers = getattr(response, "headers", None)
    if headers is not None and headers.get(COLD_START_HEADER) == "true":
        _state["cold_starts"] += 1


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("flask-platform thresholds")
    group.add_argument(
        "--threshold-profile", default="local", help="default thresholds: local, lambda, eks or minikube"
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
        help="fixed arrival rate of user actions per second over all users (a browse may make 3 requests);"
        " 0 keeps a closed loop",
    )
    group.add_argument("--time-scale", type=float, default=1.0, help="multiply every load shape's durations")


def stats_of(entry: StatsEntry) -> EndpointStats:
    return EndpointStats(
        requests=entry.num_requests,
        failures=entry.num_failures,
        rps=float(entry.total_rps),
        percentiles_ms={name: float(entry.get_response_time_percentile(p)) for name, p in PERCENTILES.items()},
    )


def observed(environment: Environment) -> tuple[dict[str, EndpointStats], EndpointStats]:
    assert environment.stats is not None
    endpoints = {name: stats_of(entry) for (name, _method), entry in environment.stats.entries.items()}
    return endpoints, stats_of(environment.stats.total)


@events.init.add_listener
def _load(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    options = environment.parsed_options
    if options.time_scale <= 0:
        raise SystemExit("--time-scale must be greater than 0, e.g. --time-scale 0.1 for a short run")
    if options.target_rps < 0:
        raise SystemExit("--target-rps must be 0 (closed loop) or a positive rate")
    try:
        file = Path(options.thresholds_file) if options.thresholds_file else None
        _state["thresholds"] = resolve(options.threshold_profile, file, options.threshold)
    except ThresholdError as exc:
        raise SystemExit(f"thresholds: {exc}") from None


@events.test_start.add_listener
def _watch(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    _state["started"] = time.monotonic()
    watched: list[Threshold] = [t for t in _state["thresholds"] if t.abort_after_s is not None]
    if watched:
        gevent.spawn(_abort_on_breach, environment, watched)


def _abort_on_breach(environment: Environment, watched: list[Threshold]) -> None:
    while environment.runner is not None and environment.runner.state not in {"stopped", "quitting"}:
        gevent.sleep(CHECK_EVERY_S)
        elapsed = time.monotonic() - _state["started"]
        due = [t for t in watched if elapsed >= (t.abort_after_s or 0)]
        if not due:
            continue
        endpoints, aggregate = observed(environment)
        breached = [o for o in evaluate(due, endpoints, aggregate) if not o.passed and o.observed is not None]
        if breached:
            _state["aborted"] = (
                f"{breached[0].threshold} breached (observed {breached[0].observed}) after {elapsed:.0f} s"
            )
            environment.runner.quit()
            return


@events.quitting.add_listener
def _judge(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    if environment.runner is not None:
        environment.runner.quit()  # stop the users first: no request may land after the verdict is taken
    endpoints, aggregate = observed(environment)
    outcomes = evaluate(_state["thresholds"], endpoints, aggregate)
    exceptions = len(environment.runner.exceptions) if environment.runner is not None else 0
    document = verdict(
        outcomes,
        aborted=_state["aborted"],
        profile=environment.parsed_options.threshold_profile,
        host=environment.host,
        requests=aggregate.requests,
        failures=aggregate.failures,
        coldStarts=_state["cold_starts"],  # counted by this process: in a distributed run, the master sees none
        exceptions=exceptions,  # Python errors raised in the user classes: a broken locustfile must not pass
    )
    if exceptions:
        document["passed"] = False
    write_verdict(Path(environment.parsed_options.verdict_file), document)
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        print(f"threshold {mark}  {outcome.threshold}  observed {outcome.observed}  {outcome.note}".rstrip())
    if _state["aborted"]:
        print(f"aborted: {_state['aborted']}")
    if exceptions:
        print(f"{exceptions} distinct exceptions were raised in the user classes: see Locust's report")
    environment.process_exit_code = 0 if document["passed"] else EXIT_THRESHOLD_FAILED
