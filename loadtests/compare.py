"""``make compare`` / ``make compare-local``: one scenario, the same arrival rate, several targets, one report.

Each target runs the scenario's arrival-rate plan with its peak at ``RATE``
(an open model: a slower target gets the same offered load, never less); the
report puts latency percentiles (of successful requests, over the judged
stages), throughput, target and achieved rate, dropped arrivals, error rate,
cold starts and time to scale out side by side, overlays the targets' latency
and achieved-rate curves, and itemises the cost model's monthly figures at the
measured rate and at a rate you give, with the request rate at which Lambda
starts to cost more than the cluster.

Exit codes: 0 every run passed; 3 one failed its thresholds or scaling check;
1 a run broke (no verdict); 2 bad usage.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from devtools.make_args import MakeArgumentParser, number, one_of
from devtools.stack import stack_outputs as read_stack_outputs

from .cost import PRICES_FILE, load_prices
from .cost_inputs import comparison_costs
from .cost_report import break_even_text, cost_section
from .measure import Bucket, combined
from .report import STYLE, TEMPLATE, RunMeasurements, window_series
from .run import RESULTS, SCENARIOS, local_stack
from .run import parse_args as run_args
from .run import run as run_scenario
from .thresholds import EXIT_THRESHOLD_FAILED, bucket_stats

EXIT_RUN_BROKE = 1


@dataclass(frozen=True)
class Measured:
    target: str
    passed: bool
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    average_ms: float
    cold_starts: int
    time_to_scale_out_s: float | None
    results: str
    target_rate: float = 0.0
    achieved_rate: float = 0.0
    dropped: int = 0

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def measured(target: str, results: Path) -> Measured | None:
    """One run's figures over its judged stages; None when the run wrote no verdict (it broke)."""
    if not (results / "verdict.json").exists():
        return None
    verdict = json.loads((results / "verdict.json").read_text())
    run = RunMeasurements.read(results)
    judged = [stage for stage in run.plan if stage.judged]
    bucket = combined(run.recording.phases.get(stage.name, Bucket()) for stage in judged)
    _, total = bucket_stats(bucket, sum(stage.seconds for stage in judged))
    times = [ms * n for h in bucket.ok.values() for ms, n in h.counts.items()]
    successes = sum(h.total for h in bucket.ok.values())
    arrivals = (verdict.get("arrivals") or {}).get("judged") or {}
    return Measured(
        target=target,
        passed=bool(verdict["passed"]),
        requests=total.requests,
        failures=total.failures,
        rps=total.rps,
        p50_ms=total.percentiles_ms.get("p50"),
        p95_ms=total.percentiles_ms.get("p95"),
        p99_ms=total.percentiles_ms.get("p99"),
        average_ms=sum(times) / successes if successes else 0.0,
        cold_starts=int(verdict.get("coldStarts", 0)),
        time_to_scale_out_s=(verdict.get("scaling") or {}).get("details", {}).get("timeToScaleOutS"),
        results=str(results),
        target_rate=float(arrivals.get("targetRate", 0.0)),
        achieved_rate=float(arrivals.get("achievedRate", 0.0)),
        dropped=int(arrivals.get("dropped", 0)),
    )


def costs(rows: list[Measured], prices: dict[str, Any], at_rps: float, lambda_memory_mb: int) -> dict[str, Any]:
    """Monthly cost at the measured rate and at ``at_rps``, from inputs measured by the runs where they were."""
    return comparison_costs([(row.target, Path(row.results)) for row in rows], prices, at_rps, lambda_memory_mb)


