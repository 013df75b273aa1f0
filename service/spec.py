"""The coordinator's 200 body in the shape of the Open MPIC API spec (``MpicResponse``): 3.9, as
open-mpic-core 6.5 models it, and unchanged for 3.5 clients (EJBCA's MPIC validator).

open-mpic-core's models serialise every unset field as ``null``; the spec wants a value or the
field's absence in several places. The core's field semantics are kept; only the encoding moves:
- absent instead of ``null``: ``trace_identifier``, a check response's ``errors``, unset fields of
  the echoed ``request_orchestration_parameters``;
- the echoed ``caa_check_parameters`` / ``dcv_check_parameters`` hold the fields the caller sent,
  as the core read them, and nothing else: the core's defaults for fields of later spec versions
  (``require_exact_case``, ``allow_lookup_failure``...) and its fixed values (``dns_name_prefix:
  _acme-challenge``...) are not echoed, so a 3.5 client reads the echo of a 3.5 request;
- ``request_orchestration_parameters`` echoes only the spec's fields (``perspective_count``,
  ``quorum_count``, ``max_attempts``): the core's ``cohort_for_single_attempt`` is not in the spec;
- CAA ``details.caa_record_present`` is ``false`` when the lookup did not complete (the core's
  ``null``; ``check_completed: false`` and ``errors`` say why);
- TLS-ALPN ``details.common_name`` is ``""`` when no certificate (or no CN) was seen;
- HTTP ``details.response_history`` entries use the spec's names
  (``response_status_code``, ``response_url``; the core's ``status_code``, ``url``).
Kept although the spec 3.5 says otherwise (see tests/service/openapi.py): CAA
``details.records_seen`` stays a list of strings (the spec's ``string`` contradicts its own
description and the core), and ``dns-persistent`` requests are answered (not in spec 3.5).
"""

from __future__ import annotations

from typing import Any

from open_mpic_core import MpicResponse

_REQUEST_ORCHESTRATION = ("perspective_count", "quorum_count", "max_attempts")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _check_response(check: dict[str, Any]) -> dict[str, Any]:
    if check.get("errors") is None:
        check.pop("errors", None)
    details = check.get("details") or {}
    if check.get("check_type") == "caa" and details.get("caa_record_present") is None:
        details["caa_record_present"] = False
    if details.get("validation_method") == "acme-tls-alpn-01" and details.get("common_name") is None:
        details["common_name"] = ""
    history = details.get("response_history")
    if history:
        details["response_history"] = [
            {"response_status_code": h.get("status_code"), "response_url": h.get("url")} for h in history
        ]
    return check


def _perspectives(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"perspective_code": p["perspective_code"], "check_response": _check_response(p["check_response"])}
            for p in items]


def _echo(model_dump: dict[str, Any], sent: Any) -> dict[str, Any]:
    """The check parameters as the core read them, limited to the fields the caller sent."""
    if not isinstance(sent, dict):
        return _without_nulls(model_dump)
    return {k: v for k, v in model_dump.items() if k in sent and v is not None}


def response_body(response: MpicResponse, request: Any = None) -> dict[str, Any]:
    """The JSON body of a 200 answer (see the module docstring); ``request``: the request's JSON
    (the echo of its check parameters holds the fields it sent)."""
    body: dict[str, Any] = response.model_dump(mode="json")
    if body.get("trace_identifier") is None:
        body.pop("trace_identifier", None)
    requested = body.get("request_orchestration_parameters")
    if requested is not None:
        body["request_orchestration_parameters"] = {
            k: requested[k] for k in _REQUEST_ORCHESTRATION if requested.get(k) is not None
        }
    actual = body.get("actual_orchestration_parameters")
    if actual is not None:
        body["actual_orchestration_parameters"] = _without_nulls(actual)
    for key in ("caa_check_parameters", "dcv_check_parameters"):
        if body.get(key) is not None:
            body[key] = _echo(body[key], request.get(key) if isinstance(request, dict) else None)
    body["perspectives"] = _perspectives(body.get("perspectives") or [])
    previous = body.get("previous_attempt_results")
    if previous is not None:
        body["previous_attempt_results"] = [_perspectives(attempt) for attempt in previous]
    return body
