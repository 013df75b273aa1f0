"""Least privilege and identity in the running fleet (issue #20, items 3 and 5).

- every fleet process runs as the user :data:`plan.local.PROCESS_USERS` plans (the runtime as
  ``mpic``, Unbound, Knot, HAProxy and nginx as their packaged users), and ``mpic status`` flags
  one that does not;
- every private key is 0600, owned by the user of the one process that reads it; the kit CA's key
  exists nowhere;
- a coordinator whose settings swap two perspectives' URLs gets no corroboration from either;
  one whose settings give two perspectives one URL does not start.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from local.engine import lifecycle
from local.engine.proc import run
from local.engine.state import load_state
from plan.privileges import KEY_OWNERS, PROCESS_USERS, RUNTIME_USER
from tests.fleetsession import ExtraCoordinator

MISMATCH = "mpic_error:coordinator:perspective_identity_mismatch"


def test_every_process_runs_as_its_planned_user(fleet):
    rows = lifecycle.process_table(fleet["stack"])
    listed = {row["name"]: row["user"] for row in rows}
    print("\nfleet processes and their users:\n" + "\n".join(f"  {n:<42} {u}" for n, u in sorted(listed.items())))
    assert all(row["alive"] for row in rows), [r["name"] for r in rows if not r["alive"]]
    wrong = [(r["name"], r["user"], r["planned_user"]) for r in rows if r["user"] != r["planned_user"]]
    assert not wrong, wrong
    by_role: dict[str, set[str]] = {}
    for r in rows:
        by_role.setdefault(r["role"], set()).add(r["user"])
    assert {role: users for role, users in by_role.items()} == {role: {PROCESS_USERS[role]} for role in by_role}
    assert by_role["perspective"] == by_role["coordinator"] == {RUNTIME_USER}
    assert {by_role[r].pop() for r in ("resolver", "dns", "lb", "web")} == {"unbound", "knot", "haproxy", "www-data"}
    roots = [r["name"] for r in rows if r["user"] == "root"]
    assert roots == ["healthcheck"], roots  # Route53's stand-in writes through knotd's control socket


def test_status_flags_a_process_running_as_another_user(fleet):
    """The plan says perspective@...-1 runs as ``nobody``: ``mpic status`` names it and exits 1."""
    from local.engine.state import State, locked

    state = load_state(fleet["stack"])
    name = next(n for n in state.data["processes"] if n.startswith("perspective@"))
    with locked(state.stack):
        fresh = State.load(state.stack)
        fresh.data["processes"][name]["user"] = "nobody"
        fresh.save()
    try:
        res = subprocess.run(["./scripts/mpic", "status", fleet["stack"]], capture_output=True, text=True, timeout=120)
    finally:
        with locked(state.stack):
            fresh = State.load(state.stack)
            fresh.data["processes"][name]["user"] = RUNTIME_USER
            fresh.save()
    assert res.returncode == 1, res
    assert f"{name} runs as {RUNTIME_USER}, planned nobody" in res.stderr
    assert "(USER: planned nobody)" in res.stdout


def _owner(path: Path) -> str:
    import pwd

    return pwd.getpwuid(path.stat().st_uid).pw_name


def test_every_key_file_is_0600_and_its_processs_alone(fleet):
    state = load_state(fleet["stack"])
    wd = state.workdir
    keys = sorted(p for p in wd.rglob("*") if p.is_file() and p.suffix in (".key", ".pem")
                  and "knot" not in p.parts and p.name != "root.key")  # root.key: a DNSKEY (public)
    table = {str(p.relative_to(wd)): (oct(stat.S_IMODE(p.stat().st_mode)), _owner(p)) for p in keys}
    print("\nkey files (mode, owner):\n" + "\n".join(f"  {k:<58} {m} {o}" for k, (m, o) in table.items()))
    expected = {"pki/coordinator-lb.pem": KEY_OWNERS["lb"], "pki/internet-web.key": KEY_OWNERS["web"],
                "web-ca/ca.key": "root", "private/issued/mpic-coordinator-client.key": "root"}
    for code in (p["code"] for p in fleet["perspectives"]):
        expected[f"pki/lb-check-{code}.pem"] = KEY_OWNERS["lb"]
        expected[f"private/issued/perspective-{code}.key"] = "root"
    for name, rec in state.data["processes"].items():  # each runtime process: the copy of its own key
        if rec["role"] == "perspective":
            expected[f"private/{name.replace('@', '_')}/tls.key"] = KEY_OWNERS["perspective"]
        elif rec["role"] == "coordinator":
            expected[f"private/{name.replace('#', '_')}/client.key"] = KEY_OWNERS["coordinator-client"]
    for rel, owner in expected.items():
        assert table.pop(rel) == ("0o600", owner), rel
    assert all(mode == "0o600" and owner == KEY_OWNERS["alpn"] for rel, (mode, owner) in table.items()
               if rel.startswith("alpn/")), table
    assert not [rel for rel in table if not rel.startswith("alpn/")], table  # nothing unaccounted for
    assert [str(p.relative_to(wd)) for p in wd.rglob("ca.key")] == ["web-ca/ca.key"]  # no kit CA key anywhere
    for folder in ("web-ca", "private", "private/issued"):
        assert stat.S_IMODE((wd / folder).stat().st_mode) == 0o700, folder
    knot_keys = list((wd / "knot" / "db").rglob("*.pem"))  # the zones' DNSSEC keys: knotd's
    assert knot_keys and all(_owner(k) == PROCESS_USERS["dns"] and not k.stat().st_mode & 0o007 for k in knot_keys)
    secrets = [wd / "private" / "coordinator_1" / "settings.yaml", wd / "private" / "canary" / "settings.yaml"]
    assert all((oct(stat.S_IMODE(p.stat().st_mode)), _owner(p)) == ("0o600", RUNTIME_USER) for p in secrets)


def _as_process(state, name: str, command: str):
    """``command`` (sh) run as the runtime's user in process ``name``'s view: its namespace, its own folder."""
    from local.engine import private
    from local.engine.users import setpriv

    rec = state.data["processes"][name]
    argv = (["ip", "netns", "exec", rec["netns"]] if rec["netns"] else []) + private.prefix(state, name) \
        + setpriv(RUNTIME_USER) + ["sh", "-c", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_a_perspective_sees_its_own_files_and_no_one_elses(fleet):
    """As a perspective process (``mpic``, its own view): its key and settings only; no other
    region's key, no coordinator client key or API key, no CA key, no load balancer key."""
    state = load_state(fleet["stack"])
    wd = state.workdir
    name = next(n for n in state.data["processes"] if n.startswith("perspective@"))
    listing = _as_process(state, name, f"ls {wd / 'private'}")
    assert listing.returncode == 0 and sorted(listing.stdout.split()) == [
        "audit.jsonl", "ca.crt", "settings.yaml", "tls.crt", "tls.key", "web-ca.crt"], listing
    assert _as_process(state, name, f"head -c 30 {wd / 'private' / 'tls.key'}").stdout.startswith("-----BEGIN")
    from local.roles import audit

    for path in (wd / "private" / "coordinator_1" / "client.key", wd / "private" / "issued",
                 wd / "web-ca" / "ca.key", wd / "pki" / "coordinator-lb.pem", wd / "state.json",
                 audit.folder(state.stack) / "primary--coordinator-1.jsonl"):  # another writer's audit file
        res = _as_process(state, name, f"cat {path}")
        assert res.returncode != 0 and ("Permission denied" in res.stderr or "No such file" in res.stderr), path
    coordinator = _as_process(state, "coordinator#1", f"ls {wd / 'private'}")
    assert sorted(coordinator.stdout.split()) == ["audit.jsonl", "ca.crt", "client.crt", "client.key",
                                                  "settings.yaml"], coordinator


