"""Lambda behind an HTTP API, and ECS services: the watchers on botocore-validated responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtests.aws_scaling import EcsWatcher, LambdaWatcher, lambda_queries, report_line, summarise_reports
from loadtests.report import scaling_series
from loadtests.watching import FAILED, PASSED, UNOBSERVED
from tests.loadtests.aws_stubs import MINUTE, T0, client, metric_data, minutes, stubbed
from tests.loadtests.aws_stubs import report_line as report_text

LAMBDA = {
    "kind": "lambda",
    "reservedConcurrency": None,
    "memoryMb": 512,
    "timeoutSeconds": 30,
    "throttleRateLimit": 100,
    "throttleBurstLimit": 200,
    "architecture": "arm64",
}
ACCOUNT = {
    "AccountLimit": {
        "TotalCodeSize": 80530636800,
        "CodeSizeUnzipped": 262144000,
        "CodeSizeZipped": 52428800,
        "ConcurrentExecutions": 400,
        "UnreservedConcurrentExecutions": 300,
    },
    "AccountUsage": {"TotalCodeSize": 1000, "FunctionCount": 3},
}


def healthy(**overrides: dict[float, float]) -> dict[str, dict[float, float]]:
    """Four minutes of a run at ~17 req/s: every request reached the function, none failed."""
    series = {
        "concurrency": minutes(3, 6, 7, 5),
        "invocations": minutes(600, 1100, 1200, 900),
        "throttles": minutes(0, 0, 0, 0),
        "errors": minutes(0, 0, 0, 0),
        "duration_ms": minutes(180.0, 95.0, 90.0, 92.0),
        "api_count": minutes(600, 1100, 1200, 900),
        "api_4xx": minutes(12, 20, 25, 18),  # the app's own 404s for avatars deleted meanwhile
        "api_5xx": minutes(0, 0, 0, 0),
        "api_latency_ms": minutes(200.0, 110.0, 104.0, 105.0),
        "api_integration_latency_ms": minutes(190.0, 100.0, 96.0, 97.0),
        "log_bytes": minutes(540_000, 990_000, 1_080_000, 810_000),
    }
    series.update(overrides)
    return series


def watcher(cloudwatch: Any, lambda_client: Any = None, logs: Any = None, **options: Any) -> LambdaWatcher:
    made = LambdaWatcher(
        LAMBDA,
        "users-api-fn",
        cloudwatch,
        lambda_client=lambda_client,
        logs=logs,
        api_id="a1b2c3d4e5",
        log_group="/aws/lambda/users-api-fn",
        sleep=lambda _: None,
        **options,
    )
    made.started_epoch, made.stopped_epoch = T0 + 20, T0 + 3 * MINUTE + 30  # four minutes: T0 .. T0+3m
    return made


def judged(
    series_per_poll: list[dict[str, dict[float, float]]], account: dict[str, Any] | None = ACCOUNT, **options: Any
) -> Any:
    with stubbed("cloudwatch") as (cloudwatch, metrics), stubbed("lambda") as (functions, settings):
        if account is not None:
            settings.add_response("get_account_settings", account, {})
        for series in series_per_poll:
            metrics.add_response("get_metric_data", metric_data(series))
        result = watcher(cloudwatch, functions, **options).evaluate(cold_starts=4)
        metrics.assert_no_pending_responses()
    return result


def test_a_healthy_run_passes_against_the_accounts_real_limit() -> None:
    result = judged([healthy(), healthy()])

    assert result.status == PASSED, result.reasons
    assert (result.details["concurrencyLimit"], result.details["limitSource"]) == (
        300,
        "the account's unreserved concurrency (GetAccountSettings)",
    )
    assert result.details["apiAnsweredWithoutFunction"] == 0
    # request-weighted: (200 x 600 + 110 x 1100 + 104 x 1200 + 105 x 900) / 3800 - the same for IntegrationLatency
    assert result.details["apiOverheadMs"] == pytest.approx(460300 / 3800 - 426500 / 3800)
    assert result.details["logBytesPerRequest"] == pytest.approx(900.0)
    assert result.details["coldStarts"] == 4


def test_the_stages_access_log_is_ingested_too_and_counted_in_the_log_bytes_per_request() -> None:
    """Each API request writes one access-log line (~250 bytes of the stage's JSON format) into its own log group,
    billed at the same ingestion price: the old watcher counted the function's log group only."""
    with_access = healthy(access_log_bytes=minutes(150_000, 275_000, 300_000, 225_000))

    result = judged([with_access, with_access], access_log_group="/aws/apigateway/users-api-0a1b2c")

    assert result.details["functionLogBytesPerRequest"] == pytest.approx(900.0)
    assert result.details["accessLogBytesPerRequest"] == pytest.approx(250.0)
    assert result.details["logBytesPerRequest"] == pytest.approx(1150.0)


def test_the_access_log_groups_bytes_are_asked_of_cloudwatch_by_its_name() -> None:
    queries = {q.id: q for q in lambda_queries("fn", "a1b2c3d4e5", "/aws/lambda/fn", "/aws/apigateway/api-0a1b")}

    assert queries["access_log_bytes"].as_request()["MetricStat"] == {
        "Metric": {
            "Namespace": "AWS/Logs",
            "MetricName": "IncomingBytes",
            "Dimensions": [{"Name": "LogGroupName", "Value": "/aws/apigateway/api-0a1b"}],
        },
        "Period": 60,
        "Stat": "Sum",
    }


def test_the_poll_goes_on_until_the_last_minute_has_arrived_and_the_figures_stop_changing() -> None:
    """CloudWatch's first answer has two minutes; the peak arrives in the late ones (the old watcher stopped here)."""
    early = {key: dict(list(points.items())[:2]) for key, points in healthy().items()}
    late = healthy(concurrency=minutes(3, 6, 7, 250))
    late_again = healthy(concurrency=minutes(3, 6, 7, 300), throttles=minutes(0, 0, 0, 40))

    result = judged([early, late, late_again, late_again])

    assert result.details["peakConcurrency"] == 300
    assert result.details["settled"] is True
    assert result.status == FAILED
    assert "Lambda throttled 40 invocations (429): concurrency was at its limit" in result.reasons
    assert (
        "at limit: concurrency reached 300, its limit (the account's unreserved concurrency (GetAccountSettings): 300)"
        in result.reasons
    )


def test_figures_still_changing_when_the_wait_runs_out_are_judged_and_said_to_be_incomplete() -> None:
    result = judged([healthy()], wait_for_data_s=0.0)  # one read, and the wait is over

    assert result.details["settled"] is False
    assert result.status == PASSED, "CloudWatch being late is said, and says nothing against the deployment"
    assert result.reasons == [
        "CloudWatch's figures were still arriving after 0 s: the run's last minutes may be missing (judged on what"
        " had arrived)"
    ]


def test_the_stages_throttle_is_seen_requests_answered_429_by_api_gateway_never_reach_the_function() -> None:
    """Old watcher: passed (it read Lambda's metrics only)."""
    refused = healthy(api_count=minutes(600, 1300, 1400, 900), api_4xx=minutes(12, 220, 225, 18))

    result = judged([refused, refused])

    assert result.status == FAILED
    assert result.details["apiAnsweredWithoutFunction"] == 400
    assert result.reasons == [
        "API Gateway answered 400 requests without invoking the function (of its 475 4xx): the stage's throttle"
        " (100 req/s, burst 200) answers 429 before Lambda (requests API Gateway refuses itself, such as bodies over"
        " its 10 MB limit, count here too)"
    ]


def test_function_errors_and_5xx_fail_the_run() -> None:
    failing = healthy(errors=minutes(0, 3, 0, 0), api_5xx=minutes(0, 3, 0, 0))

    result = judged([failing, failing])

    assert result.reasons == [
        "the function failed 3 invocations (Errors: unhandled exceptions or timeouts)",
        "API Gateway answered 3 requests with a 5xx",
    ]


def test_reserved_concurrency_is_the_limit_when_set() -> None:
    with stubbed("cloudwatch") as (cloudwatch, metrics):
        metrics.add_response("get_metric_data", metric_data(healthy(concurrency=minutes(3, 10, 10, 5))))
        metrics.add_response("get_metric_data", metric_data(healthy(concurrency=minutes(3, 10, 10, 5))))
        made = watcher(cloudwatch)
        made.scaling = {**LAMBDA, "reservedConcurrency": 10}
        result = made.evaluate(cold_starts=0)

    assert result.reasons == ["at limit: concurrency reached 10, its limit (the function's reserved concurrency: 10)"]


def test_a_window_of_the_runs_own_minutes_not_one_before() -> None:
    with stubbed("cloudwatch") as (cloudwatch, metrics):
        expected = {
            "MetricDataQueries": [query.as_request() for query in _queries()],
            "StartTime": _utc(T0),
            "EndTime": _utc(T0 + 4 * MINUTE),
            "ScanBy": "TimestampAscending",
        }
        metrics.add_response("get_metric_data", metric_data(healthy()), expected)
        metrics.add_response("get_metric_data", metric_data(healthy()), expected)
        watcher(cloudwatch).evaluate(cold_starts=0)
        metrics.assert_no_pending_responses()


def _queries() -> Any:
    from loadtests.aws_scaling import lambda_queries

    return lambda_queries("users-api-fn", "a1b2c3d4e5", "/aws/lambda/users-api-fn")


def _utc(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def test_init_and_billed_durations_come_from_the_functions_report_lines() -> None:
    events = [
        {
            "logStreamName": "2026/11/29/[$LATEST]abc",
            "timestamp": int(T0 * 1000) + i,
            "message": message,
            "ingestionTime": int(T0 * 1000) + i,
            "eventId": str(i),
        }
        for i, message in enumerate(
            [
                report_text(101.2, 102, init=412.5),
                report_text(20.4, 21),
                report_text(30.4, 31),
                report_text(95.0, 95, init=388.5),
            ]
        )
    ]
    with stubbed("cloudwatch") as (cloudwatch, metrics), stubbed("logs") as (logs, log_stub):
        metrics.add_response("get_metric_data", metric_data(healthy()))
        metrics.add_response("get_metric_data", metric_data(healthy()))
        log_stub.add_response("filter_log_events", {"events": events[:2], "nextToken": "page-2"})
        log_stub.add_response("filter_log_events", {"events": events[2:]}, None)
        result = watcher(cloudwatch, logs=logs).evaluate(cold_starts=2)

    assert result.details["reportLines"] == 4
    assert result.details["initCount"] == 2
    assert result.details["meanInitDurationMs"] == pytest.approx(400.5)
    assert result.details["maxInitDurationMs"] == 412.5
    assert result.details["meanBilledDurationMs"] == pytest.approx(62.25)
    assert result.details["memorySizeMb"] == 512


def test_a_report_line_reads_field_by_field() -> None:
    assert report_line(report_text(2.31, 3, init=150.96, memory=128)) == {
        "duration_ms": 2.31,
        "billed_ms": 3,
        "memory_mb": 128,
        "max_memory_mb": 98,
        "init_ms": 150.96,
    }
    assert summarise_reports(["START RequestId: x Version: $LATEST", "END RequestId: x"]).invocations == 0


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudwatch:GetMetricData",
            "cloudwatch:GetMetricData was refused (AccessDenied: User: arn:aws:iam::123456789012:user/ci is not"
            " authorized to perform: cloudwatch:GetMetricData): grant cloudwatch:GetMetricData",
        ),
        ("Throttling", "Rate exceeded", "cloudwatch:GetMetricData was refused (Throttling: Rate exceeded)"),
    ],
)
def test_a_cloudwatch_that_refuses_goes_into_the_verdict_not_a_traceback(
    code: str, message: str, expected: str
) -> None:
    """Old watcher: the ClientError propagated out of run.py after the load, and no report was written."""
    with stubbed("cloudwatch") as (cloudwatch, metrics), stubbed("lambda") as (functions, settings):
        settings.add_client_error("get_account_settings", "AccessDeniedException", "not authorized", 403)
        metrics.add_client_error("get_metric_data", code, message, 400)
        result = watcher(cloudwatch, functions).evaluate(cold_starts=0)

    assert result.status == UNOBSERVED
    assert result.reasons == [
        expected,
        "lambda:GetAccountSettings was refused (AccessDeniedException: not authorized): grant"
        " lambda:GetAccountSettings; the default limit of 1,000 is assumed",
    ]


