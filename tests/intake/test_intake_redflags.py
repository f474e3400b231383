"""Red-flag screen (domain.md §7.3, revised 2026-12-05): every rule boundary tested on both sides."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from backtorun.errors import ConfigError
from backtorun.intake import load_intake, load_red_flag_rules, parse_intake, screen_red_flags
from backtorun.types import RedFlagScreen

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"
TODAY = date(2026, 11, 20)
NO_PAIN = object()  # marker: pain explicitly 0 everywhere, no body-chart location
EMPTY = object()  # marker: no pain field filled at all


def make(age=40, sex="male", pain_now=4, red=None, onset_days=None, episodes=2, **extra):
    data = {"age_years": age, "sex": sex, "assessment_date": TODAY.isoformat(),
            "history": {"previous_episodes": episodes}, "red_flags": red or {}}
    if pain_now is NO_PAIN:
        data["pain"] = {"now": 0, "worst_24h": 0, "during_run": 0, "after_run_24h": 0}
    elif pain_now is not EMPTY:
        data["pain"] = {"now": pain_now}
    if onset_days is not None:
        data["timing"] = {"onset_date": (TODAY - timedelta(days=onset_days)).isoformat()}
    data.update(extra)
    return parse_intake(data)


def codes(screen):
    return {h.code: h.level for h in screen.hits}


def screen(**kw):
    return screen_red_flags(make(**kw))


# ---- samples and levels --------------------------------------------------------------------------------------


def test_samples():
    assert screen_red_flags(load_intake(SAMPLES / "sample_intake.yaml")).level == "none"
    s = screen_red_flags(load_intake(SAMPLES / "sample_intake_redflag.yaml"))
    assert s.level == "emergency" and s.refer and s.stop_evaluation
    assert codes(s) == {"RF-CES": "emergency", "RF-FRACTURE": "urgent"}
    assert s.hits[0].code == "RF-CES"  # highest level first
    assert "saddle" in s.hits[0].reason and "red_flags.saddle_numbness" in s.hits[0].answers
    assert s.hits[0].title == "Possible cauda equina syndrome"


def test_no_flags_is_none_and_does_not_refer():
    s = screen()
    assert s.level == "none" and s.hits == () and not s.refer and not s.stop_evaluation


# ---- RF-CES / RF-CES-STABLE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("days,worsening,expected", [
    (0, False, {"RF-CES": "emergency"}), (13, False, {"RF-CES": "emergency"}),
    (14, False, {"RF-CES-STABLE": "urgent"}), (14, True, {"RF-CES": "emergency"}),
    (30, False, {"RF-CES-STABLE": "urgent"}), (30, True, {"RF-CES": "emergency"}),
    (None, False, {"RF-CES": "emergency"})])
def test_ces_recency_boundary(days, worsening, expected):
    s = screen(red={"saddle_numbness": True, "ces_symptoms_onset_days": days, "ces_symptoms_worsening": worsening})
    assert codes(s) == expected
    assert s.refer


def test_stable_cauda_equina_30_days_is_urgent_never_none():
    """Issue #13: saddle numbness and new urinary difficulty for 30 days, not worsening, gave NONE."""
    s = screen(red={"saddle_numbness": True, "urinary_difficulty_new": True, "ces_symptoms_onset_days": 30,
                    "ces_symptoms_worsening": False})
    assert s.level == "urgent" and s.refer and not s.stop_evaluation
    hit = s.hits[0]
    assert hit.code == "RF-CES-STABLE"
    for words in ("saddle", "urine", "30 d", "not worsening"):
        assert words in hit.reason
    assert "worsen" in hit.action and "emergency department" in hit.action  # safety-net


@pytest.mark.parametrize("item", ["bilateral_leg_symptoms", "saddle_numbness", "altered_sensation_wiping",
                                  "urinary_difficulty_new", "bladder_bowel_loss", "sexual_dysfunction_new"])
@pytest.mark.parametrize("days,level", [(2, "emergency"), (40, "urgent")])
def test_each_ces_symptom_alone(item, days, level):
    s = screen(red={item: True, "ces_symptoms_onset_days": days})
    assert s.level == level
    assert screen(red={"ces_symptoms_onset_days": days}).level == "none"  # timing without a symptom: nothing


