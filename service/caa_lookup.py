"""CAA lookup failure as permission: only on BR 3.2.2.8's terms, shown by the perspective itself.

BR 3.2.2.8: a CA may treat a CAA record lookup failure as permission to issue only if (1) the
failure is outside the CA's infrastructure, (2) the lookup has been retried at least once, and
(3) the domain's zone does not have a DNSSEC validation chain to the ICANN root. Open MPIC's
``caa_check_parameters.allow_lookup_failure`` (spec 3.6) asks for that carve-out, and
open-mpic-core grants it for any timeout or server failure, its own resolver's included. The kit
never lets the core decide: :class:`CaaChecker` clears the flag before the core sees it, and when
the lookup fails it shows the three conditions itself:

1. **Outside the CA's infrastructure.** The perspective's own resolver (part of the CA's
   infrastructure) must have *answered*: a timeout, a refused connection or a ``REFUSED`` answer
   from it is the CA's own failure. Its answer must be ``SERVFAIL`` and carry no Extended DNS
   Error (RFC 8914) other than 22 "No Reachable Authority" or 23 "Network Error": a DNSSEC error
   code (1-12: bogus, signature expired, DNSKEY missing...) is a validation failure, never a lookup
   failure; others (13 "Cached Error", 14 "Not Ready", 15-18 blocked/filtered, 20, 21) are the
   resolver's own state or policy. Unbound (``ede: yes``, every target's resolver) reports the
   DNSSEC codes; Debian 12's 1.17 sends no code for an unreachable authority, so a bare SERVFAIL
   counts as the authority's failure only together with condition 3's live, validated answers
   from the zone's parents (the resolver works and reaches the Internet).
2. **Retried.** The perspective runs the whole lookup again (after :data:`RETRY_DELAY` s) and
   every attempt must fail as in 1; a retry that gets an answer is the answer.
3. **No DNSSEC chain.** A validated proof that the chain ends above the zone: walking from the
   TLD down to the target, the resolver's answer (DO bit, AD flag) to ``DS <name>`` is, at some
   delegation, an authenticated denial whose NSEC/NSEC3 record shows a delegation (NS) without DS,
   or an answer the validating resolver marks insecure (no AD) below a validated parent (NSEC3
   opt-out). An unvalidated answer (no AD at the top: the resolver does not validate), a failure
   or a DS present all the way down prove nothing: no permission.

The check response says what held: its ``errors`` keep the core's lookup error and add
:data:`PERMITTED` (``check_passed: true``) or :data:`NOT_PERMITTED` with each condition and its
evidence.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
from dataclasses import dataclass, field
from typing import Any

import dns.asyncresolver
import dns.dnssec
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from open_mpic_core import CaaCheckRequest, CaaCheckResponse, MpicCaaChecker, MpicValidationError

PERMITTED = "mpic_error:caa_checker:lookup_failure_permitted"
NOT_PERMITTED = "mpic_error:caa_checker:lookup_failure_not_permitted"
RETRY_DELAY = 0.5
"""Seconds between the failed lookup and its retry."""
AUTHORITY_EDE = {22: "No Reachable Authority", 23: "Network Error"}
"""RFC 8914 codes that put the failure on the authoritative side."""
DNSSEC_EDE = range(1, 13)
"""RFC 8914 codes 1-12: DNSSEC validation failures (a bogus zone)."""

_FAILURES: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar("caa_failures", default=None)


@dataclass(frozen=True)
class Attempt:
    """One failed lookup, as the perspective's resolver reported it."""

    kind: str
    """``authority`` (SERVFAIL, no other EDE), ``dnssec`` (a DNSSEC EDE), ``resolver`` (the CA's own
    resolver: timeout, unreachable, REFUSED, its own state) or ``other``."""
    text: str
    ede: tuple[int, ...] = ()


@dataclass
class Proof:
    """Condition 3: is the target's zone provably without a DNSSEC chain to the root?"""

    insecure: bool = False
    validated: bool = False
    """The resolver validated at least one answer on the way down (it validates and reaches the parents)."""
    steps: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "; ".join(self.steps) or "no lookup made"


