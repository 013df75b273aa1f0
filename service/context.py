"""What one request carries through the coordinator, task-local (contextvars): its ids, the check
request's JSON, what answered each call; and the names its audit lines use."""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

from open_mpic_core import MpicRequest, RemotePerspective

#: (request id, caller's trace identifier or None) of the request being orchestrated: transports
#: tag their calls with both, so each perspective's own audit line names the request
current_request: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "mpic_request", default=None)
#: what the transport verified of the perspective that answered (service.identity), for the audit
answered_as: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("mpic_answered_as", default=None)
#: the check request of the attempt being run and its JSON, serialised once for every perspective
current_check_body: contextvars.ContextVar[tuple[Any, bytes] | None] = contextvars.ContextVar(
    "mpic_check_body", default=None)


def new_request_id() -> str:
    """The coordinator's id of one request: every audit line of the request carries it."""
    return f"mpic-{uuid.uuid4()}"


def request_id_now() -> str | None:
    """The id of the request being orchestrated (None outside one)."""
    current = current_request.get()
    return current[0] if current else None


def rir_of(perspective: RemotePerspective) -> str:
    return str(getattr(perspective.rir, "value", perspective.rir))


def method_of(request: MpicRequest) -> str:
    """The DCV validation method of a request, ``caa`` for a CAA check."""
    params = getattr(request, "dcv_check_parameters", None)
    return params.validation_method.value if params is not None else "caa"
