"""The least-privilege pieces of the fleet engine on their own (the running fleet: test_privilege.py).

The fleet's relays and responder drop to their user once bound, so the processes the fleet starts
cannot report what they ran; these tests run the same code as root, in process or as a child."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from local.engine import runtime, users
from local.engine.proc import KIT_ROOT, clean_env
from plan.artifacts import Artifact, Built

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (system users, setpriv)")


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(1024):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_relay_process_relays_reloads_its_delay_and_stops_on_sigterm(tmp_path):
    upstream, up_port = _echo_server()
    port = _free_port()
    delay = tmp_path / "delay_ms"
    delay.write_text("0\n")
    proc = subprocess.Popen([sys.executable, "-m", "local.daemons.relay", "--listen", f"127.0.0.1:{port}",
                             "--upstream", f"127.0.0.1:{up_port}", "--delay-file", str(delay)],
                            cwd=KIT_ROOT, env=clean_env(), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("the relay did not listen")

        def round_trip(c: socket.socket) -> float:
            t0 = time.monotonic()
            c.sendall(b"ping\n")
            assert c.recv(16) == b"ping\n"
            return (time.monotonic() - t0) * 1000

        with conn:
            assert round_trip(conn) < 50
            delay.write_text("60\n")
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
            assert round_trip(conn) >= 110  # two one-way delays of the reloaded 60 ms
        proc.send_signal(signal.SIGUSR1)  # how long past the delay it held what it sent
        assert select.select([proc.stderr], [], [], 10)[0], "no report on SIGUSR1"
        holds = json.loads(proc.stderr.readline())["relay_holds"]
        assert holds["delay_ms"] == 60
        for direction in ("to_upstream", "to_client"):
            assert holds[direction]["chunks"] >= 2 and holds[direction]["late_ms_min"] >= 0, holds
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        upstream.close()


def test_setpriv_prefixes():
    assert users.setpriv("mpic") == ["setpriv", "--reuid=mpic", "--regid=mpic", "--clear-groups", "--no-new-privs", "--"]
    assert users.setpriv("www-data", bind_low_ports=True)[-3:] == [
        "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service", "--"]


def test_drop_to_clears_groups_then_gid_then_uid(monkeypatch):
    calls = []
    monkeypatch.setattr(users.os, "geteuid", lambda: 0)
    for name in ("setgroups", "setgid", "setuid"):
        monkeypatch.setattr(users.os, name, lambda value, name=name: calls.append((name, value)))
    entry = pwd.getpwnam("nobody")
    users.drop_to("nobody")
    assert calls == [("setgroups", []), ("setgid", entry.pw_gid), ("setuid", entry.pw_uid)]
    calls.clear()
    monkeypatch.setattr(users.os, "geteuid", lambda: 1000)
    users.drop_to("nobody")  # not root: nothing to drop
    assert calls == []


def test_user_of_a_process():
    assert users.user_of(os.getpid()) == pwd.getpwuid(os.getuid()).pw_name
    assert users.user_of(2**22 + 7) is None
    assert users.group_name(os.getgid()) and users.group_name(2**31 - 3) == str(2**31 - 3)


@ROOT_ONLY
def test_ensure_users_creates_a_system_user_and_names_a_missing_package(tmp_path):
    name = f"mpic-t{secrets.token_hex(3)}"
    try:
        users.ensure_users((name,), ("nobody",))
        entry = pwd.getpwnam(name)
        assert entry.pw_uid < 1000 and entry.pw_shell == "/usr/sbin/nologin"
        users.ensure_users((name,), ())  # idempotent
        folder = tmp_path / "tree"
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "f").write_text("x")
        users.own_tree(folder, name)
        assert {p.stat().st_uid for p in (folder, folder / "sub", folder / "sub" / "f")} == {entry.pw_uid}
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)
    with pytest.raises(users.UserError, match="no-such-packaged-user.*apt-get install --reinstall"):
        users.ensure_users((), ("no-such-packaged-user",))
    with pytest.raises(users.UserError, match="cannot create the system user"):
        users.ensure_users(("bad name!",), ())


def test_the_runtime_is_installed_with_the_system_python_where_every_user_can_run_it(tmp_path, monkeypatch):
    """What an aws-hosts host runs: ``python3.11 -m venv``, then pip from the wheelhouse, offline,
    every file pinned; again only when the wheelhouse changed."""
    ran: list[list[str]] = []

    def fake_run(argv, **kw):
        ran.append([str(a) for a in argv])
        if argv[1:3] == ["-m", "venv"]:
            (Path(argv[3]) / "bin").mkdir(parents=True)
            (Path(argv[3]) / "bin" / "python").write_text("")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setenv("MPIC_FLEET_LIB", str(tmp_path / "lib"))
    monkeypatch.setattr(runtime, "run", fake_run)
    house = Artifact("wheelhouse", "wheelhouse-linux_x86_64", "dist/wheelhouse/linux_x86_64", "ab" * 32, "linux_x86_64")
    built = Built(tmp_path / "dist", (house,))
    said: list[str] = []
    python = runtime.runtime_python(built, said.append)
    assert python == tmp_path / "lib" / "runtime" / ("ab" * 8) / "bin" / "python"
    base = str(runtime.SYSTEM_PYTHON) if runtime.SYSTEM_PYTHON.exists() else sys.executable
    assert ran[0] == [base, "-m", "venv", str(python.parent.parent)]
    assert ran[1][1:4] == ["-m", "pip", "install"] and "--no-index" in ran[1] and "--require-hashes" in ran[1]
    assert oct((tmp_path / "lib" / "runtime").stat().st_mode & 0o777) == "0o755" and said
    assert runtime.runtime_python(built, said.append) == python and len(ran) == 2  # installed: nothing runs