@pytest.mark.parametrize("days", [2, 40])
def test_ces_pain_gate(days):
    red = {"bladder_bowel_loss": True, "ces_symptoms_onset_days": days}
    level = "emergency" if days < 14 else "urgent"
    assert screen(pain_now=EMPTY, red=red).level == level  # no pain field filled: counts
    # pain explicitly 0, no location: the symptoms alone still fire (no false negative for cauda equina)
    assert screen(pain_now=NO_PAIN, red=red).level == level
    assert screen(pain_now=NO_PAIN, red=red, location={"central_lumbar": True}).level == level
    assert screen(pain_now=NO_PAIN, red=red, location={"referred_leg_pain": True}).level == level
    assert screen(pain_now=NO_PAIN, red={"ces_symptoms_onset_days": days}).level == "none"  # timing alone: nothing


# ---- RF-FRACTURE -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sex,age,expected", [("male", 65, "none"), ("male", 66, "consider"),
                                              ("female", 75, "none"), ("female", 76, "consider"),
                                              ("unspecified", 65, "none"), ("unspecified", 66, "consider"),
                                              ("other", 66, "consider")])
def test_age_alone_is_consider_boundary(sex, age, expected):
    s = screen(age=age, sex=sex)
    assert s.level == expected
    assert not s.refer  # issue #13: age alone must not block the running plan
    if expected == "consider":
        assert codes(s) == {"RF-FRACTURE": "consider"} and "older age" in s.hits[0].reason


@pytest.mark.parametrize("item", ["contusion_or_abrasion", "osteoporosis_or_low_bone_density"])
def test_one_weaker_fracture_flag_is_consider(item):
    assert codes(screen(red={item: True})) == {"RF-FRACTURE": "consider"}
    assert screen(red={item: False}).level == "none"


@pytest.mark.parametrize("age,red,expected", [
    (66, {"contusion_or_abrasion": True}, "urgent"), (65, {"contusion_or_abrasion": True}, "consider"),
    (66, {"osteoporosis_or_low_bone_density": True}, "urgent"),
    (65, {"osteoporosis_or_low_bone_density": True}, "consider"),
    (40, {"contusion_or_abrasion": True, "osteoporosis_or_low_bone_density": True}, "urgent")])
def test_two_weaker_fracture_flags_are_urgent(age, red, expected):
    assert codes(screen(age=age, red=red)) == {"RF-FRACTURE": expected}


def test_significant_trauma_is_urgent():
    assert codes(screen(red={"significant_trauma": True})) == {"RF-FRACTURE": "urgent"}


@pytest.mark.parametrize("onset_days,expected", [(42, "urgent"), (43, "none"), (None, "urgent")])
def test_corticosteroids_with_new_back_pain_boundary(onset_days, expected):
    s = screen(red={"prolonged_corticosteroids": True}, onset_days=onset_days)
    assert s.level == expected
    assert screen(red={"prolonged_corticosteroids": False}, onset_days=onset_days).level == "none"


@pytest.mark.parametrize("age,red,expected", [
    (40, {"minor_trauma_or_fall": True}, "none"),
    (66, {"minor_trauma_or_fall": True}, "urgent"), (65, {"minor_trauma_or_fall": True}, "none"),
    (40, {"minor_trauma_or_fall": True, "osteoporosis_or_low_bone_density": True}, "urgent"),
    (40, {"pain_eased_lying_down": True}, "none"),
    (66, {"pain_eased_lying_down": True}, "urgent"), (65, {"pain_eased_lying_down": True}, "none"),
    (40, {"pain_eased_lying_down": True, "osteoporosis_or_low_bone_density": True}, "urgent")])
def test_minor_trauma_and_pain_eased_lying_down_need_older_or_osteoporotic(age, red, expected):
    s = screen(age=age, red=red)
    assert s.level == expected
    if expected == "urgent":
        assert codes(s) == {"RF-FRACTURE": "urgent"}


def test_women_use_the_higher_fracture_age():
    assert screen(age=70, sex="female", red={"minor_trauma_or_fall": True}).level == "none"
    assert screen(age=76, sex="female", red={"minor_trauma_or_fall": True}).level == "urgent"


# ---- RF-MALIGNANCY -----------------------------------------------------------------------------------------------