def overlaid(rows: list[Measured]) -> str:
    """Each target's p95 per window and achieved arrival rate, on shared axes: the same plan, side by side."""
    figure, (latency, rates) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    for row in rows:
        run = RunMeasurements.read(Path(row.results))
        series = window_series(run)
        times = [point["t"] + run.window_s / 2 for point in series]
        latency.plot(times, [point["p95"] for point in series], marker=".", label=row.target)
        rates.plot(times, [point["started"] for point in series], marker=".", label=row.target)
    latency.set_ylabel("p95 ms (successful requests)")
    latency.legend(loc="upper left", fontsize=7)
    rates.set_ylabel("achieved arrivals/s")
    rates.set_xlabel("seconds since the start")
    rates.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def breakdown_rows(block: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(item, lambda, fargate, cluster) for every item any cost breakdown has, as it has it (``total`` last)."""
    lam, fargate, cluster = block["lambda"], block.get("fargate", {}), block["cluster"]
    items = [key for key in dict.fromkeys([*lam, *fargate, *cluster]) if key != "total"] + ["total"]
    return [
        (item.replace("_", " "), _money(lam.get(item)), _money(fargate.get(item)), _money(cluster.get(item)))
        for item in items
    ]


def _money(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return f"${value:,.2f}"
    if isinstance(value, dict):  # an enriched item: its amount, then what else it says
        amount = value.get("monthly", value.get("total", value.get("amount")))
        rest = ", ".join(f"{k}: {v}" for k, v in value.items() if k not in ("monthly", "total", "amount"))
        return (_money(amount) + (f" ({rest})" if rest else "")).strip()
    return str(value)


def page(scenario: str, rate: float, rows: list[Measured], money: dict[str, Any]) -> str:
    return TEMPLATE.get_template("compare.html.j2").render(
        scenario=scenario,
        rate=rate,
        rows=rows,
        money=money,
        measured_costs=breakdown_rows(money["measured"]),
        given_costs=breakdown_rows(money["given"]),
        curves=overlaid(rows) if rows else None,
        style=STYLE,
        break_even=break_even_text(money["break_even_rps"]),
        cost_html=cost_section(money),
    )


def stack_outputs(stack: str) -> dict[str, Any]:
    if shutil.which("pulumi") is None:
        raise SystemExit("make compare: needs the Pulumi CLI to read each stack's url (or use make compare-local)")
    outputs = read_stack_outputs("make compare", show_secrets=True, stack=stack)  # devtools/stack.py: the one reader
    if not outputs.get("url"):
        raise SystemExit(f"make compare: stack {stack!r} has no url output yet: run pulumi up there first")
    return outputs


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    parser = MakeArgumentParser(
        "compare-local" if "--local" in arguments else "compare", description=(__doc__ or "").splitlines()[0]
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stacks", nargs="+", help="Pulumi stacks to compare (Make: STACKS)")
    where.add_argument("--local", action="store_true", help="the local container path against the local Lambda path")
    parser.add_variable("SCENARIO", "--scenario", one_of(SCENARIOS), default="steady", help="the load shape")
    parser.add_variable(
        "RATE", "--rate", number(0, inclusive=False), default=5.0, help="the plan's peak arrival rate, user actions/s"
    )
    parser.add_variable(
        "TIME_SCALE", "--time-scale", number(0, inclusive=False), default=1.0, help="stretch or shrink the shape"
    )
    parser.add_variable(
        "COST_RPS", "--cost-rps", number(0, inclusive=True), default=50.0, help="a request rate to price"
    )
    parser.add_argument("--lambda-memory-mb", type=int, default=512, help="the function's memory, for the price")
    parser.add_argument("--prices", type=Path, default=PRICES_FILE, help="a price table like loadtests/prices.yaml")
    args = parser.parse_args(arguments)
    if not args.prices.is_file():
        parser.error(f"--prices {args.prices} does not exist")
    prices = load_prices(args.prices)
    folder = RESULTS / f"compare-{args.scenario}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    common = ["--scenario", args.scenario, "--time-scale", str(args.time_scale), "--target-rps", str(args.rate)]
    rows: list[Measured] = []
    codes: list[int] = []
    broken: list[str] = []
    targets: list[tuple[str, Path]] = []
    if args.local:
        for label, server in (("container (gunicorn)", "gunicorn"), ("lambda (local front)", "lambda")):
            results = folder / server
            with local_stack(server) as host:
                codes.append(run_scenario(run_args([*common, "--results", str(results)]), host, {}))
            targets.append((label, results))
    else:
        for stack in args.stacks:
            outputs = stack_outputs(stack)
            results = folder / stack
            codes.append(
                run_scenario(run_args([*common, "--results", str(results)]), outputs["url"].rstrip("/"), outputs)
            )
            targets.append((f"{stack} ({outputs.get('backend', '?')})", results))
    for label, results in targets:
        row = measured(label, results)
        if row is None:
            broken.append(label)
        else:
            rows.append(row)
    money = costs(rows, prices, args.cost_rps, args.lambda_memory_mb)
    (folder / "compare.json").write_text(
        json.dumps(
            {"scenario": args.scenario, "rate": args.rate, "targets": [asdict(row) for row in rows], "cost": money},
            indent=2,
        )
        + "\n"
    )
    (folder / "compare.html").write_text(page(args.scenario, args.rate, rows, money))
    code = comparison_code(codes, rows, broken)
    verdicts = ", ".join(f"{row.target} {'PASSED' if row.passed else 'FAILED'}" for row in rows)
    print(f"compare: {verdicts}{'; no verdict from ' + ', '.join(broken) if broken else ''} (exit {code})")
    print(f"compare: {folder / 'compare.html'}")
    return code


def comparison_code(codes: list[int], rows: list[Measured], broken: list[str]) -> int:
    """1 when a run broke, else 3 when one failed, else 0: a comparison passes only if every run did."""
    if broken or any(code not in (0, EXIT_THRESHOLD_FAILED) for code in codes):
        return EXIT_RUN_BROKE
    return 0 if all(row.passed for row in rows) and not any(codes) else EXIT_THRESHOLD_FAILED


if __name__ == "__main__":
    sys.exit(main())
