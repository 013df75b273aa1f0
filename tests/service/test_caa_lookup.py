"""BR 3.2.2.8's three conditions (service.caa_lookup), on the resolver answers that decide them.

The local fleet's smoke suite runs the same decisions against real Knot and Unbound (a bogus
zone, killed resolvers, an unsigned zone whose authority is unreachable); here each answer shape
is built with dnspython so every branch is pinned."""

from __future__ import annotations

import asyncio
from typing import Any

import dns.edns
import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from open_mpic_core import CaaCheckParameters, CaaCheckRequest, CaaCheckResponse, CaaCheckResponseDetails
from service import caa_lookup
from service.caa_lookup import Attempt, CaaChecker, Proof, classify, prove_insecure


def servfail(*ede: int, rcode: int = dns.rcode.SERVFAIL) -> dns.resolver.NoNameservers:
    query = dns.message.make_query("x.test.", "CAA")
    answer = dns.message.make_response(query)
    answer.set_rcode(rcode)
    answer.use_edns(0, 0, 1232, options=[dns.edns.EDEOption(code, "why") for code in ede])
    return dns.resolver.NoNameservers(request=query, errors=[("10.0.0.53", False, 53, dns.rcode.to_text(rcode), answer)])


@pytest.mark.parametrize("exc,kind", [
    (servfail(), "authority"),
    (servfail(22), "authority"),
    (servfail(23), "authority"),
    (servfail(6), "dnssec"),
    (servfail(9, 22), "dnssec"),
    (servfail(13), "resolver"),  # Cached Error: the retry did not retry
    (servfail(18), "resolver"),  # Prohibited: the resolver's own policy
    (servfail(rcode=dns.rcode.REFUSED), "resolver"),
    (dns.resolver.NoNameservers(request=dns.message.make_query("x.test.", "CAA"),
                                errors=[("10.0.0.53", False, 53, ConnectionRefusedError(111, "refused"), None)]),
     "resolver"),
    (dns.resolver.LifetimeTimeout(timeout=2.0, errors=[]), "resolver"),
    (ValueError("odd"), "other"),
])
def test_where_a_failure_happened(exc: BaseException, kind: str) -> None:
    attempt = classify(exc)
    assert attempt.kind == kind, attempt
    if kind == "dnssec":
        assert "EDE" in attempt.text and "Dnssec Bogus" in attempt.text or "Dnskey Missing" in attempt.text


def test_the_answer_names_the_ede() -> None:
    assert "EDE 22 No Reachable Authority (why)" in classify(servfail(22)).text


AUTH = Attempt("authority", "the perspective's resolver answered SERVFAIL")
AUTH_EDE = Attempt("authority", "the perspective's resolver answered SERVFAIL, EDE 22", (22,))
INSECURE = Proof(insecure=True, validated=True, steps=["DS x.test: validated denial"])


@pytest.mark.parametrize("attempts,proof,permitted,says", [
    ([AUTH, AUTH], INSECURE, True, "outside the CA's infrastructure: yes"),
    ([AUTH_EDE, AUTH_EDE], INSECURE, True, "retried at least once: yes (2 lookups)"),
    ([AUTH], INSECURE, False, "retried at least once: no (1 lookup)"),
    ([AUTH, Attempt("resolver", "timeout")], INSECURE, False, "outside the CA's infrastructure: no"),
    ([AUTH, AUTH], Proof(validated=True, steps=["DS x.test: present, validated"]), False,
     "zone without a DNSSEC chain to the root: no (DS x.test: present, validated)"),
    ([AUTH, AUTH], Proof(steps=["DS test: not validated (no AD)"]), False, "the parents gave no validated answer"),
    ([AUTH_EDE, Attempt("dnssec", "DNSSEC validation failed: SERVFAIL, EDE 6")], INSECURE, False,
     "a DNSSEC validation failure is never a lookup failure"),
])
def test_all_three_conditions_or_no_permission(attempts: list[Attempt], proof: Proof, permitted: bool,
                                               says: str) -> None:
    ok, text = caa_lookup._conditions(attempts, proof)
    assert ok is permitted and says in text, text


