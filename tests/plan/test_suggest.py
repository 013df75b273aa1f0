"""``plan.suggest``: every suggestion is compliant, honours its filters, and is optimal when it
says so (checked against brute force over small catalog subsets)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import compliance as c
from config.catalog import Location, Rir, load_catalog, lookup
from config.errors import ConfigError
from config.geo import distance_km
from config.model import StackConfig
from plan import suggest as sg
from plan.suggest import search as suggest_search
from plan.suggest import SuggestRequest, Suggestion, rtt_floor_ms, suggest
from plan.suggest.model import config_value
from plan.suggest.repair import repair
from plan.price_table import T3_MICRO

DAY = dt.date(2026, 12, 15)  # R3: 5 remote perspectives from this date
CATALOG = load_catalog()
CODES = sorted(CATALOG)
AWS = sorted(code for code, loc in CATALOG.items() if loc.provider == "aws")
ALL_PROVIDERS = frozenset({"aws", "gcp", "azure"})
ISSUE_KEYS = {"perspectives", "primary", "proven_optimal", "min_pair_km", "rirs", "quorum_rtt_ms_bound",
              "monthly_usd", "stack_yaml"}
SITE = Location(code="ca-dc-newark", city="Newark", lat=40.74, lon=-74.17, rir=Rir.ARIN)


def req(count=5, **kw) -> SuggestRequest:
    kw.setdefault("as_of", DAY)
    return SuggestRequest(count=count, **kw)


def assert_compliant(s: Suggestion, request: SuggestRequest) -> None:
    """The properties every suggestion must have, whatever the request."""
    codes = list(s.codes)
    assert len(codes) == request.count == len(set(codes))
    cfg = StackConfig.from_config({"target": "local", "perspectives": codes, "asOf": request.evaluation_date,
                                   **({"primary": config_value(request.primary)} if request.primary else {})})
    report = c.check_stack(cfg)
    assert report.violations == (), report.violations
    points = ([request.primary] if request.primary else []) + list(s.perspectives)
    pairs = [distance_km(a, b) for a, b in itertools.combinations(points, 2)]
    assert min(pairs) >= c.MIN_DISTANCE_KM and math.isclose(s.min_pair_km, min(pairs))
    assert set(request.include) <= set(codes)
    assert not set(codes) & request.exclude
    assert all(CATALOG[code].provider in request.providers for code in codes)
    if request.no_opt_in:
        assert not any(CATALOG[code].opt_in for code in codes)
    if request.primary is not None:
        assert request.primary.code not in codes
    assert sum(s.rirs.values()) == request.count and len(s.rirs) >= 2
    assert s.rirs == dict(Counter(CATALOG[code].rir.value for code in codes))
    assert set(s.reasons) == set(codes) and all(code in s.reasons[code] for code in codes)
    if request.max_monthly_usd is not None:
        assert s.monthly_usd is not None and s.monthly_usd <= request.max_monthly_usd + 1e-9


# ---------------------------------------------------------------------- the issue's example
def test_count_5_primary_us_east_1_is_proven_and_pinned():
    s = suggest(req(5, primary=lookup("us-east-1")))
    assert s.proven_optimal
    assert s.codes == ("sa-east-1", "eu-central-1", "ap-northeast-1", "ap-south-1", "ap-southeast-2")
    assert s.nearest_pair == ("us-east-1", "eu-central-1") and round(s.min_pair_km) == 6566
    assert s.rirs == {"APNIC": 3, "LACNIC": 1, "RIPE NCC": 1} and s.rir_robust and s.quorum == 4
    assert round(s.quorum_rtt_ms_bound, 1) == 126.2
    doc = s.to_json()
    assert ISSUE_KEYS <= set(doc) and doc["primary"] == "us-east-1" and doc["monthly_usd"] is None
    assert doc["stack_yaml"].startswith("mpic:primary: us-east-1\nmpic:perspectives:\n  - sa-east-1\n")
    assert_compliant(s, req(5, primary=lookup("us-east-1")))


def test_quorum_rtt_bound_is_the_quorum_th_smallest_light_in_fibre_rtt():
    request = req(6, primary=lookup("eu-west-1"))
    s = suggest(request)
    rtts = sorted(2 * distance_km(request.primary, p) / 204.0 for p in s.perspectives)
    assert s.quorum == 4 and math.isclose(s.quorum_rtt_ms_bound, rtts[3])
    assert math.isclose(rtt_floor_ms(102.0), 1.0)
    no_primary = suggest(req(5))
    assert no_primary.quorum_rtt_ms_bound is None
    doc = no_primary.to_json()
    assert doc["primary"] is None and doc["quorum_rtt_ms_bound"] is None
    assert not no_primary.stack_yaml.startswith("mpic:primary") and "RTT" not in " ".join(no_primary.reasons.values())


# ---------------------------------------------------------------------- table of requests
CASES = [
    dict(count=5, primary="us-east-1"),
    dict(count=5, primary="us-east-1", no_opt_in=True),
    dict(count=5, primary="us-east-1", include=("eu-west-1", "sa-east-1")),
    dict(count=5, primary="us-east-1", exclude=frozenset({"af-south-1", "ap-southeast-2", "ap-south-1"})),
    dict(count=4, primary="eu-central-1", as_of=dt.date(2026, 7, 1)),
    dict(count=3, as_of=dt.date(2026, 4, 1)),
    dict(count=2, as_of=dt.date(2025, 4, 1)),
    dict(count=5, primary=SITE),
    dict(count=5, providers=ALL_PROVIDERS, primary="us-east-1"),
    dict(count=7, providers=ALL_PROVIDERS, primary="ap-northeast-1"),
    dict(count=6, providers=frozenset({"gcp", "azure"}), no_opt_in=True),
    dict(count=10, primary="us-east-1"),
    dict(count=8, no_opt_in=True, primary="us-west-2"),
]


def _request(case: dict) -> SuggestRequest:
    case = dict(case)
    if isinstance(case.get("primary"), str):
        case["primary"] = lookup(case["primary"])
    return req(**case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_every_suggestion_is_compliant_and_honours_its_filters(case):
    request = _request(case)
    s = suggest(request)
    assert_compliant(s, request)
    assert s.proven_optimal
    again = suggest(request).to_json()  # reproducible: everything but the stopwatch
    assert {k: v for k, v in again.items() if k != "elapsed_s"} == {
        k: v for k, v in s.to_json().items() if k != "elapsed_s"}


def test_provider_diversity_counts_when_several_providers_are_allowed():
    s = suggest(req(5, providers=ALL_PROVIDERS, primary=lookup("us-east-1")))
    assert len(s.providers) == 3
    only_aws = suggest(req(5, primary=lookup("us-east-1")))
    assert set(only_aws.providers) == {"aws"} and any(w.startswith("DIVERSITY") for w in only_aws.warnings)


def test_fewer_opt_in_regions_break_the_tie_of_the_issue_keys():
    # af-south-1 in place of sa-east-1 ties on every key of the issue (same D*, same quorum RTT)
    primary = lookup("us-east-1")
    s = suggest(req(5, primary=primary))
    twin = [CATALOG[c] for c in ("eu-central-1", "af-south-1", "ap-northeast-1", "ap-south-1", "ap-southeast-2")]
    assert math.isclose(_min_pair(twin, primary), s.min_pair_km) and _robust(twin)
    assert math.isclose(sorted(rtt_floor_ms(distance_km(primary, p)) for p in twin)[3], s.quorum_rtt_ms_bound)
    assert not any(p.opt_in for p in s.perspectives) and any(p.opt_in for p in twin)
    assert not any(w.startswith("REGION") for w in s.warnings)


def test_opt_in_regions_are_named_in_a_warning():
    s = suggest(req(10, primary=lookup("us-east-1")))
    opt_in = [code for code in s.codes if CATALOG[code].opt_in]
    assert opt_in and any(w.startswith("REGION") and all(code in w for code in opt_in) for w in s.warnings)


def test_primary_site_appears_in_json_and_yaml_as_a_site():
    s = suggest(req(5, primary=SITE))
    assert s.to_json()["primary"] == {"name": "ca-dc-newark", "lat": 40.74, "lon": -74.17, "rir": "ARIN"}
    raw = {k.removeprefix("mpic:"): v for k, v in yaml.safe_load(s.stack_yaml).items()}
    cfg = StackConfig.from_config({**raw, "asOf": DAY})
    assert cfg.primary == SITE.model_copy(update={"city": "ca-dc-newark"}) and c.check_stack(cfg).compliant


@pytest.mark.parametrize("case", CASES[:6], ids=str)
def test_stack_yaml_round_trips_through_the_config_model(case):
    request = _request(case)
    s = suggest(request)
    raw = {k.removeprefix("mpic:"): v for k, v in yaml.safe_load(s.stack_yaml).items()}
    cfg = StackConfig.from_config({**raw, "asOf": request.evaluation_date})
    assert cfg.codes == s.codes and c.check_stack(cfg).compliant
    assert ("primary" in raw) == (request.primary is not None)


def test_reasons_name_rir_nearest_neighbour_and_quorum_role():
    s = suggest(req(5, primary=lookup("us-east-1"), include=("sa-east-1",)))
    text = s.reasons["sa-east-1"]
    assert "LACNIC" in text and "km" in text and "RTT floor" in text and "--include" in text
    roles = [r for r in s.reasons.values() if "sets the quorum bound" in r]
    assert len(roles) == 1
    a, b = s.nearest_pair
    assert "closest pair" in s.reasons[b if b in s.reasons else a]


# ---------------------------------------------------------------------- budget
def _monthly(codes) -> dict[str, float]:
    """A synthetic monthly cost per region: 100 USD times its t3.micro price over us-east-1's."""
    base = T3_MICRO["us-east-1"]
    return {code: round(100.0 * T3_MICRO.get(code, base) / base, 2) for code in codes}


