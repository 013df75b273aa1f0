"""The ``mpic`` commands in-process against the running local fleet: what they print, what they change."""

from __future__ import annotations

import secrets
import time

import pytest
from typer.testing import CliRunner

from cli.__main__ import app
from local.actions import faults
from local.actions.client import curl
from local.engine.proc import alive, run
from local.engine.state import State, stack_dir

pytestmark = [pytest.mark.root, pytest.mark.fleet]
runner = CliRunner()


def mpic(*args: str):
    return runner.invoke(app, list(args))


def _region_ns(fleet, code: str | None = None) -> str:
    """A perspective host of ``code`` (any region by default): where validation traffic starts."""
    hosts = [h for h in fleet["hosts"] if h["role"] == "perspective"]
    return next(h["netns"] for h in hosts if code is None or h.get("region") == code)


def _lb_ns(fleet, code: str) -> str:
    return next(h["netns"] for h in fleet["hosts"] if h["role"] == "lb" and h.get("region") == code)


def _dig(fleet, name: str, rtype: str) -> str:
    return run(["kdig", "@127.0.0.1", "+time=2", name, rtype], netns=_region_ns(fleet), check=False).stdout


def test_up_again_prints_where_the_fleet_is(fleet):
    res = mpic("up", fleet["stack"], "--no-verify")
    assert res.exit_code == 0, res.output
    assert f"coordinator_url: {fleet['coordinator_url']}" in res.stdout
    assert f"api_key:         {fleet['api_key']}" in res.stdout and "try: curl " in res.stdout and "--cacert " in res.stdout


def test_status_lists_every_process_up(fleet):
    res = mpic("status")
    assert res.exit_code == 0, res.output
    rows = [line for line in res.stdout.splitlines() if line.startswith("  ")]
    assert rows and all(line.startswith("  up  ") for line in rows), res.stdout
    assert any("knotd" in line for line in rows) and any("coordinator#1" in line for line in rows)


def test_down_of_a_stack_that_is_not_up_changes_nothing(fleet):
    res = mpic("down", "no-such-stack")
    assert res.exit_code == 0 and "nothing to do" in res.output
    assert State.load(fleet["stack"]).data["status"] == "up"
    assert not stack_dir("no-such-stack").exists()  # no folder (with a .lock) left behind


def test_challenge_cname_caa_and_http_are_served(fleet):
    base = f"cli-{secrets.token_hex(3)}.{fleet['test_domain']}"
    assert mpic("challenge", "cname", f"alias.{base}", f"target.{base}").exit_code == 0
    assert f"target.{base}." in _dig(fleet, f"alias.{base}", "CNAME")
    res = mpic("challenge", "caa", base, '0 issue "ca.cli.example"')
    assert res.exit_code == 0 and "CAA" in res.stdout
    assert 'issue "ca.cli.example"' in _dig(fleet, base, "CAA")
    res = mpic("challenge", "http", f"web.{base}", ".well-known/pki-validation/t.txt", "token-1")
    assert res.exit_code == 0 and "serve 7 bytes" in res.stdout
    code, body = curl(_region_ns(fleet), f"http://web.{base}/.well-known/pki-validation/t.txt")
    assert (code, body) == (200, "token-1")


@pytest.mark.parametrize("args, needle", [
    (("challenge", "cname", "bad..name", "x.example"), "not a valid DNS name"),
    (("challenge", "http", "bad_host!", "p.txt", "x"), "not a valid host name"),
    (("challenge", "zone", "/nonexistent/zone.file"), "zone file /nonexistent/zone.file"),
    (("challenge", "ip", "a.fleet-test.example", "300.1.1.1"), "not an IPv4 or IPv6 address"),
    (("challenge", "reverse", "host.example", "h.fleet-test.example"), "not an IPv4 or IPv6 address"),
    (("challenge", "contact", "a.fleet-test.example", "fax", "1"), "use email or phone"),
    (("challenge", "contact", "a.fleet-test.example", "email", "a@b", "--via", "mx"), "use txt or caa"),
    (("challenge", "persistent", "a.fleet-test.example", "ca.example", "no uri"), "account URI"),
    (("challenge", "tls-alpn", "a.fleet-test.example", "abcd"), "64 hex digits"),
    (("challenge", "tls-alpn", "192.0.2.1", "00" * 32), "IP identifiers on"),
    (("challenge", "tls-alpn", "a.outside-the-fleet.org", "00" * 32), "in no zone the fleet serves"),
    (("challenge", "caa", "a.fleet-test.example", "issuemail ca"), "FLAGS TAG"),
    (("fault", "slow", "eu-west-1", "70000"), "give 0..60000"),
    (("fault", "kill-resolver", "mars-north-1"), "not in this fleet"),
    (("fault", "partition", "mars-north-1"), "not in this fleet"),
])
def test_bad_input_exits_2_with_the_reason(fleet, args, needle):
    res = mpic(*args)
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output