def test_missing_credentials_are_said_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    import botocore.session

    cloudwatch = botocore.session.get_session().create_client("cloudwatch", region_name="us-east-1")

    result = watcher(cloudwatch).evaluate(cold_starts=0)

    assert result.status == UNOBSERVED
    assert result.reasons[0].startswith("cloudwatch:GetMetricData failed (NoCredentialsError:")
    assert result.reasons[0].endswith("set AWS credentials (AWS_PROFILE or the environment) for the stack's account")


def test_no_data_at_all_is_not_a_pass() -> None:
    result = judged([{}], wait_for_data_s=0.0)

    assert result.status == UNOBSERVED  # a Lambda stack whose metrics never came is not "not applicable"
    assert "no ConcurrentExecutions data points for function 'users-api-fn' in us-east-1" in result.reasons[0]
    assert "is it the stack's region?" in result.reasons[0]


def test_the_report_plots_lambda_concurrency(tmp_path: Path) -> None:
    """Old watcher: its timeline rows carried ``at``, the report reads ``at_s``: concurrency never showed."""
    (tmp_path / "locust_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
        f"{int(T0) + 20},0,,Aggregated,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
    )
    with stubbed("cloudwatch") as (cloudwatch, metrics):
        metrics.add_response("get_metric_data", metric_data(healthy()))
        metrics.add_response("get_metric_data", metric_data(healthy()))
        made = watcher(cloudwatch, results=tmp_path)
        made.evaluate(cold_starts=0)
    made.write_timeline(tmp_path / "scaling_timeline.csv")

    # each minute's figure is placed at the end of its minute, on Locust's clock (Locust started 20 s into T0's minute)
    assert scaling_series(tmp_path)["concurrency"] == [(40.0, 3.0), (100.0, 6.0), (160.0, 7.0), (220.0, 5.0)]


