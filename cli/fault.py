"""``mpic fault``: break the local fleet on purpose (game days, fault tests); ``heal`` undoes it."""

from __future__ import annotations

from typing import Optional

import typer

from cli import app
from cli.common import LOCAL_FLEET, guarded
from local.actions import faults
from local.errors import require_root

fault_app = typer.Typer(help="Break the local fleet on purpose (game days, fault tests); `heal` undoes it.",
                        no_args_is_help=True)
app.add_typer(fault_app, name="fault", rich_help_panel=LOCAL_FLEET)
StackOpt = typer.Option(None, "--stack", "-s", help="Stack of the running fleet (default: the one that is up).")


@fault_app.command("kill-replica")
def fault_kill_replica(region: str = typer.Argument(..., help="Region code, or `coordinator`."),
                       stack: Optional[str] = StackOpt) -> None:
    """SIGKILL one replica of REGION; its load balancer fails over."""
    guarded(require_root)
    typer.echo(f"killed {guarded(faults.kill_replica, stack, region)}")


@fault_app.command("kill-region")
def fault_kill_region(region: str, stack: Optional[str] = StackOpt) -> None:
    """SIGKILL every process of REGION (relay, HAProxy, replicas, resolver)."""
    guarded(require_root)
    typer.echo(f"killed {', '.join(guarded(faults.kill_region, stack, region)) or 'nothing (already down)'}")


@fault_app.command("kill-site")
def fault_kill_site(site: str = typer.Argument(..., help="primary or standby"), stack: Optional[str] = StackOpt) -> None:
    """SIGKILL a coordinator site (replicas and load balancer): the coordinator's name fails over."""
    guarded(require_root)
    typer.echo(f"killed {', '.join(guarded(faults.kill_site, stack, site)) or 'nothing (already down)'}")


@fault_app.command("kill-resolver")
def fault_kill_resolver(region: str, stack: Optional[str] = StackOpt) -> None:
    """SIGKILL REGION's Unbound: its perspectives report resolver errors."""
    guarded(require_root)
    typer.echo(f"killed {', '.join(guarded(faults.kill_resolver, stack, region)) or 'nothing (already down)'}")


@fault_app.command("partition")
def fault_partition(region: str, stack: Optional[str] = StackOpt) -> None:
    """Drop REGION's backbone traffic (nft): the coordinator's calls to it time out."""
    guarded(require_root)
    guarded(faults.partition, stack, region)
    typer.echo(f"{region}: backbone traffic dropped")


@fault_app.command("slow")
def fault_slow(region: str, ms: float, stack: Optional[str] = StackOpt) -> None:
    """Add MS ms of one-way delay on REGION's backbone."""
    guarded(require_root)
    total = guarded(faults.slow, stack, region, ms)
    typer.echo(f"{region}: one-way backbone delay now {total:.1f} ms")


@fault_app.command("heal")
def fault_heal(stack: Optional[str] = StackOpt) -> None:
    """Undo every fault: restart killed processes, remove nft rules, restore delays."""
    guarded(require_root)
    done = guarded(faults.heal, stack)
    typer.echo(f"healed: restarted {', '.join(done['restarted']) or 'nothing'}; "
               f"unpartitioned {', '.join(done['partitioned']) or 'nothing'}; "
               f"delays restored {', '.join(done['slow']) or '-'}")
