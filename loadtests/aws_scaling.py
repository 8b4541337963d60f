"""AWS scaling: Lambda behind an HTTP API, and ECS services, judged from CloudWatch and the services' own APIs.

Metrics used, from AWS's documentation:

- ``AWS/Lambda`` (dimension ``FunctionName``): ``ConcurrentExecutions`` (Maximum),
  ``Invocations``, ``Throttles``, ``Errors`` (Sum; throttled requests are not
  counted in ``Invocations``), ``Duration`` (Average).
- ``AWS/ApiGateway`` for an HTTP API (dimensions ``ApiId`` and ``Stage``; the
  ``$default`` stage is named ``$default``): ``Count``, ``4xx``, ``5xx`` (Sum),
  ``Latency`` and ``IntegrationLatency`` (Average). A request the stage's
  throttle refuses gets a 429 from API Gateway and never reaches the function:
  it is in ``Count`` and ``4xx`` but in neither ``Invocations`` nor
  ``Throttles``.
- ``AWS/Logs`` ``IncomingBytes`` (dimension ``LogGroupName``, Sum): what the run's
  log lines cost to ingest, for the function's log group and for the stage's
  access-log group (one JSON line per request, billed at the same ingestion
  price; the stack's ``accessLogGroup`` output).
- The function's ``REPORT`` lines (text log format, tab-separated): ``Duration``,
  ``Billed Duration``, ``Memory Size``, ``Init Duration`` (cold starts only; since
  INIT is billed, a cold start's ``Billed Duration`` holds it, e.g. ``Duration:
  395.99 ms  Billed Duration: 662 ms ... Init Duration: 265.72 ms``, as quoted in
  open-telemetry/opentelemetry-lambda#2011).
- ``lambda:GetAccountSettings``: ``AccountLimit.ConcurrentExecutions`` and
  ``UnreservedConcurrentExecutions``, the account's real limits (1,000 is only
  the default).
- ``AWS/ECS`` ``CPUUtilization`` (dimensions ``ClusterName``, ``ServiceName``,
  Average): the metric ECS target tracking (``ECSServiceAverageCPUUtilization``)
  scales on, through CloudWatch alarms Application Auto Scaling creates and manages; with insufficient data it
  does not scale at all (AmazonECS developer guide, service-autoscaling-targettracking).
  ``ecs:DescribeServices``: ``desiredCount``, ``runningCount``, ``pendingCount``
  and the service's events ("unable to place a task").

A watcher that cannot read one of these (no credentials, AccessDenied) writes
that into the verdict as ``unobserved`` with the permission to grant: never a
traceback, never a pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cloudwatch import (
    PERIOD_S,
    MetricQuery,
    Polled,
    Series,
    aws_error,
    epoch_of,
    peak,
    poll_until_settled,
    read_series,
    total,
    weighted_mean,
)
from .kubernetes_scaling import mean_request_rate
from .watching import FAILED, PASSED, UNOBSERVED, ScalingResult, Watcher, run_origin, seconds

DEFAULT_ACCOUNT_CONCURRENCY = 1000


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def lambda_queries(
    function_name: str, api_id: str | None, log_group: str | None, access_log_group: str | None = None
) -> list[MetricQuery]:
    function = {"FunctionName": function_name}
    queries = [
        MetricQuery("concurrency", "AWS/Lambda", "ConcurrentExecutions", function, "Maximum"),
        MetricQuery("invocations", "AWS/Lambda", "Invocations", function, "Sum"),
        MetricQuery("throttles", "AWS/Lambda", "Throttles", function, "Sum"),
        MetricQuery("errors", "AWS/Lambda", "Errors", function, "Sum"),
        MetricQuery("duration_ms", "AWS/Lambda", "Duration", function, "Average"),
    ]
    if api_id:
        stage = {"ApiId": api_id, "Stage": "$default"}
        queries += [
            MetricQuery("api_count", "AWS/ApiGateway", "Count", stage, "Sum"),
            MetricQuery("api_4xx", "AWS/ApiGateway", "4xx", stage, "Sum"),
            MetricQuery("api_5xx", "AWS/ApiGateway", "5xx", stage, "Sum"),
            MetricQuery("api_latency_ms", "AWS/ApiGateway", "Latency", stage, "Average"),
            MetricQuery("api_integration_latency_ms", "AWS/ApiGateway", "IntegrationLatency", stage, "Average"),
        ]
    if log_group:
        queries.append(MetricQuery("log_bytes", "AWS/Logs", "IncomingBytes", {"LogGroupName": log_group}, "Sum"))
    if access_log_group:
        dimensions = {"LogGroupName": access_log_group}
        queries.append(MetricQuery("access_log_bytes", "AWS/Logs", "IncomingBytes", dimensions, "Sum"))
    return queries


@dataclass(frozen=True)
class ConcurrencyLimit:
    limit: int
    source: str  # "reserved concurrency", "the account's unreserved concurrency", "assumed: ..."


def concurrency_limit(scaling: Mapping[str, Any], account: Mapping[str, Any] | None) -> ConcurrencyLimit:
    reserved = scaling.get("reservedConcurrency")
    if reserved is not None and int(reserved) >= 0:
        return ConcurrencyLimit(int(reserved), "the function's reserved concurrency")
    if account is not None:
        limits = account.get("AccountLimit", {})
        unreserved = limits.get("UnreservedConcurrentExecutions", limits.get("ConcurrentExecutions"))
        if unreserved is not None:
            return ConcurrencyLimit(int(unreserved), "the account's unreserved concurrency (GetAccountSettings)")
    return ConcurrencyLimit(DEFAULT_ACCOUNT_CONCURRENCY, "assumed: Lambda's default account concurrency")


REPORT_FIELDS = {
    "duration_ms": re.compile(r"\tDuration: ([0-9.]+) ms"),
    "billed_ms": re.compile(r"Billed Duration: ([0-9.]+) ms"),
    "memory_mb": re.compile(r"Memory Size: ([0-9]+) MB"),
    "max_memory_mb": re.compile(r"Max Memory Used: ([0-9]+) MB"),
    "init_ms": re.compile(r"Init Duration: ([0-9.]+) ms"),
}


def report_line(message: str) -> dict[str, float]:
    """The figures of one text-format ``REPORT RequestId: ...`` line (tab-separated ``Name: value unit``)."""
    return {key: float(match.group(1)) for key, pattern in REPORT_FIELDS.items() if (match := pattern.search(message))}


@dataclass(frozen=True)
class ReportLines:
    invocations: int
    mean_billed_ms: float | None
    mean_duration_ms: float | None
    memory_mb: float | None
    init_ms: list[float]
    truncated: bool

    def details(self) -> dict[str, Any]:
        return {
            "reportLines": self.invocations,
            "meanBilledDurationMs": self.mean_billed_ms,
            "meanDurationMs": self.mean_duration_ms,
            "memorySizeMb": self.memory_mb,
            "initCount": len(self.init_ms),
            "meanInitDurationMs": sum(self.init_ms) / len(self.init_ms) if self.init_ms else None,
            "maxInitDurationMs": max(self.init_ms, default=None),
            "reportLinesTruncated": self.truncated,
        }


def summarise_reports(messages: Iterable[str], truncated: bool = False) -> ReportLines:
    lines = [report_line(message) for message in messages if message.startswith("REPORT ")]
    billed = [line["billed_ms"] for line in lines if "billed_ms" in line]
    duration = [line["duration_ms"] for line in lines if "duration_ms" in line]
    memory = [line["memory_mb"] for line in lines if "memory_mb" in line]
    return ReportLines(
        invocations=len(lines),
        mean_billed_ms=sum(billed) / len(billed) if billed else None,
        mean_duration_ms=sum(duration) / len(duration) if duration else None,
        memory_mb=memory[-1] if memory else None,
        init_ms=[line["init_ms"] for line in lines if "init_ms" in line],
        truncated=truncated,
    )


def read_report_lines(logs: Any, log_group: str, started: float, stopped: float, max_pages: int = 50) -> ReportLines:
    """The function's REPORT lines for the run (FilterLogEvents, at most ``max_pages`` pages)."""
    arguments: dict[str, Any] = {
        "logGroupName": log_group,
        "startTime": int(started * 1000),
        "endTime": int(stopped * 1000) + 60_000,  # the last invocations' REPORT lines come after the response
        "filterPattern": '"REPORT RequestId"',
    }
    messages: list[str] = []
    for _ in range(max_pages):
        response = logs.filter_log_events(**arguments)
        messages += [event.get("message", "") for event in response.get("events", [])]
        token = response.get("nextToken")
        if not token:
            return summarise_reports(messages)
        arguments["nextToken"] = token
    return summarise_reports(messages, truncated=True)


