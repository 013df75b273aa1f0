"""``mpic suggest``: the best compliant set of N remote perspectives (:mod:`plan.suggest`), why
each region is in it, the figures, and a ready ``mpic:perspectives`` block; ``--map``/``--geojson``
draw or write it. Exit 0 with a set; 2 for bad input or a request no set can meet (the message
says what to relax).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from cli import app
from cli.common import EXIT_OK, OPERATOR, reported
from cli.fleetmap import FORMATS, GEOJSON_FORMATS, write_fleet_files
from cli.options import check_output, load_usage, parse_codes, parse_date, primary_location
from config.br import MIN_REMOTE_PHASES, min_remote_perspectives, sizing_date
from config.catalog import Location, load_catalog
from config.errors import ConfigError
from config.model import StackConfig
from plan.prices import PRICE_TABLE_DATE
from plan.region_costs import PRICED_TARGETS, region_monthly_usd
from plan.suggest import DEFAULT_TIME_BUDGET_S, MIN_COUNT, SuggestRequest, Suggestion, suggest

SCRIPT = "./scripts/mpic"


def _site_arg(loc: Location) -> str:
    return f"{loc.lat:g},{loc.lon:g},{loc.rir.value.replace(' ', '')}"


def suggest_command(request: SuggestRequest) -> str:
    """The ``mpic suggest`` command line that sends ``request`` (the CLI's defaults left out)."""
    parts = [SCRIPT, "suggest", "--count", str(request.count)]
    if request.primary is not None:
        parts += (["--primary-site", _site_arg(request.primary)] if request.primary.is_custom_site
                  else ["--primary", request.primary.code])
    if request.providers != frozenset({"aws"}):
        parts += ["--providers", ",".join(sorted(request.providers))]
    if request.include:
        parts += ["--include", ",".join(request.include)]
    if request.exclude:
        parts += ["--exclude", ",".join(sorted(request.exclude))]
    if request.no_opt_in:
        parts.append("--no-opt-in")
    if request.max_monthly_usd is not None:
        parts += ["--max-monthly-usd", f"{request.max_monthly_usd:g}"]
    if request.time_budget_s != DEFAULT_TIME_BUDGET_S:
        parts += ["--time-budget", f"{request.time_budget_s:g}"]
    parts += ["--as-of", request.evaluation_date.isoformat()]
    return " ".join(parts)


def check_command(s: Suggestion) -> str:
    """The ``mpic check`` command line that checks a suggested set."""
    parts = [SCRIPT, "check", "--regions", ",".join(s.codes)]
    if s.primary is not None:
        parts += (["--primary-site", _site_arg(s.primary)] if s.primary.is_custom_site else ["--primary", s.primary.code])
    return " ".join([*parts, "--as-of", s.as_of.isoformat()])


def proof_text(s: Suggestion) -> str:
    if s.proven_optimal:
        return f"proven optimal ({s.nodes:,} search nodes, {s.elapsed_s:.2f} s)"
    budget = s.request.time_budget_s if s.request is not None else DEFAULT_TIME_BUDGET_S
    return (f"NOT proven optimal: the best set found in the time budget of {budget:g} s "
            "(raise --time-budget to search on)")


def figures_text(s: Suggestion, target: str | None) -> list[str]:
    """The figures of a set, one line each (what the JSON document holds)."""
    rirs = ", ".join(f"{rir} {n}" for rir, n in s.rirs.items())
    f = len(s.codes) - s.quorum
    out = [f"smallest distance: {s.min_pair_km:,.0f} km ({' - '.join(s.nearest_pair)}), "
           f"{s.min_pair_km - 500:,.0f} km above BR 3.2.2.9's 500 km",
           f"RIRs: {rirs} ({'still >= 2 RIRs' if s.rir_robust else 'NOT always 2 RIRs'} when any {f} "
           f"perspective{'s' if f != 1 else ''} fail{'' if f != 1 else 's'} to corroborate)",
           f"providers: {', '.join(f'{p} {n}' for p, n in s.providers.items())}"]
    if s.quorum_rtt_ms_bound is not None:
        out.append(f"quorum latency: >= {s.quorum_rtt_ms_bound:.1f} ms, the round trip from the primary to the "
                   f"perspective a quorum of {s.quorum} waits for (light in fibre, 204 km/ms)")
    if s.monthly_usd is not None:
        out.append(f"monthly cost: {s.monthly_usd:,.2f} USD for the perspectives on {target} "
                   f"(prices of {PRICE_TABLE_DATE}; coordinators not included)")
    return out


def sizing_note(s: Suggestion, count: int | None) -> str:
    """How the set's size was chosen: for the look-ahead by default, or the ``--count`` given (and
    until when that count stays compliant, when it does not for the whole look-ahead)."""
    if count is None:
        return s.sizing_line
    need = min_remote_perspectives(s.sized_for)
    if count >= need:
        return f"--count {count}: compliant through {s.sized_for.isoformat()} and on"
    start = next(d for d in sorted({p for p, _ in MIN_REMOTE_PHASES}) if d > s.as_of and
                 min_remote_perspectives(d) > count)
    return (f"--count {count}: compliant until {(start - dt.timedelta(days=1)).isoformat()} only; from "
            f"{start.isoformat()} BR 3.2.2.9 needs {min_remote_perspectives(start)} (leave --count out to size "
            f"the set for it)")


def render(s: Suggestion, target: str | None, console: Console, sizing: str = "") -> None:
    where = (f"primary {s.primary.code}" if s.primary is not None else "no primary given (its distances are not "
             "checked: give --primary or --primary-site)")
    console.print(f"[bold]{len(s.codes)} remote perspectives[/], {where}, as of {s.as_of.isoformat()}: "
                  f"{proof_text(s)}", highlight=False)
    if sizing:
        console.print(f"  {escape(sizing)}", highlight=False)
    for code in s.codes:
        console.print(f"  {escape(s.reasons[code])}", highlight=False)
    for line in figures_text(s, target):
        console.print(f"  {escape(line)}", highlight=False)
    for warning in s.warnings:
        console.print(f"  warning {escape(warning)}", highlight=False)
    console.print("stack file block (under config: in stacks/Pulumi.<stack>.yaml):", highlight=False)
    console.print(escape(s.stack_yaml.rstrip()), highlight=False)
    console.print(f"check it: {check_command(s)}", highlight=False)


def document(s: Suggestion, sizing: str = "") -> dict:
    return {**s.to_json(), "sizing": sizing, "check_command": check_command(s)}


@app.command("suggest", rich_help_panel=OPERATOR)
def suggest_cmd(
    count: Optional[int] = typer.Option(None, "--count", help="Remote perspectives in the set (default: the BR "
                                        "3.2.2.9 minimum on --as-of, 5 from 2026-12-15)."),
    primary: Optional[str] = typer.Option(None, "--primary", help="The primary perspective's region code."),
    primary_site: Optional[str] = typer.Option(None, "--primary-site", help="The primary as LAT,LON,RIR."),
    providers: str = typer.Option("aws", "--providers", help="Candidate providers, comma-separated: aws,gcp,azure."),
    exclude: Optional[str] = typer.Option(None, "--exclude", help="Region codes never to use, comma-separated."),
    include: Optional[str] = typer.Option(None, "--include", help="Region codes the set must hold, comma-separated."),
    no_opt_in: bool = typer.Option(False, "--no-opt-in", help="Only regions enabled by default in an AWS account."),
    max_monthly_usd: Optional[float] = typer.Option(None, "--max-monthly-usd",
                                                    help="Budget of the perspectives per month (needs --target)."),
    target: Optional[str] = typer.Option(None, "--target", help="Price the set as aws-hosts or aws-lambda."),
    usage: Optional[Path] = typer.Option(None, "--usage", help="YAML overrides of the cost assumptions (with --target)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate the rules for this date (YYYY-MM-DD)."),
    time_budget: float = typer.Option(DEFAULT_TIME_BUDGET_S, "--time-budget",
                                      help="Seconds the exact search may take; past them the best set found "
                                           "is returned, marked not proven optimal."),
    map_path: Optional[Path] = typer.Option(None, "--map", help="Draw the set on a world map: FILE.png or FILE.svg."),
    geojson: Optional[Path] = typer.Option(None, "--geojson", help="Write the set as GeoJSON to FILE."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """The best compliant set of remote perspectives (BR 3.2.2.9), by exact search: widest smallest pairwise
    distance, RIR spread that survives the allowed non-corroborations, provider diversity, then the fastest
    quorum from the primary. Exit 0 with a set, 2 for bad input or a request no set meets."""
    with reported(as_json):
        check_output(map_path, "--map", FORMATS)
        check_output(geojson, "--geojson", GEOJSON_FORMATS)
        on = parse_date(as_of) if as_of else dt.date.today()
        costs = None
        if target is not None:
            if target not in PRICED_TARGETS:
                fix = f"give --target {' or '.join(PRICED_TARGETS)}"
                raise ConfigError(f"--target: '{target}' is not priced per region. Fix: {fix}.", key="--target",
                                  value=target, fix=fix)
            costs = region_monthly_usd(target, load_catalog().values(), usage=load_usage(usage))
        elif usage is not None:
            raise ConfigError("--usage: prices the set for a target. Fix: add --target aws-hosts or aws-lambda.",
                              key="--usage", value=str(usage), fix="add --target aws-hosts or aws-lambda")
        request = SuggestRequest(
            count=count if count is not None else max(MIN_COUNT, min_remote_perspectives(sizing_date(on))),
            primary=primary_location(primary, primary_site), providers=frozenset(parse_codes(providers, "--providers")),
            include=tuple(parse_codes(include, "--include")), exclude=frozenset(parse_codes(exclude, "--exclude")),
            no_opt_in=no_opt_in, as_of=on, time_budget_s=time_budget, region_monthly_usd=costs,
            max_monthly_usd=max_monthly_usd)
        s = suggest(request)
        suggested = StackConfig.from_config({"perspectives": list(s.perspectives), "primary": s.primary,
                                             "asOf": s.as_of}, name="suggest")
        write_fleet_files(suggested, f"ad hoc, {suggest_command(request)}", map_path, geojson, heading="mpic suggest")
    sizing = sizing_note(s, count)
    if as_json:
        typer.echo(json.dumps(document(s, sizing), indent=2))
    else:
        render(s, target, Console(soft_wrap=True, emoji=False), sizing)
    raise typer.Exit(EXIT_OK)


__all__ = ["check_command", "suggest_cmd", "suggest_command"]
