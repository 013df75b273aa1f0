"""local.daemons.healthcheck: Route53's failover rules, in process (the fleet runs it as a process:
tests/fleet/test_failover.py), and the retry policy docs/failover.md gives a CA's client."""

from __future__ import annotations

import json
import threading

import pytest

from local.actions.client import RetryPolicy
from local.daemons.healthcheck import Checker, check, run


@pytest.mark.parametrize("results, healthy, active", [
    ([], {"primary": True, "standby": True}, "primary"),  # new checks start healthy
    ([("primary", False)], {"primary": True, "standby": True}, "primary"),  # one failure is not enough
    ([("primary", False)] * 2, {"primary": False, "standby": True}, "standby"),
    ([("primary", False), ("primary", True), ("primary", False)], {"primary": True, "standby": True}, "primary"),
    ([("primary", False)] * 2 + [("primary", True)], {"primary": False, "standby": True}, "standby"),
    ([("primary", False)] * 2 + [("primary", True)] * 2, {"primary": True, "standby": True}, "primary"),  # fail-back
    ([("primary", False)] * 2 + [("standby", False)] * 2, {"primary": False, "standby": False}, "primary"),
])
def test_route53_rules(results, healthy, active):
    c = Checker(["primary", "standby"], threshold=2)
    for role, ok in results:
        c.record(role, ok)
    assert c.healthy == healthy and c.active() == active


def test_run_publishes_each_change_and_writes_its_status(tmp_path):
    script = iter([(True, True), (False, True), (False, True), (False, True), (True, True), (True, True)])
    published, stop = [], threading.Event()
    step = {"n": 0}

    def probe(url: str) -> bool:
        p, s = current["now"]
        return p if url.endswith("1") else s

    current = {"now": next(script)}

    def publish(role: str, ip: str) -> None:
        published.append((role, ip))

    config = {"name": "mpic.t.example", "threshold": 2, "interval": 0.01, "status": str(tmp_path / "s.json"),
              "sites": [{"role": "primary", "url": "https://10.0.0.1", "ip": "10.0.0.1"},
                        {"role": "standby", "url": "https://10.0.0.2", "ip": "10.0.0.2"}]}
    real_wait = stop.wait

    def wait(timeout: float) -> bool:
        step["n"] += 1
        try:
            current["now"] = next(script)
        except StopIteration:
            return True
        return real_wait(0)

    stop.wait = wait  # type: ignore[method-assign]
    run(config, stop, probe=probe, publish=publish)
    assert published == [("primary", "10.0.0.1"), ("standby", "10.0.0.2"), ("primary", "10.0.0.1")]
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["active"] == "primary" and [s["to"] for s in doc["switches"]] == ["standby", "primary"]


def test_a_site_that_does_not_answer_fails_its_check():
    assert check("https://127.0.0.1:1", "/readyz", "", timeout=0.5) is False


def test_retry_policy_rides_out_a_failover_budget():
    delays = list(RetryPolicy().delays())
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0] and max(delays) == 4.0 and sum(delays) <= 60
    assert RetryPolicy().retry_on == (0, 502, 503, 504)  # no answer or a gateway error; never a 200/400/401
    assert list(RetryPolicy(first=1, cap=1, budget=3).delays()) == [1, 1, 1]