def test_cancer_history_is_urgent_and_lists_weaker_indicators_too():
    assert codes(screen(red={"cancer_history": True})) == {"RF-MALIGNANCY": "urgent"}
    s = screen(red={"cancer_history": True, "unexplained_weight_loss": True})
    assert codes(s) == {"RF-MALIGNANCY": "urgent"}
    assert "history of cancer" in s.hits[0].reason and "weight loss" in s.hits[0].reason
    assert s.hits[0].evidence_grade == "A"


@pytest.mark.parametrize("red", [{"unexplained_weight_loss": True}, {"night_pain_not_eased_by_position": True},
                                 {"failure_to_improve_weeks": 4}, {"constant_non_mechanical_pain": True}])
def test_one_weaker_malignancy_indicator_is_consider(red):
    s = screen(red=red)
    assert codes(s) == {"RF-MALIGNANCY": "consider"} and not s.refer


@pytest.mark.parametrize("weeks,expected", [(3, "none"), (4, "consider"), (None, "none")])
def test_failure_to_improve_boundary(weeks, expected):
    assert screen(red={"failure_to_improve_weeks": weeks}).level == expected


@pytest.mark.parametrize("red", [
    {"unexplained_weight_loss": True, "night_pain_not_eased_by_position": True},
    {"failure_to_improve_weeks": 4, "constant_non_mechanical_pain": True},
    {"unexplained_weight_loss": True, "failure_to_improve_weeks": 6}])
def test_two_weaker_malignancy_indicators_are_non_urgent(red):
    s = screen(red=red)
    assert codes(s) == {"RF-MALIGNANCY": "non_urgent"} and s.refer
    below = dict(list(red.items())[:1])  # just one of the two
    assert codes(screen(red=below)) == {"RF-MALIGNANCY": "consider"}


@pytest.mark.parametrize("age,onset_days,episodes,expected", [(50, 10, 0, "none"), (51, 10, 0, "consider"),
                                                              (51, 42, 0, "consider"), (51, 43, 0, "none"),
                                                              (51, 10, 1, "none"), (51, None, 0, "none")])
def test_malignancy_age_with_new_pain_boundary(age, onset_days, episodes, expected):
    s = screen(age=age, sex="female", pain_now=3, onset_days=onset_days, episodes=episodes)
    assert s.level == expected
    if expected != "none":
        assert codes(s) == {"RF-MALIGNANCY": "consider"}


def test_age_with_new_pain_plus_one_more_indicator_is_non_urgent():
    s = screen(age=51, onset_days=10, episodes=0, red={"unexplained_weight_loss": True})
    assert codes(s) == {"RF-MALIGNANCY": "non_urgent"}


# ---- RF-INFECTION ------------------------------------------------------------------------------------------------


def test_fever_counts_with_pain_or_empty_pain_fields():
    red = {"fever_or_systemically_unwell": True}
    assert codes(screen(red=red)) == {"RF-INFECTION": "urgent"}
    assert codes(screen(pain_now=EMPTY, red=red)) == {"RF-INFECTION": "urgent"}  # issue #13
    assert screen(pain_now=NO_PAIN, red=red).level == "none"
    assert screen(pain_now=EMPTY).level == "none"


@pytest.mark.parametrize("item", ["immunosuppression", "iv_drug_use", "recent_invasive_procedure_or_infection"])
def test_infection_risk_with_spinal_pain_is_urgent(item):
    assert codes(screen(red={item: True})) == {"RF-INFECTION": "urgent"}
    assert screen(pain_now=NO_PAIN, red={item: True}).level == "none"


def test_diabetes_alone_is_consider():
    s = screen(red={"diabetes": True})
    assert codes(s) == {"RF-INFECTION": "consider"} and s.level == "consider" and not s.refer
    assert codes(screen(red={"diabetes": True, "fever_or_systemically_unwell": True})) == {"RF-INFECTION": "urgent"}


# ---- RF-NEURO ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item,level", [("progressive_weakness", "urgent"),
                                        ("progressive_unilateral_weakness", "urgent"),
                                        ("dermatomal_numbness", "non_urgent"),
                                        ("stable_documented_neuro_deficit", "consider")])
