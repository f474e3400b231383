"""Clinician clearance of blocking red flags (domain.md §7.3): who, when, why, which flags; it unblocks the plan."""

from __future__ import annotations

from datetime import date

import pytest

from backtorun.errors import BadIntake
from backtorun.findings import evaluate_findings
from backtorun.intake import Clearance, intake_from_form, load_red_flag_rules, parse_intake, screen_red_flags
from backtorun.plan import build_plan
from backtorun.types import RedFlagScreen
from tests.findings.gait_builder import scenario

TODAY = date(2026, 11, 20)


def make(red=None, clearance=(), age=40, **extra):
    return parse_intake({"age_years": age, "sex": "male", "assessment_date": TODAY.isoformat(), "pain": {"now": 4},
                         "history": {"previous_episodes": 2}, "red_flags": red or {}, "clearance": list(clearance),
                         **extra})


def clear(*flags, who="Dr C. Lee", when="2026-11-19", why="seen in clinic; imaging normal"):
    return {"flags": list(flags), "who": who, "when": when, "why": why}


def _plan(screen: RedFlagScreen):
    return build_plan(evaluate_findings(**scenario("e_normal"), red_flags=screen), red_flags=screen)


def test_clearance_lifts_an_urgent_flag_and_the_screen_carries_it():
    blocked = screen_red_flags(make(red={"cancer_history": True}))
    assert blocked.refer and blocked.level == "urgent"
    s = screen_red_flags(make(red={"cancer_history": True},
                              clearance=[clear("RF-MALIGNANCY", why="remote basal-cell carcinoma, 2015")]))
    assert s.level == "urgent"  # the level still says what fired
    assert not s.refer and s.referral_level == "none" and s.blocking_hits == ()
    (hit,) = s.cleared_hits
    assert hit.code == "RF-MALIGNANCY" and hit.clearance is not None
    assert (hit.clearance.who, hit.clearance.when) == ("Dr C. Lee", "2026-11-19")
    assert "basal-cell" in hit.clearance.describe() and "Dr C. Lee" in hit.clearance.describe()
    assert RedFlagScreen.from_dict(s.to_dict()) == s


def test_clearance_unblocks_the_running_plan():
    red = {"cancer_history": True}
    blocked = _plan(screen_red_flags(make(red=red)))
    assert blocked.referral is not None and not blocked.has_running_plan
    cleared = _plan(screen_red_flags(make(red=red, clearance=[clear("RF-MALIGNANCY")])))
    assert cleared.referral is None and cleared.has_running_plan and cleared.return_to_run is not None


def test_consider_flags_never_block_the_plan():
    s = screen_red_flags(make(age=70, red={"diabetes": True}))
    assert s.level == "consider" and not s.refer
    findings = evaluate_findings(**scenario("e_normal"), red_flags=s)
    flags = [f for f in findings.findings if f.domain == "red_flag"]
    assert flags and all(f.severity == "info" and f.values["withholds_plan"] is False for f in flags)
    plan = build_plan(findings)  # screen carried by the findings
    assert plan.referral is None and plan.has_running_plan


def test_partial_clearance_still_refers_at_the_remaining_level():
    s = screen_red_flags(make(red={"cancer_history": True, "dermatomal_numbness": True},
                              clearance=[clear("RF-MALIGNANCY")]))
    assert s.refer and s.referral_level == "non_urgent"
    plan = _plan(s)
    assert plan.referral is not None and plan.referral.level == "non_urgent"
    assert plan.referral.codes == ("RF-NEURO",)  # the cleared flag is not in the letter


def test_clearance_of_another_flag_lifts_nothing_and_says_so():
    s = screen_red_flags(make(red={"cancer_history": True}, clearance=[clear("RF-FRACTURE")]))
    assert s.refer and s.cleared_hits == ()
    assert any("RF-FRACTURE" in n and "nothing to lift" in n for n in s.notes)


def test_consider_flag_needs_no_clearance():
    s = screen_red_flags(make(red={"diabetes": True}, clearance=[clear("RF-INFECTION")]))
    assert not s.refer and s.cleared_hits == () and any("RF-INFECTION" in n for n in s.notes)


def test_emergency_clearance_follows_clearable_levels(tmp_path):
    red = {"saddle_numbness": True, "ces_symptoms_onset_days": 2}
    intake = make(red=red, clearance=[clear("RF-CES", why="seen in ED, MRI normal")])
    s = screen_red_flags(intake)  # §7.3: EMERGENCY, URGENT and NON_URGENT are lifted by a recorded clearance
    assert s.level == "emergency" and not s.refer and not s.stop_evaluation
    p = tmp_path / "rf.yaml"
    p.write_text("clearable_levels: [urgent, non_urgent]\n")
    strict = screen_red_flags(intake, rules=load_red_flag_rules(p))
    assert strict.refer and strict.stop_evaluation and any("cannot lift" in n for n in strict.notes)


def test_latest_clearance_is_carried():
    s = screen_red_flags(make(red={"cancer_history": True},
                              clearance=[clear("RF-MALIGNANCY", when="2026-01-02", who="Dr Old"),
                                         clear("RF-MALIGNANCY", when="2026-11-02", who="Dr New")]))
    assert s.cleared_hits[0].clearance.who == "Dr New" and len(s.clearances) == 2


def test_clearance_recorded_separately():
    c = Clearance(flags=("rf-malignancy",), who="Dr D", when=date(2026, 11, 19), why="remote BCC")
    assert c.flags == ("RF-MALIGNANCY",)
    s = screen_red_flags(make(red={"cancer_history": True}), clearance=[c])
    assert not s.refer and s.cleared_hits[0].clearance.who == "Dr D"


@pytest.mark.parametrize("bad,match", [
    (clear(), "flags"), (clear("MALIGNANCY"), "not a red-flag rule code"), (clear("RF-CES", who=""), "who"),
    (clear("RF-CES", why=""), "why"), ({"flags": ["RF-CES"], "why": "ok then"}, "who")])
def test_invalid_clearance_is_a_field_error(bad, match):
    with pytest.raises(BadIntake, match=match):
        make(clearance=[bad])


def test_clearance_from_the_flat_web_form():
    i = intake_from_form({"age_years": "40", "pain.now": "3", "red_flags.cancer_history": "on",
                          "clearance.0.flags": "RF-MALIGNANCY, RF-FRACTURE", "clearance.0.who": "Dr E",
                          "clearance.0.when": "2026-11-19", "clearance.0.why": "remote BCC"})
    assert i.clearance[0].flags == ("RF-MALIGNANCY", "RF-FRACTURE")
    assert not screen_red_flags(i).refer
