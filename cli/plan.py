"""``mpic plan STACK [--usage FILE.yaml] [--diff BASE_STACK|PLAN.json] [--json]``: the real program
under Pulumi's mocks -> resources by region, policy pack verdict, every monthly cost line (unit price
and the month of its list) and what is not priced. No Pulumi CLI, no cloud credentials. Progress
lines go to stderr, never stdout (``--json`` prints exactly one JSON object there).

Two verdicts, each with its JSON field: compliance (``compliant``, ``verdict``: the BR rules on the
stack's config; a region set to change gets the repaired set ``mpic check`` prints, under ``repair``)
and readiness (``ready``, ``readiness``: a missing or stale build, which the program refuses too;
placeholder values and a k8s image by tag, which ``pulumi up`` refuses). Exit 0: compliant, ready, no policy violation. Exit 1: not compliant with BR 3.2.2.9
(zero resources planned; the violations are printed, and in ``--json`` listed under
``violations``) or a policy violation. Exit 2: bad input (unknown stack, unreadable YAML, unknown
region, a bad usage file, a ``--diff`` file that is not a saved plan...). Exit 3: compliant but not
ready (``readiness`` names the fix).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli import app
from cli.common import EXIT_NONCOMPLIANT, EXIT_NOT_READY, EXIT_OK, OPERATOR, progress, reported
from cli.options import load_usage
from cli.check import repair_json, repair_text
from config.compliance import format_report, plural
from plan.cost_diff import PlannedCost, cost_diff, from_plan_json, planned_cost, refuse_saved_plan
from plan.prices import GLOBAL, PRICE_TABLE_DATE, CostEstimate
from plan.usage import Usage

if TYPE_CHECKING:
    from preview.engine import PlanResult


def side(result: "PlanResult") -> PlannedCost:
    """A fresh plan as one side of a cost diff."""
    return planned_cost(result.stack, ((i.type, i.name, i.region) for i in result.items), result.cost)


def document(result: "PlanResult", base: PlannedCost | None = None) -> dict:
    """The ``--json`` object: the plan, the BR 3.2.2.9 findings, and the cost difference to ``base``."""
    doc = result.to_json()
    doc["violations"] = [f.to_json() for f in result.report.violations]
    doc["warnings"] = [f.to_json() for f in result.report.warnings]
    repaired = repair_json(result.advice) if result.advice is not None else None
    if repaired is not None:
        doc["repair"] = repaired  # the set `mpic check` prints: one repair behind every region fix
    if base is not None:
        doc["diff"] = {"base": base.stack, "base_file": base.source, **cost_diff(base, side(result))}
    return doc


def load_saved_plan(path: Path) -> PlannedCost:
    """A saved ``mpic plan --json`` FILE as the base of ``--diff``; ConfigError naming the file and the fix."""
    if not path.is_file():
        raise refuse_saved_plan(str(path), "does not exist (no such file)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise refuse_saved_plan(str(path), f"cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise refuse_saved_plan(str(path), f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") \
            from None
    return from_plan_json(doc, str(path))


def is_saved_plan(diff: str) -> bool:
    """``--diff`` names a saved plan (a ``.json`` file) rather than a stack."""
    return diff.lower().endswith(".json")


def number(value: float) -> str:
    """``1000000.0`` -> ``1,000,000``; ``0.3`` -> ``0.3``; ``2e-07`` -> ``0.0000002``."""
    if value == int(value) and abs(value) < 1e15:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.10f}".rstrip("0").rstrip(".") if abs(value) < 0.001 else f"{value:.6g}"


def render_costs(cost: CostEstimate, console: Console) -> None:
    """Every cost line (region, resource, what, quantity, unit, unit price, the month of its list,
    monthly) as aligned plain text (never wrapped, easy to grep), what is not priced, then the
    assumptions the lines were priced with."""
    rows = [("region", "resource", "what", "quantity", "unit", "unit USD", "as of", "USD/month")]
    for line in sorted(cost.lines, key=lambda x: (x.region == GLOBAL, x.region, -x.usd, x.name)):
        rows.append((line.region, line.name, line.note, number(line.quantity), line.unit, number(line.unit_usd),
                     line.as_of, f"{line.usd:,.2f}"))
    console.print(f"{len(cost.lines)} cost lines, by region then largest (AWS list prices per region, each with the "
                  "month of its list; monthly = quantity x unit USD):", highlight=False)
    aligned(rows, (3, 5, 7), console)
    if cost.not_priced:
        console.print(f"not priced, not in the total: {plural(len(cost.not_priced), 'resource')} costing money "
                      "the table does not price:", highlight=False)
        aligned([("region", "type", "resource", "why"),
                 *sorted((n.region, n.type, n.name, n.reason) for n in cost.not_priced)], (), console)
    console.print(f"assumptions: {', '.join(f'{k}={number(v)}' for k, v in cost.usage.items())} "
                  "(override with --usage FILE.yaml)", highlight=False)


def aligned(rows: list[tuple[str, ...]], right: tuple[int, ...], console: Console) -> None:
    """``rows`` as columns padded to their widest cell (``right``: the right-aligned columns)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        console.print(escape("  ".join(cells).rstrip()), highlight=False)


def render(result: "PlanResult", console: Console) -> None:
    """Resources grouped by region with their monthly cost, every cost line, then violations and the total."""
    by_region: dict[str, list] = defaultdict(list)
    for item in result.items:
        by_region[item.region or GLOBAL].append(item)
    costs = result.cost.by_region
    table = Table(title=f"{result.stack}: planned resources by region (estimated USD/month, AWS list prices "
                        f"of {PRICE_TABLE_DATE} or later)")
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