def test_budget_is_honoured_and_changes_the_set():
    costs = _monthly(AWS)
    free = suggest(req(5, primary=lookup("us-east-1"), region_monthly_usd=costs))
    assert free.monthly_usd == pytest.approx(sum(costs[c] for c in free.codes))
    cap = free.monthly_usd - 1.0
    capped = suggest(req(5, primary=lookup("us-east-1"), region_monthly_usd=costs, max_monthly_usd=cap))
    assert capped.monthly_usd <= cap and capped.codes != free.codes
    assert_compliant(capped, req(5, primary=lookup("us-east-1"), region_monthly_usd=costs, max_monthly_usd=cap))


def test_too_small_a_budget_names_the_cheapest_compliant_set():
    costs = _monthly(AWS)
    with pytest.raises(ConfigError) as err:
        suggest(req(5, primary=lookup("us-east-1"), region_monthly_usd=costs, max_monthly_usd=400.0))
    assert err.value.key == "--max-monthly-usd" and "cheapest compliant set" in str(err.value)
    # brute force: the cheapest compliant 5-set of AWS regions with primary us-east-1
    pool = [CATALOG[code] for code in AWS if code != "us-east-1"
            and distance_km(CATALOG[code], lookup("us-east-1")) >= 500]
    best = min(sum(costs[p.code] for p in combo) for combo in itertools.combinations(pool, 5)
               if _hard_ok(combo, lookup("us-east-1")))
    assert f"${best:,.2f}" in str(err.value)


