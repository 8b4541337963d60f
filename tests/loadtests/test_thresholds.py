"""Thresholds: what a spec means, what wins when several say the same, and the verdict they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.thresholds import (
    EndpointStats,
    Threshold,
    ThresholdError,
    evaluate,
    load_thresholds,
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
    ],
)
def test_a_spec_that_cannot_be_read_says_how_to_write_one(spec: str, says: str) -> None:
    with pytest.raises(ThresholdError, match=says):
        parse_threshold(spec)


def stats(requests: int = 100, failures: int = 0, rps: float = 10.0, p95: float = 200.0) -> EndpointStats:
    return EndpointStats(requests, failures, rps, {"p50": p95 / 2, "p95": p95, "p99": p95 * 2})


def test_each_threshold_is_judged_on_its_endpoint_or_the_aggregate() -> None:
    endpoints = {"GET /users": stats(p95=100), "POST /user": stats(p95=900)}
    thresholds = [parse_threshold(s) for s in ("p95<500", "GET /users:p95<500", "POST /user:p95<500", "rps>=10")]

    outcomes = evaluate(thresholds, endpoints, stats(p95=450))

    assert [(o.threshold, o.observed, o.passed) for o in outcomes] == [
        ("p95 < 500 ms", 450.0, True),
        ("GET /users: p95 < 500 ms", 100.0, True),
        ("POST /user: p95 < 500 ms", 900.0, False),
        ("rps >= 10 req/s", 10.0, True),
    ]


def test_a_threshold_on_an_endpoint_that_saw_no_request_fails() -> None:
    (outcome,) = evaluate([parse_threshold("POST /user:p95<500")], {}, stats())

    assert not outcome.passed
    assert outcome.observed is None
    assert "no request" in outcome.note


def test_the_failure_ratio_counts_failures_over_requests() -> None:
    (outcome,) = evaluate([parse_threshold("failure_ratio<0.01")], {}, stats(requests=200, failures=3))

    assert (outcome.observed, outcome.passed) == (0.015, False)


def test_the_file_then_the_command_line_replace_the_profiles_defaults(tmp_path: Path) -> None:
    file = tmp_path / "mine.yaml"
    file.write_text('- "p95<123"\n- "GET /users:p50<50"\n')

    chosen = {(t.endpoint, t.metric): t.limit for t in resolve("local", file, ["p95<77", "rps>=3"])}

    assert chosen[(None, "p95")] == 77
    assert chosen[("GET /users", "p50")] == 50
    assert chosen[(None, "rps")] == 3
    assert chosen[(None, "failure_ratio")] == 0.01, "defaults not overridden stay"


def test_an_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ThresholdError, match="has no thresholds for 'heroku': it has eks, lambda, local, minikube"):
        resolve("heroku")


def test_a_malformed_file_is_named(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("p95: [unclosed\n")

    with pytest.raises(ThresholdError, match=r"bad\.yaml"):
        load_thresholds(file)


def test_the_verdict_fails_on_any_failed_threshold_or_an_abort() -> None:
    passing = evaluate([parse_threshold("p95<500")], {}, stats(p95=100))

    assert verdict(passing)["passed"] is True
    assert verdict(passing, aborted="p95 breached")["passed"] is False
    assert verdict(evaluate([parse_threshold("p95<50")], {}, stats(p95=100)))["passed"] is False
