"""``mpic up|down|status|challenge|fault|smoke``: the local fleet (network namespaces, real servers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Optional

import typer

from scripts.cli import EXIT_BAD_INPUT, EXIT_NONCOMPLIANT, EXIT_OK, app

challenge_app = typer.Typer(help="Set DCV/CAA challenges on the local fleet's mini-internet (live within a second).",
                            no_args_is_help=True)
fault_app = typer.Typer(help="Break the local fleet on purpose (game days, fault tests); `heal` undoes it.",
                        no_args_is_help=True)
app.add_typer(challenge_app, name="challenge")
app.add_typer(fault_app, name="fault")

EXIT_FAILED = 1
StackOpt = typer.Option(None, "--stack", "-s", help="Stack of the running fleet (default: the one that is up).")


def _err(msg: str, code: int) -> "typer.Exit":
    typer.echo(f"mpic: {msg}", err=True)
    return typer.Exit(code)


def _run(fn, *args, **kwargs):
    """Call into scripts.fleet, mapping its errors to exit codes and one-line messages."""
    from config.errors import ConfigError
    from scripts.fleet.challenges import ChallengeError
    from scripts.fleet.faults import FaultError
    from scripts.fleet.fleet import FleetError, NonCompliantError
    from scripts.fleet.plan import PlanError
    from scripts.fleet.proc import CommandError

    try:
        return fn(*args, **kwargs)
    except (ConfigError, ChallengeError, FaultError, PlanError) as exc:
        raise _err(str(exc), EXIT_BAD_INPUT) from None
    except NonCompliantError as exc:
        raise _err(str(exc), EXIT_NONCOMPLIANT) from None
    except (FleetError, CommandError) as exc:
        raise _err(str(exc), EXIT_FAILED) from None


def _root() -> None:
    if os.geteuid() != 0:
        raise _err("the local fleet needs root (network namespaces, ports 53/80/443 inside them). "
                   "Run it as root, e.g. `sudo ./scripts/mpic up`.", EXIT_FAILED)


def _progress():
    t0 = time.monotonic()

    def say(msg: str) -> None:
        typer.echo(f"[{time.monotonic() - t0:6.1f}s] {msg}", err=True)
    return say


@app.command()
def up(stack: str = typer.Argument("local", help="Stack name (stacks/Pulumi.<name>.yaml) or path to a stack YAML."),
       verify: bool = typer.Option(True, help="End with one real MPIC request and print its verdict.")) -> None:
    """Start the local fleet of STACK (idempotent): mini-internet, regions, coordinator, then one real request."""
    from scripts.fleet import fleet

    _root()
    st = _run(fleet.up, stack, _progress(), verify=verify)
    typer.echo(f"coordinator_url: {st['coordinator_url']}")
    typer.echo(f"api_key:         {st['api_key']}")
    typer.echo(f"ca_cert:         {st['ca_cert']}")
    typer.echo(f"test_domain:     {st['test_domain']}")
    typer.echo(f"try: curl --cacert {st['ca_cert']} -H 'x-api-key: {st['api_key']}' "
               f"{st['coordinator_url']}/mpic -d '{{\"check_type\":\"caa\",\"domain_or_ip_target\":\"{st['test_domain']}\"}}'")


@app.command()
def down(stack: Optional[str] = typer.Argument(None, help="Stack to remove (default: every local fleet that is up).")) -> None:
    """Stop the local fleet: every process, namespace, link and file it created (also after a crash)."""
    from scripts.fleet import fleet

    _root()
    removed = _run(fleet.down, stack, _progress())
    if not removed:
        typer.echo("mpic: no local fleet recorded; nothing to do", err=True)


@app.command()
def status(stack: Optional[str] = typer.Argument(None, help="Stack (default: the fleet that is up)."),
           as_json: bool = typer.Option(False, "--json", help="One JSON object (for scripts and the smoke suite).")) -> None:
    """Where the running fleet is: coordinator URL, API key, CA, perspectives, hosts."""
    from scripts.fleet import fleet

    _root()
    st = _run(fleet.status, stack)
    if as_json:
        typer.echo(json.dumps(st, indent=1))
        return
    typer.echo(f"stack {st['stack']}: coordinator {st['coordinator_url']} (CA {st['ca_cert']}), "
               f"test domain {st['test_domain']}")
    for row in _run(fleet.process_table, stack):
        typer.echo(f"  {'up  ' if row['alive'] else 'DOWN'} {row['name']:<28} pid {row['pid']:<8} {row['netns']}")


# ------------------------------------------------------------------------------------ challenge
@challenge_app.command("txt")
def challenge_txt(name: str, value: str, stack: Optional[str] = StackOpt) -> None:
    """Add a TXT record NAME "VALUE" (dns-change, acme-dns-01, contact-*-txt)."""
    from scripts.fleet import challenges
    _root()
    zone = _run(challenges.set_txt, stack, name, value)
    typer.echo(f"{name} TXT \"{value}\" (zone {zone}, signed, TTL 1)")


@challenge_app.command("cname")
def challenge_cname(name: str, target: str, stack: Optional[str] = StackOpt) -> None:
    """Set NAME CNAME TARGET."""
    from scripts.fleet import challenges
    _root()
    zone = _run(challenges.set_cname, stack, name, target)
    typer.echo(f"{name} CNAME {target} (zone {zone})")


@challenge_app.command("caa")
def challenge_caa(name: str, value: str = typer.Argument(..., help="'FLAGS TAG \"VALUE\"', e.g. '0 issue \"ca.example\"'"),
                  stack: Optional[str] = StackOpt) -> None:
    """Add a CAA record at NAME."""
    from scripts.fleet import challenges
    _root()
    zone = _run(challenges.set_caa, stack, name, value)
    typer.echo(f"{name} CAA {value} (zone {zone})")


@challenge_app.command("http")
def challenge_http(host: str, path: str, content: str, stack: Optional[str] = StackOpt) -> None:
    """Serve CONTENT at http://HOST/PATH and https://HOST/PATH (website-change, acme-http-01)."""
    from scripts.fleet import challenges
    _root()
    _run(challenges.set_http, stack, host, path, content)
    typer.echo(f"http://{host}/{path.lstrip('/')} and https://{host}/{path.lstrip('/')} serve {len(content)} bytes")