def test_neuro_levels(item, level):
    s = screen(red={item: True})
    assert codes(s) == {"RF-NEURO": level} and s.level == level
    assert s.refer is (level != "consider")


def test_progressive_weakness_outranks_numbness():
    assert codes(screen(red={"progressive_weakness": True, "dermatomal_numbness": True})) == {"RF-NEURO": "urgent"}


# ---- RF-INFLAMMATORY (ASAS) ----------------------------------------------------------------------------------------

_IBP = ("ibp_insidious_onset", "ibp_better_with_exercise", "ibp_not_better_with_rest",
        "ibp_night_pain_better_on_rising")


def _ibp(n, **red):
    return {**{k: True for k in _IBP[:n]}, **red}


@pytest.mark.parametrize("n,expected", [(3, "none"), (4, "non_urgent")])
def test_inflammatory_needs_four_criteria(n, expected):
    # age at onset 41: the "< 40" criterion does not count; onset < 45 and chronic (1 year) hold
    s = screen(age=42, red=_ibp(n, ibp_age_at_onset_years=41))
    assert s.level == expected
    if expected != "none":
        assert codes(s) == {"RF-INFLAMMATORY": "non_urgent"} and "rheumatology" in s.hits[0].action


@pytest.mark.parametrize("onset_age,expected", [(39, "non_urgent"), (40, "none")])
def test_inflammatory_onset_age_criterion_boundary(onset_age, expected):
    assert screen(age=43, red=_ibp(3, ibp_age_at_onset_years=onset_age)).level == expected


@pytest.mark.parametrize("onset_age,expected", [(44, "non_urgent"), (45, "none")])
def test_inflammatory_onset_before_45_boundary(onset_age, expected):
    assert screen(age=50, red=_ibp(4, ibp_age_at_onset_years=onset_age)).level == expected


@pytest.mark.parametrize("onset_days,expected", [(90, "none"), (91, "non_urgent")])
def test_inflammatory_chronic_over_3_months_boundary(onset_days, expected):
    assert screen(age=30, onset_days=onset_days, red=_ibp(4)).level == expected


@pytest.mark.parametrize("onset_age,expected", [(30, "none"), (29, "non_urgent")])
def test_inflammatory_chronic_from_age_at_onset(onset_age, expected):
    assert screen(age=30, red=_ibp(4, ibp_age_at_onset_years=onset_age)).level == expected


def test_onset_age_cannot_exceed_age():
    from backtorun.errors import BadIntake

    with pytest.raises(BadIntake, match="ibp_age_at_onset_years"):
        make(age=30, red={"ibp_age_at_onset_years": 31})


# ---- RF-BONE-STRESS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("age,expected", [(24, "non_urgent"), (25, "none")])
@pytest.mark.parametrize("location", [{"central_lumbar": True}, {"unilateral_side": "right"}])
def test_young_runner_extension_provoked_boundary(age, expected, location):
    s = screen(age=age, location=location, modifiers={"directional_preference": "extension_sensitive"})
    assert s.level == expected
    if expected != "none":
        assert codes(s) == {"RF-BONE-STRESS": "non_urgent"}


def test_young_runner_needs_extension_provoked_low_back_pain():
    ext = {"directional_preference": "extension_sensitive"}
    assert screen(age=20, location={"central_lumbar": True},
                  modifiers={"directional_preference": "flexion_sensitive"}).level == "none"
    assert screen(age=20, modifiers=ext).level == "non_urgent"  # pain score, no location ticked: low back pain
    assert screen(age=20, location={"buttock": True}, modifiers=ext).level == "none"  # buttock only
    assert screen(age=20, pain_now=NO_PAIN, modifiers=ext).level == "none"


@pytest.mark.parametrize("red,expected", [
    ({"previous_bone_stress_injury": True}, "none"), ({"recent_sharp_load_increase": True}, "none"),
    ({"previous_bone_stress_injury": True, "recent_sharp_load_increase": True}, "non_urgent"),
    ({"menstrual_dysfunction": True}, "non_urgent"), ({"low_energy_availability_signs": True}, "non_urgent")])
def test_bone_stress_and_reds(red, expected):
    s = screen(red=red)
    assert s.level == expected
    if expected != "none":
        assert codes(s) == {"RF-BONE-STRESS": "non_urgent"} and s.refer


