"""The cost model's inputs for a comparison, each labelled measured or assumed, and the figures they give.

Where each input comes from, best first:

- **billed duration**: the Lambda function's REPORT lines (``Billed Duration``),
  else CloudWatch's ``Duration``, else (locally) the handler's own time from its
  ``Server-Timing`` header, else an assumed 50 ms. Never a client-side response
  time: that holds the network, the front and the emulator.
- **memory and architecture**: the Lambda stack's ``scaling`` output
  (``memoryMb``, ``architecture``), else ``--lambda-memory-mb`` and arm64, assumed.
- **INIT time**: the REPORT lines' ``Init Duration`` per request, else none, assumed.
- **log bytes per request**: CloudWatch Logs ``IncomingBytes`` over ``Invocations``,
  else the app's line plus Lambda's START, END and REPORT lines, assumed.
- **CPU per request**: the HPA's utilisation x ready pods x CPU request over
  the rate, else the handler's ``Server-Timing`` (an upper bound: it includes
  waiting on DynamoDB and S3), else an assumed 20 ms.
- **bytes through the ALB per request**: Locust's response sizes and the
  sign-ups' uploads (the run's requests, the default avatar mix's mean size).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import server_timing
from .avatar_mix import DEFAULT_MIX, parse_mix
from .cost import (
    FargateTasks,
    Workload,
    at_rest_per_hour,
    break_even_rps,
    break_even_sensitivity,
    cluster_monthly,
    eks_at_rest,
    fargate_monthly,
    lambda_monthly,
    nodes_needed,
)

MEASURED, ASSUMED = "measured", "assumed"
SIGN_UP = "POST /user"


@dataclass(frozen=True)
class Input:
    name: str
    value: float | str
    unit: str
    source: str  # MEASURED or ASSUMED
    how: str


@dataclass(frozen=True)
class TargetRun:
    """What one target's results folder says: its watcher's details, Locust's totals, the handler's timing."""

    label: str
    watcher: str
    details: Mapping[str, Any]
    requests: int
    rps: float
    response_bytes: float  # mean over all requests
    sign_ups: int
    app_ms: float | None

    @classmethod
    def read(cls, label: str, results: Path) -> TargetRun:
        verdict = json.loads((results / "verdict.json").read_text()) if (results / "verdict.json").exists() else {}
        scaling = verdict.get("scaling") or {}
        rows = _locust_rows(results)
        total = rows.get("Aggregated", {})
        return cls(
            label=label,
            watcher=str(scaling.get("watcher", "none")),
            details=scaling.get("details") or {},
            requests=int(float(total.get("Request Count") or 0)),
            rps=float(total.get("Requests/s") or 0),
            response_bytes=float(total.get("Average Content Size") or 0),
            sign_ups=int(float(rows.get(SIGN_UP, {}).get("Request Count") or 0)),
            app_ms=server_timing.read(results).get("meanAppMs"),
        )


def _locust_rows(results: Path) -> dict[str, dict[str, str]]:
    path = results / "locust_stats.csv"
    if not path.exists():
        return {}
    with path.open() as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def _first(runs: Sequence[TargetRun], watcher: str) -> TargetRun | None:
    return next((run for run in runs if run.watcher == watcher), None)


def lambda_duration(runs: Sequence[TargetRun]) -> Input:
    function = _first(runs, "lambda")
    if function is not None and function.details.get("meanBilledDurationMs") is not None:
        lines = function.details.get("reportLines")
        return Input(
            "Lambda billed duration",
            float(function.details["meanBilledDurationMs"]),
            "ms",
            MEASURED,
            f"{function.label}: mean Billed Duration of {lines} REPORT lines (cold starts' INIT included)",
        )
    if function is not None and function.details.get("meanDurationMs") is not None:
        return Input(
            "Lambda billed duration",
            float(function.details["meanDurationMs"]),
            "ms",
            MEASURED,
            f"{function.label}: CloudWatch Duration, weighted by invocations (billed rounds up to 1 ms)",
        )
    timed = sorted((run for run in runs if run.app_ms is not None), key=lambda run: "lambda" not in run.label)
    if timed:
        return Input(
            "Lambda billed duration",
            float(timed[0].app_ms or 0),
            "ms",
            MEASURED,
            f"{timed[0].label}: the handler's own time (Server-Timing), not the client's",
        )
    return Input("Lambda billed duration", 50.0, "ms", ASSUMED, "no run measured it")


def lambda_memory(runs: Sequence[TargetRun], default_mb: int) -> Input:
    function = _first(runs, "lambda")
    if function is not None and function.details.get("memoryMb") is not None:
        return Input(
            "Lambda memory",
            int(function.details["memoryMb"]),
            "MB",
            MEASURED,
            f"{function.label}: the stack's scaling output",
        )
    return Input("Lambda memory", default_mb, "MB", ASSUMED, "--lambda-memory-mb")


def lambda_architecture(runs: Sequence[TargetRun]) -> Input:
    function = _first(runs, "lambda")
    if function is not None and function.details.get("architecture") in {"arm64", "x86_64"}:
        return Input(
            "Lambda architecture",
            str(function.details["architecture"]),
            "",
            MEASURED,
            f"{function.label}: the stack's scaling output",
        )
    return Input("Lambda architecture", "arm64", "", ASSUMED, "the lambda backend's default")


def init_per_request(runs: Sequence[TargetRun]) -> Input:
    """INIT time to price on top of the billed duration: none when that came from REPORT lines.

    Since INIT is billed (2025-08), a cold start's ``Billed Duration`` already
    holds its ``Init Duration`` (e.g. ``Duration: 395.99 ms  Billed Duration:
    662 ms ... Init Duration: 265.72 ms``); CloudWatch's ``Duration`` does not.
    """
    function = _first(runs, "lambda")
    details = function.details if function is not None else {}
    if function is None or not details.get("reportLines") or details.get("meanInitDurationMs") is None:
        return Input("INIT time per request", 0.0, "ms", ASSUMED, "no REPORT lines read: cold starts not priced")
    per_request = details["meanInitDurationMs"] * details["initCount"] / details["reportLines"]
    seen = f"{function.label}: {details['initCount']} Init Durations over {details['reportLines']} REPORT lines"
    if details.get("meanBilledDurationMs") is not None:  # the billed duration is the REPORT lines' own
        return Input(
            "INIT time per request", 0.0, "ms", MEASURED, f"{seen} ({per_request:.3g} ms), already in Billed Duration"
        )
    return Input("INIT time per request", per_request, "ms", MEASURED, seen)


def log_bytes(runs: Sequence[TargetRun]) -> Input:
    function = _first(runs, "lambda")
    if function is not None and function.details.get("logBytesPerRequest") is not None:
        return Input(
            "log bytes per request",
            float(function.details["logBytesPerRequest"]),
            "bytes",
            MEASURED,
            f"{function.label}: CloudWatch Logs IncomingBytes / Invocations"
            + (
                " (the function's log group and the stage's access log)"
                if function.details.get("accessLogBytesPerRequest") is not None
                else " (the function's log group only: the stack exports no accessLogGroup)"
            ),
        )
    return Input(
        "log bytes per request",
        Workload(0).log_bytes_per_request,
        "bytes",
        ASSUMED,
        "the app's JSON line (~240 bytes, measured 2026-12-02) + Lambda's START, END and REPORT lines"
        " + 26 bytes per event (PutLogEvents' per-event overhead)",
    )


def cpu_per_request(runs: Sequence[TargetRun]) -> Input:
    cluster = _first(runs, "kubernetes")
    if cluster is not None and cluster.details.get("cpuSecondsPerRequest") is not None:
        return Input(
            "CPU per request",
            float(cluster.details["cpuSecondsPerRequest"]) * 1000,
            "ms",
            MEASURED,
            f"{cluster.label}: HPA utilisation x ready pods x CPU request / request rate",
        )
    service = _first(runs, "ecs")
    if service is not None and service.details.get("cpuSecondsPerRequest") is not None:
        return Input(
            "CPU per request",
            float(service.details["cpuSecondsPerRequest"]) * 1000,
            "ms",
            MEASURED,
            f"{service.label}: ECS CPUUtilization x running tasks x task vCPU / request rate",
        )
    timed = [run for run in runs if run.app_ms is not None and "lambda" not in run.label]
    if timed:
        return Input(
            "CPU per request",
            float(timed[0].app_ms or 0),
            "ms",
            MEASURED,
            f"{timed[0].label}: the handler's time (Server-Timing), an upper bound of its CPU",
        )
    return Input("CPU per request", Workload(0).cpu_seconds_per_request * 1000, "ms", ASSUMED, "no run measured it")


def mean_upload_bytes(mix: str = DEFAULT_MIX) -> float:
    sizes = [size for _, size in parse_mix(mix)]
    return sum(sizes) / len(sizes)


def processed_bytes(runs: Sequence[TargetRun]) -> Input:
    measured = [run for run in runs if run.requests]
    if not measured:
        return Input(
            "bytes through the ALB per request",
            Workload(0).processed_bytes_per_request,
            "bytes",
            ASSUMED,
            "no run measured it",
        )
    run = measured[0]
    upload = mean_upload_bytes()
    value = run.response_bytes + run.sign_ups * upload / run.requests
    return Input(
        "bytes through the ALB per request",
        round(value),
        "bytes",
        MEASURED,
        f"{run.label}: Locust's mean response size + {run.sign_ups} sign-ups of {run.requests} requests x the"
        f" default avatar mix's mean {upload:,.0f} bytes (request headers not counted)",
    )


def api_metered_requests(runs: Sequence[TargetRun], prices: Mapping[str, Any]) -> Input:
    """How many HTTP API requests one request is billed as: uploads count once per started 512 KB."""
    measured = [run for run in runs if run.requests]
    increment = int(prices["api_gateway_http"]["metered_increment_bytes"])
    if not measured:
        return Input("API Gateway requests billed per request", 1.0, "", ASSUMED, "no run measured the sign-ups")
    run = measured[0]
    sizes = [size for _, size in parse_mix(DEFAULT_MIX)]
    per_upload = sum(math.ceil(size / increment) for size in sizes) / len(sizes)
    value = 1 + run.sign_ups / run.requests * (per_upload - 1)
    return Input(
        "API Gateway requests billed per request",
        round(value, 4),
        "",
        MEASURED,
        f"{run.label}: {run.sign_ups} sign-ups of {run.requests} requests, each upload of the default avatar mix"
        f" counted {per_upload:.3g} times (512 KB increments)",
    )


def assumed(name: str, value: float | str, unit: str, how: str) -> Input:
    return Input(name, value, unit, ASSUMED, how)


def comparison_costs(
    targets: Sequence[tuple[str, Path]], prices: Mapping[str, Any], at_rps: float, lambda_memory_mb: int
) -> dict[str, Any]:
    """Monthly cost at the measured and the given rate, the break-even and its sensitivity, the inputs labelled."""
    runs = [TargetRun.read(label, results) for label, results in targets]
    duration, memory, architecture = (
        lambda_duration(runs),
        lambda_memory(runs, lambda_memory_mb),
        lambda_architecture(runs),
    )
    init, logs, cpu, through = init_per_request(runs), log_bytes(runs), cpu_per_request(runs), processed_bytes(runs)
    defaults = Workload(0)
    connections = assumed(
        "new connections per request",
        defaults.new_connections_per_request,
        "",
        "clients keep connections alive for about ten requests",
    )
    fargate_run = _first(runs, "ecs")
    tasks = FargateTasks.from_scaling(fargate_run.details if fargate_run else {})
    metered = api_metered_requests(runs, prices)
    inputs = [duration, memory, architecture, init, metered, logs, cpu, through, connections]
    inputs.append(
        Input(
            "Fargate task",
            f"{tasks.cpu_units} CPU units, {tasks.memory_mib} MiB, {tasks.architecture}",
            "",
            MEASURED if fargate_run else ASSUMED,
            f"{fargate_run.label}: the stack's scaling output" if fargate_run else "a 0.5 vCPU, 1 GiB x86 task",
        )
    )
    inputs.append(
        assumed(
            "Fargate network",
            "an ALB and one NAT gateway",
            "",
            "the scaling output does not say; an awsx VPC with private subnets and one NAT gateway",
        )
    )
    template = Workload(
        requests_per_second=0,
        average_duration_ms=float(duration.value),
        memory_mb=int(memory.value),
        architecture=str(architecture.value),
        init_ms_per_request=float(init.value),
        api_metered_requests_per_request=float(metered.value),
        log_bytes_per_request=float(logs.value),
        processed_bytes_per_request=float(through.value),
        new_connections_per_request=float(connections.value),
        cpu_seconds_per_request=float(cpu.value) / 1000,
    )
    measured_rps = max((run.rps for run in runs), default=0.0)

    def at(rps: float) -> dict[str, Any]:
        load = template.at(rps)
        return {
            "rps": rps,
            "lambda": lambda_monthly(load, prices),
            "cluster": cluster_monthly(load, prices),
            "cluster_nodes": nodes_needed(load, prices),
            "fargate": fargate_monthly(load, prices, tasks),
        }

    rest = eks_at_rest(prices)
    hourly = at_rest_per_hour(rest)
    return {
        "prices": {"region": prices["region"], "as_of": prices["as_of"], "fargate_as_of": prices["fargate"]["as_of"]},
        "inputs": [asdict(item) for item in inputs],
        "lambda_duration_ms": float(duration.value),
        "lambda_memory_mb": int(memory.value),
        "measured": at(measured_rps),
        "given": at(at_rps),
        "break_even_rps": break_even_rps(template, prices),
        "sensitivity": break_even_sensitivity(template, prices),
        "eks_at_rest": {
            "items": [asdict(item) for item in rest],
            "per_hour": hourly,
            "per_month": hourly * float(prices["hours_per_month"]),
        },
    }
