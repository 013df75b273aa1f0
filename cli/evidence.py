"""``mpic evidence STACK [--from DATE] [--to DATE] [--out FILE] [--json]`` and
``mpic evidence verify BUNDLE``: the auditor's bundle of a stack's audit records (docs/audit.md).

Exit codes: 0 the bundle was written / is whole; 1 a break (the first one named ``file:line``);
2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cli import app
from cli.common import EXIT_FAILED, OPERATOR, fail, fail_input, progress, reported
from evidence import bundle
from evidence.chain import Broken
from evidence.collect import collect
from evidence.sources import Window


def _quiet(_: str) -> None:
    """No progress lines (``--json``)."""


def _text(summary: dict) -> str:
    per = ", ".join(f"{code} " + "/".join(f"{k} {v}" for k, v in sorted(c.items()))
                    for code, c in summary.get("perspectives", {}).items())
    return "\n".join([
        f"requests {summary['requests']} (responses {summary['responses']}, interrupted {summary['interrupted']}); "
        f"attempts {summary['attempts']}, {summary['attempts_below_quorum']} below their quorum",
        f"quorum results: {summary['quorum_results']}; RIRs passing: {summary['rirs_passing']}",
        f"per perspective: {per}",
        f"writers: {len(summary['writers'])}, chains: {sum(summary['writers'].values())}",
    ])


@app.command("evidence", rich_help_panel=OPERATOR)
def evidence_cmd(
    stack: str = typer.Argument(..., help="Stack (stacks/Pulumi.<name>.yaml or a path), or `verify` to check a bundle."),
    bundle_path: Optional[Path] = typer.Argument(None, metavar="[BUNDLE]", help="With `verify`: the bundle to check."),
    start: Optional[str] = typer.Option(None, "--from", help="First day or UTC time of the window (ISO 8601)."),
    end: Optional[str] = typer.Option(None, "--to", help="Last day or UTC time of the window (ISO 8601)."),
    out: Optional[Path] = typer.Option(None, "--out", help="The bundle's path (default mpic-evidence-STACK-DATE.tar.gz)."),
    from_dir: Optional[Path] = typer.Option(None, "--from-dir", help="Read the lines from this folder, one file per "
                                                                     "writer (k8s: exported from the sink)."),
    as_json: bool = typer.Option(False, "--json", help="The summary as one JSON object."),
) -> None:
    """The auditor's bundle of a stack's audit records (BR 5.4.1, 5.4.3), or `verify BUNDLE`."""
    if stack == "verify":
        if bundle_path is None:
            raise fail_input("verify: give the bundle, e.g. `mpic evidence verify mpic-evidence-local.tar.gz`", as_json)
        try:
            summary = bundle.verify(bundle_path)
        except Broken as exc:
            raise fail(f"the bundle is not whole: {exc}", EXIT_FAILED, as_json) from None
        typer.echo(json.dumps(summary, indent=1) if as_json else f"{bundle_path}: whole\n{_text(summary)}")
        return
    if bundle_path is not None:
        raise fail_input(f"{bundle_path}: unexpected; a bundle goes with `mpic evidence verify BUNDLE`", as_json)
    for name, value in (("--from", start), ("--to", end)):
        if value is not None and not _iso(value):
            raise fail_input(f"{name} {value}: not an ISO 8601 date or time; e.g. 2026-12-01 or 2026-12-01T08:00:00Z",
                             as_json)
    window = Window(_utc(start), _utc(end))
    from botocore.exceptions import BotoCoreError, ClientError

    with reported(as_json):
        try:
            path, summary = collect(stack, window, out, _quiet if as_json else progress(), from_dir=from_dir)
        except (BotoCoreError, ClientError) as exc:
            raise fail(f"{stack}: reading the audit lines from AWS failed: {exc}. Give credentials that may read them "
                       "(logs:FilterLogEvents on the audit log groups, or s3:ListBucket and s3:GetObject on the "
                       "k8s sink's bucket), e.g. AWS_PROFILE=auditor, and run the command again.",
                       EXIT_FAILED, as_json) from None
    if as_json:
        typer.echo(json.dumps({"bundle": str(path), **summary}, indent=1))
    elif summary["verification"]["whole"]:
        typer.echo(f"{path}: whole\n{_text(summary)}")
    else:
        typer.echo(f"{path}: written, NOT whole: {summary['verification']['first_break']}")
    if not summary["verification"]["whole"]:
        raise typer.Exit(EXIT_FAILED)


def _iso(value: str) -> bool:
    import datetime as dt

    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _utc(value: str | None) -> str | None:
    """A date as it is; a time in UTC, as the audit lines write it."""
    import datetime as dt

    if value is None or len(value) == 10:
        return value
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
