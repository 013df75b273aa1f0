"""The BR 3.2.2.9 compliance check: one pure function per rule, evaluated before any resource.

Rule ids R1..R9 follow ``docs`` of the kit (the rules table in the README). R1-R6 are checked
here at config time; R7 (authenticated, encrypted channel), R8 (no reuse of another
perspective's result) and R9 (logging) are properties of the runtime in ``service/``, which
always uses mutual TLS, keeps one resolver and result per perspective and writes the audit log.

Every finding names the regions, the distance where one applies, the rule, and a concrete fix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal

from config.br import (
    MIN_DISTANCE_KM,
    MIN_REMOTE_PHASES,
    QUORUM_EFFECTIVE,
    RIR_EFFECTIVE,
    allowed_non_corroborations,
    min_remote_perspectives,
    required_quorum,
)
from config.audit import MIN_RETENTION_DAYS
from config.catalog import Location
from config.fixes import fix_text, suggest_replacements
from config.geo import distance_km, format_km
from config.model import StackConfig

__all__ = [  # the BR tables are re-exported: callers read them from the rules' module
    "MIN_DISTANCE_KM", "MIN_REMOTE_PHASES", "QUORUM_EFFECTIVE", "RIR_EFFECTIVE", "Finding", "Report",
    "allowed_non_corroborations", "check_stack", "format_report", "min_remote_perspectives",
    "nearest_neighbours", "required_quorum", "suggest_replacements",
]

# Public anycast resolvers: one cache shared by everybody, so never a perspective's resolver (R6).
PUBLIC_ANYCAST_RESOLVERS: frozenset[str] = frozenset({
    "8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844",  # Google
    "1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001",  # Cloudflare
    "9.9.9.9", "149.112.112.112", "2620:fe::fe", "2620:fe::9",  # Quad9
    "208.67.222.222", "208.67.220.220",  # OpenDNS
    "94.140.14.14", "94.140.15.15",  # AdGuard
    "185.228.168.9", "76.76.2.0", "76.76.19.19",  # CleanBrowsing, Control D, Alternate DNS
})

Severity = Literal["violation", "warning"]
REPAIR_HINT = "mpic check names the closest compliant set"
"""Where a finding's fix points for the regions to move: the rules only say what is wrong;
:func:`plan.suggest.advice.advise` (behind ``check``, ``plan`` and the program's refusal) names the
one repaired set and rewrites these fixes with it."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One rule outcome that needs the operator's attention."""

    rule: str
    severity: Severity
    message: str
    regions: tuple[str, ...] = ()
    distance_km: float | None = None
    fix: str = ""
    """The fix sentence that ends ``message`` when the fix is a different region set, so that one
    repaired set for the whole report (:mod:`plan.suggest.advice`) can take its place."""

    @property
    def problem(self) -> str:
        """The message without its fix sentence."""
        return self.message.removesuffix(self.fix).rstrip() if self.fix else self.message

    def to_json(self) -> dict:
        return {"rule": self.rule, "message": self.message, "regions": list(self.regions),
                "distance_km": None if self.distance_km is None else round(self.distance_km, 1), "fix": self.fix}


@dataclasses.dataclass(frozen=True)
class Report:
    """The outcome of :func:`check_stack`."""

    as_of: dt.date
    primary: Location | None
    perspectives: tuple[Location, ...]
    findings: tuple[Finding, ...]

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "violation")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def compliant(self) -> bool:
        return not self.violations

    def to_json(self) -> dict:
        def loc(p: Location) -> dict:
            return {"code": p.code, "city": p.city, "rir": p.rir.value, "lat": p.lat, "lon": p.lon}

        return {
            "compliant": self.compliant,
            "as_of": self.as_of.isoformat(),
            "violations": [f.to_json() for f in self.violations],
            "warnings": [f.to_json() for f in self.warnings],
            "perspectives": [loc(p) for p in self.perspectives],
            "primary": loc(self.primary) if self.primary else None,
        }


