"""Thresholds: what a spec means, what wins when several say the same, and the verdict they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.arrivals import WARM_UP, Stage
from loadtests.measure import Recording
from loadtests.thresholds import (
    EndpointStats,
    Observations,
    Threshold,
    ThresholdError,
    evaluate,
    exit_code,
    load_thresholds,
    observations,
    parse_threshold,
    resolve,
    verdict,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("p95<500", Threshold("p95", 500)),
        ("GET /users:p99<=800", Threshold("p99", 800, endpoint="GET /users", inclusive=True)),
        ("failure_ratio<0.01", Threshold("failure_ratio", 0.01)),
        ("rps>=5", Threshold("rps", 5, inclusive=True)),
        ("p95 < 2000 @abort=30", Threshold("p95", 2000, abort_after_s=30)),
        ("GET /users/[email]/avatar:p50<100", Threshold("p50", 100, endpoint="GET /users/[email]/avatar")),
        ("p95<300@stage=hold", Threshold("p95", 300, stage="hold")),
        ("p99<900 @stage=first window @abort=60", Threshold("p99", 900, stage="first window", abort_after_s=60)),
        ("p95_drift<1.5", Threshold("p95_drift", 1.5)),
        ("dropped_ratio<=0.01", Threshold("dropped_ratio", 0.01, inclusive=True)),
    ],
)
def test_a_spec_reads_as_written(spec: str, expected: Threshold) -> None:
    assert parse_threshold(spec) == expected


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("p95>500", "upper bound"),
        ("rps<5", "lower bound"),
        ("p90<500", "unknown metric"),
        ("fast please", "cannot read threshold"),
        ("p95<", "cannot read threshold"),
        ("p95<500@after=3", "unknown option @after="),
        ("p95<500@abort=soon", "@abort= takes seconds"),
        ("p95_drift<1.5@stage=hold", "a drift compares the last judged stage with the first"),
    ],
)
def test_a_spec_that_cannot_be_read_says_how_to_write_one(spec: str, says: str) -> None:
    with pytest.raises(ThresholdError, match=says):
        parse_threshold(spec)


def stats(requests: int = 100, failures: int = 0, rps: float = 10.0, p95: float = 200.0) -> EndpointStats:
    return EndpointStats(requests, failures, rps, {"p50": p95 / 2, "p95": p95, "p99": p95 * 2})


def judged(endpoints: dict[str, EndpointStats], aggregate: EndpointStats) -> Observations:
    """Observations of a one-stage run: what the judged stages saw."""
    return Observations({"steady": (endpoints, aggregate)}, ["steady"], (endpoints, aggregate))


def test_each_threshold_is_judged_on_its_endpoint_or_the_aggregate() -> None:
    endpoints = {"GET /users": stats(p95=100), "POST /user": stats(p95=900)}
    thresholds = [parse_threshold(s) for s in ("p95<500", "GET /users:p95<500", "POST /user:p95<500", "rps>=10")]

    outcomes = evaluate(thresholds, judged(endpoints, stats(p95=450)))

    assert [(o.threshold, o.observed, o.passed) for o in outcomes] == [
        ("p95 < 500 ms", 450.0, True),
        ("GET /users: p95 < 500 ms", 100.0, True),
        ("POST /user: p95 < 500 ms", 900.0, False),
        ("rps >= 10 req/s", 10.0, True),
    ]


def test_a_threshold_on_an_endpoint_that_saw_no_request_fails() -> None:
    (outcome,) = evaluate([parse_threshold("POST /user:p95<500")], judged({}, stats()))

    assert not outcome.passed
    assert outcome.observed is None
    assert "no request" in outcome.note


def test_the_failure_ratio_counts_failures_over_requests() -> None:
    (outcome,) = evaluate([parse_threshold("failure_ratio<0.01")], judged({}, stats(requests=200, failures=3)))

    assert (outcome.observed, outcome.passed) == (0.015, False)


STEADY = (Stage(10, 2, "steady"),)


def recording_of(*requests: tuple[str, str, float, str | None]) -> Recording:
    """(stage, name, ms, error) each; every request in window 0."""
    recording = Recording()
    for phase, name, ms, error in requests:
        recording.add_request(phase, 0, name, ms, error)
    return recording


def test_latency_is_judged_on_successful_requests_only_and_fails_when_none_succeeded() -> None:
    """Defect 1: 100 % failed requests (fast connection errors) passed p95 < 1000 ms on their own latency."""
    dead = recording_of(*[("steady", "GET /users", 25.0, "ConnectionError: refused")] * 40)

    outcomes = evaluate([parse_threshold(s) for s in ("p95<1000", "GET /users:p99<2000")], observations(dead, STEADY))

    assert [(o.passed, o.observed) for o in outcomes] == [(False, None), (False, None)]
    assert all("no request succeeded" in o.note for o in outcomes)


def test_a_slow_success_is_not_hidden_by_fast_failures() -> None:
    mixed = recording_of(
        *[("steady", "GET /users", 5.0, "503: unavailable")] * 95, *[("steady", "GET /users", 1500.0, None)] * 5
    )

    (outcome,) = evaluate([parse_threshold("p95<1000")], observations(mixed, STEADY))

    assert (outcome.observed, outcome.passed) == (1500.0, False)


RAMP = (
    Stage(10, 2, WARM_UP, judged=False),
    Stage(20, 20, "ramp", ramp_from=2, judged=False),
    Stage(10, 20, "hold"),
)


def test_the_warm_up_and_unjudged_stages_do_not_count_and_a_stage_can_be_judged_on_its_own() -> None:
    """Defect 5: the warm-up and the deliberately under-provisioned ramp counted against p95."""
    run = recording_of(
        *[(WARM_UP, "GET /users", 4000.0, None)] * 30,
        *[("ramp", "GET /users", 2500.0, None)] * 30,
        *[("hold", "GET /users", 80.0, None)] * 40,
    )
    specs = ("p95<500", "p95<3000@stage=ramp", "p95<500@stage=ramp", "p95<100@stage=nope")

    outcomes = evaluate([parse_threshold(s) for s in specs], observations(run, RAMP))

    assert [(o.threshold, o.observed, o.passed) for o in outcomes[:3]] == [
        ("p95 < 500 ms", 80.0, True),
        ("p95 < 3000 ms in stage ramp", 2500.0, True),
        ("p95 < 500 ms in stage ramp", 2500.0, False),
    ]
    assert not outcomes[3].passed
    assert "no stage 'nope': it has warm-up, ramp, hold" in outcomes[3].note


def test_cold_starts_are_judged_under_their_own_name_not_in_the_aggregate() -> None:
    run = recording_of(
        *[("steady", "GET /users", 50.0, None)] * 99, ("steady", "GET /users (cold start)", 3000.0, None)
    )
    specs = ("p99<100", "GET /users (cold start):p99<5000", "GET /users:p99<100")

    outcomes = evaluate([parse_threshold(s) for s in specs], observations(run, STEADY))

    assert [(o.observed, o.passed) for o in outcomes] == [(50.0, True), (3000.0, True), (50.0, True)]


SOAK = (
    Stage(5, 5, WARM_UP, judged=False),
    Stage(10, 5, "first window"),
    Stage(30, 5, "middle"),
    Stage(10, 5, "last window"),
)


@pytest.mark.parametrize(("last_ms", "passed"), [(140.0, True), (150.0, False), (400.0, False)])
def test_a_soak_fails_for_drift_when_its_last_window_is_slower_than_its_first(last_ms: float, passed: bool) -> None:
    run = recording_of(
        *[("first window", "GET /users", 100.0, None)] * 50,
        *[("middle", "GET /users", 120.0, None)] * 50,
        *[("last window", "GET /users", last_ms, None)] * 50,
    )

    (outcome,) = evaluate([parse_threshold("p95_drift<1.5")], observations(run, SOAK))

    assert (outcome.observed, outcome.passed) == (last_ms / 100, passed)
    assert "'last window'" in outcome.note


def test_a_drift_needs_two_judged_stages() -> None:
    (outcome,) = evaluate([parse_threshold("p95_drift<1.5")], observations(recording_of(), STEADY))

    assert not outcome.passed
    assert "two judged stages" in outcome.note


def test_dropped_arrivals_are_a_ratio_of_every_arrival_due() -> None:
    run = recording_of(("steady", "GET /users", 50.0, None))
    for n in range(100):
        run.add_arrival("steady", 0, started=n >= 3)

    (outcome,) = evaluate([parse_threshold("dropped_ratio<0.01")], observations(run, STEADY))

    assert (outcome.observed, outcome.passed) == (0.03, False)


def test_the_file_then_the_command_line_replace_the_profiles_defaults(tmp_path: Path) -> None:
    file = tmp_path / "mine.yaml"
    file.write_text('- "p95<123"\n- "GET /users:p50<50"\n')

    resolved = resolve("local", file, ["p95<77", "rps>=3"])
    chosen = {(t.endpoint, t.metric): t.limit for t in resolved.thresholds}

    assert chosen[(None, "p95")] == 77
    assert chosen[("GET /users", "p50")] == 50
    assert chosen[(None, "rps")] == 3
    assert chosen[(None, "failure_ratio")] == 0.01, "defaults not overridden stay"
    assert resolved.sources == f"local defaults, then {file}, then 2 on the command line", "not just 'local'"


def test_a_backend_with_no_profile_of_its_own_gets_the_default_profile() -> None:
    resolved = resolve("fargate")

    assert {t.metric for t in resolved.thresholds} >= {"failure_ratio", "p95", "dropped_ratio"}
    assert resolved.sources == "default defaults (no 'fargate' profile)"


def test_a_scenarios_own_thresholds_join_the_profiles() -> None:
    resolved = resolve("eks", scenario=["p95_drift<1.5"])

    assert "p95_drift" in {t.metric for t in resolved.thresholds}
    assert "the scenario's own" in resolved.sources


def test_a_profiled_file_without_the_runs_profile_is_refused_naming_what_it_has(tmp_path: Path) -> None:
    """Defect 7: it failed inside Locust, after a local stack had started."""
    file = tmp_path / "mine.yaml"
    file.write_text('eks: ["p95<300"]\nlambda: ["p95<800"]\n')

    with pytest.raises(
        ThresholdError, match="has no thresholds for 'local' and no 'default' entry: it has eks, lambda"
    ):
        resolve("local", file)


def test_a_profiled_files_default_entry_serves_any_profile(tmp_path: Path) -> None:
    file = tmp_path / "mine.yaml"
    file.write_text('eks: ["p95<300"]\ndefault: ["p95<900"]\n')

    (p95,) = [t for t in resolve("local", file).thresholds if t.metric == "p95" and t.endpoint is None]

    assert p95.limit == 900


def test_a_malformed_file_is_named(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("p95: [unclosed\n")

    with pytest.raises(ThresholdError, match=r"bad\.yaml is not valid YAML .* at line 2"):
        load_thresholds(file)


def test_the_verdict_fails_on_any_failed_threshold_or_an_abort() -> None:
    passing = evaluate([parse_threshold("p95<500")], judged({}, stats(p95=100)))

    assert verdict(passing)["passed"] is True
    assert verdict(passing, aborted="p95 breached")["passed"] is False
    assert verdict(evaluate([parse_threshold("p95<50")], judged({}, stats(p95=100))))["passed"] is False


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"passed": True, "exceptions": 0}, 0),
        ({"passed": False, "exceptions": 0}, 3),
        ({"passed": False, "exceptions": 2}, 1),  # defect 6: the plugin only ever set 0 or 3
    ],
)
def test_the_exit_code_keeps_locusts_1_for_a_broken_run_and_3_for_a_failed_threshold(
    document: dict[str, object], code: int
) -> None:
    assert exit_code(document) == code
