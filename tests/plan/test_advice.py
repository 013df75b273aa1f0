"""``plan.suggest.advice``: one repaired set behind ``check``, ``plan``, the program's refusal and the
R3 warning (#23 part 1: they named different regions for the same config)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from cli.__main__ import app
from config import compliance as c
from config.errors import ConfigError, NonCompliantError
from config.gate import compliance_gate
from config.model import StackConfig
from plan.suggest import advice as a
from plan.suggest.repair import repair

runner = CliRunner()


def _cfg(codes, primary="us-east-1", as_of="2026-12-07"):
    return StackConfig.from_config({"perspectives": codes, "primary": primary, "asOf": as_of}, name="t")


LONDON_PARIS = ["eu-west-2", "eu-west-3", "ap-northeast-1", "sa-east-1", "us-west-2"]  # 344 km pair


def test_check_the_gate_and_the_repair_name_the_same_replacement():
    cfg = _cfg(LONDON_PARIS, as_of="2026-12-15")
    advice = a.advise(cfg)
    s = advice.repaired
    assert s is not None and advice.for_date == dt.date(2026, 12, 15) and not advice.upcoming
    assert s.codes == repair(cfg).codes and len(s.replaced) == 1
    (old, new), = s.replaced
    assert old in ("eu-west-2", "eu-west-3") and new not in LONDON_PARIS
    fix = f"The closest compliant set: replace {old} with {new} (mpic:perspectives: {', '.join(s.codes)})."
    r1, = [f for f in advice.report.violations if f.rule == "R1"]
    assert r1.fix == fix and r1.message == f"{r1.problem} {fix}"
    # the program's refusal (the gate with the advisor) words it the same
    with pytest.raises(NonCompliantError) as refused:
        compliance_gate(cfg, advise=a.advised)
    assert fix in str(refused.value)
    # and so does `mpic check --json`, whose repair is the same set
    out = runner.invoke(app, ["check", "--regions", ",".join(LONDON_PARIS), "--primary", "us-east-1",
                              "--as-of", "2026-12-15", "--json"])
    doc = json.loads(out.stdout)
    assert out.exit_code == 1 and doc["repair"]["perspectives"] == list(s.codes)
    assert [v["fix"] for v in doc["violations"] if v["rule"] == "R1"] == [fix]


def test_the_gate_without_an_advisor_points_to_check():
    with pytest.raises(NonCompliantError) as refused:
        compliance_gate(_cfg(LONDON_PARIS, as_of="2026-12-15"))
    assert c.REPAIR_HINT in str(refused.value) and "closest compliant set:" not in str(refused.value)


def test_an_r3_warning_names_the_set_repaired_for_the_phase_in():
    four = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1"]
    advice = a.advise(_cfg(four))  # 2026-12-07: compliant with 4, 5 needed from 2026-12-15
    assert advice.report.compliant and advice.upcoming and advice.for_date == dt.date(2026, 12, 15)
    s = advice.repaired
    assert s is not None and set(four) < set(s.codes) and len(s.codes) == 5
    warning, = [f for f in advice.report.warnings if f.rule == "R3"]
    assert warning.fix.startswith("The closest compliant set for 2026-12-15: add ")
    assert c.check_stack(_cfg(list(s.codes), as_of="2026-12-15")).compliant
    # `mpic check` prints that set, for that date
    out = runner.invoke(app, ["check", "--regions", ",".join(four), "--primary", "us-east-1", "--as-of", "2026-12-07"])
    assert out.exit_code == 0 and "Repaired set for 2026-12-15" in out.stdout
    assert all(f"  - {code}" in out.stdout for code in s.codes)


def test_a_one_rir_warning_is_repaired_for_the_date_it_becomes_a_violation():
    cfg = _cfg(["us-west-2", "ca-central-1", "us-east-2"], primary=None, as_of="2026-01-05")
    assert a.breaking_date(cfg, c.check_stack(cfg)) == dt.date(2026, 3, 15)
    advice = a.advise(cfg)
    r5, = [f for f in advice.report.warnings if f.rule == "R5"]
    assert r5.fix.startswith("The closest compliant set for 2026-03-15")


def test_nothing_to_repair_leaves_the_report_alone():
    cfg = _cfg(["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"], as_of="2026-12-15")
    report = c.check_stack(cfg)
    advice = a.advise(cfg, report)
    assert advice.report is report and advice.repaired is None and advice.for_date is None and not advice.upcoming


def test_without_a_compliant_set_the_fixes_stay_and_the_reason_is_kept(monkeypatch):
    def no_set(cfg):
        raise ConfigError("mpic:perspectives: no compliant set of 5 exists", key="mpic:perspectives")

    monkeypatch.setattr(a, "repair", no_set)
    cfg = _cfg(LONDON_PARIS, as_of="2026-12-15")
    advice = a.advise(cfg)
    assert advice.repaired is None and "no compliant set of 5" in advice.why_not
    assert advice.report == c.check_stack(cfg)


@pytest.mark.parametrize("replaced, text", [
    ((), "keep the regions"),
    ((("eu-west-3", "eu-central-1"),), "replace eu-west-3 with eu-central-1"),
    ((("", "af-south-1"), ("", "il-central-1")), "add af-south-1, il-central-1"),
    ((("us-east-1", "mx-central-1"), ("eu-west-3", "us-west-2"), ("", "us-west-1")),
     "replace us-east-1 with mx-central-1, replace eu-west-3 with us-west-2 and add us-west-1"),
])
def test_changes_reads_as_one_sentence(replaced, text):
    s = repair(_cfg(LONDON_PARIS, as_of="2026-12-15"))
    assert a.changes(dataclasses.replace(s, replaced=replaced)) == text
