"""``make compare`` / ``make compare-local``: one scenario, the same arrival rate, several targets, one report.

Each target runs the scenario at a fixed arrival rate (a closed loop would
give the slower one less load); the report puts latency percentiles,
throughput, error rate, cold starts and time to scale out side by side, with
the cost model's monthly figures at the measured rate and at a rate you give,
and the request rate at which Lambda starts to cost more than the cluster.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.make_args import MakeArgumentParser, number, one_of
from devtools.stack import stack_outputs as read_stack_outputs

from .cost import PRICES_FILE, load_prices
from .cost_inputs import comparison_costs
from .cost_report import break_even_text, cost_section
from .report import STYLE
from .run import RESULTS, SCENARIOS, local_stack
from .run import parse_args as run_args
from .run import run as run_scenario


@dataclass(frozen=True)
class Measured:
    target: str
    passed: bool
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    average_ms: float
    cold_starts: int
    time_to_scale_out_s: float | None
    results: str

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def measured(target: str, results: Path) -> Measured:
    verdict = json.loads((results / "verdict.json").read_text())
    with (results / "locust_stats.csv").open() as handle:
        total = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    return Measured(
        target=target,
        passed=bool(verdict["passed"]),
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        rps=float(total["Requests/s"]),
        p50_ms=float(total["50%"]),
        p95_ms=float(total["95%"]),
        p99_ms=float(total["99%"]),
        average_ms=float(total["Average Response Time"]),
        cold_starts=int(verdict.get("coldStarts", 0)),
        time_to_scale_out_s=(verdict.get("scaling") or {}).get("details", {}).get("timeToScaleOutS"),
        results=str(results),
    )


def costs(rows: list[Measured], prices: dict[str, Any], at_rps: float, lambda_memory_mb: int) -> dict[str, Any]:
    """Monthly cost at the measured rate and at ``at_rps``, from inputs measured by the runs where they were."""
    return comparison_costs([(row.target, Path(row.results)) for row in rows], prices, at_rps, lambda_memory_mb)


def page(scenario: str, rate: float, rows: list[Measured], money: dict[str, Any]) -> str:
    head = (
        "target",
        "verdict",
        "requests",
        "req/s",
        "errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "cold starts",
        "scale-out s",
        "run",
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{cell}</td>"
            for cell in (
                html.escape(row.target),
                "PASSED" if row.passed else "FAILED",
                row.requests,
                f"{row.rps:.2f}",
                f"{row.error_rate:.2%}",
                f"{row.p50_ms:g}",
                f"{row.p95_ms:g}",
                f"{row.p99_ms:g}",
                row.cold_starts,
                "n/a" if row.time_to_scale_out_s is None else f"{row.time_to_scale_out_s:g}",
                f"<a href='{html.escape(Path(row.results).name)}/report.html'>report</a>",
            )
        )
        + "</tr>"
        for row in rows
    )

    def money_row(label: str, block: dict[str, Any]) -> str:
        return (
            f"<tr><td>{label}</td><td>{block['rps']:.2f}</td><td>${block['lambda']['total']:,.2f}</td>"
            f"<td>${block['cluster']['total']:,.2f}</td></tr>"
        )

    prices = money["prices"]
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>compare: {scenario}</title>{STYLE}</head><body>"
        f"<h1>{html.escape(scenario)} at {rate:g} user actions/s, side by side</h1>"
        "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + body + "</table>"
        f"<h2>Monthly cost ({html.escape(prices['region'])}, prices as of {html.escape(prices['as_of'])})</h2>"
        "<table><tr><th>load</th><th>req/s</th><th>lambda</th><th>EKS cluster</th></tr>"
        + money_row("as measured", money["measured"])
        + money_row("as given", money["given"])
        + "</table>"
        f"<p>Lambda costs more than the cluster above <b>{break_even_text(money['break_even_rps'])}</b> "
        f"(function at {money['lambda_memory_mb']} MB, {money['lambda_duration_ms']:.0f} ms billed a request; each "
        "input below says whether it was measured or assumed). No free tier, no data transfer; see "
        "loadtests/prices.yaml.</p>" + cost_section(money) + "</body></html>"
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
        "RATE", "--rate", number(0, inclusive=False), default=5.0, help="fixed arrival rate of user actions per second"
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
    if args.local:
        for label, backend in (("container (gunicorn)", "gunicorn"), ("lambda (local front)", "lambda")):
            results = folder / backend
            with local_stack(backend) as host:
                run_scenario(run_args([*common, "--results", str(results)]), host, {})
            rows.append(measured(label, results))
    else:
        for stack in args.stacks:
            outputs = stack_outputs(stack)
            results = folder / stack
            run_scenario(run_args([*common, "--results", str(results)]), outputs["url"].rstrip("/"), outputs)
            rows.append(measured(f"{stack} ({outputs.get('backend', '?')})", results))
    money = costs(rows, prices, args.cost_rps, args.lambda_memory_mb)
    (folder / "compare.json").write_text(
        json.dumps(
            {"scenario": args.scenario, "rate": args.rate, "targets": [asdict(row) for row in rows], "cost": money},
            indent=2,
        )
        + "\n"
    )
    (folder / "compare.html").write_text(page(args.scenario, args.rate, rows, money))
    print(f"compare: {folder / 'compare.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