def _label(cfg: StackConfig, loc: Location) -> str:
    return f"primary {loc.code}" if cfg.primary is not None and loc.code == cfg.primary.code else loc.code


# ---------------------------------------------------------------------- rules
def rule_r1_distance(cfg: StackConfig) -> list[Finding]:
    """R1 — BR 3.2.2.9: each remote perspective is >= 500 km from the primary perspective and
    from every other remote perspective in the quorum (straight line, WGS84 geodesic). A
    perspective is located where its traffic is first handed to the Internet, so perspectives
    that share one cluster (the Kubernetes lab mode) are 0 km apart. Without ``mpic:primary`` the
    distances to the primary cannot be checked: a violation for a stack that deploys to a cloud
    (aws-hosts, aws-lambda, k8s), a warning for the local fleet and ad hoc ``--regions`` checks."""
    findings = []
    if cfg.primary is None:  # an error for a stack that deploys to a cloud; ad hoc and local checks may omit it
        deployed = cfg.target != "local"
        findings.append(Finding("R1", "violation" if deployed else "warning",
                                f"mpic:primary: not set, so distances to the CA's primary perspective were not "
                                f"checked; BR 3.2.2.9 counts it{', so a stack deploying to ' + cfg.target + ' must name it' if deployed else ''}. "
                                f"Set mpic:primary to a region code (e.g. us-east-1) or a site {{name, lat, lon, rir}}.",
                                (), None))
    if cfg.target == "k8s" and cfg.k8s.lab_mode:
        findings.append(Finding("R1", "violation",
                                "mpic:k8s.labMode: every perspective runs in one cluster, so all validation traffic "
                                "leaves from one place; BR 3.2.2.9 needs each remote perspective >= 500 km from the "
                                "others. Lab use only (with mpic:complianceMode: testing); for a real fleet set "
                                "labMode: false and give each region its own cluster in mpic:k8s.clusters.",
                                cfg.codes, 0.0))
    points = cfg.locations
    for a, b in itertools.combinations(points, 2):
        d = distance_km(a, b)
        if d >= MIN_DISTANCE_KM:
            continue
        movable = [p.code for p in (a, b) if cfg.primary is None or p.code != cfg.primary.code]
        fix = (f"Replace {' or '.join(movable)} with a region >= 500 km from every other perspective "
               f"({REPAIR_HINT}).")
        findings.append(Finding(
            "R1", "violation",
            f"perspectives: {_label(cfg, a)} and {_label(cfg, b)} are {format_km(d)} apart; BR 3.2.2.9 needs >= 500 "
            f"km between every pair of perspectives (primary included). {fix}",
            (a.code, b.code), d, fix))
    return findings


def rule_r2_borderline(cfg: StackConfig) -> list[Finding]:
    """R2 — advisory: region coordinates are city-level estimates, so a pair within the margin
    above BR 3.2.2.9's 500 km may in fact hand traffic off closer than 500 km."""
    limit = MIN_DISTANCE_KM + cfg.borderline_margin_km
    out = []
    for a, b in itertools.combinations(cfg.locations, 2):
        d = distance_km(a, b)
        if MIN_DISTANCE_KM <= d < limit:
            out.append(Finding(
                "R2", "warning",
                f"perspectives: {_label(cfg, a)} and {_label(cfg, b)} are {format_km(d)} apart, within "
                f"{cfg.borderline_margin_km:.0f} km of BR 3.2.2.9's 500 km minimum on city-level coordinates. "
                f"Consider a farther region: {fix_text(cfg, b)}", (a.code, b.code), d))
    return out


