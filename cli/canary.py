"""``mpic canary [STACK] [--once]``: the local fleet's production canary (docs/canary.md).

The fleet runs it every ``mpic:canary.interval`` minutes from ``mpic up`` on (the runtime's own
``python -m service canary``, as a cloud target schedules it); ``--once`` runs it now. Either way
the command prints the last result and the alarms set, evaluated with the rules the cloud alarms
use. Exit 0 when no alarm is set, 1 when one is.
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional

import typer

from cli import app
from cli.common import EXIT_FAILED, LOCAL_FLEET, guarded
from local.roles import canary
from local.errors import require_root
from local.engine.state import load_state


def describe(report: dict[str, Any] | None, now: float | None = None) -> str:
    """One line for ``mpic status`` and ``mpic canary``."""
    if report is None:
        return "canary: off (mpic:canary.enabled: false)"
    last = report["last"]
    alarms = ", ".join(report["alarms"]) or "none"
    if last is None:
        return f"canary: no result yet (every {report['interval_minutes']} min); alarms: {alarms}"
    age = max(0, (time.time() if now is None else now) - last["at"])
    verdict = "ok" if last["ok"] else f"FAILED ({last.get('error')})"
    margin = "" if last.get("margin") is None else \
        f", margin {last['margin']} ({last['passed']} passed, quorum {last['quorum']})"
    return f"canary: {verdict}{margin}, {age:.0f} s ago, {last['duration_ms']:.0f} ms; alarms: {alarms}"


@app.command("canary", rich_help_panel=LOCAL_FLEET)
def canary_cmd(stack: Optional[str] = typer.Argument(None, help="Stack (default: the fleet that is up)."),
               once: bool = typer.Option(False, "--once", help="Run the canary now, then report."),
               as_json: bool = typer.Option(False, "--json", help="One JSON object: {last, alarms, runs, ...}.")) -> None:
    """The production canary of the local fleet: last result, margin, alarms (--once: run it now)."""
    guarded(require_root)
    state = guarded(load_state, stack)
    if once:
        guarded(canary.run_once, state)
    report = canary.report(state)
    if as_json:
        typer.echo(json.dumps(report, indent=1))
    else:
        typer.echo(describe(report))
        if report and report["last"] and report["last"]["latency_ms"]:
            typer.echo("  " + ", ".join(f"{code} {ms:.0f} ms" for code, ms in sorted(report["last"]["latency_ms"].items())))
    if report and report["alarms"]:
        raise typer.Exit(EXIT_FAILED)