# ---------------------------------------------------------------------- refusals
REFUSALS = [
    (dict(count=4), "--count", "R3"),  # 5 needed from 2026-12-15
    (dict(count=1, as_of=dt.date(2025, 1, 1)), "--count", ">= 2"),
    (dict(count=40), "--count", "only"),
    (dict(count=5, providers=frozenset({"oracle"})), "--providers", "oracle"),
    (dict(count=5, include=("mars-north-1",)), "--include", "unknown region"),
    (dict(count=5, exclude=frozenset({"nope-1"})), "--exclude", "unknown region"),
    (dict(count=5, include=("eu-west-1",), exclude=frozenset({"eu-west-1"})), "--include", "also in --exclude"),
    (dict(count=5, include=("eu-west-1", "eu-west-2")), "--include", "464 km apart"),
    (dict(count=5, include=("eu-south-1",), no_opt_in=True), "--include", "opt-in"),
    (dict(count=5, include=("gcp-us-east4",)), "--include", "gcp region"),
    (dict(count=5, primary="us-east-1", include=("us-east-1",)), "--include", "primary"),
    (dict(count=5, primary="us-east-1", include=("us-east-2",)), "--include", "from the primary"),
    (dict(count=2, include=("eu-west-1", "us-west-2", "sa-east-1"), as_of=dt.date(2025, 4, 1)), "--include",
     "do not fit"),
    (dict(count=2, include=("us-west-2", "us-east-1"), as_of=dt.date(2025, 4, 1)), "--include", "2 RIRs"),
    (dict(count=5, max_monthly_usd=100.0), "--max-monthly-usd", "Add --target aws-hosts"),
    (dict(count=5, max_monthly_usd=-1.0, region_monthly_usd={}), "--max-monthly-usd", "negative"),
    (dict(count=5, max_monthly_usd=1e6, region_monthly_usd={}, include=("eu-west-1",)), "--include", "no monthly"),
    (dict(count=5, time_budget_s=0), "--time-budget", "positive"),
    (dict(count=14, no_opt_in=True, primary="us-east-1"), "--count", "at most"),
]