def rule_r3_count(cfg: StackConfig, on: dt.date) -> list[Finding]:
    """R3 — BR 3.2.2.9: minimum number of remote perspectives used per attempt: 2 from
    2025-03-15, 3 from 2026-03-15, 4 from 2026-06-15, 5 from 2026-12-15. Warns ahead of the next
    phase that this config would fail."""
    n = cfg.cohort_size
    need = min_remote_perspectives(on)
    if n < need:
        add = need - n
        fix = f"Add {plural(add, 'perspective')} and raise mpic:perspectiveCount ({REPAIR_HINT})."
        return [Finding("R3", "violation",
                        f"mpic:perspectiveCount: {n} remote perspectives per attempt; BR 3.2.2.9 needs >= {need} "
                        f"from {_phase_start(on)}. {fix}", cfg.codes, None, fix)]
    for start, count in MIN_REMOTE_PHASES:
        if start > on and n < count:
            last_day = start - dt.timedelta(days=1)
            fix = f"Add {plural(count - n, 'perspective')} before then ({REPAIR_HINT})."
            return [Finding("R3", "warning",
                            f"mpic:perspectiveCount: {n} remote perspectives per attempt is compliant until "
                            f"{last_day.isoformat()} only; from {start.isoformat()} BR 3.2.2.9 needs >= {count} "
                            f"({(start - on).days} days from {on.isoformat()}). {fix}", cfg.codes, None, fix)]
    return []


def _phase_start(on: dt.date) -> str:
    return max((s for s, _ in MIN_REMOTE_PHASES if s <= on), default=on).isoformat()


def rule_r4_quorum(cfg: StackConfig, on: dt.date) -> list[Finding]:
    """R4 — BR 3.2.2.9 quorum table: with 2-5 remote perspectives at most 1 may fail to
    corroborate; with 6 or more, at most 2 (advisory before 2025-09-15)."""
    n = cfg.cohort_size
    if cfg.quorum is None or n < 2:
        return []
    need = required_quorum(n)
    if cfg.quorum >= need:
        return []
    severity: Severity = "violation" if on >= QUORUM_EFFECTIVE else "warning"
    return [Finding("R4", severity,
                    f"mpic:quorum: {cfg.quorum} of {n} lets {n - cfg.quorum} perspectives fail; BR 3.2.2.9 allows "
                    f"{allowed_non_corroborations(n)} non-corroboration{'s' if n >= 6 else ''} with {n} remote "
                    f"perspectives. Set mpic:quorum to {need} or leave it unset.", cfg.codes, None)]


def rule_r5_rir(cfg: StackConfig, on: dt.date) -> list[Finding]:
    """R5 — BR 3.2.2.9: the remote perspectives that corroborate must fall in >= 2 distinct RIRs
    (from 2026-03-15). A pool in one RIR can never form a compliant quorum (violation); a pool
    where f failures of the minority RIRs leave only one RIR passing is fragile (warning)."""
    rirs = Counter(p.rir for p in cfg.perspectives)
    if len(rirs) < 2:
        only = next(iter(rirs)).value
        severity: Severity = "violation" if on >= RIR_EFFECTIVE else "warning"
        fix = f"Add or swap in a region of another RIR ({REPAIR_HINT})."
        return [Finding("R5", severity,
                        f"mpic:perspectives: every perspective is in {only}; BR 3.2.2.9 needs the corroborating "
                        f"perspectives in >= 2 RIRs. {fix}", cfg.codes, None, fix)]
    n = cfg.cohort_size
    f = n - (cfg.quorum or required_quorum(n))
    rir, largest = rirs.most_common(1)[0]
    if n > 2 and largest > n - f - 1:
        return [Finding("R5", "warning",
                        f"mpic:perspectives: {largest} of {n} perspectives are in {rir.value}; if the {n - largest} "
                        f"outside it fail, the passing ones span one RIR and issuance is blocked. Move one "
                        f"perspective to another RIR so that at most {n - f - 1} share one.",
                        tuple(p.code for p in cfg.perspectives if p.rir == rir), None)]
    return []