def evaluate_lambda(
    polled: Polled,
    scaling: Mapping[str, Any],
    limit: ConcurrencyLimit,
    cold_starts: int,
    allow_throttles: bool,
    reports: ReportLines | None = None,
    where: str | None = None,
) -> ScalingResult:
    """No throttles (Lambda's or the stage's), no function errors, concurrency below its real limit."""
    series = polled.series
    details: dict[str, Any] = {"coldStarts": cold_starts, "concurrencyLimit": limit.limit, "limitSource": limit.source}
    if reports is not None:
        details.update(reports.details())
    if not series.get("concurrency"):  # the function is there to be watched: not seeing it is never "not applicable"
        return ScalingResult(
            UNOBSERVED,
            [f"CloudWatch had no ConcurrentExecutions data points for {where or 'the function'} during the run after"
             f" {polled.waited_s:.0f} s: nothing to judge (did the load reach this function? is it the stack's"
             " region?)"],
            details,
        )  # fmt: skip
    invocations, throttles, errors = (total(series.get(key, {})) for key in ("invocations", "throttles", "errors"))
    top = peak(series["concurrency"]) or 0.0
    details.update(
        {
            "peakConcurrency": top,
            "invocations": invocations,
            "throttles": throttles,
            "errors": errors,
            "meanDurationMs": weighted_mean(series.get("duration_ms", {}), series.get("invocations", {})),
            "settled": polled.settled,
            "cloudwatchWaitS": round(polled.waited_s),
        }
    )
    reasons = []
    if throttles and not allow_throttles:
        reasons.append(f"Lambda throttled {throttles:g} invocations (429): concurrency was at its limit")
    if top >= limit.limit and not allow_throttles:
        reasons.append(f"at limit: concurrency reached {top:g}, its limit ({limit.source}: {limit.limit})")
    if errors:
        reasons.append(f"the function failed {errors:g} invocations (Errors: unhandled exceptions or timeouts)")
    if "api_count" in series:
        count, client_errors, server_errors = (total(series.get(k, {})) for k in ("api_count", "api_4xx", "api_5xx"))
        refused = max(0.0, count - invocations - throttles)
        counts = series.get("api_count", {})
        latency = weighted_mean(series.get("api_latency_ms", {}), counts)
        integration = weighted_mean(series.get("api_integration_latency_ms", {}), counts)
        details.update(
            {
                "apiRequests": count,
                "api4xx": client_errors,
                "api5xx": server_errors,
                "apiAnsweredWithoutFunction": refused,
                "apiLatencyMs": latency,
                "apiIntegrationLatencyMs": integration,
                "apiOverheadMs": None if latency is None or integration is None else latency - integration,
            }
        )
        if refused and not allow_throttles:
            reasons.append(
                f"API Gateway answered {refused:g} requests without invoking the function (of its {client_errors:g}"
                f" 4xx): the stage's throttle ({scaling.get('throttleRateLimit')} req/s, burst"
                f" {scaling.get('throttleBurstLimit')}) answers 429 before Lambda (requests API Gateway refuses"
                " itself, such as bodies over its 10 MB limit, count here too)"
            )
        if server_errors:
            reasons.append(f"API Gateway answered {server_errors:g} requests with a 5xx")
    if "log_bytes" in series and invocations:
        details["functionLogBytesPerRequest"] = total(series["log_bytes"]) / invocations
        details["logBytesPerRequest"] = details["functionLogBytesPerRequest"]
        requests = total(series.get("api_count", {}))
        if "access_log_bytes" in series and requests:  # the stage's access log: one line per API request
            details["accessLogBytesPerRequest"] = total(series["access_log_bytes"]) / requests
            details["logBytesPerRequest"] += details["accessLogBytesPerRequest"] * requests / invocations
    status = FAILED if reasons else PASSED
    if not polled.settled:  # a note, not a failure: CloudWatch being late says nothing of the deployment
        reasons.append(
            f"CloudWatch's figures were still arriving after {polled.waited_s:.0f} s: the run's last minutes may be"
            " missing (judged on what had arrived)"
        )
    return ScalingResult(status, reasons, details)


