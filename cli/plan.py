"""``mpic plan STACK [--json]``: the real program under Pulumi's mocks -> resources by region,
policy pack verdict, estimated monthly cost. No Pulumi CLI, no cloud credentials.

Exit 0: compliant, no policy violation. Exit 1: not compliant with BR 3.2.2.9 (zero resources
planned) or a policy violation. Exit 2: bad input (unknown stack, unreadable YAML, unknown region...).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import typer
from rich.console import Console
from rich.table import Table

from typing import TYPE_CHECKING

from cli import app
from cli.common import EXIT_NONCOMPLIANT, EXIT_OK, fail_input
from config.compliance import format_report
from config.errors import ConfigError
from plan.prices import ASSUMPTIONS, GLOBAL, PRICE_TABLE_DATE

if TYPE_CHECKING:
    from cli.planner import PlanResult


def render(result: "PlanResult", console: Console) -> None:
    """Resources grouped by region with their monthly cost, then violations and the total."""
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
    lines = Table(title="cost lines (largest first)")
    for col in ("region", "resource", "what", "USD/month"):
        lines.add_column(col, justify="right" if col == "USD/month" else "left")
    for line in sorted(result.cost.lines, key=lambda x: -x.usd)[:15]:
        lines.add_row(line.region, line.name, line.note, f"{line.usd:,.2f}")
    console.print(lines)
    console.print(f"assumptions: {', '.join(f'{k}={v:g}' for k, v in ASSUMPTIONS.items())}", highlight=False)
    for v in result.violations:
        level = "[yellow]advisory[/]" if v.advisory else "[red]POLICY[/]"
        console.print(f"{level} {v.policy}: {v.message}", highlight=False)
    console.print(format_report(result.report, result.fleet), highlight=False)
    verdict = ("ok" if result.ok else "NOT ok") + (" (LAB: non-compliant)" if result.lab else "")
    console.print(f"{result.stack}: {len(result.items)} resources in {len(result.regions)} regions, "
                  f"{len(result.violations)} policy violations, estimated total "
                  f"[bold]{result.cost.total:,.2f} USD/month[/] - {verdict}", highlight=False)


@app.command()
def plan(
    stack: str = typer.Argument(..., help="Stack name in stacks/ (e.g. aws-hosts) or a stack YAML path."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Plan a stack under Pulumi's mocks: resources by region, policy pack, monthly cost. Exit 0 ok, 1 non-compliant
    or policy violation, 2 bad input."""
    # the planner imports Pulumi and every provider SDK (seconds): only `mpic plan` pays for it
    from cli.planner import plan_stack

    try:
        result = plan_stack(stack)
    except ConfigError as exc:
        raise fail_input(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, sort_keys=False))
    else:
        console = Console(soft_wrap=True)
        if result.run.error is not None:
            console.print(result.run.error, highlight=False)
        else:
            render(result, console)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_NONCOMPLIANT)


__all__ = ["plan", "render"]
