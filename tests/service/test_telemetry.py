"""service.telemetry: the core's spans cost nothing while no tracer provider collects them."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace

from service import telemetry


class Checker:
    def __init__(self) -> None:
        self._tracer = trace.get_tracer("core")

    def check(self) -> Any:
        with self._tracer.start_as_current_span("mpic.caa.check") as span:
            span.set_attribute("mpic.is_valid", True)
            span.record_exception(ValueError("x"))
            return span, trace.get_current_span()


def test_without_a_provider_the_core_gets_the_quiet_tracer() -> None:
    assert not telemetry.collecting()
    checker = telemetry.quiet(Checker())
    assert checker._tracer is telemetry.QUIET_TRACER
    span, current = checker.check()
    assert span is trace.INVALID_SPAN and current is trace.INVALID_SPAN  # the same invalid span, nothing recorded
    assert telemetry.quiet(object()) is not None  # a component without a tracer is left as it is


def test_a_registered_provider_keeps_the_cores_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    class Provider(trace.TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            return trace.NoOpTracer()

    monkeypatch.setattr(trace, "get_tracer_provider", lambda: Provider())
    assert telemetry.collecting()
    checker = Checker()
    before = checker._tracer
    assert telemetry.quiet(checker)._tracer is before

