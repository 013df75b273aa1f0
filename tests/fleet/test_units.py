"""Fleet pieces that need no root: the WAN relay, zone parsing, configs, state, Route53 (moto)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from local.internet import dns

from local.roles import lb
from plan.local import RegionSpec, plan_fleet
from local.daemons.relay import Clock, Relay, loop_factory as relay_loop_factory
from local.engine.state import State, list_stacks, locked, state_path


# ------------------------------------------------------------------------------ relay
async def _relay_to(upstream_port: int, delay_ms: float) -> tuple[Relay, asyncio.AbstractServer, int]:
    relay = Relay(("127.0.0.1", upstream_port), None, delay_ms)
    front = await asyncio.get_running_loop().create_server(relay.protocol, "127.0.0.1", 0)
    return relay, front, front.sockets[0].getsockname()[1]


async def _echo_through_relay(delay_ms: float, rounds: int = 3) -> float:
    async def echo(reader, writer):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    relay, front, port = await _relay_to(server.sockets[0].getsockname()[1], delay_ms)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    for i in range(rounds):
        writer.write(f"ping {i}\n".encode())
        await writer.drain()
        assert await reader.readline() == f"ping {i}\n".encode()
    elapsed = (time.monotonic() - t0) / rounds
    writer.close()
    front.close()
    server.close()
    relay.close()
    return elapsed * 1000


def _run(coro, loop_factory=asyncio.new_event_loop):
    """Own loop, never installed: asyncio.run() would leave the main thread without a current
    loop, which breaks later tests that call asyncio.get_event_loop() (Pulumi's mocks)."""
    loop = loop_factory()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 30))  # a relay that stalls fails, never hangs
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:  # gather() of nothing would take the thread's loop, not this one
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


_UVLOOP = relay_loop_factory()
LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio"),
         pytest.param(_UVLOOP, id="uvloop", marks=pytest.mark.skipif(_UVLOOP is None, reason="uvloop not installed"))]
"""The relay runs on uvloop in the fleet (the kit's .venv ships it) and on the stock loop without it."""


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_relay_adds_two_one_way_delays_per_round_trip(loop_factory):
    rtt = _run(_echo_through_relay(40), loop_factory)
    assert 80 <= rtt < 140, rtt


def test_relay_without_delay_is_fast():
    assert _run(_echo_through_relay(0)) < 20


async def _chunks_through_relay(delay_ms: float, count: int, gap: float,
                                change: Callable[[Relay], None] | None = None
                                ) -> tuple[list[float], list[float], bytes, Relay]:
    """Send ``count`` chunks ``gap`` s apart (``change`` applied to the relay after the first);
    return when each chunk was sent and when it was complete upstream (ms after the first send),
    and all bytes received."""
    received = bytearray()
    complete: dict[int, float] = {}
    chunks = [f"<{i:03d}>".encode() for i in range(count)]
    done = asyncio.Event()

    async def sink(reader, writer):
        while data := await reader.read(65536):
            received.extend(data)
            now = time.monotonic()
            for i, chunk in enumerate(chunks):
                if i not in complete and chunk in received:
                    complete[i] = now
        done.set()
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    relay, front, port = await _relay_to(server.sockets[0].getsockname()[1], delay_ms)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = []
    for i, chunk in enumerate(chunks):
        sent.append(time.monotonic())
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(gap)
        if i == 0 and change is not None:
            await asyncio.sleep(0.01)  # the relay has read the first chunk
            change(relay)
    writer.close()
    await asyncio.wait_for(done.wait(), 10)
    front.close()
    server.close()
    relay.close()
    return ([(t - sent[0]) * 1000 for t in sent], [(complete[i] - sent[0]) * 1000 for i in range(count)],
            bytes(received), relay)


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_relay_holds_every_chunk_at_least_the_delay_in_order(loop_factory):
    sent, complete, received, relay = _run(_chunks_through_relay(30, 12, 0.004), loop_factory)
    assert received == b"".join(f"<{i:03d}>".encode() for i in range(12))
    held = [c - s for s, c in zip(sent, complete)]
    assert min(held) >= 30, held
    summary = relay.holds["to_upstream"].summary()
    assert summary["chunks"] >= 12 and summary["late_ms_min"] >= 0  # 12 chunks and the close


