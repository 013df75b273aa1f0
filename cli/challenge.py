"""``mpic challenge``: set DCV/CAA challenges on the local fleet's mini-internet."""

from __future__ import annotations

from typing import Optional

import typer

from cli import app
from cli.common import guarded
from local import challenges
from local.errors import require_root

challenge_app = typer.Typer(help="Set DCV/CAA challenges on the local fleet's mini-internet (live within a second).",
                            no_args_is_help=True)
app.add_typer(challenge_app, name="challenge")
StackOpt = typer.Option(None, "--stack", "-s", help="Stack of the running fleet (default: the one that is up).")


@challenge_app.command("txt")
def challenge_txt(name: str, value: str, stack: Optional[str] = StackOpt) -> None:
    """Add a TXT record NAME "VALUE" (dns-change, acme-dns-01, contact-*-txt)."""
    guarded(require_root)
    zone = guarded(challenges.set_txt, stack, name, value)
    typer.echo(f"{name} TXT \"{value}\" (zone {zone}, signed, TTL 1)")


@challenge_app.command("cname")
def challenge_cname(name: str, target: str, stack: Optional[str] = StackOpt) -> None:
    """Set NAME CNAME TARGET."""
    guarded(require_root)
    zone = guarded(challenges.set_cname, stack, name, target)
    typer.echo(f"{name} CNAME {target} (zone {zone})")


@challenge_app.command("caa")
def challenge_caa(name: str, value: str = typer.Argument(..., help="'FLAGS TAG \"VALUE\"', e.g. '0 issue \"ca.example\"'"),
                  stack: Optional[str] = StackOpt) -> None:
    """Add a CAA record at NAME."""
    guarded(require_root)
    zone = guarded(challenges.set_caa, stack, name, value)
    typer.echo(f"{name} CAA {value} (zone {zone})")


@challenge_app.command("http")
def challenge_http(host: str, path: str, content: str, stack: Optional[str] = StackOpt) -> None:
    """Serve CONTENT at http://HOST/PATH and https://HOST/PATH (website-change, acme-http-01)."""
    guarded(require_root)
    guarded(challenges.set_http, stack, host, path, content)
    typer.echo(f"http://{host}/{path.lstrip('/')} and https://{host}/{path.lstrip('/')} serve {len(content)} bytes")


@challenge_app.command("zone")
def challenge_zone(file: str, origin: Optional[str] = typer.Option(None, help="Origin if the file has no $ORIGIN."),
                   stack: Optional[str] = StackOpt) -> None:
    """Load a zone file (any origin), signed and delegated from the fake root. @INTERNET_IP@ is substituted."""
    guarded(require_root)
    loaded = guarded(challenges.load_zone, stack, file, origin)
    typer.echo(f"zone {loaded} loaded from {file} (DNSSEC-signed, delegated with DS)")


@challenge_app.command("clear")
def challenge_clear(stack: Optional[str] = StackOpt) -> None:
    """Remove every record, HTTP file and zone set with `mpic challenge`."""
    guarded(require_root)
    c = guarded(challenges.clear, stack)
    typer.echo(f"cleared {c['records']} records, {c['http']} http files, {c['zones']} zones")
