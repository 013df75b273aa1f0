"""``mpic check``: the BR 3.2.2.9 compliance check of a stack or of an ad hoc region list.

A non-compliant region set (or one a coming phase-in breaks) gets one repaired set for the whole
report (:func:`plan.suggest.advice.advise`: the fewest replacements, every rule met, the same set
``mpic plan`` and the program name) and the ``mpic suggest`` command that reproduces it. ``--map``/``--geojson`` draw or write the checked set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli import app
from cli.common import EXIT_NONCOMPLIANT, EXIT_OK, OPERATOR, reported
from cli.fleetmap import FORMATS, GEOJSON_FORMATS, write_fleet_files
from cli.options import check_output, parse_codes, parse_date, parse_site
from cli.suggest import suggest_command
from config.compliance import MIN_DISTANCE_KM, Finding, Report, format_report, nearest_neighbours
from config.errors import ConfigError
from config.model import StackConfig
from config.stackfile import load_stack, stack_path
from plan.suggest.advice import Advice, advise
from plan.suggest.model import Suggestion
from plan.suggest.repair import REGION_RULES


def build_adhoc(regions: str, primary: str | None, primary_site: str | None, as_of: str | None) -> StackConfig:
    """The ad hoc config of ``--regions``: every listed region is used per attempt."""
    if primary and primary_site:
        raise ConfigError(f"--primary {primary} and --primary-site {primary_site} are alternatives; give one.",
                          key="--primary", value=primary,
                          fix="drop --primary or --primary-site")
    raw: dict = {"target": "local", "perspectives": parse_codes(regions, "--regions")}
    if primary:
        raw["primary"] = primary
    if primary_site:
        raw["primary"] = parse_site(primary_site)
    if as_of:
        raw["asOf"] = parse_date(as_of)
    return StackConfig.from_config(raw, name="adhoc")


def render_table(report: Report, cfg: StackConfig, console: Console) -> None:
    near = nearest_neighbours(cfg)
    table = Table(title=f"{cfg.name}: perspectives (as of {report.as_of.isoformat()})")
    for col in ("code", "city", "RIR", "nearest other", "distance"):
        table.add_column(col, justify="right" if col == "distance" else "left")
    rows = ([(cfg.primary, True)] if cfg.primary else []) + [(p, False) for p in cfg.perspectives]
    for loc, is_primary in rows:
        other, dist = near.get(loc.code, ("-", None))
        flag = "[red]" if dist is not None and dist < MIN_DISTANCE_KM else ""
        table.add_row(loc.code + (" (primary)" if is_primary else ""), loc.city, loc.rir.value, other,
                      f"{flag}{dist:,.0f} km" if dist is not None else "-")
    console.print(table)


def report_text(advice: Advice, cfg: StackConfig) -> str:
    """The findings; with a repaired set, the region findings point to it (printed below)."""

    def text(f: Finding) -> str:
        if advice.repaired is not None and f.rule in REGION_RULES and f.fix:
            return f"{f.problem} Fix: the repaired set below."
        return f.message

    return format_report(advice.report, cfg, text)


def repair_text(s: Suggestion, upcoming: bool = False) -> str:
    """The repaired set: each change with its reason, the stack block, the command that reproduces it
    (``upcoming``: repaired for a coming phase-in, its date ``s.as_of``, the config compliant until then)."""
    swaps = [(old, new) for old, new in s.replaced if old]
    added = [new for old, new in s.replaced if not old]
    kept = len(s.codes) - len(s.replaced)
    proof = "proven best" if s.proven_optimal else "the best found in the time budget, not proven"
    change = f"keeps {kept} of the {kept + len(swaps)} regions, replaces {len(swaps)}" + \
        (f", adds {len(added)} (BR 3.2.2.9's minimum on {s.sized_for.isoformat()}, the look-ahead)" if added else "")
    when = f" for {s.as_of.isoformat()}" if upcoming else ""
    lines = [f"Repaired set{when} ({proof}): {change}; every BR 3.2.2.9 rule met, smallest distance "
             f"{s.min_pair_km:,.0f} km."]
    lines += [f"  replace {old} with {s.reasons[new]}" for old, new in swaps]
    lines += [f"  add {s.reasons[new]}" for new in added]
    lines.append(f"  {s.sizing_line}")
    lines += ["mpic:perspectives:", *(f"  - {code}" for code in s.codes)]
    if s.request is not None:
        lines.append(f"the same set: {suggest_command(s.request)}")
    return "\n".join(lines)


def repair_json(advice: Advice) -> dict | None:
    """The ``repair`` member of ``check --json`` and ``plan --json`` (None: nothing to repair)."""
    if advice.repaired is not None:
        return {**advice.repaired.to_json(), "for_date": advice.for_date.isoformat() if advice.for_date else None,
                "command": suggest_command(advice.repaired.request) if advice.repaired.request else None}
    return {"error": advice.why_not} if advice.why_not is not None else None


def document(advice: Advice) -> dict:
    doc = advice.report.to_json()
    repaired = repair_json(advice)
    if repaired is not None:
        doc["repair"] = repaired
    return doc


@app.command(rich_help_panel=OPERATOR)
def check(
    stack: Optional[str] = typer.Argument(None, help="Stack name in stacks/ (e.g. local) or a stack YAML path."),
    regions: Optional[str] = typer.Option(None, "--regions", help="Ad hoc: comma-separated region codes."),
    primary: Optional[str] = typer.Option(None, "--primary", help="Ad hoc: the primary perspective's region code."),
    primary_site: Optional[str] = typer.Option(None, "--primary-site", help="Ad hoc: primary site as LAT,LON,RIR."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate the rules for this date (YYYY-MM-DD)."),
    map_path: Optional[Path] = typer.Option(None, "--map", help="Draw the perspectives on a world map: FILE.png or "
                                            "FILE.svg."),
    geojson: Optional[Path] = typer.Option(None, "--geojson", help="Write the perspectives as GeoJSON to FILE."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Check a stack (or --regions) against CA/B Forum BR 3.2.2.9. Exit 0 compliant, 1 violations, 2 bad input."""
    with reported(as_json):
        check_output(map_path, "--map", FORMATS)
        check_output(geojson, "--geojson", GEOJSON_FORMATS)
        if (stack is None) == (regions is None):
            raise ConfigError("give a STACK or --regions CODE,CODE,... (not both). Example: mpic check local",
                              key="stack", value=stack, fix="give a stack name (e.g. local) or --regions CODE,CODE,...")
        if stack is not None:
            if primary or primary_site:
                raise ConfigError("--primary/--primary-site only go with --regions; a stack sets mpic:primary.",
                                  key="--primary", value=primary or primary_site,
                                  fix="set mpic:primary in the stack file, or check --regions")
            cfg = load_stack(stack)
            if as_of:
                cfg = cfg.model_copy(update={"as_of": parse_date(as_of)})
        else:
            cfg = build_adhoc(regions or "", primary, primary_site, as_of)
        advice = advise(cfg)
        report = advice.report
        write_fleet_files(cfg, stack_path(stack) if stack is not None else "ad hoc --regions", map_path, geojson)
    if as_json:
        typer.echo(json.dumps(document(advice), indent=2))
    else:
        console = Console(soft_wrap=True, emoji=False)
        render_table(report, cfg, console)
        console.print(escape(report_text(advice, cfg)), highlight=False)
        if advice.repaired is not None:
            console.print(escape(repair_text(advice.repaired, advice.upcoming)), highlight=False)
        elif advice.why_not is not None:
            console.print(escape(f"No repaired set: {advice.why_not}"), highlight=False)
    raise typer.Exit(EXIT_OK if report.compliant else EXIT_NONCOMPLIANT)


__all__ = ["build_adhoc", "check"]
