"""service.names: the fast path gives the core's answer for every target it takes, and hands the
core every other target (its answers and errors unchanged)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from open_mpic_core.common_util.domain_encoder import DomainEncoder

from service import names

CORE = names._CORE


def core_answer(target: str) -> str | type[ValueError]:
    try:
        return CORE(target)
    except ValueError:
        return ValueError


def kit_answer(target: str) -> str | type[ValueError]:
    try:
        return names.prepare_target_for_lookup(target)
    except ValueError:
        return ValueError


LDH = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
NEAR = st.text(alphabet="abz09-_XN*.:[]\u00e9\u0131", min_size=0, max_size=70)
"""Targets around the fast path's edge: upper case, underscores, wildcards, colons and brackets
(IP addresses), non-ASCII letters, empty labels, hyphens anywhere."""


@settings(max_examples=600, deadline=None)
@given(st.lists(LDH, min_size=1, max_size=6).map(".".join), st.booleans())
@example("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61, False)  # 253 octets: still the fast path
@example("xn--bcher-kva.example", False)
@example("ab--cd.example", True)
@example("1.2.3.4", False)
@example("1.2.3.04", True)
@example("example.123", False)
def test_a_dns_name_gets_the_cores_answer(name: str, wildcard: bool) -> None:
    target = f"*.{name}" if wildcard else name
    assert kit_answer(target) == core_answer(target)
    if names.unchanged(name):
        assert CORE(target) == name  # the fast path's whole claim: the core returns it as it is


@settings(max_examples=1500, deadline=None)
@given(NEAR)
@example("")
@example(".")
@example("example.com.")
@example("Example.COM")
@example("_acme-challenge.example.com")
@example("-a.example")
@example("a-.example")
@example("[2606:4700:4700::1111]")
@example("2606:4700:4700::1111")
@example("*.*.example")
@example("b\u00fccher.example")
@example("a" * 64 + ".example")
def test_any_text_gets_the_cores_answer_or_its_error(target: str) -> None:
    assert kit_answer(target) == core_answer(target)


@pytest.mark.parametrize("name,fast", [
    ("caa-permit.mpic.test", True), ("a" * 63 + ".example", True), ("localhost", True), ("0x1.com", True),
    ("x" * 254, False), ("a" * 64 + ".example", False), ("Example.com", False), ("xn--bcher-kva.example", False),
    ("ab--cd.example", False), ("1.2.3.4", False), ("example.com.", False), ("_acme-challenge.example", False),
    ("-a.example", False), ("a-.example", False), ("a..example", False),
])
def test_the_fast_path_takes_only_names_idna_leaves_alone(name: str, fast: bool) -> None:
    assert names.unchanged(name) is fast


def test_install_points_the_core_at_the_fast_path_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DomainEncoder, "prepare_target_for_lookup", staticmethod(CORE))
    names.install()
    names.install()
    assert DomainEncoder.prepare_target_for_lookup is names.prepare_target_for_lookup
    assert DomainEncoder.prepare_target_for_lookup("*.Example.COM") == "example.com"  # the core's path, through it
    assert DomainEncoder.prepare_target_for_lookup("*.caa-permit.mpic.test") == "caa-permit.mpic.test"
    with pytest.raises(ValueError):
        DomainEncoder.prepare_target_for_lookup("xn--invalid-.example")
