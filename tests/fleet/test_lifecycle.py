"""up/down/status/challenge on the real fleet: idempotence, crash recovery, the CLI, live challenges."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.actions import challenges

from local.engine import netns
from local.engine import lifecycle as fleetmod
from local.actions.client import mpic
from local.engine.supervisor import start_process
from local.engine.proc import KIT_ROOT, alive, run
from local.engine.state import State

pytestmark = [pytest.mark.root]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=KIT_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _region_dig(fleet, name: str, rtype: str) -> str:
    region = next(h for h in fleet["hosts"] if h["role"] == "perspective")
    return run(["kdig", "@127.0.0.1", "+dnssec", "+time=2", name, rtype], netns=region["netns"], check=False).stdout


VOLATILE = ("canary", "coordinator_sites")
"""Status keys that report what happens while the fleet runs (the canary's last run, health checks)."""


def _stable(status: dict) -> dict:
    return {k: v for k, v in status.items() if k not in VOLATILE}


def test_up_is_idempotent(fleet):
    before = State.load(fleet["stack"]).data["processes"]
    t = time.monotonic()
    again = fleetmod.up(fleet["stack"])
    assert time.monotonic() - t < 10
    assert _stable(again) == _stable(fleet)
    after = State.load(fleet["stack"]).data["processes"]
    assert {k: v["pid"] for k, v in after.items()} == {k: v["pid"] for k, v in before.items()}


def test_status_json_cli(fleet):
    res = cli("status", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rows = out.pop("processes")
    assert _stable(out) == _stable(fleet)
    assert rows and all(r["alive"] and r["user"] == r["planned_user"] for r in rows), rows
    plain = cli("status")
    assert plain.returncode == 0 and "coordinator" in plain.stdout


def test_challenge_txt_is_live_within_a_second(fleet):
    name = f"_acme-challenge.live-{secrets.token_hex(4)}.{fleet['test_domain']}"
    res = cli("challenge", "txt", name, "first")
    assert res.returncode == 0, res.stderr
    assert '"first"' in _region_dig(fleet, name, "TXT")
    t = time.monotonic()
    challenges.set_txt(fleet["stack"], name, "second")
    while '"second"' not in _region_dig(fleet, name, "TXT"):
        assert time.monotonic() - t < 1.5, "a change must be visible within a second"
        time.sleep(0.05)
    out = _region_dig(fleet, name, "TXT")
    assert "RRSIG" in out and " ad" in out.split("Flags:")[1].split(";")[0], out  # re-signed and validated


@pytest.mark.parametrize("args", [
    ("challenge", "txt", "name.outside-the-fleet.org", "x"),
    ("challenge", "caa", "x.{td}", "issue ca"),
    ("challenge", "http", "x.{td}", "../etc/passwd", "x"),
    ("fault", "kill-region", "mars-north-1"),
    ("up", "no-such-stack"),
])
def test_bad_input_exits_2(fleet, args):
    res = cli(*(a.format(td=fleet["test_domain"]) for a in args))
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stderr.startswith("mpic: ") and "Traceback" not in res.stderr


def test_zone_any_origin_gets_a_signed_delegation_chain(fleet, tmp_path):
    origin = f"ca-{secrets.token_hex(3)}.test"
    zone = tmp_path / "z.zone"
    zone.write_text(f"$ORIGIN {origin}.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 3600 600 86400 1\n@ IN NS ns1\n"
                    f"ns1 IN A @INTERNET_IP@\ncaa-deny IN CAA 0 issue \"other.example\"\n")
    res = cli("challenge", "zone", str(zone))
    assert res.returncode == 0, res.stderr
    assert cli("challenge", "zone", str(zone)).returncode == 0  # loaded again: still the owner of the TLD it added
    out = _region_dig(fleet, f"caa-deny.{origin}", "CAA")
    assert 'issue "other.example"' in out and " ad" in out.split("Flags:")[1].split(";")[0], out
    code, resp = mpic(fleet, {"check_type": "caa", "domain_or_ip_target": f"caa-deny.{origin}",
                                       "caa_check_parameters": {"caa_domains": ["ca.fleet.example"]}})
    assert code == 200 and resp["is_valid"] is False
    res = cli("challenge", "clear")
    assert res.returncode == 0, res.stderr
    assert "test." not in State.load(fleet["stack"]).data["zones"]  # the TLD the kit added went with it
    time.sleep(1.1)
    assert "NXDOMAIN" in _region_dig(fleet, f"caa-deny.{origin}", "CAA")


def test_down_after_crash_removes_everything(tmp_path, monkeypatch):
    """A crashed `up` (state written, processes and namespaces left, one unrecorded process)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    monkeypatch.setenv("MPIC_FLEET_RUN", str(tmp_path / "run"))
    stack = "crashtest"
    state = State.new(stack)
    state.workdir.mkdir(parents=True)
    state.save()
    ns = "mpic-crashtest-x"
    netns.create_namespace(state, ns)
    from plan.local import LinkPlan
    netns.create_link(state, LinkPlan(None, "mpic-crashtst", None, ns, "h0", "10.250.77.2/30"))
    netns.write_resolv_conf(state, ns, "127.0.0.1")
    rec = start_process(state, "sleeper", ["sleep", "600"], ns, "test")
    stray = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])  # started, never recorded
    time.sleep(0.2)
    assert alive(rec) and stray.poll() is None
    assert fleetmod.down(stack) == [stack]
    stray.wait(5)
    assert not alive(rec)
    assert ns not in netns.existing_namespaces()
    assert "mpic-crashtst" not in run(["ip", "-o", "link"]).stdout
    assert not Path(f"/etc/netns/{ns}").exists()
    assert not (tmp_path / "run" / stack).exists()


def test_non_compliant_stack_is_refused_before_anything_starts(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (mpic up refuses to run without it)")
    f = tmp_path / "Pulumi.bad.yaml"
    f.write_text("config:\n  mpic:target: local\n  mpic:primary: us-east-1\n"
                 "  mpic:perspectives: [eu-west-1, eu-west-2, eu-west-3]\n")
    res = cli("up", str(f))
    assert res.returncode == 1, res.stderr
    assert "VIOLATION R1" in res.stderr and "nothing started" in res.stderr
    assert State.load("bad") is None