# --- ECS -------------------------------------------------------------------------------------------------

ECS = {
    "kind": "ecs",
    "clusterName": "users-api",
    "serviceName": "users-api",
    "minTasks": 2,
    "maxTasks": 6,
    "cpuTargetPercent": 70,
    "scaleOutCooldownSeconds": 60,
    "scaleInCooldownSeconds": 300,
    "taskCpuUnits": 512,
    "taskMemoryMiB": 1024,
    "architecture": "ARM64",
}


def service(desired: int, running: int, pending: int, events: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/users-api/users-api",
                "serviceName": "users-api",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/users-api",
                "status": "ACTIVE",
                "desiredCount": desired,
                "runningCount": running,
                "pendingCount": pending,
                "launchType": "FARGATE",
                "events": [
                    {"id": f"e{i}", "createdAt": _utc(T0 + i), "message": message} for i, message in enumerate(events)
                ],
            }
        ],
        "failures": [],
    }


# (desired, running, pending) every 30 s from T0: target tracking acts a few minutes above the target; Fargate
# tasks take about a minute to pull, start and pass the ALB's health checks
TASKS_IN_TIME = [(2, 2, 0)] * 9 + [(4, 2, 2), (4, 2, 2), (4, 4, 0), (4, 4, 0), (4, 4, 0)]
CPU_RISING = minutes(45, 85, 92, 90, 88, 60, 55)


