"""Issue "Hardening" #1: no caller corroborates with fewer perspectives than BR 3.2.2.9 requires.

The coordinator refuses (400, issue ``request-below-br-minimum``) a perspective count or quorum
below the BR minimum as of the request date, a quorum below the operator's, and a caller-chosen
cohort (unless a lab enables it); absurd numbers are 400s, never 500s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.service.conftest import API_KEY, Env, http

KEY = {"x-api-key": API_KEY}
BELOW = "request-below-br-minimum"


def caa(**orchestration: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"}
    if orchestration:
        body["orchestration_parameters"] = orchestration
    return body


def issues(body: dict[str, Any]) -> dict[str, str]:
    return {i["issue_type"]: i["message"] for i in body["validation_issues"]}


@pytest.fixture(scope="module")
def two_up(env: Env) -> Any:
    """Only us-east-1 (ARIN) and eu-west-1 (RIPE NCC) answer, as in the issue; default 5 of 5, BR
    as of the request date (today)."""
    from service.server import coordinator_config
    from tests.service import infra

    pool = [{"code": c, "url": u if c in ("us-east-1", "eu-west-1") else env.down(i)}
            for i, (c, u) in enumerate(env.perspectives.items())]
    settings = env.coordinator_settings(listen_port=8210, perspectives=pool, br_as_of=None, early_quorum=False,
                                        perspective_timeout=1.0)
    server = infra.ThreadServer(coordinator_config(settings)).start()
    yield f"http://{settings.listen_host}:{settings.listen_port}"
    server.stop()


def test_without_parameters_two_of_five_is_invalid(two_up: str) -> None:
    status, body, _ = http("POST", two_up + "/mpic", caa(), headers=KEY)
    assert status == 200 and body["is_valid"] is False
    assert body["actual_orchestration_parameters"]["quorum_count"] == 4


@pytest.mark.parametrize("params,issue,names", [
    ({"quorum_count": 2}, BELOW, ["quorum_count", "2", "4"]),  # the issue: valid "2/5" before
    ({"quorum_count": 3}, BELOW, ["quorum_count", "3", "4"]),
    ({"quorum_count": -1}, BELOW, ["quorum_count", "-1"]),
    ({"quorum_count": 0}, BELOW, ["quorum_count", "0"]),
    ({"quorum_count": 2**63}, "invalid-quorum-count", ["quorum_count", str(2**63), "5"]),
    ({"perspective_count": 2}, BELOW, ["perspective_count", "2", "BR 3.2.2.9"]),
    ({"perspective_count": 3}, BELOW, ["perspective_count", "3"]),
    ({"perspective_count": -1}, BELOW, ["perspective_count", "-1"]),
    ({"perspective_count": 0}, BELOW, ["perspective_count", "0"]),
    ({"perspective_count": 2**63}, "invalid-perspective-count", ["perspective_count", "5 perspectives"]),
    ({"perspective_count": 5, "quorum_count": 6}, "invalid-quorum-count", ["quorum_count", "6", "perspective_count 5"]),
    ({"perspective_count": 2, "cohort_for_single_attempt": 1}, BELOW, ["perspective_count"]),  # "1/2" before
    ({"cohort_for_single_attempt": 1}, "cohort-selection-disabled", ["cohort_for_single_attempt", "allow_cohort_selection"]),
    ({"cohort_for_single_attempt": 3}, "cohort-selection-disabled", ["cohort_for_single_attempt"]),  # a 500 before
    ({"max_attempts": 0}, "invalid-max-attempts", ["max_attempts", "0"]),
    ({"max_attempts": -1}, "invalid-max-attempts", ["max_attempts"]),
])
def test_requests_below_the_floor_are_refused(two_up: str, params: dict[str, Any], issue: str,
                                              names: list[str]) -> None:
    status, body, _ = http("POST", two_up + "/mpic", caa(**params), headers=KEY)
    assert status == 400, body
    assert body["error"] == "request-validation-failed"
    message = issues(body).get(issue)
    assert message is not None, body
    for name in names:
        assert name in message, message


def test_the_minimum_follows_the_request_date(env: Env, coordinator: Any) -> None:
    """4 remote perspectives from 2026-06-15, 5 from 2026-12-15 (BR 3.2.2.9 phase-in)."""
    june = coordinator(env.coordinator_settings(listen_port=8211, br_as_of="2026-06-15"))
    status, body, _ = http("POST", june + "/mpic", caa(perspective_count=4), headers=KEY)
    assert status == 200 and body["actual_orchestration_parameters"]["perspective_count"] == 4
    assert body["actual_orchestration_parameters"]["quorum_count"] == 3
    december = coordinator(env.coordinator_settings(listen_port=8212, br_as_of="2026-12-15"))
    status, body, _ = http("POST", december + "/mpic", caa(perspective_count=4), headers=KEY)
    assert status == 400
    message = issues(body)[BELOW]
    assert "perspective_count: 4" in message and "5" in message and "2026-12-15" in message
    status, body, _ = http("POST", december + "/mpic", caa(), headers=KEY)  # EJBCA sends no parameters
    assert status == 200 and body["actual_orchestration_parameters"]["perspective_count"] == 5


def test_the_date_defaults_to_today(env: Env, coordinator: Any) -> None:
    from service.rules import min_remote_perspectives

    base = coordinator(env.coordinator_settings(listen_port=8213, br_as_of=None))
    today = dt.datetime.now(dt.timezone.utc).date()
    minimum = max(2, min_remote_perspectives(today))
    status, body, _ = http("POST", base + "/mpic", caa(perspective_count=minimum - 1), headers=KEY)
    assert status == 400 and f"as of {today.isoformat()}" in issues(body)[BELOW]
    status, health, _ = http("GET", f"http://{env.ip(30)}:{8213 + 1000}/healthz")
    assert health["br_minimum_perspectives"] == minimum and health["br_as_of"] == today.isoformat()


def test_the_operator_quorum_is_a_floor_too(env: Env, coordinator: Any) -> None:
    """default_quorum_count 5 (all of 5): a request may not lower it (nor tolerate more failures
    with another cohort size)."""
    base = coordinator(env.coordinator_settings(listen_port=8214, default_quorum_count=5, br_as_of="2026-06-15"))
    status, body, _ = http("POST", base + "/mpic", caa(perspective_count=5, quorum_count=4), headers=KEY)
    assert status == 400
    message = issues(body)["request-below-configured-quorum"]
    assert "quorum_count: 4" in message and "default_quorum_count" in message
    status, body, _ = http("POST", base + "/mpic", caa(perspective_count=4), headers=KEY)
    assert status == 200 and body["actual_orchestration_parameters"]["quorum_count"] == 4


def test_a_lab_may_enable_cohort_selection(env: Env, coordinator: Any) -> None:
    base = coordinator(env.coordinator_settings(listen_port=8215, allow_cohort_selection=True))
    status, body, _ = http("POST", base + "/mpic", caa(cohort_for_single_attempt=1), headers=KEY)
    assert status == 200 and body["is_valid"] is True
    status, body, _ = http("POST", base + "/mpic", caa(cohort_for_single_attempt=3), headers=KEY)
    assert status == 400 and "cohort_for_single_attempt: 3" in issues(body)["invalid-cohort-selection"]


def test_huge_max_attempts_is_capped_not_refused(env: Env, coordinator: Any) -> None:
    base = coordinator(env.coordinator_settings(listen_port=8216, max_attempts=2))
    status, body, _ = http("POST", base + "/mpic", caa(max_attempts=2**63), headers=KEY)
    assert status == 200 and body["actual_orchestration_parameters"]["attempt_count"] == 1
