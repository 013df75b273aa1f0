"""The core's OpenTelemetry spans, when nothing collects them.

open-mpic-core opens a span around every check and DNS lookup (``self._tracer``, from
``opentelemetry.trace.get_tracer``). With no SDK provider registered (the kit registers none) that
tracer is a proxy that hands each call to the no-op tracer, which still builds a context manager and
attaches and detaches the invalid span in the context: a few percent of a CAA check's CPU for
spans nobody records (docs/performance.md). :func:`quiet` gives such a component a tracer that
yields the same invalid span and touches nothing; where a real provider is registered it leaves the
component alone.
"""

from __future__ import annotations

import contextlib
from typing import Any

from opentelemetry import trace


def collecting() -> bool:
    """Is a real tracer provider (an SDK's) registered in this process?"""
    return not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


class QuietTracer(trace.NoOpTracer):
    """The no-op tracer without its context bookkeeping: every span is ``INVALID_SPAN``."""

    _SPAN = contextlib.nullcontext(trace.INVALID_SPAN)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._SPAN


QUIET_TRACER = QuietTracer()


def quiet(component: Any) -> Any:
    """``component`` (a core checker or coordinator) with :data:`QUIET_TRACER` unless spans are collected."""
    if not collecting() and hasattr(component, "_tracer"):
        component._tracer = QUIET_TRACER
    return component