def ecs_judged(
    counts: list[tuple[int, int, int]], cpu: dict[float, float], events: tuple[str, ...] = (), within: float = 240
) -> Any:
    with stubbed("ecs") as (ecs, tasks), stubbed("cloudwatch") as (cloudwatch, metrics):
        for counted in counts:
            tasks.add_response(
                "describe_services",
                service(*counted, events=events),
                {"cluster": "users-api", "services": ["users-api"]},
            )
        # CloudWatch answers until the run's last minute is there and two answers agree, or the wait runs out
        complete = any(stamp >= T0 + 6 * MINUTE for stamp in cpu)
        for _ in range(2 if complete else 1):
            metrics.add_response("get_metric_data", metric_data({"cpu": cpu}))
        made = EcsWatcher(ECS, ecs, cloudwatch, within, sleep=lambda _: None, wait_for_data_s=300 if complete else 0)
        made.started_epoch, made.stopped_epoch = T0, T0 + 6 * MINUTE + 30
        for index in range(len(counts)):
            made.sample(T0 + 30 * index)
        return made.evaluate(cold_starts=0)


def test_an_ecs_service_that_adds_running_tasks_in_time_passes() -> None:
    result = ecs_judged(TASKS_IN_TIME, CPU_RISING)

    assert result.status == PASSED, result.reasons
    # the 85 % minute (T0+60..T0+120) is known at T0+120; running rose at T0+330
    assert (result.details["cpuCrossedTargetAtS"], result.details["runningRoseAtS"]) == (120, 330)
    assert result.details["timeToScaleOutS"] == 210
    assert result.details["taskCpuUnits"] == 512


