"""Fuzzing the public API of a real coordinator (uvicorn, five real perspectives over mTLS).

Bodies are built from the Open MPIC API spec 3.5 request schemas (tests/service/openapi.py), then
some are damaged (values swapped for hostile ones: huge or negative numbers, lone surrogates, long
strings, deep nesting, wrong types), plus raw bytes. Whatever arrives: never a 5xx, every 4xx a
JSON error body, every answer valid against the spec's schema of its status.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.conftest import API_KEY, Env, http
from tests.service.openapi import request_strategy, violations

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([2**63, 2**64, -(2**63), -1, 0, 10**40]),
    st.floats(allow_nan=False), st.text(max_size=20), st.just("\ud800"), st.integers(1025, 3000).map("x".__mul__),
    st.just("a\r\nb"), st.just([[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON value, depth first."""
    if isinstance(node, dict):
        for key in list(node):
            out.append((node, key))
            _slots(node[key], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


def _damage(args: tuple[Any, list[tuple[int, Any]]]) -> Any:
    body, edits = args
    for where, value in edits:
        slots = _slots(body, [])
        if not slots:
            return value
        container, key = slots[where % len(slots)]
        container[key] = copy.deepcopy(value)  # st.just() values are shared between examples
    return body


BODIES = st.one_of(
    request_strategy(),
    st.tuples(request_strategy(), st.lists(st.tuples(st.integers(0, 40), HOSTILE), min_size=1, max_size=3))
    .map(_damage),
    st.binary(max_size=64),
    HOSTILE,
)


@pytest.fixture(scope="module")
def api_url(env: Env) -> Any:
    from service.server import coordinator_config
    from tests.service import infra

    settings = env.coordinator_settings(listen_port=8260, perspective_timeout=1.0)
    server = infra.ThreadServer(coordinator_config(settings)).start()
    yield f"http://{settings.listen_host}:{settings.listen_port}/mpic"
    server.stop()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=BODIES)
def test_no_input_yields_a_5xx(api_url: str, body: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, answer, _ = http("POST", api_url, raw, headers={"x-api-key": API_KEY}, timeout=30)
    assert status < 500, answer
    if status >= 400:
        assert isinstance(answer, dict) and isinstance(answer.get("error"), str), answer
    assert violations(status, answer) == [], (status, answer)
