"""Coordinator failover across sites on the local fleet, under bounded load (5 clients, 60 s).

The primary site is killed; the health checker (Route53's rules, plan/failover.py's parameters)
moves mpic.<testDomain> to the standby; clients resolve the name through the fleet's client
resolver and retry as docs/failover.md tells a CA's client to (local.actions.client.RetryPolicy). Then
heal: the name fails back. Figures are printed (run with -s); docs/failover.md quotes a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
import time
from dataclasses import dataclass, field

import pytest

from config.stackfile import load_stack
from local.actions import faults
from local.actions.client import RetryPolicy, mpic, resolve
from plan.failover import plan_failover

pytestmark = [pytest.mark.root, pytest.mark.fleet]
CLIENTS = 5
SETTLE_S = 5.0
"""How long the load goes on once the fleet serves again (after the failover, after the fail-back)."""


@dataclass
class Load:
    attempts: list[tuple[float, bool]] = field(default_factory=list)
    """(time, answered 200) of every attempt."""
    requests: list[tuple[float, bool, int]] = field(default_factory=list)
    """(time, finally 200, attempts) of every request under the retry policy."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _run_load(status: dict, seconds: float, policy: RetryPolicy) -> tuple[Load, threading.Event, list[threading.Thread]]:
    load, stop = Load(), threading.Event()
    body = {"check_type": "caa", "domain_or_ip_target": status["test_domain"]}
    deadline = time.monotonic() + seconds

    def attempt() -> int:
        code, _ = mpic(status, body, timeout=5)
        with load.lock:
            load.attempts.append((time.monotonic(), code == 200))
        return code

    def worker() -> None:
        while time.monotonic() < deadline and not stop.is_set():
            code, tries = attempt(), 1
            for delay in policy.delays():
                if code not in policy.retry_on:
                    break
                time.sleep(delay)
                code, tries = attempt(), tries + 1
            with load.lock:
                load.requests.append((time.monotonic(), code == 200, tries))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    return load, stop, threads


def _served_since_failure(load: Load) -> float | None:
    """Seconds since the first answered attempt after the first failed one (None: not yet)."""
    with load.lock:
        failed = next((t for t, ok in load.attempts if not ok), None)
        first_ok = None if failed is None else next((t for t, ok in load.attempts if ok and t > failed), None)
    return None if first_ok is None else time.monotonic() - first_ok


def _stop_when(stop: threading.Event, served: Callable[[], float | None], deadline: float) -> None:
    """Stop the load SETTLE_S after it is served again, or at ``deadline`` (the longest wait accepted)."""
    while time.monotonic() < deadline:
        since = served()
        if since is not None and since >= SETTLE_S:
            break
        time.sleep(0.2)
    stop.set()


def test_primary_site_killed_under_load_standby_serves_and_fails_back(healed):
    fleet = healed
    if not fleet.get("client_resolver"):
        pytest.skip("the fleet runs one coordinator site (mpic:failover.standby: false)")
    fp = plan_failover(load_stack(fleet["stack"]), fleet["coordinator_url"].split("//")[1].split(":")[0])
    sites = fleet["coordinator_sites"]["sites"]
    name, resolver = fp.name, fleet["client_resolver"]
    assert resolve(name, resolver) == sites["primary"]["ip"]
    policy = RetryPolicy()

    # the load may outlast the kill (at 5 s) by the longest failover the test accepts, and 5 s more;
    # it stops once the standby has served for SETTLE_S after the first failure
    load, stop, threads = _run_load(fleet, 5 + fp.failover_s + policy.cap + fp.timeout_s + 5, policy)
    time.sleep(5)
    killed_at = time.monotonic()
    assert faults.kill_site(fleet["stack"], "primary")
    _stop_when(stop, lambda: _served_since_failure(load), killed_at + fp.failover_s + policy.cap + fp.timeout_s + 5)
    for t in threads:
        t.join(timeout=120)
    failed_attempts = [t for t, ok in load.attempts if not ok]
    assert failed_attempts, "killing the primary site must cost attempts without retry"
    first_ok = min(t for t, ok in load.attempts if ok and t > failed_attempts[0])
    failover_s = first_ok - killed_at
    lost = [r for r in load.requests if not r[1]]
    assert resolve(name, resolver) == sites["standby"]["ip"]
    print(f"\nfailover: first success on the standby {failover_s:.1f} s after the kill (plan: <= {fp.failover_s} s "
          f"+ retry); {len(failed_attempts)} of {len(load.attempts)} attempts failed without retry; "
          f"{len(lost)} of {len(load.requests)} requests failed with the retry policy")
    assert not lost, f"{len(lost)} requests failed despite the retry policy"
    assert failover_s <= fp.failover_s + policy.cap + fp.timeout_s, failover_s

    faults.heal(fleet["stack"])
    healed_at = time.monotonic()
    load, stop, threads = _run_load(fleet, fp.detection_s + fp.interval_s + fp.ttl_s + 5, policy)
    back = None
    while back is None and time.monotonic() - healed_at < 90:
        if resolve(name, resolver) == sites["primary"]["ip"]:
            back = time.monotonic() - healed_at
        time.sleep(0.5)
    if back is not None:  # the load goes on across the switch back, then SETTLE_S on the primary
        time.sleep(SETTLE_S)
        stop.set()
    for t in threads:
        t.join(timeout=120)
    failed = [t for t, ok in load.attempts if not ok]
    print(f"fail-back: the name is the primary's again {back:.1f} s after heal; {len(failed)} of "
          f"{len(load.attempts)} attempts failed (no retry needed)")
    assert back is not None and not failed and all(r[1] for r in load.requests)