@pytest.mark.parametrize(
    ("counts", "cpu", "events", "reason"),
    [
        ([(2, 2, 0)] * 14, CPU_RISING, (), "the desired count never rose above 2"),
        ([(2, 2, 0)] * 9 + [(4, 2, 2)] * 5, CPU_RISING, (), "capacity never became ready: desired rose to 4"),
        ([(2, 2, 0)] * 9 + [(6, 2, 4)] * 3 + [(6, 6, 0)] * 2, CPU_RISING, (), "at max: the service reached maxTasks=6"),
        ([(2, 2, 0)] * 14, minutes(40, 45, 50), (), "load too light: CPU never crossed the 70% target (peak 50%)"),
        ([(2, 2, 0)] * 14, {}, (), "metrics missing: CloudWatch had no AWS/ECS CPUUtilization data points"),
        (
            [(2, 2, 0)] * 9 + [(4, 2, 0)] * 5,
            CPU_RISING,
            ("(service users-api) was unable to place a task. Reason: Capacity is unavailable at this time.",),
            "unable to scale: ECS reported '(service users-api) was unable to place a task.",
        ),
        (  # SERVICE_TASK_START_IMPAIRED (AmazonECS developer guide, ecs_service_events): tasks start and stop
            [(2, 2, 0)] * 9 + [(4, 2, 2)] * 5,
            CPU_RISING,
            ("(service users-api) is unable to consistently start tasks successfully.",),
            "unable to scale: ECS reported '(service users-api) is unable to consistently start tasks",
        ),
    ],
)
def test_an_ecs_service_that_does_not_scale_says_why(
    counts: list[tuple[int, int, int]], cpu: dict[float, float], events: tuple[str, ...], reason: str
) -> None:
    result = ecs_judged(counts, cpu, events)

    assert result.status == FAILED
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_an_ecs_api_that_refuses_is_unobserved() -> None:
    with stubbed("ecs") as (ecs, tasks):
        tasks.add_client_error(
            "describe_services", "AccessDeniedException", "not authorized to perform: ecs:DescribeServices", 400
        )
        made = EcsWatcher(ECS, ecs, client("cloudwatch"), 240)
        made.sample(T0)
        result = made.evaluate(cold_starts=0)

    assert result.status == UNOBSERVED
    assert result.reasons == [
        "ecs:DescribeServices was refused (AccessDeniedException: not authorized to perform: ecs:DescribeServices):"
        " grant ecs:DescribeServices"
    ]