def classify(exc: BaseException) -> Attempt:
    """What one failed CAA lookup says about where it failed (see the module docstring, 1)."""
    if isinstance(exc, (dns.resolver.LifetimeTimeout, dns.exception.Timeout)):
        return Attempt("resolver", f"no answer from the perspective's resolver in time ({exc})")
    if not isinstance(exc, dns.resolver.NoNameservers):
        return Attempt("other", f"{type(exc).__name__}: {exc}")
    errors = exc.kwargs.get("errors") or []
    answers = [e[4] for e in errors if len(e) > 4 and isinstance(e[4], dns.message.Message)]
    if not answers:
        why = "; ".join(str(e[3]) for e in errors if len(e) > 3) or str(exc)
        return Attempt("resolver", f"the perspective's resolver did not answer ({why})")
    answer = answers[-1]
    rcode = answer.rcode()
    codes = tuple(int(o.code) for o in answer.extended_errors())
    named = ", ".join(f"EDE {int(o.code)} {dns.edns.EDECode.to_text(o.code).replace('_', ' ').title()}"
                      + (f" ({o.text})" if o.text else "") for o in answer.extended_errors())
    said = f"{dns.rcode.to_text(rcode)}" + (f", {named}" if named else "")
    if rcode != dns.rcode.SERVFAIL:
        return Attempt("resolver", f"the perspective's resolver answered {said}", codes)
    if any(c in DNSSEC_EDE for c in codes):
        return Attempt("dnssec", f"DNSSEC validation failed: {said}", codes)
    if set(codes) - set(AUTHORITY_EDE):
        return Attempt("resolver", f"the perspective's resolver answered {said} (its own state or policy)", codes)
    return Attempt("authority", f"the perspective's resolver answered {said}", codes)


def _delegation_denied(name: dns.name.Name, response: dns.message.Message) -> str | None:
    """The NSEC or NSEC3 record of ``response`` (authority) proving a delegation at ``name``
    without DS, as text; None when it proves no such thing."""
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NSEC and rrset.name == name:
            types = {dns.rdatatype.to_text(t) for t in _types(rrset[0])}
        elif rrset.rdtype == dns.rdatatype.NSEC3:
            rd = rrset[0]
            try:
                hashed = dns.dnssec.nsec3_hash(name, rd.salt, rd.iterations, rd.algorithm)
            except (ValueError, dns.exception.DNSException):  # pragma: no cover - unknown hash algorithm
                continue
            if rrset.name.labels[0].decode().upper() != hashed.upper():
                continue
            types = {dns.rdatatype.to_text(t) for t in _types(rd)}
        else:
            continue
        if "NS" in types and "DS" not in types and "SOA" not in types:
            return f"{dns.rdatatype.to_text(rrset.rdtype)} {rrset.name} {' '.join(sorted(types))}"
    return None


def _types(rdata: Any) -> list[int]:
    out: list[int] = []
    for window, bitmap in rdata.windows:
        for i, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    out.append(window * 256 + i * 8 + bit)
    return out


async def prove_insecure(resolver: dns.asyncresolver.Resolver, target: str) -> Proof:
    """Condition 3 (see the module docstring): walk ``DS`` from the TLD down to ``target``."""
    proof = Proof()
    name = dns.name.from_text(target.removeprefix("*."))
    chain = [name.split(depth)[1] for depth in range(2, len(name.labels) + 1)]  # TLD first
    for zone in chain:
        try:
            answer = await resolver.resolve(zone, dns.rdatatype.DS, raise_on_no_answer=False)
            response = answer.response
        except dns.resolver.NXDOMAIN as exc:
            response = exc.response(exc.qnames()[0])
        except dns.exception.DNSException as exc:
            proof.steps.append(f"DS {zone}: {type(exc).__name__}")
            return proof
        secure = bool(response.flags & dns.flags.AD)
        has_ds = any(r.rdtype == dns.rdatatype.DS for r in response.answer)
        if not secure:
            if proof.validated:  # a validating resolver marks the zone insecure (e.g. NSEC3 opt-out)
                proof.insecure = True
                proof.steps.append(f"DS {zone}: answered insecure (no AD) below a validated parent")
            else:
                proof.steps.append(f"DS {zone}: not validated (no AD): the resolver proves nothing")
            return proof
        proof.validated = True
        if has_ds:
            proof.steps.append(f"DS {zone}: present, validated")
            continue
        denial = _delegation_denied(zone, response)
        if denial is not None:
            proof.insecure = True
            proof.steps.append(f"DS {zone}: validated denial, delegation without DS ({denial})")
            return proof
    proof.steps.append(f"a validated DS chain down to {target}: the zone has a DNSSEC chain")
    return proof


