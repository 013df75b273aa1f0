"""The local fleet's canary: the runtime's own canary (``python -m service canary``, the installed
wheelhouse, as on a cloud target) on the host, every ``mpic:canary.interval`` minutes.

Placement, like a cloud canary's: it reaches the coordinator at its URL and writes its TXT record
with RFC 2136 (TSIG-signed, one record only) to Knot over the DNS admin link, as a cloud canary
calls Route53's API. Results go to a JSON-lines file; ``mpic status`` and ``mpic canary`` read it
and evaluate the alarms with the rules the cloud alarms use (:mod:`plan.canary`).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError
from config.model import StackConfig
from local.errors import FleetError
from local.engine import private
from local.engine.proc import run
from local.engine.state import State
from local.engine.supervisor import start_process
from local.engine.users import own, setpriv
from plan import runtime
from plan.canary import CanaryPlan, plan_canary
from plan.dnsnames import zone_for_name
from plan.local import FleetPlan
from plan.privileges import PROCESS_USERS

KEY_NAME = "mpic-canary"
NAME = "canary"
"""The canary's process name (and its own folder's)."""


def folder(state: State) -> Path:
    return state.workdir / "canary"


def results_path(state: State) -> Path:
    return folder(state) / "results.jsonl"


def prepare(state: State, plan: FleetPlan, cfg: StackConfig, zones: list[str]) -> None:
    """Before Knot starts: the canary's TSIG key and the one record it may update."""
    cp = plan_canary(cfg)
    if cp is None:
        state.data.pop("canary", None)
        return
    zone = zone_for_name(cp.record, zones)
    if zone is None:
        raise ConfigError(f"mpic:canary.domain: {cp.domain} is not under mpic:testDomain ({plan.test_domain}); on "
                          "the local fleet the canary's name must be in the test domain",
                          key="mpic:canary.domain", value=cp.domain, fix=f"use canary.{plan.test_domain}")
    state.data["canary"] = {"key_name": KEY_NAME, "secret": base64.b64encode(secrets.token_bytes(32)).decode(),
                            "record": cp.record + ".", "zone": zone, "domain": cp.domain, "plan": cp.to_json()}
    state.save()


def settings(state: State, plan: FleetPlan, cfg: StackConfig) -> dict[str, Any]:
    """The canary's settings (the one renderer, local placement; the kit CA from its own folder)."""
    c = state.data["canary"]
    ca = private.place(state, NAME, "ca.crt", "root", 0o644, source=state.data["ca_cert"])
    return runtime.canary_settings(
        cfg, coordinator_url=plan.coordinator_url, api_key=state.data["api_key"], ca_file=ca,
        dns={"provider": "rfc2136", "zone": c["zone"], "server": plan.dns_admin_ip, "key_name": c["key_name"],
             "key_secret": c["secret"]},
        sink={"kind": "file", "path": str(results_path(state))},
        resolver=plan.dns_admin_host_ip if plan.coordinator_name else None)


def _settings_file(state: State, plan: FleetPlan, cfg: StackConfig) -> str:
    """The canary's settings (the API key and the TSIG secret) in its own folder (:mod:`local.engine.private`),
    its results folder its user's alone."""
    folder(state).mkdir(parents=True, exist_ok=True)
    own(folder(state), PROCESS_USERS["canary"], 0o700)
    return private.place(state, NAME, "settings.yaml", PROCESS_USERS["canary"], 0o600,
                         text=yaml.safe_dump(settings(state, plan, cfg)))


def start(state: State, plan: FleetPlan, cfg: StackConfig) -> bool:
    """The canary loop as a fleet process on the host (False when ``mpic:canary.enabled`` is off)."""
    if "canary" not in state.data:
        return False
    path = _settings_file(state, plan, cfg)
    start_process(state, NAME, [state.data["runtime_python"], "-m", "service", "canary", "--settings", path],
                  None, "canary", runtime=True, setuid=True, own_folder=True)
    return True


def run_once(state: State) -> dict[str, Any]:
    """One canary run now, with the same code and settings as the loop; its result."""
    if "canary" not in state.data:
        raise FleetError("the canary is off for this stack (mpic:canary.enabled: false)")
    path = private.root(state) / "settings.yaml"  # as the canary sees its own folder
    res = run([*private.prefix(state, NAME), *setpriv(PROCESS_USERS["canary"]), state.data["runtime_python"], "-m",
               "service", "canary", "--settings", str(path), "--once"], check=False, timeout=180, cwd=state.workdir,
              kit_path=False)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise FleetError(f"the canary printed no result (exit {res.returncode}): {res.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def history(state: State, limit: int = 100) -> list[dict[str, Any]]:
    try:
        lines = results_path(state).read_text(encoding="utf-8").splitlines()[-limit:]
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def report(state: State, now: float | None = None) -> dict[str, Any] | None:
    """``{last, alarms, runs, ...}``: the last result and the alarms set now (None with the canary off)."""
    if "canary" not in state.data:
        return None
    cp = CanaryPlan.from_json(state.data["canary"]["plan"])
    past = history(state)
    return {"last": past[-1] if past else None, "alarms": cp.alarms_set(past, time.time() if now is None else now),
            "runs": len(past), "interval_minutes": cp.interval_minutes, "record": cp.record}