def _swap(settings: dict, a: str, b: str) -> dict:
    urls = {p["code"]: p["url"] for p in settings["perspectives"]}
    for p in settings["perspectives"]:
        if p["code"] in (a, b):
            p["url"] = urls[b if p["code"] == a else a]
    return settings


def test_swapped_urls_give_no_corroboration(fleet):
    """sa-east-1's URL pointed at us-west-2's region and back: both refused on the certificate's
    name (perspective_identity_mismatch), 3 of 5 left: invalid; an audit line for each."""
    codes = [p["code"] for p in fleet["perspectives"]]
    a, b = "sa-east-1", "us-west-2"
    assert {a, b} <= set(codes)
    extra = ExtraCoordinator(fleet["stack"], 8102, lambda s: {**_swap(s, a, b), "early_quorum": False})
    try:
        status, resp = extra.post({"check_type": "caa", "domain_or_ip_target": fleet["test_domain"]})
    finally:
        extra.stop()
    assert status == 200 and resp["is_valid"] is False, resp
    checks = {p["perspective_code"]: p["check_response"] for p in resp["perspectives"]}
    for code in (a, b):
        assert checks[code]["check_passed"] is False
        assert [e["error_type"] for e in checks[code]["errors"]] == [MISMATCH], checks[code]
    assert sum(c["check_passed"] for c in checks.values()) == 3
    lines = [json.loads(line) for line in extra.audit.read_text().splitlines() if line.strip()]
    mismatched = {r["perspective"] for r in lines if r.get("outcome") == "identity_mismatch"}
    attempt = next(r for r in lines if r["event"] == "attempt")
    assert mismatched == {a, b} and attempt["quorum"] == "3/5" and "LACNIC" not in attempt["rirs_passing"]


def test_a_coordinator_with_one_url_for_two_perspectives_does_not_start(fleet, tmp_path):
    from local.engine import private

    state = load_state(fleet["stack"])
    settings = yaml.safe_load((private.folder(state, "coordinator#1") / "settings.yaml").read_text())
    settings["perspectives"][1]["url"] = settings["perspectives"][0]["url"]
    settings["client_tls"] = {k: str(private.folder(state, "coordinator#1") / Path(v).name)
                              for k, v in settings["client_tls"].items()}  # as root sees its folder
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(settings))
    os.chmod(tmp_path, 0o755)
    res = run([state.data["runtime_python"], "-m", "service", "coordinator", "--settings", str(path), "--check"],
              check=False, kit_path=False, cwd=state.workdir)
    assert res.returncode == 2, res
    first, second = settings["perspectives"][0]["code"], settings["perspectives"][1]["code"]
    assert f"{first} and {second} have the same endpoint" in res.stderr


@pytest.mark.parametrize("role", sorted(set(PROCESS_USERS)))
def test_every_planned_user_exists(role):
    import pwd

    pwd.getpwnam(PROCESS_USERS[role])