def incomplete(problems: Sequence[str]) -> str:
    return f"CloudWatch returned incomplete results ({', '.join(problems)}): figures may be low"


class LambdaWatcher(Watcher):
    """CloudWatch's Lambda and API Gateway metrics, the REPORT lines and the account's limits, read after the run."""

    kind = "lambda"

    def __init__(
        self,
        scaling: Mapping[str, Any],
        function_name: str,
        cloudwatch: Any,
        allow_throttles: bool = False,
        wait_for_data_s: float = 300.0,
        *,
        lambda_client: Any = None,
        logs: Any = None,
        api_id: str | None = None,
        log_group: str | None = None,
        access_log_group: str | None = None,
        results: Path | None = None,
        poll_every_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(interval_s=3600, results=results)
        self.scaling, self.function_name, self.allow_throttles = scaling, function_name, allow_throttles
        self._cloudwatch, self._lambda, self._logs = cloudwatch, lambda_client, logs
        self.api_id, self.log_group, self.access_log_group = api_id, log_group, access_log_group
        self.wait_for_data_s, self.poll_every_s, self._sleep = wait_for_data_s, poll_every_s, sleep

    def evaluate(self, cold_starts: int) -> ScalingResult:
        errors = _aws_errors()
        stopped = self.stopped_epoch or time.time()
        account = None
        notes: list[str] = []
        if self._lambda is not None:
            try:
                account = self._lambda.get_account_settings()
            except errors as exc:
                notes.append(aws_error(exc, "lambda:GetAccountSettings") + "; the default limit of 1,000 is assumed")
        queries = lambda_queries(self.function_name, self.api_id, self.log_group, self.access_log_group)
        problems: list[str] = []
        try:
            polled = poll_until_settled(
                lambda: read_series(self._cloudwatch, queries, self.started_epoch, stopped, problems),
                stopped,
                "concurrency",
                self.wait_for_data_s,
                self.poll_every_s,
                self._sleep,
            )
        except errors as exc:
            return ScalingResult(
                UNOBSERVED, [aws_error(exc, "cloudwatch:GetMetricData"), *notes], {"coldStarts": cold_starts}
            )
        reports = None
        if self._logs is not None and self.log_group:
            try:
                reports = read_report_lines(self._logs, self.log_group, self.started_epoch, stopped)
            except errors as exc:
                notes.append(aws_error(exc, "logs:FilterLogEvents") + "; init and billed durations were not read")
        if problems:
            notes.append(incomplete(problems))
        self._record(polled.series)
        region = getattr(getattr(self._cloudwatch, "meta", None), "region_name", None)
        result = evaluate_lambda(
            polled,
            self.scaling,
            concurrency_limit(self.scaling, account),
            cold_starts,
            self.allow_throttles,
            reports,
            where=f"function {self.function_name!r}" + (f" in {region}" if region else ""),
        )
        details = {
            **result.details,
            "memoryMb": self.scaling.get("memoryMb"),
            "architecture": self.scaling.get("architecture"),
        }
        return ScalingResult(result.status, [*result.reasons, *notes], details)

    def _record(self, series: Series) -> None:
        """The series on the timeline, one row per minute: ``at_epoch`` is the end of the period it sums up."""
        rows: dict[float, dict[str, Any]] = {}
        for key, points in series.items():
            for stamp, value in points.items():
                rows.setdefault(stamp, {"at_epoch": stamp + PERIOD_S})[key] = value
        self.timeline += [rows[stamp] for stamp in sorted(rows)]


# --- ECS services --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EcsSample:
    at_epoch: float
    desired: int
    running: int
    pending: int


def ecs_sample(
    response: Mapping[str, Any], at_epoch: float, since_epoch: float | None = None
) -> tuple[EcsSample, list[str]]:
    """One sample, and the service's event messages since ``since_epoch``, from a DescribeServices response.

    A service keeps its last events, older runs' included: only the ones made during this run count.
    """
    failures = response.get("failures") or []
    services = response.get("services") or []
    if not services:
        reason = failures[0].get("reason", "unknown") if failures else "not returned"
        raise ValueError(f"ECS did not describe the service ({reason})")
    service = services[0]
    sample = EcsSample(
        at_epoch, int(service["desiredCount"]), int(service["runningCount"]), int(service["pendingCount"])
    )
    events = [
        str(event.get("message", ""))
        for event in service.get("events") or []
        if since_epoch is None or "createdAt" not in event or epoch_of(event["createdAt"]) >= since_epoch
    ]
    return sample, events


# What ECS's service events say when it cannot start the tasks it wants: "was unable to place a task" (placement,
# capacity), "failed to launch a task", and SERVICE_TASK_START_IMPAIRED's "is unable to consistently start tasks
# successfully" (AmazonECS developer guide: service-event-messages, ecs_service_events).
UNPLACEABLE = re.compile(r"unable to place a task|failed to launch a task|unable to|insufficient", re.IGNORECASE)


def evaluate_ecs(
    samples: Sequence[EcsSample],
    cpu: Mapping[float, float],
    scaling: Mapping[str, Any],
    scale_out_within_s: float,
    events: Sequence[str] = (),
    origin: float | None = None,
) -> ScalingResult:
    """Running tasks rose above the minimum within the allowed time after CPU crossed the target; each failure named."""
    if not samples:
        return ScalingResult(FAILED, ["no ECS sample was recorded: is the watcher pointed at the right service?"])
    minimum, maximum = int(scaling["minTasks"]), int(scaling["maxTasks"])
    target = float(scaling["cpuTargetPercent"])
    zero = samples[0].at_epoch if origin is None else origin
    details: dict[str, Any] = {
        "minTasks": minimum,
        "maxTasks": maximum,
        "cpuTargetPercent": target,
        "peakDesiredTasks": max(s.desired for s in samples),
        "peakRunningTasks": max(s.running for s in samples),
        "peakPendingTasks": max(s.pending for s in samples),
        "peakCpuPercent": peak(cpu),
    }
    reasons: list[str] = []
    unplaced = [message for message in events if UNPLACEABLE.search(message)]
    if unplaced:
        reasons.append(f"unable to scale: ECS reported {unplaced[0]!r}")
    if not cpu:
        reasons.append(
            "metrics missing: CloudWatch had no AWS/ECS CPUUtilization data points for the service during the run"
        )
        return ScalingResult(FAILED, reasons, details)
    # A one-minute period is known once it has ended: the crossing is dated at the end of its minute.
    crossed = next((stamp + PERIOD_S for stamp, value in sorted(cpu.items()) if value > target), None)
    if crossed is None:
        reasons.append(
            f"load too light: CPU never crossed the {target:g}% target (peak {peak(cpu) or 0:g}%), so scaling was not"
            " tested"
        )
        return ScalingResult(FAILED, reasons, details)
    at_crossing = [s for s in samples if s.at_epoch <= crossed]
    baseline = max(minimum, at_crossing[-1].running if at_crossing else samples[0].running)
    after = [s for s in samples if s.at_epoch >= crossed]
    decided = next((s for s in after if s.desired > baseline), None)
    running = next((s for s in after if s.running > baseline), None)
    details.update(
        {
            "cpuCrossedTargetAtS": seconds(crossed, zero),
            "desiredRoseAtS": seconds(decided.at_epoch if decided else None, zero),
            "runningRoseAtS": seconds(running.at_epoch if running else None, zero),
        }
    )
    if running is not None:
        details["timeToScaleOutS"] = round(running.at_epoch - crossed, 1)
    if any(s.desired >= maximum for s in after) and any(value > target for value in cpu.values()):
        reasons.append(
            f"at max: the service reached maxTasks={maximum} with CPU above the {target:g}% target: the load is"
            " beyond the scaling policy"
        )
    if decided is None:
        reasons.append(
            f"the desired count never rose above {baseline} although CPU crossed the {target:g}% target at"
            f" {seconds(crossed, zero):g} s (target tracking acts on its own alarms over several one-minute points)"
        )
    elif running is None:
        reasons.append(
            f"capacity never became ready: desired rose to {details['peakDesiredTasks']} but running stayed at"
            f" {baseline} ({details['peakPendingTasks']} pending at the worst)"
        )
    elif running.at_epoch - crossed > scale_out_within_s:
        reasons.append(
            f"running tasks rose above {baseline} only {running.at_epoch - crossed:.0f} s after CPU crossed the"
            f" target (allowed {scale_out_within_s:g} s)"
        )
    return ScalingResult(FAILED if reasons else PASSED, reasons, details)


def ecs_cpu_seconds_per_request(
    samples: Sequence[EcsSample], cpu: Mapping[float, float], task_cpu_units: Any, rate: float | None
) -> float | None:
    """CPU seconds per request: each minute's mean CPU (% of the tasks' reserved vCPU) x running tasks x vCPU, over
    the run's mean request rate. ``AWS/ECS`` ``CPUUtilization`` for a service is the average over its tasks."""
    if not cpu or not samples or not task_cpu_units or not rate:
        return None
    vcpus = int(task_cpu_units) / 1024
    used = []
    for stamp, percent in cpu.items():
        within = [s.running for s in samples if stamp <= s.at_epoch < stamp + PERIOD_S]
        if within:
            used.append(percent / 100 * (sum(within) / len(within)) * vcpus)
    return (sum(used) / len(used)) / rate if used else None


class EcsWatcher(Watcher):
    """The ECS service's desired, running and pending tasks every ``interval_s``; its CPU from CloudWatch after."""

    kind = "ecs"

    def __init__(
        self,
        scaling: Mapping[str, Any],
        ecs: Any,
        cloudwatch: Any,
        scale_out_within_s: float,
        interval_s: float = 10.0,
        *,
        results: Path | None = None,
        wait_for_data_s: float = 300.0,
        poll_every_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(interval_s, results)
        self.scaling, self.scale_out_within_s = scaling, scale_out_within_s
        self._ecs, self._cloudwatch = ecs, cloudwatch
        self.samples: list[EcsSample] = []
        self.settled = False
        self.events: list[str] = []
        self.unreadable: str | None = None
        self.wait_for_data_s, self.poll_every_s, self._sleep = wait_for_data_s, poll_every_s, sleep

    def sample(self, at_epoch: float) -> None:
        if self.unreadable:
            return
        try:
            response = self._ecs.describe_services(
                cluster=self.scaling["clusterName"], services=[self.scaling["serviceName"]]
            )
        except _aws_errors() as exc:
            self.unreadable = aws_error(exc, "ecs:DescribeServices")
            return
        sample, events = ecs_sample(response, at_epoch, self.started_epoch)
        self.samples.append(sample)
        self.events = events
        self.timeline.append(
            {"at_epoch": round(at_epoch, 1), "desired_tasks": sample.desired, "running_tasks": sample.running,
             "pending_tasks": sample.pending}
        )  # fmt: skip

    def evaluate(self, cold_starts: int) -> ScalingResult:
        if self.unreadable:
            return ScalingResult(UNOBSERVED, [self.unreadable])
        stopped = self.stopped_epoch or time.time()
        dimensions = {"ClusterName": self.scaling["clusterName"], "ServiceName": self.scaling["serviceName"]}
        queries = [MetricQuery("cpu", "AWS/ECS", "CPUUtilization", dimensions, "Average")]
        problems: list[str] = []
        try:
            polled = poll_until_settled(
                lambda: read_series(self._cloudwatch, queries, self.started_epoch, stopped, problems),
                stopped,
                "cpu",
                self.wait_for_data_s,
                self.poll_every_s,
                self._sleep,
            )
        except _aws_errors() as exc:
            return ScalingResult(UNOBSERVED, [aws_error(exc, "cloudwatch:GetMetricData")])
        cpu = polled.series.get("cpu", {})
        self.settled = polled.settled
        self.timeline += [{"at_epoch": stamp + PERIOD_S, "cpu_percent": value} for stamp, value in sorted(cpu.items())]
        origin = run_origin(self.results, self.samples[0].at_epoch if self.samples else self.started_epoch)
        result = evaluate_ecs(self.samples, cpu, self.scaling, self.scale_out_within_s, self.events, origin)
        details = {
            **result.details,
            "taskCpuUnits": self.scaling.get("taskCpuUnits"),
            "taskMemoryMiB": self.scaling.get("taskMemoryMiB"),
            "architecture": self.scaling.get("architecture"),
            "settled": polled.settled,
            "cpuSecondsPerRequest": ecs_cpu_seconds_per_request(
                self.samples, cpu, self.scaling.get("taskCpuUnits"), mean_request_rate(self.results)
            ),
        }
        notes = [incomplete(problems)] if problems else []
        return ScalingResult(result.status, [*result.reasons, *notes], details)