# ----------------------------------------------------------------------------- the DS walk
class FakeResolver:
    """Answers DS queries from a table: name -> (rcode, AD, answer rrsets, authority rrsets) or an exception."""

    def __init__(self, table: dict[str, Any]):
        self.table = table
        self.asked: list[str] = []

    async def resolve(self, name: dns.name.Name, rdtype: Any, raise_on_no_answer: bool = True) -> Any:
        self.asked.append(str(name))
        entry = self.table[str(name)]
        if isinstance(entry, BaseException):
            raise entry
        rcode, ad, answer, authority = entry
        query = dns.message.make_query(name, rdtype)
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        if ad:
            response.flags |= dns.flags.AD
        response.answer = [dns.rrset.from_text(str(name), 0, "IN", *rr) for rr in answer]
        response.authority = [dns.rrset.from_text(owner, 0, "IN", *rr) for owner, rr in authority]
        if rcode == dns.rcode.NXDOMAIN:
            raise dns.resolver.NXDOMAIN(qnames=[name], responses={name: response})

        class Answer:
            pass

        out = Answer()
        out.response = response  # type: ignore[attr-defined]
        return out


DS = ("DS", "12345 13 2 " + "AB" * 32)


def _walk(table: dict[str, Any], target: str) -> tuple[Proof, list[str]]:
    resolver = FakeResolver(table)
    return asyncio.run(prove_insecure(resolver, target)), resolver.asked  # type: ignore[arg-type]


def test_an_nsec_delegation_without_ds_proves_the_zone_insecure() -> None:
    proof, asked = _walk({
        "test.": (dns.rcode.NOERROR, True, [DS], []),
        "insecure.test.": (dns.rcode.NOERROR, True, [], [("insecure.test.", ("NSEC", "ns.insecure.test. NS RRSIG NSEC"))]),
    }, "www.insecure.test")
    assert proof.insecure and proof.validated and asked == ["test.", "insecure.test."]
    assert "delegation without DS (NSEC insecure.test. NS NSEC RRSIG)" in proof.text


def test_an_nsec3_delegation_without_ds_proves_it_too() -> None:
    hashed = dns.dnssec.nsec3_hash("insecure.test.", "aabb", 0, 1).lower()
    proof, _ = _walk({
        "test.": (dns.rcode.NOERROR, True, [DS], []),
        "insecure.test.": (dns.rcode.NOERROR, True, [],
                           [(f"{hashed}.test.", ("NSEC3", f"1 0 0 aabb {hashed.upper()} NS"))]),
    }, "insecure.test")
    assert proof.insecure, proof.text


@pytest.mark.parametrize("table,says", [
    ({"test.": (dns.rcode.NOERROR, True, [DS], []), "signed.test.": (dns.rcode.NOERROR, True, [DS], [])},
     "a validated DS chain down to signed.test"),
    ({"test.": (dns.rcode.NOERROR, False, [DS], [])}, "not validated (no AD): the resolver proves nothing"),
    ({"test.": (dns.rcode.NOERROR, True, [DS], []), "signed.test.": dns.resolver.NoNameservers()},
     "DS signed.test.: NoNameservers"),
    # an existing name inside a signed zone (NSEC with A, no NS) is no delegation: the walk goes on
    ({"test.": (dns.rcode.NOERROR, True, [], [("test.", ("NSEC", "a.test. NS SOA RRSIG NSEC DNSKEY"))]),
      "signed.test.": (dns.rcode.NOERROR, True, [], [("signed.test.", ("NSEC", "z.test. A RRSIG NSEC"))])},
     "a validated DS chain down to signed.test"),
])
def test_no_proof_no_permission(table: dict[str, Any], says: str) -> None:
    proof, _ = _walk(table, "signed.test")
    assert not proof.insecure and says in proof.text, proof.text


