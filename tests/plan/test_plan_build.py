"""The plan: red flag → referral only; findings → dosed recommendations; cadence targets; walk–run rules."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from backtorun.errors import ConfigError, InputError
from backtorun.findings import evaluate_findings
from backtorun.plan import build_plan, build_return_to_run, cadence_targets, load_library, next_step, read_intake
from backtorun.types import RedFlagHit, RedFlagScreen
from tests.findings.gait_builder import build_analysis, scenario


def _ces() -> RedFlagScreen:
    return RedFlagScreen(level="emergency", hits=(
        RedFlagHit("RF-CES", "emergency", "new saddle numbness and difficulty starting to pass urine",
                   "same-day emergency department", "C", ("64",)),))


# ---- referral ------------------------------------------------------------------------------------------------


def test_red_flag_gives_referral_letter_and_no_running_plan() -> None:
    kwargs = scenario("b_bouncing")
    findings = evaluate_findings(**kwargs, red_flags=_ces())
    plan = build_plan(findings, side=kwargs["side"], red_flags=_ces(),
                      intake={"name": "Ann Runner", "age": 41}, today=dt.date(2026, 11, 25))
    assert plan.referral is not None
    assert plan.referral.level == "emergency"
    assert plan.referral.action == "same-day emergency department"
    letter = plan.referral.letter
    for text in ("Ann Runner", "aged 41", "saddle numbness", "same-day emergency department", "2026-11-25",
                 "No running programme"):
        assert text in letter
    assert not plan.has_running_plan
    assert plan.recommendations == () and plan.cadence is None and plan.return_to_run is None
    assert plan.incline_walking is None and plan.cross_training is None and plan.pain_rule is None
    d = plan.to_dict()
    assert d["has_running_plan"] is False and d["recommendations"] == [] and d["return_to_run"] is None
    json.dumps(d, allow_nan=False)


def test_red_flag_carried_by_findings_alone_still_refers() -> None:
    findings = evaluate_findings(**scenario("e_normal"), red_flags=_ces())
    plan = build_plan(findings)  # no screen passed: the findings carry it
    assert plan.referral is not None and not plan.has_running_plan


def test_non_urgent_red_flag_also_replaces_the_plan() -> None:
    screen = RedFlagScreen(level="non_urgent", hits=(
        RedFlagHit("RF-NEURO", "non_urgent", "progressive weakness of the right ankle", "physio/medical review",
                   "D"),))
    plan = build_plan(evaluate_findings(**scenario("a_low_hip_ext_back"), red_flags=screen), red_flags=screen)
    assert plan.referral.level == "non_urgent" and plan.recommendations == ()


def test_yellow_flag_alone_does_not_refer_but_adds_a_note() -> None:
    screen = RedFlagScreen(level="none", yellow_flags=("STarT Back psychosocial subscale 4",))
    plan = build_plan(evaluate_findings(**scenario("e_normal"), red_flags=screen), red_flags=screen)
    assert plan.referral is None and plan.has_running_plan
    assert any("psychosocially" in n for n in plan.notes)


# ---- recommendations ------------------------------------------------------------------------------------------


def test_bouncing_runner_gets_cadence_retraining_with_targets_and_metronome() -> None:
    kwargs = scenario("b_bouncing")
    findings = evaluate_findings(**kwargs)
    plan = build_plan(findings, side=kwargs["side"])
    assert plan.codes == ["R1", "R6"]
    r1 = plan.recommendations[0]
    assert set(r1.because) == {"GAIT_LOW_CADENCE", "HIGH_VO", "HIGH_VR", "OVERSTRIDE"}
    measured = kwargs["side"].summary["cadence_spm"].mean
    assert plan.cadence is not None and plan.cadence.indicated
    assert plan.cadence.measured_spm == pytest.approx(measured, abs=0.05)
    t5, t10 = plan.cadence.targets
    assert (t5.increase_pct, t10.increase_pct) == (5.0, 10.0)
    assert t5.spm == math.floor(measured * 1.05 + 0.5) and t10.spm == math.floor(measured * 1.10 + 0.5)
    assert f"--spm {t5.spm}" in t5.metronome_command and t5.metronome_file.endswith(".ogg")  # library cadence.metronome_suffix
    assert len(plan.cadence.faded_feedback) == 4
    r6 = plan.recommendations[1]
    assert "Shorter, quicker, quieter steps." in r6.cues
    assert not any("across" in c for c in r6.cues)  # arm cue only when arms cross


def test_low_hip_extension_runner_gets_mobility_strength_and_trunk_work_with_doses() -> None:
    findings = evaluate_findings(**scenario("a_low_hip_ext_back"))
    plan = build_plan(findings, side=scenario("a_low_hip_ext_back")["side"])
    assert plan.codes == ["R2", "R3", "R4", "R6"]
    r2 = plan.recommendations[0]
    stretch = r2.exercises[0]
    assert (stretch.sets, stretch.hold_s, stretch.per_side) == (3, 30.0, True)
    assert "3 × 30 s hold per side" in stretch.dose and "daily" in stretch.dose
    r3 = plan.recommendations[1]
    assert all(e.sets and e.reps and e.frequency and e.progression for e in r3.exercises)
    assert all(r.evidence_grade and r.sources for r in plan.recommendations)
    assert "Push the belt back behind you." in plan.recommendations[3].cues
    assert plan.cadence is not None and not plan.cadence.indicated  # targets shown, not prescribed


def test_normal_runner_gets_return_to_run_and_options_but_no_exercises() -> None:
    kwargs = scenario("e_normal")
    plan = build_plan(evaluate_findings(**kwargs), side=kwargs["side"])
    assert plan.recommendations == ()
    assert plan.has_running_plan and plan.return_to_run.phases[0].phase == 1
    assert plan.incline_walking.code == "R5" and plan.cross_training.code == "R7"
    assert plan.pain_rule["safe_max"] == 3 and plan.pain_rule["acceptable_max"] == 5
    assert plan.running_outside


def test_stiff_knee_with_cadence_retraining_warns_the_clinician() -> None:
    side = build_analysis(speed_mps=2.8, overrides={k: v.mean for k, v in scenario("b_bouncing")["side"].summary.items()}
                          | {"knee_flexion_peak_stance_deg": 32.0})
    findings = evaluate_findings(side=side)
    assert "STIFF_KNEE" in findings.codes
    plan = build_plan(findings, side=side)
    assert any("knee flexion" in n for n in plan.notes)
    assert any("clinician review" in n and "Stiff knee" in n for n in plan.notes)


def test_intake_adapter_reads_optional_facts_defensively() -> None:
    class Odd:
        name = "  Bo  "
        age = "not a number"
        pain = {"pain_now": 2, "pain_during_run": 11}
        aggravating = ["running downhill", "sitting"]
        treadmill_only = "yes"

    view = read_intake(Odd())
    assert view.name == "Bo" and view.age_years is None
    assert view.pain_baseline == 2 and view.pain_during_run is None  # 11 is out of range
    assert view.extension_sensitive is True and view.treadmill_only is True
    assert read_intake(None).name is None
    assert read_intake(42).name is None

    kwargs = scenario("e_normal")
    plan = build_plan(evaluate_findings(**kwargs), side=kwargs["side"], intake=Odd())
    assert plan.incline_walking.indicated
    assert plan.running_outside.startswith("Symptoms occur only on the treadmill")
    assert plan.pain_rule["baseline"] == 2
    sore = build_plan(evaluate_findings(**kwargs), side=kwargs["side"], intake={"pain": {"pain_during_run": 7}})
    assert any("7/10" in n and "cross-training" in n for n in sore.notes)
    plain = build_plan(evaluate_findings(**kwargs), side=kwargs["side"], intake={"directional_preference": "extension"})
    assert not plain.incline_walking.indicated


def test_plan_to_dict_is_strict_json() -> None:
    kwargs = scenario("a_low_hip_ext_back")
    d = build_plan(evaluate_findings(**kwargs), side=kwargs["side"]).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["schema"] == "backtorun.plan/1"
    assert back["recommendations"][0]["exercises"][0]["dose"]
    assert [p["phase"] for p in back["return_to_run"]["phases"]] == [1, 2, 3, 4, 5, 6]


def test_clinic_library_override_and_invalid_library(tmp_path: Path) -> None:
    good = tmp_path / "lib.yaml"
    good.write_text("cadence:\n  steps_pct: [7.5]\n", encoding="utf-8")
    kwargs = scenario("b_bouncing")
    plan = build_plan(evaluate_findings(**kwargs), side=kwargs["side"], library_path=good)
    assert [t.increase_pct for t in plan.cadence.targets] == [7.5]
    bad = tmp_path / "bad.yaml"
    bad.write_text("pain_rule:\n  safe_max: 8\n  acceptable_max: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_library(bad)


# ---- cadence targets and return to run ----------------------------------------------------------------------


def test_cadence_targets_round_half_up() -> None:
    assert cadence_targets(172.0) == [181, 189]  # 180.6, 189.2
    assert cadence_targets(160.0) == [168, 176]
    with pytest.raises(InputError):
        cadence_targets(float("nan"))


@pytest.mark.parametrize("max_pain, delta, completed, red, expected", [
    (2, 0, True, False, "progress"),
    (3, -1, True, False, "progress"),
    (3, 0, False, False, "repeat"),       # not completed
    (4, 0, True, False, "repeat"),        # acceptable pain
    (5, 0, True, False, "repeat"),
    (2, 1, True, False, "repeat"),        # next morning up by 1
    (6, 0, True, False, "regress"),       # above 5/10
    (2, 2, True, False, "regress"),       # next morning up by 2
    (9, 3, False, False, "regress"),
    (0, 0, True, True, "stop"),           # new red flag beats everything
])
def test_next_step_follows_the_pain_monitoring_rules(max_pain, delta, completed, red, expected) -> None:
    assert next_step(max_pain, delta, completed, red) == expected


@pytest.mark.parametrize("max_pain, delta", [(-1, 0), (11, 0), (float("nan"), 0), (3, 12), (True, 0)])
def test_next_step_rejects_impossible_pain(max_pain, delta) -> None:
    with pytest.raises(InputError):
        next_step(max_pain, delta, True, False)


def test_walk_run_phases_and_moves() -> None:
    rtr = build_return_to_run()
    assert [p.run_min for p in rtr.phases][:5] == [3, 3, 4, 4, 4] and rtr.phases[-1].run_min is None
    assert rtr.phases[0].total_km == pytest.approx(1.6, abs=0.05)
    assert rtr.phase_after(1, "progress") == 2
    assert rtr.phase_after(1, "regress") == 1
    assert rtr.phase_after(4, "regress") == 3
    assert rtr.phase_after(6, "progress") == 6
    assert rtr.phase_after(3, "repeat") == 3
    assert rtr.phase_after(3, "stop") is None
    assert set(rtr.rules) == {"progress", "repeat", "regress", "stop"}
    assert rtr.min_repeats_per_phase == 2 and rtr.entry_criteria
    with pytest.raises(InputError):
        rtr.phase_after(9, "progress")


def test_load_findings_become_plan_notes_and_unknown_codes_are_ignored() -> None:
    from backtorun.types import Finding

    spike = Finding(code="LOAD_SPIKE", title="Single-run spike", text="run of 18 km vs 12 km longest", domain="load",
                    severity="moderate", values={"ratio": 1.5}, threshold={"ratio": "> 1.10"},
                    recommendations=("PLAN_EDIT",), plain_text="Your longest run jumped by half.")
    kwargs = scenario("e_normal")
    plan = build_plan(evaluate_findings(**kwargs, other_findings=[spike]), side=kwargs["side"])
    assert plan.recommendations == ()
    assert any("Single-run spike" in n and "jumped" in n for n in plan.notes)


def test_intake_adapter_reads_the_project_intake_model() -> None:
    from backtorun.intake import Intake

    intake = Intake.model_validate({
        "runner_id": "R-017", "age_years": 38, "pain": {"now": 2, "during_run": 6},
        "timing": {"surfaces": "treadmill_only"},
        "modifiers": {"directional_preference": "extension_sensitive"},
    })
    view = read_intake(intake)
    assert (view.name, view.age_years, view.pain_baseline, view.pain_during_run) == ("R-017", 38, 2, 6)
    assert view.treadmill_only is True and view.extension_sensitive is True
    other = read_intake(Intake.model_validate({"age_years": 38, "timing": {"surfaces": "treadmill_and_outside"},
                                               "modifiers": {"directional_preference": "flexion_sensitive"}}))
    assert other.treadmill_only is False and other.extension_sensitive is False
