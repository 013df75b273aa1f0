"""The local fleet repairs itself for real: a restarted server serves again, or `up`/`heal` fail loudly."""

from __future__ import annotations

import os
import secrets
import signal
import time

import pytest
from typer.testing import CliRunner

from cli.__main__ import app
from local.actions import challenges, faults
from local.internet import dns
from local.engine import lifecycle
from local.actions.client import curl, mpic
from local.internet.dns import validated_answer
from local.engine.proc import alive
from local.engine.state import State

pytestmark = [pytest.mark.root, pytest.mark.fleet]


def _proc(fleet, name: str) -> dict:
    return State.load(fleet["stack"]).data["processes"][name]


def _region_ns(fleet) -> str:
    return next(h["netns"] for h in fleet["hosts"] if h["role"] == "perspective")


def test_knotd_killed_then_up_serves_every_zone_signed_as_before(healed, dns_change):
    fleet = healed
    before = dns.Knot(State.load(fleet["stack"]).workdir).ksk_dnskeys(".")
    os.kill(_proc(fleet, "knotd")["pid"], signal.SIGKILL)
    time.sleep(0.3)
    lifecycle.up(fleet["stack"], verify=True)  # restarts knotd, waits for validated answers
    assert dns.Knot(State.load(fleet["stack"]).workdir).ksk_dnskeys(".") == before
    assert validated_answer(_region_ns(fleet), fleet["test_domain"])
    code, resp = mpic(fleet, dns_change)  # the challenge set before the crash is still served
    assert code == 200 and resp["is_valid"] is True, resp


def test_nginx_master_killed_heal_clears_its_orphaned_worker(healed):
    fleet = healed
    host = f"orphan-{secrets.token_hex(3)}.{fleet['test_domain']}"
    challenges.set_http(fleet["stack"], host, "probe.txt", "still-here")
    os.kill(_proc(fleet, "nginx")["pid"], signal.SIGKILL)  # its worker keeps ports 80/443
    time.sleep(0.3)
    res = CliRunner().invoke(app, ["status"])
    assert res.exit_code == 1 and "nginx" in res.output and "down" in res.output
    done = faults.heal(fleet["stack"])
    assert "nginx" in done["restarted"]
    assert alive(_proc(fleet, "nginx"))
    assert curl(_region_ns(fleet), f"http://{host}/probe.txt") == (200, "still-here")
    assert CliRunner().invoke(app, ["status"]).exit_code == 0