def test_an_insecure_answer_below_a_validated_parent_is_a_proof() -> None:
    """NSEC3 opt-out: the validating resolver marks the delegation insecure (no AD)."""
    proof, _ = _walk({"test.": (dns.rcode.NOERROR, True, [DS], []),
                      "optout.test.": (dns.rcode.NOERROR, False, [], [])}, "optout.test")
    assert proof.insecure and "insecure (no AD) below a validated parent" in proof.text


def test_nxdomain_is_read_like_any_denial() -> None:
    proof, _ = _walk({"test.": (dns.rcode.NOERROR, True, [DS], []),
                      "gone.test.": (dns.rcode.NXDOMAIN, True, [], [])}, "gone.test")
    assert not proof.insecure and proof.validated


# ------------------------------------------------------------------------- the whole check
class ScriptedChecker:
    """Stands for the core's checker: fails (recording the exception as KitCaaChecker does) or answers."""

    def __init__(self, script: list[BaseException | None]):
        self.script = script
        self.seen: list[bool] = []

    async def check_caa(self, request: CaaCheckRequest) -> CaaCheckResponse:
        self.seen.append(request.caa_check_parameters.allow_lookup_failure)
        step = self.script.pop(0)
        if step is None:
            return CaaCheckResponse(check_completed=True, check_passed=False, errors=None,
                                    details=CaaCheckResponseDetails(caa_record_present=True), timestamp_ns=1)
        failures = caa_lookup._FAILURES.get()
        assert failures is not None
        failures.append(step)
        return CaaCheckResponse(check_completed=False, check_passed=False, errors=[],
                                details=CaaCheckResponseDetails(caa_record_present=None), timestamp_ns=1)


def _check(script: list[BaseException | None], walk: dict[str, Any], allow: bool = True) -> tuple[Any, Any]:
    checker = ScriptedChecker(script)
    guarded = CaaChecker(checker, dns.resolver.Resolver(configure=False), allow, retry_delay=0)  # type: ignore[arg-type]
    guarded._proof_resolver = FakeResolver(walk)  # type: ignore[assignment]
    request = CaaCheckRequest(domain_or_ip_target="insecure.test",
                              caa_check_parameters=CaaCheckParameters(allow_lookup_failure=True))
    return asyncio.run(guarded.check(request)), checker


INSECURE_WALK = {"test.": (dns.rcode.NOERROR, True, [DS], []),
                 "insecure.test.": (dns.rcode.NOERROR, True, [],
                                    [("insecure.test.", ("NSEC", "ns.insecure.test. NS RRSIG NSEC"))])}


def test_permission_when_all_three_hold_and_the_core_never_sees_the_flag() -> None:
    response, checker = _check([servfail(), servfail()], INSECURE_WALK)
    assert response.check_completed and response.check_passed
    assert response.errors[-1].error_type == caa_lookup.PERMITTED
    assert checker.seen == [False, False]  # the flag was cleared before the core ran, both times


def test_a_retry_that_answers_is_the_answer() -> None:
    response, checker = _check([servfail(), None], INSECURE_WALK)
    assert response.check_completed and not response.check_passed and not response.errors
    assert len(checker.seen) == 2


def test_the_cas_own_failure_is_not_retried_into_permission() -> None:
    response, checker = _check([dns.resolver.LifetimeTimeout(timeout=2.0, errors=[])], INSECURE_WALK)
    assert not response.check_passed and response.errors[-1].error_type == caa_lookup.NOT_PERMITTED
    assert len(checker.seen) == 1


def test_a_perspective_with_the_setting_off_says_so() -> None:
    response, _ = _check([servfail()], INSECURE_WALK, allow=False)
    assert not response.check_passed and "caa_allow_lookup_failure is off" in response.errors[-1].error_message