def test_relay_keeps_order_when_the_delay_drops():
    """A delay cut (``mpic fault heal`` after ``slow``) never lets later data overtake earlier data."""
    def cut(relay: Relay) -> None:
        relay.delay = 0.0

    _, complete, received, _ = _run(_chunks_through_relay(80, 3, 0.001, cut))
    assert received == b"<000><001><002>"
    assert min(complete) >= 80, complete  # the later ones waited behind the first chunk's 80 ms


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_relay_forwards_eof_after_the_data_and_keeps_the_other_direction(loop_factory):
    async def scenario() -> tuple[bytes, float, bytes]:
        seen: list[tuple[bytes, float]] = []

        async def upstream(reader, writer):
            request = await reader.read()  # until the client's EOF
            seen.append((request, time.monotonic()))
            writer.write(b"answer to " + request)  # the half-closed connection still carries it
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(upstream, "127.0.0.1", 0)
        relay, front, port = await _relay_to(server.sockets[0].getsockname()[1], 25)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"question")
        t0 = time.monotonic()
        writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 10)  # until the relay forwards the close
        writer.close()
        front.close()
        server.close()
        relay.close()
        return seen[0][0], (seen[0][1] - t0) * 1000, answer

    request, eof_after, answer = _run(scenario(), loop_factory)
    assert request == b"question" and eof_after >= 25
    assert answer == b"answer to question"