def rule_r6_resolvers(cfg: StackConfig) -> list[Finding]:
    """R6 — BR 3.2.2.9: a perspective's recursive resolver may be outside the perspective but in
    the same RIR; the resolvers used in one attempt are >= 500 km apart; no shared cache, so no
    public anycast resolver and no resolver address shared by two perspectives."""
    out: list[Finding] = []
    for p in cfg.perspectives:
        spec = cfg.resolver_for(p.code)
        if spec.address is not None and _is_public_anycast(spec.address):
            out.append(Finding("R6", "violation",
                               f"mpic:resolvers.{p.code}.address: {spec.address} is a public anycast resolver shared by "
                               "everyone; BR 3.2.2.9 forbids a shared cache. Remove the address to use the kit's own "
                               "resolver in the perspective's region.", (p.code,), None))
        loc = cfg.resolver_location(p)
        if loc.rir != p.rir:
            out.append(Finding("R6", "violation",
                               f"mpic:resolvers.{p.code}.location: {loc.code} is in {loc.rir.value} but perspective "
                               f"{p.code} is in {p.rir.value}; BR 3.2.2.9 keeps a perspective's resolver in its RIR. "
                               "Remove the location to co-locate the resolver with the perspective.", (p.code, loc.code), None))
    addrs: dict[str, str] = {}
    for p in cfg.perspectives:
        addr = cfg.resolver_for(p.code).address
        if addr is None:
            continue
        if addr in addrs:
            out.append(Finding("R6", "violation",
                               f"mpic:resolvers: {addrs[addr]} and {p.code} share the resolver {addr}; BR 3.2.2.9 "
                               "forbids a shared cache. Give each perspective its own resolver.", (addrs[addr], p.code), None))
        addrs.setdefault(addr, p.code)
    explicit = [p for p in cfg.perspectives if cfg.resolver_for(p.code).location is not None]
    for a, b in itertools.combinations(cfg.perspectives, 2):
        if a not in explicit and b not in explicit:
            continue  # co-located resolvers are as far apart as their perspectives (R1)
        la, lb = cfg.resolver_location(a), cfg.resolver_location(b)
        d = distance_km(la, lb)
        if d < MIN_DISTANCE_KM:
            out.append(Finding("R6", "violation",
                               f"mpic:resolvers: the resolvers of {a.code} ({la.code}) and {b.code} ({lb.code}) are "
                               f"{format_km(d)} apart; BR 3.2.2.9 needs >= 500 km between the resolvers of one attempt. "
                               "Co-locate each resolver with its perspective (remove mpic:resolvers entries).",
                               (a.code, b.code), d))
    return out


def _is_public_anycast(address: str) -> bool:
    return str(ipaddress.ip_address(address)) in PUBLIC_ANYCAST_RESOLVERS


def rule_regions(cfg: StackConfig) -> list[Finding]:
    """Catalog: opt-in regions must be enabled in the cloud account before a deploy (upstream
    deploys to "all regions" broke on them)."""
    return [Finding("REGION", "warning",
                    f"mpic:perspectives: {p.code} ({p.city}) is an opt-in region; enable it in the account "
                    f"first (aws account enable-region --region-name {p.code}) or the deploy fails there.",
                    (p.code,), None)
            for p in cfg.locations if p.opt_in and p.provider == "aws" and cfg.target != "local"]


def rule_provider_diversity(cfg: StackConfig) -> list[Finding]:
    """Advisory: perspectives spread over more than one cloud provider resist routing attacks
    better (Cimaszewski et al., USENIX Security 2023: >97% resilience with vantage points in
    different providers)."""
    providers = {p.provider for p in cfg.perspectives}
    if len(providers) != 1 or len(cfg.perspectives) < 2:
        return []
    only = next(iter(providers))
    return [Finding("DIVERSITY", "warning",
                    f"mpic:perspectives: every perspective runs on {only}; BR 3.2.2.9 allows one provider, but "
                    "perspectives in a second provider or network resist BGP attacks better. Consider adding "
                    "one elsewhere.", cfg.codes, None)]


