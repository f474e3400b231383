"""Red-flag screen (domain.md §7.3): each rule boundary tested on both sides."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from backtorun.intake import load_intake, load_red_flag_rules, parse_intake, screen_red_flags
from backtorun.types import RedFlagScreen

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"
TODAY = date(2026, 11, 20)


def make(age=40, sex="male", pain_now=4, red=None, **extra):
    data = {"age_years": age, "sex": sex, "assessment_date": TODAY.isoformat(), "pain": {"now": pain_now},
            "history": {"previous_episodes": 2}, "red_flags": red or {}}
    data.update(extra)
    return parse_intake(data)


def codes(screen):
    return {h.code: h.level for h in screen.hits}


def test_samples():
    assert screen_red_flags(load_intake(SAMPLES / "sample_intake.yaml")).level == "none"
    s = screen_red_flags(load_intake(SAMPLES / "sample_intake_redflag.yaml"))
    assert s.level == "emergency" and s.refer
    assert codes(s) == {"RF-CES": "emergency", "RF-FRACTURE": "urgent"}
    assert s.hits[0].code == "RF-CES"  # highest level first
    assert "saddle" in s.hits[0].reason


@pytest.mark.parametrize("days,worsening,expected", [(13, False, "emergency"), (14, False, "none"),
                                                     (14, True, "emergency"), (None, False, "emergency")])
def test_ces_recency_boundary(days, worsening, expected):
    s = screen_red_flags(make(red={"saddle_numbness": True, "ces_symptoms_onset_days": days,
                                   "ces_symptoms_worsening": worsening}))
    assert s.level == expected


def test_ces_needs_back_or_leg_pain():
    s = screen_red_flags(make(pain_now=0, red={"bladder_bowel_loss": True, "ces_symptoms_onset_days": 2}))
    assert "RF-CES" not in codes(s)
    s = screen_red_flags(make(pain_now=0, red={"bladder_bowel_loss": True, "ces_symptoms_onset_days": 2},
                              location={"central_lumbar": True}))
    assert codes(s)["RF-CES"] == "emergency"


@pytest.mark.parametrize("sex,age,expected", [("male", 65, False), ("male", 66, True), ("female", 75, False),
                                              ("female", 76, True), ("unspecified", 66, True)])
def test_fracture_age_boundary(sex, age, expected):
    s = screen_red_flags(make(age=age, sex=sex))
    assert ("RF-FRACTURE" in codes(s)) is expected
    if expected:
        assert codes(s)["RF-FRACTURE"] == "urgent"


@pytest.mark.parametrize("item", ["significant_trauma", "prolonged_corticosteroids", "contusion_or_abrasion"])
def test_fracture_items(item):
    assert codes(screen_red_flags(make(red={item: True}))) == {"RF-FRACTURE": "urgent"}
    assert screen_red_flags(make(red={item: False})).level == "none"


def test_fracture_multiple_flags_said():
    s = screen_red_flags(make(age=70, red={"significant_trauma": True}))
    assert "2 flags" in s.hits[0].reason


def test_malignancy_history_is_urgent_weaker_flags_non_urgent():
    assert codes(screen_red_flags(make(red={"cancer_history": True}))) == {"RF-MALIGNANCY": "urgent"}
    assert codes(screen_red_flags(make(red={"unexplained_weight_loss": True}))) == {"RF-MALIGNANCY": "non_urgent"}
    assert codes(screen_red_flags(make(red={"night_pain_not_eased_by_position": True}))) == {
        "RF-MALIGNANCY": "non_urgent"}


@pytest.mark.parametrize("age,onset_days,episodes,expected", [(50, 10, 0, False), (51, 10, 0, True),
                                                              (51, 42, 0, True), (51, 43, 0, False),
                                                              (51, 10, 1, False)])
def test_malignancy_age_with_new_pain_boundary(age, onset_days, episodes, expected):
    i = parse_intake({"age_years": age, "sex": "female", "assessment_date": TODAY.isoformat(),
                      "pain": {"now": 3}, "history": {"previous_episodes": episodes},
                      "timing": {"onset_date": (TODAY - timedelta(days=onset_days)).isoformat()}})
    assert ("RF-MALIGNANCY" in codes(screen_red_flags(i))) is expected


@pytest.mark.parametrize("item", ["immunosuppression", "diabetes", "iv_drug_use",
                                  "recent_invasive_procedure_or_infection"])
def test_infection_items(item):
    assert codes(screen_red_flags(make(red={item: True}))) == {"RF-INFECTION": "urgent"}


def test_fever_counts_only_with_spinal_pain():
    assert codes(screen_red_flags(make(red={"fever_or_systemically_unwell": True}))) == {"RF-INFECTION": "urgent"}
    assert screen_red_flags(make(pain_now=0, red={"fever_or_systemically_unwell": True})).level == "none"


@pytest.mark.parametrize("item", ["progressive_unilateral_weakness", "dermatomal_numbness"])
def test_neuro_non_urgent(item):
    s = screen_red_flags(make(red={item: True}))
    assert s.level == "non_urgent" and codes(s) == {"RF-NEURO": "non_urgent"}


@pytest.mark.parametrize("age,expected", [(24, True), (25, False)])
def test_pars_caution_boundary(age, expected):
    i = make(age=age, location={"unilateral_side": "right"},
             modifiers={"directional_preference": "extension_sensitive"})
    assert ("RF-PARS" in codes(screen_red_flags(i))) is expected
    flexion = make(age=20, location={"unilateral_side": "right"},
                   modifiers={"directional_preference": "flexion_sensitive"})
    assert screen_red_flags(flexion).level == "none"


@pytest.mark.parametrize("sub,expected", [(3, 0), (4, 1)])
def test_startback_yellow_flag_boundary(sub, expected):
    s = screen_red_flags(make(instruments={"startback_total": 6, "startback_psychosocial": sub}))
    assert len(s.yellow_flags) == expected
    assert s.level == "none"  # yellow is not a referral


def test_level_is_highest_and_roundtrip():
    s = screen_red_flags(make(red={"dermatomal_numbness": True, "diabetes": True}))
    assert s.level == "urgent"
    assert [h.level for h in s.hits] == ["urgent", "non_urgent"]
    back = RedFlagScreen.from_dict(s.to_dict())
    assert back == s and s.to_dict()["refer"] is True


def test_rules_can_be_overridden(tmp_path):
    p = tmp_path / "rf.yaml"
    p.write_text("fracture_age_men_over: 70\n")
    rules = load_red_flag_rules(p)
    assert screen_red_flags(make(age=68), rules=rules).level == "none"
    assert screen_red_flags(make(age=68)).level == "urgent"
