"""``mpic plan STACK [--usage FILE.yaml] [--diff BASE_STACK] [--json]``: the real program under
Pulumi's mocks -> resources by region, policy pack verdict, every monthly cost line. No Pulumi
CLI, no cloud credentials.

Two verdicts, each with its JSON field: compliance (``compliant``, ``verdict``: the BR rules on the
stack's config) and readiness (``ready``, ``readiness``: a missing or stale build, which the program
refuses too). Exit 0: compliant, ready, no policy violation. Exit 1: not compliant with BR 3.2.2.9
(zero resources planned; the violations are printed, and in ``--json`` listed under
``violations``) or a policy violation. Exit 2: bad input (unknown stack, unreadable YAML, unknown
region, a bad usage file...). Exit 3: compliant but not ready (``readiness`` names the fix).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli import app
from cli.common import EXIT_NONCOMPLIANT, EXIT_NOT_READY, EXIT_OK, OPERATOR, reported
from cli.options import load_usage
from config.compliance import format_report, plural
from plan.prices import GLOBAL, PRICE_TABLE_DATE, CostEstimate, Usage, cost_diff

if TYPE_CHECKING:
    from preview.engine import PlanResult


def document(result: "PlanResult", base: "PlanResult | None" = None) -> dict:
    """The ``--json`` object: the plan, the BR 3.2.2.9 findings, and the cost difference to ``base``."""
    doc = result.to_json()
    doc["violations"] = [f.to_json() for f in result.report.violations]
    doc["warnings"] = [f.to_json() for f in result.report.warnings]
    if base is not None:
        doc["diff"] = {"base": base.stack, **cost_diff(base.cost, result.cost)}
    return doc


def number(value: float) -> str:
    """``1000000.0`` -> ``1,000,000``; ``0.3`` -> ``0.3``; ``2e-07`` -> ``0.0000002``."""
    if value == int(value) and abs(value) < 1e15:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.10f}".rstrip("0").rstrip(".") if abs(value) < 0.001 else f"{value:.6g}"


def render_costs(cost: CostEstimate, console: Console) -> None:
    """Every cost line (region, resource, what, quantity, unit, unit price, monthly) as aligned
    plain text (never wrapped, easy to grep), then the assumptions they were priced with."""
    rows = [("region", "resource", "what", "quantity", "unit", "unit USD", "USD/month")]
    for line in sorted(cost.lines, key=lambda x: (x.region == GLOBAL, x.region, -x.usd, x.name)):
        rows.append((line.region, line.name, line.note, number(line.quantity), line.unit, number(line.unit_usd),
                     f"{line.usd:,.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = (3, 5, 6)
    console.print(f"{len(cost.lines)} cost lines, by region then largest (prices of {PRICE_TABLE_DATE}; "
                  "monthly = quantity x unit USD):", highlight=False)
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        console.print(escape("  ".join(cells).rstrip()), highlight=False)
    console.print(f"assumptions: {', '.join(f'{k}={number(v)}' for k, v in cost.usage.items())} "
                  "(override with --usage FILE.yaml)", highlight=False)


def render(result: "PlanResult", console: Console) -> None:
    """Resources grouped by region with their monthly cost, every cost line, then violations and the total."""
    by_region: dict[str, list] = defaultdict(list)
    for item in result.items:
        by_region[item.region or GLOBAL].append(item)
    costs = result.cost.by_region
    table = Table(title=f"{result.stack}: planned resources by region (estimated USD/month, prices of "
                        f"{PRICE_TABLE_DATE})")
    table.add_column("region")
    table.add_column("resources", justify="right")
    table.add_column("resources by type")
    table.add_column("USD/month", justify="right")
    for region in sorted(by_region, key=lambda r: (r == GLOBAL, r)):
        items = by_region[region]
        kinds = Counter(i.type.split(":")[-1] for i in items if i.custom)
        main = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        table.add_row(region, str(len(items)), main, f"{costs.get(region, 0.0):,.2f}")
    console.print(table)
    render_costs(result.cost, console)
    for v in result.violations:
        level = "[yellow]advisory[/]" if v.advisory else "[red]POLICY[/]"
        console.print(f"{level} {v.policy}: {escape(v.message)}", highlight=False)
    console.print(escape(format_report(result.report, result.fleet)), highlight=False)
    verdict = ("ok" if result.ok else "NOT ok") + (" (LAB: non-compliant)" if result.lab else "")
    console.print(f"{result.stack}: {len(result.items)} resources in {len(result.regions)} regions, "
                  f"{plural(len(result.violations), 'policy violation')}, estimated total "
                  f"[bold]{result.cost.total:,.2f} USD/month[/] - {verdict}", highlight=False)


def render_diff(base: "PlanResult", result: "PlanResult", console: Console) -> None:
    diff = cost_diff(base.cost, result.cost)
    table = Table(title=f"monthly cost: {result.stack} - {base.stack} (USD/month)")
    for col in ("region", base.stack, result.stack, "difference"):
        table.add_column(col, justify="left" if col == "region" else "right")
    for region, row in diff["by_region"].items():
        table.add_row(region, f"{row['base']:,.2f}", f"{row['stack']:,.2f}", f"{row['delta']:+,.2f}")
    total = diff["total"]
    table.add_row("[bold]total[/]", f"{total['base']:,.2f}", f"{total['stack']:,.2f}", f"[bold]{total['delta']:+,.2f}[/]")
    console.print(table)


@app.command(rich_help_panel=OPERATOR)
def plan(
    stack: str = typer.Argument(..., help="Stack name in stacks/ (e.g. aws-hosts) or a stack YAML path."),
    usage: Optional[Path] = typer.Option(None, "--usage", help="YAML map overriding the cost assumptions "
                                         "(validations_per_month, perspective_egress_gb, hours_per_month, ...)."),
    diff: Optional[str] = typer.Option(None, "--diff", metavar="BASE_STACK",
                                       help="Also plan BASE_STACK and print the monthly difference by region."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Plan a stack under Pulumi's mocks: resources by region, policy pack, every monthly cost line. Exit 0 ok,
    1 non-compliant or policy violation, 2 bad input, 3 compliant but not ready (a missing or stale build)."""
    # the planner imports Pulumi and every provider SDK (seconds): only `mpic plan` pays for it
    from preview.engine import plan_stack

    with reported(as_json):
        overrides: Usage = load_usage(usage)
        result = plan_stack(stack, usage=overrides)
        base = plan_stack(diff, usage=overrides) if diff is not None else None
    if as_json:
        typer.echo(json.dumps(document(result, base), indent=2, sort_keys=False))
    else:
        console = Console(soft_wrap=True, emoji=False)
        if result.readiness:
            console.print(f"{result.stack}: {result.verdict} with BR 3.2.2.9, NOT ready to deploy:", highlight=False)
            for line in result.readiness:
                console.print(f"  {escape(line)}", highlight=False)
        elif result.run.error is not None:
            console.print(escape(result.run.error), highlight=False)
        else:
            render(result, console)
        if base is not None:
            render_diff(base, result, console)
    raise typer.Exit(exit_code(result))


def exit_code(result: "PlanResult") -> int:
    """0 ok; 1 not compliant (a declared lab is not) or a mandatory policy violation; 3 compliant
    but not ready."""
    if result.ok:
        return EXIT_OK
    if not (result.compliant or result.lab) or [v for v in result.violations if not v.advisory]:
        return EXIT_NONCOMPLIANT
    return EXIT_NOT_READY


__all__ = ["document", "plan", "render"]