@pytest.mark.parametrize("case,key,words", REFUSALS, ids=lambda x: str(x)[:60])
def test_impossible_or_bad_requests_raise_config_errors_naming_key_and_fix(case, key, words):
    with pytest.raises(ConfigError) as err:
        suggest(_request(case))
    assert err.value.key == key and words in str(err.value)
    assert str(err.value).startswith(key)
    assert err.value.fix and err.value.fix.lower() in str(err.value).lower()  # the fix is the message's last part


def test_an_uncoverable_count_names_the_largest_feasible_size():
    with pytest.raises(ConfigError) as err:
        suggest(req(14, no_opt_in=True, primary=lookup("us-east-1")))
    most = int(str(err.value).split("at most ")[1].split()[0])
    assert suggest(req(most, no_opt_in=True, primary=lookup("us-east-1"))).codes
    # and brute force agrees that one more does not fit
    pool = [loc for code, loc in CATALOG.items() if loc.provider == "aws" and not loc.opt_in and code != "us-east-1"
            and distance_km(loc, lookup("us-east-1")) >= 500]
    assert not any(_hard_ok(combo, lookup("us-east-1")) for combo in itertools.combinations(pool, most + 1))


def test_no_compliant_set_at_all():
    lonely = [code for code in AWS if code not in ("us-east-1", "us-west-2", "ca-central-1")]
    with pytest.raises(ConfigError) as err:  # only ARIN regions left: never 2 RIRs
        suggest(req(2, exclude=frozenset(lonely), as_of=dt.date(2025, 4, 1)))
    assert err.value.key == "--count" and "no compliant set of 2" in str(err.value)


# ---------------------------------------------------------------------- time budget
def test_an_exhausted_budget_returns_the_best_set_found_unproven():
    # the slowest case measured (~16,000 search nodes); the clock is read every 256 nodes
    request = req(10, providers=ALL_PROVIDERS, primary=lookup("eu-west-1"), time_budget_s=1e-9)
    s = suggest(request)
    assert not s.proven_optimal and s.nodes < 1000
    assert_compliant(s, request)


@pytest.mark.parametrize("after", [12, 40, 200])
def test_a_budget_ending_anywhere_after_the_first_set_keeps_it(monkeypatch, after):
    real_tick = suggest_search.Clock.tick

    def tick(self):
        real_tick(self)
        if self.nodes > after:
            raise suggest_search.SearchTimeout

    monkeypatch.setattr(suggest_search.Clock, "tick", tick)
    request = req(10, providers=ALL_PROVIDERS, primary=lookup("ap-southeast-1"))
    s = suggest(request)
    assert not s.proven_optimal
    assert_compliant(s, request)


def test_no_set_within_the_budget_is_a_config_error(monkeypatch):
    def boom(self):
        raise suggest_search.SearchTimeout

    monkeypatch.setattr(suggest_search.Clock, "tick", boom)
    with pytest.raises(ConfigError) as err:
        suggest(req(5, primary=lookup("us-east-1")))
    assert "time budget" in str(err.value)
    cfg = StackConfig.from_config({"perspectives": ["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1",
                                                    "sa-east-1"], "asOf": DAY})
    with pytest.raises(ConfigError, match="time budget"):
        repair(cfg)