def test_method_challenges_are_served_and_cleared_by_name(fleet):
    base = f"cli-{secrets.token_hex(3)}.{fleet['test_domain']}"
    other = f"keep-{secrets.token_hex(3)}.{fleet['test_domain']}"
    res = mpic("challenge", "persistent", base, "CA.example", "https://ca.example/acct/7", "--persist-until", "1999999999")
    assert res.exit_code == 0 and f"_validation-persist.{base}." in res.stdout
    assert "ca.example; accounturi=https://ca.example/acct/7; persistUntil=1999999999" in \
        _dig(fleet, f"_validation-persist.{base}", "TXT")
    assert mpic("challenge", "contact", base, "phone", "+1 555 0100", "--via", "caa").exit_code == 0
    assert 'contactphone "+1 555 0100"' in _dig(fleet, base, "CAA")
    assert mpic("challenge", "contact", base, "email", "admin@example.org").exit_code == 0
    assert '"admin@example.org"' in _dig(fleet, f"_validation-contactemail.{base}", "TXT")
    assert mpic("challenge", "ip", f"v6.{base}", "2001:db8::7").exit_code == 0
    assert "2001:db8::7" in _dig(fleet, f"v6.{base}", "AAAA")
    res = mpic("challenge", "reverse", "45.9.8.7", f"host.{base}")
    assert res.exit_code == 0 and "7.8.9.45.in-addr.arpa." in res.stdout
    assert f"host.{base}." in _dig(fleet, "7.8.9.45.in-addr.arpa", "PTR")
    res = mpic("challenge", "tls-alpn", f"alpn.{base}", "ab" * 32)
    assert res.exit_code == 0 and ":443" in res.stdout
    assert mpic("challenge", "txt", f"_acme-challenge.{other}", "kept").exit_code == 0
    state = State.load(fleet["stack"]).data["challenges"]
    assert [a["identifier"] for a in state["alpn"]].count(f"alpn.{base}") == 1
    res = mpic("challenge", "clear", base)
    assert res.exit_code == 0 and "cleared 5 records, 0 http files, 1 tls-alpn certificates, 0 zones" in res.stdout
    time.sleep(1.1)  # TTL 1
    assert "ANSWER: 0;" in _dig(fleet, f"_validation-persist.{base}", "TXT")  # (the wildcard A answers NODATA)
    assert '"kept"' in _dig(fleet, f"_acme-challenge.{other}", "TXT")  # another name's challenge stays
    res = mpic("challenge", "clear", "45.9.8.7")
    assert res.exit_code == 0 and "cleared 1 records" in res.stdout
    time.sleep(1.1)
    assert "NXDOMAIN" in _dig(fleet, "7.8.9.45.in-addr.arpa", "PTR")
    assert mpic("challenge", "clear", other).exit_code == 0


def test_zone_file_without_origin_or_ns_is_refused(fleet, tmp_path):
    no_origin = tmp_path / "a.zone"
    no_origin.write_text("@ IN SOA ns hostmaster 1 3600 600 86400 1\n")
    assert "no $ORIGIN" in mpic("challenge", "zone", str(no_origin)).output
    no_ns = tmp_path / "b.zone"
    no_ns.write_text("$ORIGIN nons.test.\n@ IN SOA ns hostmaster 1 3600 600 86400 1\n")
    res = mpic("challenge", "zone", str(no_ns))
    assert res.exit_code == 2 and "no NS record at the apex" in res.output
    root = tmp_path / "c.zone"
    root.write_text("$ORIGIN .\n@ IN SOA ns.x. h.x. 1 3600 600 86400 1\n@ IN NS ns.x.\n")
    assert "the root zone is the fleet's own" in mpic("challenge", "zone", str(root)).output


def test_fault_commands_break_and_heal(healed):
    fleet = healed
    region = fleet["perspectives"][1]["code"]
    procs = State.load(fleet["stack"]).data["processes"]
    resolvers = [f"unbound@perspective-{region}-{j}" for j in (1, 2)]
    res = mpic("fault", "kill-resolver", region)
    assert res.exit_code == 0 and all(name in res.stdout for name in resolvers)
    assert not any(alive(State.load(fleet["stack"]).data["processes"][name]) for name in resolvers)
    res = mpic("fault", "slow", region, "250")
    assert res.exit_code == 0 and "one-way backbone delay now 250.0 ms" in res.stdout
    res = mpic("fault", "partition", region)
    assert res.exit_code == 0 and "backbone traffic dropped" in res.stdout
    assert "mpic_fault" in run(["nft", "list", "tables"], netns=_lb_ns(fleet, region)).stdout
    res = mpic("fault", "heal")
    assert res.exit_code == 0, res.output
    assert all(name in res.stdout for name in resolvers) and f"unpartitioned {region}" in res.stdout
    assert f"delays restored {region}" in res.stdout
    assert "mpic_fault" not in run(["nft", "list", "tables"], netns=_lb_ns(fleet, region)).stdout
    res = mpic("fault", "kill-region", region)
    names = [n for n, r in procs.items() if r.get("region") == region]
    assert res.exit_code == 0 and all(n in res.stdout for n in names)
    res = mpic("fault", "kill-region", region)
    assert "nothing (already down)" in res.stdout
    assert mpic("fault", "heal").exit_code == 0
    deadline = time.monotonic() + 10
    while not all(alive(r) for r in State.load(fleet["stack"]).data["processes"].values()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert faults.active(fleet["stack"]) == {"killed": [], "partitioned": [], "slow": {}}