class KitCaaChecker(MpicCaaChecker):
    """The core's CAA checker, remembering the exception of a failed lookup (the core keeps only its text)."""

    async def find_caa_records_and_domain(self, caa_request: Any) -> Any:
        try:
            return await super().find_caa_records_and_domain(caa_request)
        except Exception as exc:
            failures = _FAILURES.get()
            if failures is not None:
                failures.append(exc)
            raise


class CaaChecker:
    """CAA checks with lookup failure counted as permission only on BR 3.2.2.8's terms."""

    def __init__(self, checker: KitCaaChecker, resolver: dns.asyncresolver.Resolver, allow: bool,
                 retry_delay: float = RETRY_DELAY):
        self.checker = checker
        self.allow = allow
        self.retry_delay = retry_delay
        self._proof_resolver = copy.copy(resolver)
        self._proof_resolver.use_edns(0, dns.flags.DO, 1232)  # NSEC/NSEC3 records with the denials
        self._proof_resolver.flags = dns.flags.RD | dns.flags.AD

    async def _run(self, request: CaaCheckRequest) -> tuple[CaaCheckResponse, BaseException | None]:
        failures: list[BaseException] = []
        token = _FAILURES.set(failures)
        try:
            response = await self.checker.check_caa(request)
        finally:
            _FAILURES.reset(token)
        return response, failures[-1] if failures else None

    async def check(self, request: CaaCheckRequest) -> CaaCheckResponse:
        params = request.caa_check_parameters
        wanted = bool(params is not None and params.allow_lookup_failure)
        if params is not None:
            params.allow_lookup_failure = False  # the core would grant it for any failure
        response, failure = await self._run(request)
        if response.check_completed or failure is None or not wanted:
            return response
        if not self.allow:
            return _verdict(response, False, "this perspective does not honour allow_lookup_failure "
                                             "(caa_allow_lookup_failure is off)")
        attempts = [classify(failure)]
        if attempts[0].kind == "authority":  # a retry could not turn the CA's own failure into permission
            await asyncio.sleep(self.retry_delay)
            again, failure = await self._run(request)
            if again.check_completed or failure is None:
                return again  # the retry got an answer: that is the answer
            attempts.append(classify(failure))
        proof = await prove_insecure(self._proof_resolver, request.domain_or_ip_target) \
            if all(a.kind == "authority" for a in attempts) else Proof()
        return _verdict(response, *_conditions(attempts, proof))


def _conditions(attempts: list[Attempt], proof: Proof) -> tuple[bool, str]:
    """(permitted, the three conditions with their evidence)."""
    if any(a.kind == "dnssec" for a in attempts):
        return False, (f"{next(a.text for a in attempts if a.kind == 'dnssec')}: a DNSSEC validation failure is "
                       "never a lookup failure (BR 3.2.2.8)")
    evidence = any(set(a.ede) & set(AUTHORITY_EDE) for a in attempts) or proof.validated
    authority = all(a.kind == "authority" for a in attempts)
    said = "; ".join(a.text for a in attempts)
    if authority and not evidence:
        said += "; the parents gave no validated answer (nothing shows the resolver reaches the Internet)"
    retried = len(attempts) >= 2
    held = {
        "outside the CA's infrastructure": (authority and evidence, said),
        "retried at least once": (retried, f"{len(attempts)} lookup{'s' if len(attempts) != 1 else ''}"),
        "zone without a DNSSEC chain to the root": (proof.insecure, proof.text),
    }
    text = "; ".join(f"{name}: {'yes' if ok else 'no'} ({why})" for name, (ok, why) in held.items())
    return all(ok for ok, _ in held.values()), f"BR 3.2.2.8 conditions: {text}"


def _verdict(response: CaaCheckResponse, permitted: bool, why: str) -> CaaCheckResponse:
    errors = list(response.errors or [])
    if permitted:
        response.check_completed = True
        response.check_passed = True
        errors.append(MpicValidationError(error_type=PERMITTED, error_message=f"lookup failure counted as permission: {why}"))
    else:
        errors.append(MpicValidationError(error_type=NOT_PERMITTED, error_message=f"lookup failure not counted as "
                                                                                     f"permission: {why}"))
    response.errors = errors
    return response