def rule_audit_retention(cfg: StackConfig) -> list[Finding]:
    """AUDIT — BR 5.4.3: the audit records of every validation are kept at least two years; on AWS
    the CloudWatch Logs groups keep them ``mpic:audit.retentionDays``; on Kubernetes they leave the
    pods for the sink the operator names (``mpic:audit.sink``)."""
    if cfg.target == "k8s" and cfg.audit.sink is None:
        return [Finding("AUDIT", "violation",
                        "mpic:audit.sink: missing. On Kubernetes the audit records leave the pods for a sink the CA "
                        "keeps two years (BR 5.4.3); name it, e.g. mpic:audit: {sink: {kind: s3, bucket: "
                        "example-ca-mpic-audit, region: us-east-1}} (docs/audit.md).", (), None)]
    days = cfg.audit.retention_days
    if cfg.target not in ("aws-hosts", "aws-lambda") or days >= MIN_RETENTION_DAYS:
        return []
    return [Finding("AUDIT", "violation",
                    f"mpic:audit.retentionDays: {days} days; BR 5.4.3 keeps the audit records of every validation at "
                    f"least two years. Set mpic:audit.retentionDays to {MIN_RETENTION_DAYS} or more (or remove it: "
                    f"the default is {MIN_RETENTION_DAYS}).", (), None)]


CONFIG_RULES: tuple[Callable[[StackConfig, dt.date], Iterable[Finding]], ...] = (
    lambda c, d: rule_r1_distance(c),
    lambda c, d: rule_r2_borderline(c),
    rule_r3_count,
    rule_r4_quorum,
    rule_r5_rir,
    lambda c, d: rule_r6_resolvers(c),
    lambda c, d: rule_regions(c),
    lambda c, d: rule_provider_diversity(c),
    lambda c, d: rule_audit_retention(c),
)


def check_stack(cfg: StackConfig, today: dt.date | None = None) -> Report:
    """Run every config-time rule; ``cfg.as_of`` (or ``today``, or the real date) is the date."""
    on = cfg.evaluation_date(today)
    findings: list[Finding] = []
    for rule in CONFIG_RULES:
        findings.extend(rule(cfg, on))
    return Report(on, cfg.primary, cfg.perspectives, tuple(findings))


def nearest_neighbours(cfg: StackConfig) -> dict[str, tuple[str, float]]:
    """For each location (primary included), its nearest other location and the distance."""
    points = cfg.locations
    out = {}
    for p in points:
        others = [(distance_km(p, q), q.code) for q in points if q.code != p.code]
        if others:
            d, code = min(others)
            out[p.code] = (code, d)
    return out


def plural(n: int, noun: str) -> str:
    """``1 warning``, ``2 warnings``, ``0 violations``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_report(report: Report, cfg: StackConfig, finding_text: Callable[[Finding], str] | None = None) -> str:
    """Plain-text rendering of the findings (used by the CLI and ``pulumi.RunError``);
    ``finding_text`` words a finding otherwise than its message."""
    text = finding_text or (lambda f: f.message)
    lines = []
    for f in report.violations:
        lines.append(f"VIOLATION {f.rule}: {text(f)}")
    for f in report.warnings:
        lines.append(f"warning   {f.rule}: {text(f)}")
    verdict = "compliant" if report.compliant else "NOT compliant"
    sections = "BR 3.2.2.9 and 5.4.3" if any(f.rule == "AUDIT" for f in report.violations) else "BR 3.2.2.9"
    lines.append(f"{cfg.name}: {verdict} with CA/B Forum {sections} as of {report.as_of.isoformat()} "
                 f"({plural(len(report.violations), 'violation')}, {plural(len(report.warnings), 'warning')}).")
    return "\n".join(lines)