def test_an_ecs_event_from_before_the_run_does_not_count() -> None:
    old = service(4, 2, 0, events=("(service users-api) was unable to place a task.",))
    old["services"][0]["events"][0]["createdAt"] = _utc(T0 - 3600)
    with stubbed("ecs") as (ecs, tasks), stubbed("cloudwatch") as (cloudwatch, metrics):
        for counted in TASKS_IN_TIME:
            tasks.add_response("describe_services", old if counted == (2, 2, 0) else service(*counted))
        metrics.add_response("get_metric_data", metric_data({"cpu": CPU_RISING}))
        metrics.add_response("get_metric_data", metric_data({"cpu": CPU_RISING}))
        made = EcsWatcher(ECS, ecs, cloudwatch, 240, sleep=lambda _: None)
        made.started_epoch, made.stopped_epoch = T0, T0 + 6 * MINUTE + 30
        for index in range(len(TASKS_IN_TIME)):
            made.sample(T0 + 30 * index)
        result = made.evaluate(cold_starts=0)

    assert not any(reason.startswith("unable to scale") for reason in result.reasons), result.reasons


def test_a_last_minute_without_traffic_settles_once_two_reads_agree_after_the_grace() -> None:
    """CloudWatch writes no data point for a minute without invocations: waiting for it would never end."""
    from loadtests.cloudwatch import poll_until_settled

    stopped = T0 + 4 * MINUTE + 5  # 5 s into a fifth minute nobody called the function in
    elapsed = [0.0]

    def sleep(seconds: float) -> None:
        elapsed[0] += seconds

    def poll(now: float) -> Any:
        return poll_until_settled(
            lambda: healthy(), stopped, "concurrency", 90, 30, sleep, lambda: elapsed[0], lambda: now
        )

    early, late = poll(stopped + 30), poll(stopped + 200)

    assert early.settled is False, "within the grace, the missing minute may still come"
    assert late.settled is True


def test_an_ecs_services_cpu_per_request_is_its_utilisation_times_running_vcpus_over_the_rate() -> None:
    from loadtests.aws_scaling import EcsSample, ecs_cpu_seconds_per_request

    samples = [EcsSample(T0 + 10, 2, 2, 0), EcsSample(T0 + 40, 2, 2, 0), EcsSample(T0 + 70, 4, 4, 0)]
    cpu = minutes(50, 80)  # minute 0: 2 tasks at 50 % of 0.5 vCPU = 0.5; minute 1: 4 at 80 % = 1.6

    assert ecs_cpu_seconds_per_request(samples, cpu, 512, rate=10.0) == pytest.approx((0.5 + 1.6) / 2 / 10)
    assert ecs_cpu_seconds_per_request(samples, cpu, 512, rate=None) is None


def test_a_metric_cloudwatch_could_not_fully_return_is_said_in_the_verdict() -> None:
    """GetMetricData answers 200 with StatusCode InternalError for a result that lost data: not silence."""
    response = metric_data(healthy())
    broken = next(r for r in response["MetricDataResults"] if r["Id"] == "concurrency")
    broken["StatusCode"] = "InternalError"
    broken["Messages"] = [{"Code": "InternalError", "Value": "Some data points could not be retrieved"}]
    with stubbed("cloudwatch") as (cloudwatch, metrics), stubbed("lambda") as (functions, settings):
        settings.add_response("get_account_settings", ACCOUNT, {})
        metrics.add_response("get_metric_data", response)
        metrics.add_response("get_metric_data", response)
        result = watcher(cloudwatch, functions).evaluate(cold_starts=0)

    assert result.reasons[-1] == (
        "CloudWatch returned incomplete results (concurrency: InternalError (Some data points could not be"
        " retrieved)): figures may be low"
    )
