"""AWS Lambda entry points for both roles, sharing the process code.

- ``coordinator_handler``: behind API Gateway (HTTP API v2 or REST proxy events). API Gateway's
  usage plan checks the API key; the app also accepts/enforces ``x-api-key`` or
  ``Authorization: Bearer`` when ``MPIC_API_KEYS`` is set (for ``GET /healthz`` too).
  Perspectives are other Lambda functions (``url: lambda:<arn>`` or ``function_arn``), called
  with ``lambda:Invoke`` - the IAM-authenticated channel BR 3.2.2.9 requires.
- ``canary_handler``: the production canary on a schedule (service.canary).
- ``perspective_handler``: invoked directly with the check request JSON (plus ``check_type``;
  without it, a body carrying ``dcv_check_parameters`` is a DCV check, else CAA). Its answer names
  the perspective: ``mpic_perspective: {code, rir, aws_region}`` (the region from the function's
  own ``AWS_REGION``), which the coordinator compares with the function it invoked (service.identity).

Settings come from ``MPIC_*`` environment variables (optionally a file named by
``MPIC_SETTINGS_FILE``). State (checkers, connections, event loop: uvloop's) lives across warm invokes.

Cold start (``mpic bench --lambda``, docs/performance.md): a function imports its own role's service
on its first invoke, never the other's (a perspective function does not load the coordinator's
orchestration, a coordinator function not the checkers' wrappers); the core itself
(``open_mpic_core``) loads all of its modules whichever is imported.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import TYPE_CHECKING, Any

from open_mpic_core import CheckType
from service import identity
from service.errors import bad_request
from service.settings import CoordinatorSettings, PerspectiveSettings, load_settings

if TYPE_CHECKING:
    from service.coordinator import CoordinatorService
    from service.perspective import PerspectiveRuntime

_state: dict[str, Any] = {}


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when installed (the runtime lock ships it), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the runtime lock
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _loop() -> asyncio.AbstractEventLoop:
    loop = _state.get("loop")
    if loop is None or loop.is_closed():
        loop = _state["loop"] = new_event_loop()
    return loop


def reset() -> None:
    """Forget cached state (tests; a new configuration)."""
    for key in ("coordinator", "perspective"):
        obj = _state.pop(key, None)
        if obj is not None:
            _loop().run_until_complete(obj.aclose())
    loop = _state.pop("loop", None)
    if loop is not None:
        loop.close()


def _coordinator(lambda_client_factory: Any = None) -> CoordinatorService:
    if "coordinator" not in _state:
        from service.coordinator import CoordinatorService  # the role's own service: see the docstring

        settings = load_settings(CoordinatorSettings, os.environ.get("MPIC_SETTINGS_FILE"))
        _state["coordinator"] = CoordinatorService(settings, lambda_client_factory=lambda_client_factory)
    return _state["coordinator"]


def _perspective() -> PerspectiveRuntime:
    if "perspective" not in _state:
        from service.perspective import PerspectiveRuntime  # the role's own service: see the docstring

        settings = load_settings(PerspectiveSettings, os.environ.get("MPIC_SETTINGS_FILE"))
        _state["perspective"] = PerspectiveRuntime(settings)
    return _state["perspective"]


WARMUP_KEY = "warmup"
"""``{"warmup": true}``: the scheduled warm-up invoke (EventBridge) of both roles."""


def is_warmup(event: Any) -> bool:
    """The scheduled warm-up event: answered from the warm environment, no check is run."""
    return isinstance(event, dict) and event.get(WARMUP_KEY) is True and len(event) == 1


def _warm(role: str) -> dict[str, Any]:
    return {"warmup": "ok", "role": role}


def _reply(status: int, payload: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(payload)}


def coordinator_handler(event: dict[str, Any], context: Any, lambda_client_factory: Any = None) -> dict[str, Any]:
    """API Gateway proxy event -> Open MPIC response (same service code as the HTTP app)."""
    service = _coordinator(lambda_client_factory)
    if is_warmup(event):
        return _warm("coordinator")
    http = (event.get("requestContext") or {}).get("http") or {}
    method = (http.get("method") or event.get("httpMethod") or "GET").upper()
    path = event.get("rawPath") or event.get("path") or "/"
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    if method == "GET" and path.endswith("/healthz"):  # not public: details of the deployment
        if service.api_keys.enabled and not service.api_keys.allows(headers):
            from service.coordinator import UNAUTHORIZED

            return _reply(401, UNAUTHORIZED)
        return _reply(200, service.health())
    if method == "POST" and (path.endswith("/mpic")):
        status, payload = _loop().run_until_complete(service.handle_mpic(headers, raw))
        return _reply(status, payload)
    return _reply(404, {"error": "not-found"})


def perspective_handler(event: Any, context: Any) -> dict[str, Any]:
    """Direct invoke with a check request; returns the core's check response as a dict."""
    runtime = _perspective()
    if is_warmup(event):
        return _warm("perspective")
    if isinstance(event, (str, bytes)):
        try:
            event = json.loads(event)
        except ValueError as exc:
            return bad_request([{"issue_type": "invalid-json", "message": str(exc)}])[1]
    if not isinstance(event, dict):
        return bad_request([{"issue_type": "invalid-event", "message": "the event must be a JSON object"}])[1]
    payload = dict(event)
    declared = payload.pop("check_type", None)
    trace_id = payload.pop("trace_id", None)
    request_id = payload.pop("request_id", None)
    if declared is None:
        declared = "dcv" if "dcv_check_parameters" in payload else "caa"
    try:
        check_type = CheckType(declared)
    except ValueError:
        return bad_request([{"issue_type": "invalid-check-type", "message": f"check_type {declared!r}: use caa or dcv"}])[1]
    from service.perspective import RequestInvalid

    try:
        response = _loop().run_until_complete(runtime.check(check_type, payload, trace_id, request_id))
    except RequestInvalid as exc:
        return bad_request(exc.issues)[1]
    answer = json.loads(response.model_dump_json())
    answer[identity.LAMBDA_FIELD] = {"code": runtime.code, "rir": runtime.rir,
                                     "aws_region": os.environ.get("AWS_REGION")}
    return answer


def canary_handler(event: Any, context: Any) -> dict[str, Any]:
    """The scheduled canary (EventBridge Scheduler): one run of service.canary, its metrics
    printed in CloudWatch's embedded metric format; returns the result."""
    from service import canary
    from service.settings_canary import CanarySettings

    if "canary" not in _state:
        _state["canary"] = load_settings(CanarySettings, os.environ.get("MPIC_SETTINGS_FILE"))
    return canary.run(_state["canary"]).to_json()