# ---------------------------------------------------------------------- optimality vs brute force
def _hard_ok(combo, primary) -> bool:
    points = ([primary] if primary else []) + list(combo)
    if any(distance_km(a, b) < c.MIN_DISTANCE_KM for a, b in itertools.combinations(points, 2)):
        return False
    return len({p.rir for p in combo}) >= 2


def _robust(combo) -> bool:
    n = len(combo)
    cap = n - c.allowed_non_corroborations(n) - 1 if n > 2 else n - 1
    return max(Counter(p.rir for p in combo).values()) <= cap


def _min_pair(combo, primary) -> float:
    points = ([primary] if primary else []) + list(combo)
    return min(distance_km(a, b) for a, b in itertools.combinations(points, 2))


def brute_force(pool, n, primary, tolerance, multi_provider):
    """The module docstring's objective, computed by enumerating every set."""
    feasible = [combo for combo in itertools.combinations(pool, n) if _hard_ok(combo, primary)]
    if not feasible:
        return None
    robust = any(_robust(combo) for combo in feasible)
    feasible = [combo for combo in feasible if _robust(combo) == robust]
    d_star = max(_min_pair(combo, primary) for combo in feasible)
    band = [combo for combo in feasible if _min_pair(combo, primary) >= d_star - tolerance]

    def rank(combo):
        provs = len({p.provider for p in combo}) if multi_provider else 0
        if primary is not None:
            rtt = sorted(2 * distance_km(primary, p) / 204.0 for p in combo)[c.required_quorum(n) - 1]
        else:
            rtt = 0.0
        opt_in = sum(p.opt_in for p in combo)
        return (-provs, rtt, opt_in, -_min_pair(combo, primary), sorted(p.code for p in combo))

    return min(band, key=rank)


subsets = st.lists(st.sampled_from(CODES), min_size=12, max_size=12, unique=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subsets, st.sampled_from([None, *CODES]), st.sampled_from([3, 4, 5]), st.sampled_from([0.0, 25.0, 800.0]))
def test_proven_results_are_optimal_against_brute_force(pool_codes, primary_code, n, tolerance):
    primary = lookup(primary_code) if primary_code else None
    pool = [CATALOG[code] for code in sorted(pool_codes) if code != primary_code
            and (primary is None or distance_km(primary, CATALOG[code]) >= 500)]
    request = SuggestRequest(count=n, primary=primary, providers=ALL_PROVIDERS,
                             exclude=frozenset(CODES) - set(pool_codes), as_of=dt.date(2026, 4, 1),
                             tolerance_km=tolerance, time_budget_s=30)
    expected = brute_force(pool, n, primary, tolerance, multi_provider=True)
    if expected is None:
        with pytest.raises(ConfigError):
            suggest(request)
        return
    s = suggest(request)
    assert s.proven_optimal
    assert sorted(s.codes) == sorted(p.code for p in expected)
    assert_compliant(s, request)


@pytest.mark.parametrize("primary_code", [None, "us-east-1", "eu-central-1", "ap-southeast-1"])
def test_twelve_region_subset_n4_matches_brute_force(primary_code):
    pool_codes = ["us-west-2", "ca-central-1", "sa-east-1", "mx-central-1", "eu-west-1", "eu-central-1",
                  "il-central-1", "af-south-1", "ap-south-1", "ap-southeast-1", "ap-northeast-1", "ap-southeast-2"]
    primary = lookup(primary_code) if primary_code else None
    pool = [CATALOG[code] for code in pool_codes if code != primary_code
            and (primary is None or distance_km(primary, CATALOG[code]) >= 500)]
    request = req(4, primary=primary, exclude=frozenset(AWS) - set(pool_codes), as_of=dt.date(2026, 7, 1))
    expected = brute_force(pool, 4, primary, sg.DEFAULT_TOLERANCE_KM, multi_provider=False)
    s = suggest(request)
    assert s.proven_optimal and sorted(s.codes) == sorted(p.code for p in expected)