def test_relay_closes_the_client_when_the_upstream_is_unreachable():
    async def scenario() -> bytes | None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]  # nothing listens there once closed
        relay, front, port = await _relay_to(closed_port, 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello")
        try:
            data: bytes | None = await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:  # closed with "hello" unread: the kernel resets
            data = None
        writer.close()
        front.close()
        relay.close()
        return data

    assert _run(scenario()) in (b"", None)  # closed (not left hanging until the 5 s timeout)


def test_relay_clock_runs_callbacks_in_time_order_never_early():
    async def scenario() -> list[tuple[str, float, float]]:
        clock = Clock(asyncio.get_running_loop())
        ran: list[tuple[str, float, float]] = []
        done = asyncio.Event()
        now = time.monotonic()

        def at(name: str, when: float) -> None:
            clock.at(when, lambda: ran.append((name, when, time.monotonic())))

        at("c", now + 0.030)
        at("a", now + 0.010)
        at("past", now - 1)  # already due: runs at once
        at("b", now + 0.010)  # due with "a": after it, as scheduled
        at("e", now + 0.0115)
        at("d", now + 0.011)
        clock.at(now + 0.040, done.set)
        await asyncio.wait_for(done.wait(), 5)
        clock.close()
        return ran

    ran = _run(scenario())
    assert [name for name, _, _ in ran] == ["past", "a", "b", "d", "e", "c"]
    assert all(at >= when for _, when, at in ran)


def test_relay_report_is_one_json_line_per_direction_then_resets():
    relay = Relay(("127.0.0.1", 1), None, 12.5)
    for late in (0.0001, 0.0003, 0.0002):
        relay.holds["to_client"].add(late)
    report = json.loads(relay.report())["relay_holds"]
    assert report["delay_ms"] == 12.5 and report["to_upstream"] == {"chunks": 0}
    assert report["to_client"] == {"chunks": 3, "late_ms_min": 0.1, "late_ms_p50": 0.2, "late_ms_p99": 0.3,
                                   "late_ms_max": 0.3}
    assert json.loads(relay.report())["relay_holds"]["to_client"] == {"chunks": 0}


def test_relay_reloads_delay_file(tmp_path):
    f = tmp_path / "delay_ms"
    f.write_text("12.5\n")
    relay = Relay(("127.0.0.1", 1), f)
    assert relay.delay == pytest.approx(0.0125)
    f.write_text("garbage")
    relay.reload()
    assert relay.delay == pytest.approx(0.0125)  # a bad file keeps the last good value


# ------------------------------------------------------------------------------ zones
PEER_LIKE = """$ORIGIN caatestsuite.com.
$TTL 60
caatestsuite.com. IN SOA ns0.caatestsuite.com. h.caatestsuite.com. 1 3600 600 86400 30
caatestsuite.com. IN NS ns0.caatestsuite.com.
caatestsuite.com. IN NS ns.elsewhere.example.
ns0 IN A 10.213.2.2
deny.basic IN CAA 0 issue "caatestsuite.com"
"""


def test_parse_zone_origin_ns_and_glue():
    info = dns.parse_zone(PEER_LIKE)
    assert info.origin == "caatestsuite.com."
    assert info.ns == ("ns.elsewhere.example.", "ns0.caatestsuite.com.")
    assert info.glue == (("ns0.caatestsuite.com.", "A", "10.213.2.2"),)
    recs = dns.delegation_records(info, ["1 13 2 AB"])
    assert ("caatestsuite.com.", 60, "DS", "1 13 2 AB") in recs
    assert ("ns0.caatestsuite.com.", 60, "A", "10.213.2.2") in recs


def test_parse_zone_errors():
    with pytest.raises(ValueError, match=r"\$ORIGIN"):
        dns.parse_zone("@ IN A 1.2.3.4\n")
    with pytest.raises(ValueError, match="no NS"):
        dns.parse_zone("$ORIGIN x.example.\n@ 60 IN SOA a. b. 1 1 1 1 1\n")


def test_needed_tld_and_kit_zone():
    assert dns.needed_tld("caatestsuite.com.", [".", "example."]) == "com."
    assert dns.needed_tld("com.", ["."]) is None
    assert dns.needed_tld("a.example.", [".", "example."]) is None
    text = dns.kit_zone_text("fleet-test.example.", "10.213.2.2", apex_records=True)
    assert "*.fleet-test.example. 60 IN A 10.213.2.2" in text
    assert dns.parse_zone(text).origin == "fleet-test.example."
    with_name = dns.kit_zone_text("fleet-test.example.", "10.213.2.2", apex_records=True,
                                  records=(("mpic.fleet-test.example", 5, "A", "10.213.0.2"),))
    assert with_name.endswith("mpic.fleet-test.example. 5 IN A 10.213.0.2\n")


def test_the_coordinator_name_is_in_the_zone_from_the_start_with_the_primary():
    """Clients resolve the failover name as soon as the fleet serves (no wait for the health checker's
    first write, no wildcard answer before it); without a standby there is no such name."""
    from config.stackfile import load_stack
    from local.roles import failover
    from plan.local import plan_from_config

    cfg = load_stack("local")
    plan = plan_from_config(cfg)
    assert plan.standby is not None
    assert failover.initial_records(plan, cfg) == ((plan.coordinator_name, 5, "A", plan.sites[0].ip),)
    bare = plan_fleet("t", [RegionSpec("eu-west-1", "RIPE NCC", 53.35, -6.26)])
    assert bare.standby is None and failover.initial_records(bare, cfg) == ()


def test_knot_and_unbound_configs(tmp_path):
    from local.engine.state import State

    plan = plan_fleet("t", [RegionSpec("eu-west-1", "RIPE NCC", 53.35, -6.26), RegionSpec("us-west-2", "ARIN", 45.8, -119.7)])
    state = State("t", {"workdir": str(tmp_path)})
    zones = [".", "example.", "fleet-test.example."]
    text = dns.write_knot_conf(state, plan, zones).read_text()
    assert f"listen: [{plan.internet_ip}@53, {plan.dns_admin_ip}@53]" in text and "dnssec-signing: on" in text
    assert text.index('domain: "."') < text.index('domain: "example."')
    assert "acl:" not in text and "key:" not in text  # no canary: no update is ever accepted
    state.data["canary"] = {"key_name": "mpic-canary", "secret": "c2VjcmV0", "zone": "fleet-test.example.",
                            "record": "_mpic-canary.canary.fleet-test.example."}
    conf = dns.write_knot_conf(state, plan, zones)
    text = conf.read_text()
    assert "update-owner-name: [_mpic-canary.canary.fleet-test.example.]" in text and "update-type: [TXT]" in text
    zone_block = text.split('domain: "fleet-test.example."')[1]
    assert "acl: [canary-update]" in zone_block and "acl: [canary-update]" not in text.split('domain: "example."')[1].split("domain:")[0]
    assert conf.stat().st_mode & 0o077 == 0  # the TSIG secret is root's
    region = plan.regions[0]
    host = region.replicas[1]
    uconf = dns.write_unbound(tmp_path, plan, host, [". 60 DNSKEY 257 3 13 AAAA"]).read_text()
    assert f"outgoing-interface: {host.uplink_ip}" in uconf  # validation traffic leaves via the host's uplink
    assert "interface: 127.0.0.1" in uconf and "cache-max-ttl: 0" in uconf
    hap = lb.region_haproxy(region, ca=tmp_path / "ca", check_pem=tmp_path / "p", sock=tmp_path / "s")
    assert "uri /readyz" in hap and all(f"{h.lan_ip}:8443" in hap for h in region.replicas)
    assert "mode tcp" in hap  # TLS passthrough: mTLS ends at the replica
    chap = lb.coordinator_haproxy(plan.sites[0], tls_pem=tmp_path / "c.pem", sock=tmp_path / "s", internal_offset=1000)
    assert "retry-on conn-failure" in chap and "ssl crt" in chap
    assert "server c1 127.0.0.1:8001 check port 9001" in chap  # health from the replica's internal listener
    assert "unless { path /mpic /v1/mpic /readyz }" in chap and "gt 1048576" in chap


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
def test_haproxy_accepts_both_configs(tmp_path):
    from local.pki import LocalCa

    ca = LocalCa.load_or_create(tmp_path / "pki")
    cert, key = ca.issue_server("lb", dns_names=["localhost"])
    pem = tmp_path / "lb.pem"
    pem.write_text(cert.read_text() + key.read_text())
    plan = plan_fleet("t", [RegionSpec("eu-west-1", "RIPE NCC", 53.35, -6.26), RegionSpec("us-west-2", "ARIN", 45.8, -119.7)])
    for name, text in (("region", lb.region_haproxy(plan.regions[0], ca=ca.cert_path, check_pem=pem, sock=tmp_path / "r")),
                       ("coordinator", lb.coordinator_haproxy(plan.sites[0], tls_pem=pem, sock=tmp_path / "c", internal_offset=1000))):
        conf = tmp_path / f"{name}.cfg"
        conf.write_text(text)
        res = subprocess.run(["haproxy", "-c", "-f", str(conf)], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


# ------------------------------------------------------------------------------ coordinator settings
def test_coordinator_settings_carry_the_stack_quorum(tmp_path, monkeypatch):
    from config.model import StackConfig
    from local.engine import private as private_module
    from local.roles.coordinator import fleet_coordinator_settings
    from plan.local import plan_from_config
    from local.pki import LocalCa
    from service.settings import CoordinatorSettings

    monkeypatch.setenv("MPIC_FLEET_RUN", str(tmp_path / "run"))
    monkeypatch.setenv("MPIC_FLEET_LIB", str(tmp_path / "lib"))
    from local.roles import audit as local_audit

    for module in (local_audit, private_module):  # file owners need root and the runtime's user: not here
        monkeypatch.setattr(module, "own", lambda *a: None)
    ca = LocalCa.load_or_create(tmp_path / "pki")
    client = ca.issue_client("coordinator")
    pki = {"client": [str(client[0]), str(client[1])], "ca": str(ca.cert_path)}
    state = State.new("lab")
    state.workdir.mkdir(parents=True)
    state.data.update(api_key="k" * 32, hash_secret="s" * 32)
    regions = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]
    for quorum in (None, 5):
        raw = {"target": "local", "perspectives": regions, **({"quorum": quorum} if quorum else {})}
        cfg = StackConfig.from_config(raw, name="lab")
        fleet_plan = plan_from_config(cfg)
        doc = fleet_coordinator_settings(state, fleet_plan, fleet_plan.coordinator_replica_ports[0], pki, cfg, "coordinator#1")
        assert doc.get("default_quorum_count") == quorum  # unset: omitted, the core default applies
        own = private_module.folder(state, "coordinator#1")  # the replica sees it at <workdir>/private
        assert {Path(v).parent for v in doc["client_tls"].values()} == {private_module.root(state)}
        assert sorted(p.name for p in own.iterdir()) == ["audit.jsonl", "ca.crt", "client.crt", "client.key"]
        assert (doc["audit_site"], doc["audit_replica"]) == ("primary", "coordinator-1")
        assert local_audit.files("lab")[0].name == "primary--coordinator-1.jsonl"
        doc["client_tls"] = {k: str(own / Path(v).name) for k, v in doc["client_tls"].items()}
        s = CoordinatorSettings(**doc)
        assert (s.default_quorum_count, s.default_perspective_count) == (quorum, 5)


# ------------------------------------------------------------------------------ state
def test_state_roundtrip_and_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("MPIC_FLEET_RUN", str(tmp_path))
    s = State.new("lab")
    s.save()
    s.add_unique("namespaces", "mpic-lab-sw")
    s.add_unique("namespaces", "mpic-lab-sw")
    with locked("lab"):
        again = State.load("lab")
    assert again.data["namespaces"] == ["mpic-lab-sw"]
    assert list_stacks() == ["lab"]
    assert state_path("lab").parent == tmp_path / "lab"
    assert State.load("nothing") is None


# ------------------------------------------------------------------------------ Route53 (moto)
def test_route53_challenges_against_moto(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    from tests.smoke.route53 import Route53Challenges

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        client = boto3.client("route53")
        client.create_hosted_zone(Name="example.org.", CallerReference="a")
        zone = client.create_hosted_zone(Name="mpic-test.example.org.", CallerReference="b")["HostedZone"]
        w = Route53Challenges.for_domain("x.mpic-test.example.org", client)
        assert w.zone_id == zone["Id"].split("/")[-1]
        w.set_txt("_acme-challenge.x.mpic-test.example.org", "abc")
        w.set_txt("_acme-challenge.x.mpic-test.example.org", "def")
        w.set_caa("x.mpic-test.example.org", '0 issue "ca.example"')
        w.set_cname("_dnsauth.x.mpic-test.example.org", "landing.mpic-test.example.org")
        w.set_persistent("x.mpic-test.example.org", "ca.example", "https://ca.example/acct/1")
        w.set_contact("x.mpic-test.example.org", "email", "admin@example.org", "caa")
        w.set_address("x.mpic-test.example.org", "192.0.2.1")
        w.set_address("x.mpic-test.example.org", "192.0.2.2")  # replaces: the method's one address
        sets = {(r["Name"], r["Type"]): [v["Value"] for v in r["ResourceRecords"]]
                for r in client.list_resource_record_sets(HostedZoneId=w.zone_id)["ResourceRecordSets"]}
        assert sets[("_acme-challenge.x.mpic-test.example.org.", "TXT")] == ['"abc"', '"def"']
        assert sets[("x.mpic-test.example.org.", "CAA")] == ['0 issue "ca.example"', '0 contactemail "admin@example.org"']
        assert sets[("_validation-persist.x.mpic-test.example.org.", "TXT")] == [
            '"ca.example; accounturi=https://ca.example/acct/1"']
        assert sets[("x.mpic-test.example.org.", "A")] == ["192.0.2.2"]
        assert sets[("_dnsauth.x.mpic-test.example.org.", "CNAME")] == ["landing.mpic-test.example.org."]
        with pytest.raises(ValueError):
            w.set_txt("outside.example.com", "x")
        with pytest.raises(ValueError):
            w.set_caa("x.mpic-test.example.org", "issue ca.example")
        assert w.clear() == 5
        left = {(r["Name"], r["Type"]) for r in client.list_resource_record_sets(HostedZoneId=w.zone_id)["ResourceRecordSets"]}
        assert left == {("mpic-test.example.org.", "SOA"), ("mpic-test.example.org.", "NS")}
        with pytest.raises(LookupError):
            Route53Challenges.for_domain("nowhere.test", client)


# ------------------------------------------------------------------------------ deployed smoke target
def test_deployed_status_from_pulumi_outputs(tmp_path, monkeypatch):
    """`pulumi stack output --json --show-secrets` feeds the smoke suite; a PEM CA becomes a file."""
    import json
    import os

    from tests.smoke.conftest import Target, deployed_status

    fake = tmp_path / "pulumi"
    outputs = {"stack": "aws-hosts", "coordinator_url": "https://mpic.example.org", "api_key": "k",
               "ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
               "test_domain": "mpic-test.example.org",
               "perspectives": [{"code": "eu-west-1", "rir": "RIPE NCC", "hosts": ["p-eu-west-1"]}],
               "hosts": [{"name": "p-eu-west-1", "role": "perspective", "address": "10.0.0.5"}]}
    fake.write_text("#!/bin/sh\n[ \"$1 $2 $3 $4 $5 $6\" = \"stack output --json --show-secrets -s aws-hosts\" ] || exit 3\n"
                    f"cat <<'JSON'\n{json.dumps(outputs)}\nJSON\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    status = deployed_status("aws-hosts")
    assert status["ca_cert"].endswith("ca.crt") and "BEGIN CERTIFICATE" in open(status["ca_cert"]).read()
    t = Target("deployed", status, challenges=None)
    assert not t.is_local and t.url == "https://mpic.example.org"
    assert [h["name"] for h in t.hosts("perspective")] == ["p-eu-west-1"]


def test_fleet_commands_need_root_with_a_clear_message(monkeypatch):
    from typer.testing import CliRunner

    from cli.__main__ import app  # every command registered
    from local.engine import lifecycle as fleet
    from local.errors import FleetError

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    runner = CliRunner()
    for args in (["up"], ["down"], ["status", "--json"], ["challenge", "txt", "a.b", "c"], ["fault", "heal"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 1, (args, res.output)
        assert "needs root" in res.output, res.output
    with pytest.raises(FleetError, match="needs root"):
        fleet.up("local")


def test_smoke_runs_the_k8s_pod_checks_for_k8s_stacks_only(monkeypatch):
    """`mpic smoke k8s` adds tests/k8s/smoke (kubectl backend); local and AWS stacks do not."""
    from typer.testing import CliRunner

    from cli import smoke as fleet_cli
    from cli.__main__ import app

    seen: list[list[str]] = []

    def fake_call(argv, cwd=None, env=None):
        seen.append(argv)
        assert env["MPIC_SMOKE_STACK"] == argv_stack[0]
        return 0

    monkeypatch.setattr(fleet_cli.subprocess, "call", fake_call)
    monkeypatch.setattr(fleet_cli, "deployed_outputs_problem", lambda stack: None)  # as if deployed and reachable
    for stack, expect_k8s in (("k8s", True), ("aws-hosts", False), ("local", False), ("prod-only-in-pulumi", False)):
        argv_stack = [stack]
        result = CliRunner().invoke(app, ["smoke", stack])
        assert result.exit_code == 0, result.output
        suites = [a for a in seen[-1] if a.endswith("smoke")]
        assert suites[0].endswith("tests/smoke")
        assert any(a.endswith("tests/k8s/smoke") for a in suites) is expect_k8s