# ---- yellow flags, ordering, serialisation, configuration ---------------------------------------------------------


@pytest.mark.parametrize("sub,expected", [(3, 0), (4, 1)])
def test_startback_yellow_flag_boundary(sub, expected):
    s = screen(instruments={"startback_total": 6, "startback_psychosocial": sub})
    assert len(s.yellow_flags) == expected
    assert s.level == "none"  # yellow is not a referral
    assert all("high risk" not in y for y in s.yellow_flags)


def test_level_is_highest_and_roundtrip():
    s = screen(red={"dermatomal_numbness": True, "diabetes": True, "cancer_history": True})
    assert s.level == "urgent"
    assert [h.level for h in s.hits] == ["urgent", "non_urgent", "consider"]
    back = RedFlagScreen.from_dict(s.to_dict())
    assert back == s and s.to_dict()["refer"] is True and s.to_dict()["referral_level"] == "urgent"


def test_consider_only_screen_does_not_refer():
    s = screen(age=70, red={"diabetes": True, "stable_documented_neuro_deficit": True})
    assert s.level == "consider" and not s.refer and s.referral_level == "none"
    assert {h.code for h in s.consider_hits} == {"RF-FRACTURE", "RF-INFECTION", "RF-NEURO"}


def test_old_intake_without_new_fields_still_loads():
    old = {"age_years": 44, "sex": "male", "pain": {"now": 3},
           "red_flags": {"bilateral_leg_symptoms": False, "saddle_numbness": False, "ces_symptoms_onset_days": None,
                         "significant_trauma": False, "cancer_history": False, "diabetes": False,
                         "progressive_unilateral_weakness": False, "dermatomal_numbness": False}}
    i = parse_intake(old)
    assert i.red_flags.failure_to_improve_weeks is None and i.red_flags.osteoporosis_or_low_bone_density is False
    assert i.clearance == ()
    assert screen_red_flags(i).level == "none"


def test_rules_can_be_overridden(tmp_path):
    p = tmp_path / "rf.yaml"
    p.write_text("fracture_age_men_over: 70\nthresholds: {ces_recent_days: 7}\n")
    rules = load_red_flag_rules(p)
    assert screen_red_flags(make(age=68), rules=rules).level == "none"
    assert screen_red_flags(make(age=68)).level == "consider"
    ces = make(red={"saddle_numbness": True, "ces_symptoms_onset_days": 10})
    assert codes(screen_red_flags(ces, rules=rules)) == {"RF-CES-STABLE": "urgent"}
    assert codes(screen_red_flags(ces)) == {"RF-CES": "emergency"}


@pytest.mark.parametrize("text,match", [
    ("rules:\n  - {code: RF-X, title: x, tiers: [{level: urgent, when: {fact: red_flags.nope}}]}\n", "unknown fact"),
    ("rules:\n  - {code: RF-X, title: x, tiers: [{level: urgent, when: {fact: age_years, gt: $nope}}]}\n",
     "unknown threshold"),
    ("rules:\n  - {code: RF-X, title: x, tiers: [{level: consider, when: {fact: age_years}},"
     " {level: urgent, when: {fact: age_years}}]}\n", "highest level first"),
    ("rules:\n  - {code: RF-X, title: x, tiers: [{level: urgent, when: {use: nope}}]}\n", "unknown named"),
    ("clearable_levels: [consider]\n", "clearable_levels"),
])
def test_bad_rule_files_give_one_line_config_errors(tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        load_red_flag_rules(p)
    assert "\n" not in str(exc.value)


def test_no_thresholds_in_the_screen_code():
    """Every cut-off of §7.3 lives in redflags.yaml: the screen's code holds no clinical numbers."""
    import ast

    import backtorun.intake.redflag_conditions as conditions
    import backtorun.intake.redflag_facts as facts
    import backtorun.intake.redflags as mod

    for m, allowed in ((mod, {0, 1, 5}), (conditions, {0, 1}), (facts, {0, 1, 365.25})):
        tree = ast.parse(Path(m.__file__).read_text(encoding="utf-8"))
        numbers = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)}
        assert numbers <= allowed, (m.__name__, numbers)  # indices, cache size, subscale bound 0..5, days a year