def render_diff(base: PlannedCost, result: "PlanResult", console: Console) -> None:
    """The monthly difference by region and in total, then resource by resource: every added (+),
    removed (-) or differently priced (~) resource that costs something, and a count by type of
    those added or removed at no cost."""
    diff = cost_diff(base, side(result))
    saved = f" (saved plan {base.source})" if base.source else ""
    table = Table(title=f"monthly cost: {result.stack} - {base.stack}{saved} (USD/month)")
    for col in ("region", f"{base.stack} (base)", result.stack, "difference"):
        table.add_column(col, justify="left" if col == "region" else "right")
    for region, row in diff["by_region"].items():
        table.add_row(region, f"{row['base']:,.2f}", f"{row['stack']:,.2f}", f"{row['delta']:+,.2f}")
    total = diff["total"]
    table.add_row("[bold]total[/]", f"{total['base']:,.2f}", f"{total['stack']:,.2f}", f"[bold]{total['delta']:+,.2f}[/]")
    console.print(table)
    changes = diff["resources"]
    priced = [c for c in changes if c["base_usd"] or c["stack_usd"]]
    counts = Counter(c["change"] for c in changes)
    console.print(f"resources: {counts['+']} added, {counts['-']} removed, {counts['~']} priced differently; "
                  f"{plural(len(priced), 'line')} with a cost, largest change first (USD/month, base -> stack):",
                  highlight=False)
    aligned([(c["change"], c["type"], c["name"], c["region"], f"{c['base_usd']:,.2f} -> {c['stack_usd']:,.2f}",
              f"{c['stack_usd'] - c['base_usd']:+,.2f}") for c in priced] or [("(none)",)], (5,), console)
    for sign, what in (("+", "added"), ("-", "removed")):
        free = Counter(c["type"].split(":")[-1] for c in changes if c["change"] == sign and c not in priced)
        if free:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(free.items(), key=lambda kv: (-kv[1], kv[0])))
            console.print(f"{sign} {plural(sum(free.values()), 'resource')} {what} at no cost: {kinds}",
                          highlight=False)
    if diff["assumptions_differ"]:
        keys = ", ".join(diff["assumptions_differ"])
        console.print(f"note: the base was priced with other usage assumptions ({keys}): its lines differ for that too",
                      highlight=False)


@app.command(rich_help_panel=OPERATOR)
def plan(
    stack: str = typer.Argument(..., help="Stack name in stacks/ (e.g. aws-hosts) or a stack YAML path."),
    usage: Optional[Path] = typer.Option(None, "--usage", help="YAML map overriding the cost assumptions "
                                         "(validations_per_month, perspective_egress_gb, hours_per_month, ...)."),
    diff: Optional[str] = typer.Option(None, "--diff", metavar="BASE_STACK|PLAN.json",
                                       help="Compare with BASE_STACK (planned too, same assumptions) or with a plan "
                                            "saved by `mpic plan --json > PLAN.json`: the monthly difference by "
                                            "region, resource by resource and in total."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Plan a stack under Pulumi's mocks: resources by region, policy pack, every monthly cost line. Exit 0 ok,
    1 non-compliant or policy violation, 2 bad input, 3 compliant but not ready (a missing or stale build)."""
    # progress on stderr (stdout holds the plan; with --json exactly one object), from the first step
    # after the stack file is read: bad input prints nothing but its error
    say = progress()
    with reported(as_json):
        overrides: Usage = load_usage(usage)
        # a bad saved plan fails before seconds of planning
        base = load_saved_plan(Path(diff)) if diff is not None and is_saved_plan(diff) else None
        # the planner imports Pulumi and every provider SDK (seconds): only `mpic plan` pays for it
        from preview.engine import plan_stack

        result = plan_stack(stack, usage=overrides, progress=say)
        if diff is not None and base is None:
            base = side(plan_stack(diff, usage=overrides, progress=say))
    render_result(result, base, as_json, say)
    raise typer.Exit(exit_code(result))


def render_result(result: "PlanResult", base: PlannedCost | None, as_json: bool, say: Callable[[str], None]) -> None:
    """The plan (and the diff to ``base``) on stdout: one JSON object, or the text report."""
    say(f"planned {result.stack}: {len(result.items)} resources, {result.cost.total:,.2f} USD/month")
    if as_json:
        typer.echo(json.dumps(document(result, base), indent=2, sort_keys=False))
        return
    console = Console(soft_wrap=True, emoji=False)
    if result.run.error is None:  # planned (placeholder values do not stop the program: they are listed below)
        render(result, console)
    elif result.built is not None or not result.compliant:  # a missing build: the readiness lines name it
        console.print(escape(result.run.error), highlight=False)
    if result.advice is not None and result.advice.repaired is not None:
        console.print(escape(repair_text(result.advice.repaired, result.advice.upcoming)), highlight=False)
    if result.readiness:
        console.print(f"{result.stack}: {result.verdict} with BR 3.2.2.9, NOT ready to deploy:", highlight=False)
        for line in result.readiness:
            console.print(f"  {escape(line)}", highlight=False)
    if base is not None:
        render_diff(base, result, console)


def exit_code(result: "PlanResult") -> int:
    """0 ok; 1 not compliant (a declared lab is not) or a mandatory policy violation; 3 compliant
    but not ready."""
    if result.ok:
        return EXIT_OK
    if not (result.compliant or result.lab) or [v for v in result.violations if not v.advisory]:
        return EXIT_NONCOMPLIANT
    return EXIT_NOT_READY


__all__ = ["document", "plan", "render"]
