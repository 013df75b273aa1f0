"""``mpic up|down|status``: the local fleet (network namespaces, real servers)."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli import app
from cli.canary import describe
from artifacts.builder import build
from cli.common import EXIT_FAILED, LOCAL_FLEET, guarded, progress, reported
from config.errors import PlanError
from config.stackfile import load_stack
from local.engine import lifecycle
from artifacts.dist import dist_dir, machine_architecture, require_artifacts
from local.errors import require_root


def build_missing(stack: str, say) -> None:
    """Build the wheelhouse the local fleet runs when it is missing or was built from other sources:
    the host's architecture only (every architecture is ``mpic build``'s job)."""
    cfg = load_stack(stack)
    try:
        require_artifacts(cfg)
    except PlanError:
        arch = machine_architecture()
        say(f"build: the runtime wheelhouse is missing or stale: building it for {arch} "
            "(./scripts/mpic build wheel builds every architecture)")
        build(["wheel"], dist_dir(), say=say, archs=(arch,))


@app.command(rich_help_panel=LOCAL_FLEET)
def up(stack: str = typer.Argument("local", help="Stack name (stacks/Pulumi.<name>.yaml) or path to a stack YAML."),
       verify: bool = typer.Option(True, help="End with one real MPIC request and print its verdict.")) -> None:
    """Start the local fleet of STACK (idempotent): mini-internet, regions, coordinator, then one real request."""
    guarded(require_root)
    say = progress()
    guarded(build_missing, stack, say)
    st = guarded(lifecycle.up, stack, say, verify=verify)
    typer.echo(f"coordinator_url: {st['coordinator_url']}")
    typer.echo(f"api_key:         {st['api_key']}")
    typer.echo(f"ca_cert:         {st['ca_cert']}")
    typer.echo(f"test_domain:     {st['test_domain']}")
    pin = ""
    if st.get("client_resolver"):  # the failed-over name lives in the fleet's DNS: pin it for curl
        site = (st.get("coordinator_sites") or {}).get("active", "primary")
        ip = ((st.get("coordinator_sites") or {}).get("sites") or {}).get(site, {}).get("ip")
        host = st["coordinator_url"].split("//")[1]
        pin = f"--resolve {host}:{ip} " if ip else ""
        typer.echo(f"client_resolver: {st['client_resolver']} (resolves {host.split(':')[0]}; active site: {site})")
    typer.echo(f"try: curl {pin}--cacert {st['ca_cert']} -H 'x-api-key: {st['api_key']}' "
               f"{st['coordinator_url']}/mpic -d '{{\"check_type\":\"caa\",\"domain_or_ip_target\":\"{st['test_domain']}\"}}'")


@app.command(rich_help_panel=LOCAL_FLEET)
def down(stack: Optional[str] = typer.Argument(None, help="Stack to remove (default: every local fleet that is up)."),
         purge: bool = typer.Option(False, "--purge", help="Remove its audit records too (kept by default: "
                                                            "BR 5.4.3 keeps them two years).")) -> None:
    """Stop the local fleet: every process, namespace, link and file it created (also after a crash);
    its audit records stay in /var/lib/mpic-fleet/<stack>/audit unless --purge."""
    guarded(require_root)
    if not guarded(lifecycle.down, stack, progress(), purge=purge):
        typer.echo("mpic: no local fleet recorded; nothing to do", err=True)


@app.command(rich_help_panel=LOCAL_FLEET)
def status(stack: Optional[str] = typer.Argument(None, help="Stack (default: the fleet that is up)."),
           as_json: bool = typer.Option(False, "--json", help="One JSON object (for scripts and the smoke suite).")) -> None:
    """Where the running fleet is: coordinator URL, API key, CA, perspectives, hosts."""
    with reported(as_json):
        require_root()
        st = lifecycle.status(stack)
        rows = lifecycle.process_table(stack)
    down_ = [row["name"] for row in rows if not row["alive"]]
    wrong = [row for row in rows if row["alive"] and row["user"] != row["planned_user"]]
    if as_json:
        typer.echo(json.dumps({**st, "processes": rows}, indent=1))
    else:
        typer.echo(f"stack {st['stack']}: coordinator {st['coordinator_url']} (CA {st['ca_cert']}), "
                   f"test domain {st['test_domain']}")
        for row in rows:
            user = row["user"] or "-"
            if row["alive"] and row["user"] != row["planned_user"]:
                user += f" (USER: planned {row['planned_user']})"
            typer.echo(f"  {'up  ' if row['alive'] else 'DOWN'} {row['name']:<28} pid {row['pid']:<8} "
                       f"{(row['netns'] or '(host)'):<28} {user}")
        sites = st.get("coordinator_sites")
        if sites:
            typer.echo(f"failover: {sites['name']} -> {sites['active']} ("
                       + ", ".join(f"{r} {'healthy' if v['healthy'] else 'UNHEALTHY'}" for r, v in sites["sites"].items())
                       + ")")
        typer.echo(describe(st.get("canary")))
    if wrong:
        typer.echo("mpic: " + "; ".join(f"{r['name']} runs as {r['user']}, planned {r['planned_user']}" for r in wrong)
                   + " (least privilege: plan/local.py PROCESS_USERS); `./scripts/mpic down` then `up` restarts the "
                   "fleet as planned", err=True)
    if down_:
        typer.echo(f"mpic: {len(down_)} process(es) down: {', '.join(down_)}; `./scripts/mpic fault heal` or "
                   "`./scripts/mpic up` restarts them", err=True)
    if down_ or wrong:
        raise typer.Exit(EXIT_FAILED)