def test_robustness_outranks_distance_only_when_a_robust_set_exists():
    # N=3 needs 3 RIRs to be robust: the robust optimum is shorter than the unconstrained one
    primary = lookup("us-east-1")
    s = suggest(req(3, primary=primary, as_of=dt.date(2026, 4, 1)))
    assert s.rir_robust and len(s.rirs) == 3
    pool = [loc for loc in CATALOG.values() if loc.provider == "aws" and loc.code != "us-east-1"
            and distance_km(loc, primary) >= 500]
    loose = max(_min_pair(combo, primary) for combo in itertools.combinations(pool, 3) if _hard_ok(combo, primary))
    assert s.min_pair_km < loose
    # two RIRs only: no robust 3-set exists, the solver falls back to >= 2 RIRs and says so
    two = suggest(req(3, include=("us-west-2",), exclude=frozenset(c for c in AWS if CATALOG[c].rir not in
                                                                   (Rir.ARIN, Rir.RIPE_NCC)),
                      as_of=dt.date(2026, 4, 1)))
    assert not two.rir_robust and any(w.startswith("R5") for w in two.warnings)


# ---------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(min_value=2, max_value=7),
       primary=st.sampled_from([None, "us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "site"]),
       providers=st.sets(st.sampled_from(sorted(ALL_PROVIDERS)), min_size=1),
       exclude=st.sets(st.sampled_from(CODES), max_size=10),
       include=st.lists(st.sampled_from(CODES), max_size=2, unique=True),
       no_opt_in=st.booleans(),
       as_of=st.sampled_from([dt.date(2025, 4, 1), dt.date(2026, 4, 1), dt.date(2026, 7, 1), DAY]))
def test_any_request_gives_a_compliant_suggestion_or_a_config_error(count, primary, providers, exclude, include,
                                                                    no_opt_in, as_of):
    request = SuggestRequest(count=count, primary=SITE if primary == "site" else lookup(primary) if primary else None,
                             providers=frozenset(providers), exclude=frozenset(exclude) - set(include),
                             include=tuple(include), no_opt_in=no_opt_in, as_of=as_of, time_budget_s=2)
    try:
        s = suggest(request)
    except ConfigError as err:
        assert err.key and str(err).startswith(err.key)
        return
    assert_compliant(s, request)


def test_a_diagnosis_that_runs_out_of_time_still_says_what_to_relax(monkeypatch):
    from plan.suggest import best as suggest_module

    def slow(*args):
        raise suggest_search.SearchTimeout

    monkeypatch.setattr(suggest_module, "diagnose_infeasible", slow)
    lonely = [code for code in AWS if code not in ("us-east-1", "us-west-2", "ca-central-1")]
    with pytest.raises(ConfigError) as err:
        suggest(req(2, exclude=frozenset(lonely), as_of=dt.date(2025, 4, 1)))
    assert err.value.key == "--count" and "widen --providers" in err.value.fix


def test_the_cheapest_set_under_a_tiny_search_budget_is_named_as_found_not_proven(monkeypatch):
    from plan.suggest import checks as suggest_checks

    costs = _monthly(AWS)
    real = suggest_checks.min_cost_set

    def hurried(problem, clock):
        clock.deadline = 0.0  # the clock is read every 256 nodes: the walk stops at the next read
        return real(problem, clock)

    monkeypatch.setattr(suggest_checks, "min_cost_set", hurried)
    with pytest.raises(ConfigError) as err:
        suggest(req(5, primary=lookup("us-east-1"), region_monthly_usd=costs, max_monthly_usd=400.0))
    assert "found in the time budget" in str(err.value) or "cheapest compliant set" in str(err.value)


def test_the_cheapest_set_skips_regions_past_the_rir_cap():
    # the cheap regions are all ARIN: the cheapest compliant pair takes one of them and the cheapest other
    costs = {code: (1.0 if CATALOG[code].rir is Rir.ARIN else 100.0 + len(code)) for code in AWS}
    with pytest.raises(ConfigError) as err:
        suggest(req(2, as_of=dt.date(2025, 4, 1), region_monthly_usd=costs, max_monthly_usd=50.0))
    cheapest = min(usd for code, usd in costs.items() if CATALOG[code].rir is not Rir.ARIN) + 1.0
    assert f"${cheapest:,.2f}" in str(err.value)
