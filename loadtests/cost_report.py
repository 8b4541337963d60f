"""The cost model in words and tables: the comparison page's cost section and the README's cost cells.

One source for both: the README's figures are rendered here from ``cost.py``
and ``prices.yaml``, and a test holds the README to them
(``python -m loadtests.cost_report`` prints them after a price change).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from .cost import (
    BYTES_PER_GB,
    Workload,
    at_rest_per_hour,
    eks_at_rest,
    fargate_monthly,
    lambda_monthly,
    lcus,
    load_prices,
    seconds_per_month,
)


def money(value: float) -> str:
    return f"${value:,.2f}"


def break_even_text(value: float) -> str:
    return "no rate up to 10 million requests/s" if math.isinf(value) else f"{value:,.1f} requests/s"


def cost_section(result: Mapping[str, Any]) -> str:
    """The inputs (measured or assumed), Fargate beside the others, EKS at rest, and the break-even's sensitivity."""
    inputs = "".join(
        f"<tr class={'pass' if item['source'] == 'measured' else ''}><td>{html.escape(item['name'])}</td>"
        f"<td>{html.escape(_value(item['value']))} {html.escape(item['unit'])}</td><td><b>{item['source']}</b></td>"
        f"<td>{html.escape(item['how'])}</td></tr>"
        for item in result["inputs"]
    )
    loads = "".join(
        f"<tr><td>{label}</td><td>{block['rps']:.2f}</td><td>{money(block['lambda']['total'])}</td>"
        f"<td>{money(block['fargate']['total'])}</td><td>{money(block['cluster']['total'])}"
        f" ({block['cluster_nodes']} nodes)</td></tr>"
        for label, block in (("as measured", result["measured"]), ("as given", result["given"]))
    )
    rest = result["eks_at_rest"]
    rest_rows = "".join(
        f"<tr><td>{html.escape(item['label'])}</td><td>${item['per_hour']:.4f}</td></tr>" for item in rest["items"]
    )
    sensitivity = result["sensitivity"]
    head = "".join(f"<th>{duration:g} ms</th>" for duration in sensitivity["durations_ms"])
    grid = "".join(
        f"<tr><td>{row['memory_mb']} MB</td>"
        + "".join(f"<td>{break_even_text(v)}</td>" for v in row["break_even_rps"])
        + "</tr>"
        for row in sensitivity["rows"]
    )
    measured = sum(1 for item in result["inputs"] if item["source"] == "measured")
    return (
        f"<h2>The cost model's inputs ({measured} of {len(result['inputs'])} measured)</h2>"
        "<table><tr><th>input</th><th>value</th><th>source</th><th>how</th></tr>" + inputs + "</table>"
        "<h3>Monthly cost, three ways</h3>"
        "<table><tr><th>load</th><th>req/s</th><th>lambda</th><th>ECS Fargate</th><th>EKS</th></tr>"
        + loads
        + "</table>"
        f"<p>Fargate prices as of {html.escape(str(result['prices']['fargate_as_of']))}.</p>"
        f"<h3>EKS at rest: ${rest['per_hour']:.2f} an hour, {money(rest['per_month'])} a month</h3>"
        "<table><tr><th>part</th><th>per hour</th></tr>" + rest_rows + "</table>"
        "<h3>Break-even's sensitivity: memory size (rows) and billed duration (columns)</h3>"
        "<table><tr><th></th>" + head + "</tr>" + grid + "</table>"
    )


def _value(value: Any) -> str:
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


# --- the README's cells -----------------------------------------------------------------------------------------


def readme_cells(prices: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The cost cells of the README's backend table and eks.md's total, from the model."""
    table = prices or load_prices()
    per_million = 1e6 / seconds_per_month(table)  # the rate at which a month holds one million requests
    function = lambda_monthly(Workload(per_million), table)
    hourly = at_rest_per_hour(eks_at_rest(table))
    load = Workload(1.0)
    lcu_per_million = lcus(load, table) * table["alb"]["lcu_per_hour"] / 3600 * 1e6
    kb = load.processed_bytes_per_request / 1000
    fargate_hourly = fargate_monthly(Workload(0.0), table)["total"] / table["hours_per_month"]  # min tasks, idle
    return {
        "lambda per million": (
            f"about ${function['total']:.2f} ({load.memory_mb} MB, {load.architecture},"
            f" {load.average_duration_ms:g} ms each, log lines included)"
        ),
        "eks at rest": f"about ${hourly:.2f} an hour (${hourly * table['hours_per_month']:.0f} a month)",
        "eks per million": f"about ${lcu_per_million:.2f} (ALB capacity units at {kb:g} KB a request)",
        "eks total": f"**about ${hourly:.2f} (about ${hourly * table['hours_per_month']:.0f} a month)**",
        "fargate at rest": (
            f"about ${fargate_hourly:.2f} an hour (${fargate_hourly * table['hours_per_month']:.0f} a month)"
        ),
        "fargate per million": f"about ${lcu_per_million:.2f} (ALB capacity units at {kb:g} KB a request)",
        "log GB per million": f"{1e6 * load.log_bytes_per_request / BYTES_PER_GB:.2f}",
    }


if __name__ == "__main__":
    for name, cell in readme_cells().items():
        print(f"{name}: {cell}")
