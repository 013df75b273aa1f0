"""The local fleet engine's failure paths: each says what went wrong and how to go on, no traceback."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from config.stackfile import load_stack
from local.engine import lifecycle
from local.actions.client import api_request, curl
from local.errors import FleetError
from local.engine.proc import CommandError, alive, kill_pid, run, spawn, start_time, stop
from local.engine.state import State, current_stack, load_state
from local.engine.supervisor import tail, wait_for
from plan.local import plan_from_config


def test_run_reports_failures_and_timeouts():
    with pytest.raises(CommandError, match=r"`false` failed \(1\)"):
        run(["false"])
    assert run(["false"], check=False).returncode == 1
    with pytest.raises(CommandError, match="timed out after 0.2s"):
        run(["sleep", "5"], timeout=0.2)


def test_processes_are_identified_by_pid_and_start_time(tmp_path):
    rec = spawn(["sleep", "30"], netns=None, log=tmp_path / "sleep.log")
    assert alive(rec) and start_time(rec["pid"]) == rec["start"]
    assert not alive({**rec, "start": rec["start"] + 1})  # a recycled PID is another process
    stop(rec, timeout=2)
    assert not alive(rec) and start_time(rec["pid"]) is None
    stop(rec)  # stopping a stopped process is a no-op
    kill_pid(rec["pid"])
    assert not alive({"pid": None})


def test_wait_for_names_what_is_not_ready_and_shows_the_log(tmp_path):
    with pytest.raises(FleetError, match="resolver: not ready after 0s"):
        wait_for(lambda: False, 0.2, "resolver")
    log = tmp_path / "crash.log"
    rec = spawn([sys.executable, "-c", "print('bad settings: tls.cert'); raise SystemExit(2)"], netns=None, log=log)
    with pytest.raises(FleetError, match=r"(?s)perspective: the process exited .*bad settings: tls.cert"):
        wait_for(lambda: False, 10, "perspective", rec)
    assert tail(str(tmp_path / "missing.log")) == "" and tail(None) == ""


def test_curl_without_an_answer_gives_status_0_and_why():
    code, why = curl("", "http://127.0.0.1:9/", timeout=2)
    assert code == 0 and "Failed to connect" in why


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"plain words" if self.path == "/text" else b'{"error": "not-found"}'
        self.send_response(200 if self.path == "/text" else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_api_request_returns_status_and_json_or_text():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert api_request(url, ca="", path="/nothing") == (404, {"error": "not-found"})
        assert api_request(url, ca="", path="/text") == (200, "plain words")
    finally:
        server.shutdown()
    code, body = api_request("https://127.0.0.1:9", ca="", timeout=2)
    assert code == 0 and "error" in body


def test_no_fleet_up_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MPIC_FLEET_RUN", str(tmp_path / "run"))
    with pytest.raises(FleetError, match="no local fleet is up; start one with `./scripts/mpic up`"):
        current_stack(None)
    with pytest.raises(FleetError, match="start it with `./scripts/mpic up lab`"):
        load_state("lab")


def test_address_range_in_use_is_refused_with_the_fix(monkeypatch):
    plan = plan_from_config(load_stack("local"))

    class Busy:
        stdout = "7: eth9    inet 10.213.4.1/24 brd 10.213.4.255 scope global eth9\n"
    monkeypatch.setattr(lifecycle, "run", lambda *a, **k: Busy())
    with pytest.raises(FleetError, match=r"10\.213\.0\.0/16 is already used on this machine \(eth9 10\.213\.4\.1/24\).*"
                                         r"MPIC_FLEET_CIDR"):
        lifecycle.check_addresses_free(plan)


@pytest.mark.skipif(os.geteuid() != 0, reason="mpic up checks for root first")
def test_up_refuses_a_cloud_stack_and_a_second_fleet(tmp_path, monkeypatch):
    with pytest.raises(FleetError, match="has mpic:target aws-hosts; `mpic up` runs local stacks only"):
        lifecycle.up("aws-hosts")
    monkeypatch.setattr(lifecycle, "list_stacks", lambda: ["other"])
    cfg = load_stack("local").model_copy(update={"name": "second"})
    with pytest.raises(FleetError, match="the local fleet of stack 'other' is up; run `./scripts/mpic down other`"):
        lifecycle.up("second", cfg=cfg)


def test_the_cli_entry_point_runs_as_a_module():
    res = subprocess.run([sys.executable, "-m", "cli", "--help"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert res.returncode == 0 and "Usage: mpic" in res.stdout
    assert State is not None