@challenge_app.command("zone")
def challenge_zone(file: str, origin: Optional[str] = typer.Option(None, help="Origin if the file has no $ORIGIN."),
                   stack: Optional[str] = StackOpt) -> None:
    """Load a zone file (any origin), signed and delegated from the fake root. @INTERNET_IP@ is substituted."""
    from scripts.fleet import challenges
    _root()
    o = _run(challenges.load_zone, stack, file, origin)
    typer.echo(f"zone {o} loaded from {file} (DNSSEC-signed, delegated with DS)")


@challenge_app.command("clear")
def challenge_clear(stack: Optional[str] = StackOpt) -> None:
    """Remove every record, HTTP file and zone set with `mpic challenge`."""
    from scripts.fleet import challenges
    _root()
    c = _run(challenges.clear, stack)
    typer.echo(f"cleared {c['records']} records, {c['http']} http files, {c['zones']} zones")


# ------------------------------------------------------------------------------------ fault
@fault_app.command("kill-replica")
def fault_kill_replica(region: str = typer.Argument(..., help="Region code, or `coordinator`."),
                       stack: Optional[str] = StackOpt) -> None:
    """SIGKILL one replica of REGION; its load balancer fails over."""
    from scripts.fleet import faults
    _root()
    typer.echo(f"killed {_run(faults.kill_replica, stack, region)}")


@fault_app.command("kill-region")
def fault_kill_region(region: str, stack: Optional[str] = StackOpt) -> None:
    """SIGKILL every process of REGION (relay, HAProxy, replicas, resolver)."""
    from scripts.fleet import faults
    _root()
    typer.echo(f"killed {', '.join(_run(faults.kill_region, stack, region)) or 'nothing (already down)'}")


@fault_app.command("kill-resolver")
def fault_kill_resolver(region: str, stack: Optional[str] = StackOpt) -> None:
    """SIGKILL REGION's Unbound: its perspectives report resolver errors."""
    from scripts.fleet import faults
    _root()
    typer.echo(f"killed {', '.join(_run(faults.kill_resolver, stack, region)) or 'nothing (already down)'}")


@fault_app.command("partition")
def fault_partition(region: str, stack: Optional[str] = StackOpt) -> None:
    """Drop REGION's backbone traffic (nft): the coordinator's calls to it time out."""
    from scripts.fleet import faults
    _root()
    _run(faults.partition, stack, region)
    typer.echo(f"{region}: backbone traffic dropped")


@fault_app.command("slow")
def fault_slow(region: str, ms: float, stack: Optional[str] = StackOpt) -> None:
    """Add MS ms of one-way delay on REGION's backbone."""
    from scripts.fleet import faults
    _root()
    total = _run(faults.slow, stack, region, ms)
    typer.echo(f"{region}: one-way backbone delay now {total:.1f} ms")


@fault_app.command("heal")
def fault_heal(stack: Optional[str] = StackOpt) -> None:
    """Undo every fault: restart killed processes, remove nft rules, restore delays."""
    from scripts.fleet import faults
    _root()
    done = _run(faults.heal, stack)
    typer.echo(f"healed: restarted {', '.join(done['restarted']) or 'nothing'}; "
               f"unpartitioned {', '.join(done['partitioned']) or 'nothing'}; "
               f"delays restored {', '.join(done['slow']) or '-'}")


# ------------------------------------------------------------------------------------ smoke
def smoke_target(stack: str) -> str | None:
    """The target of a stack file in stacks/ (None for a stack known only to Pulumi)."""
    from config.errors import ConfigError
    from config.stackfile import load_stack

    try:
        return load_stack(stack).target
    except ConfigError:
        return None


@app.command()
def smoke(stack: str = typer.Argument("local", help="Stack to check: local (namespaces) or a deployed stack."),
          pytest_args: Optional[list[str]] = typer.Argument(None, help="Extra pytest arguments (after --).")) -> None:
    """Run the smoke suite (tests/smoke) against STACK: host and API checks (k8s: also pod checks)."""
    from scripts.fleet.proc import KIT_ROOT

    env = {**os.environ, "MPIC_SMOKE_STACK": stack}
    suites = [KIT_ROOT / "tests" / "smoke"]
    if smoke_target(stack) == "k8s":
        suites.append(KIT_ROOT / "tests" / "k8s" / "smoke")
    argv = [sys.executable, "-m", "pytest", *map(str, suites), "-q", "-p", "no:cacheprovider",
            "--no-cov", *(pytest_args or [])]
    code = subprocess.call(argv, cwd=str(KIT_ROOT), env=env)
    raise typer.Exit(EXIT_OK if code == 0 else EXIT_FAILED)
