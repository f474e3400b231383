"""Speed and symptoms matched (issue #13 item 3): warning when the video is not filmed where the pain starts."""

from __future__ import annotations

import pytest

from backtorun.findings import evaluate_findings, load_rules
from backtorun.intake.model import Intake
from tests.findings.gait_builder import build_analysis

CODE = "CAPTURE_SYMPTOM_MISMATCH"


def _intake(**timing: float) -> Intake:
    return Intake(age_years=38, timing=timing)


@pytest.mark.parametrize("filmed_kmh, pain_kmh, warned", [
    (14.1, 10.5, True),     # the case in the issue
    (11.6, 10.5, True),     # 1.1 km/h apart: beyond the ±1 km/h tolerance
    (11.4, 10.5, False),    # 0.9 km/h apart: within it
    (10.5, 10.5, False),
])
def test_speed_difference_boundary(filmed_kmh: float, pain_kmh: float, warned: bool) -> None:
    side = build_analysis(speed_mps=filmed_kmh / 3.6)
    result = evaluate_findings(side=side, intake=_intake(treadmill_speed_kmh_at_onset=pain_kmh))
    assert (CODE in result.codes) is warned
    outcome = next(o for o in result.outcomes if o.code == CODE)
    assert outcome.status == ("detected" if warned else "not_detected")
    assert outcome.values["filmed_speed_kmh"] == pytest.approx(filmed_kmh, abs=0.05)


def test_warning_advises_filming_at_the_painful_speed_after_the_onset_time() -> None:
    side = build_analysis(speed_mps=14.1 / 3.6)
    intake = _intake(treadmill_speed_kmh_at_onset=10.5, onset_minutes_into_run=20, treadmill_incline_pct_at_onset=1)
    f = next(f for f in evaluate_findings(side=side, intake=intake).findings if f.code == CODE)
    assert f.domain == "intake" and f.severity == "info"
    assert "14.1 km/h" in f.text and "10.5 km/h" in f.text
    assert "Film again at 10.5 km/h" in f.text and "after minute 22" in f.text
    assert f.values["speed_difference_kmh"] == pytest.approx(3.6, abs=0.05)
    assert f.values["pain_onset_min"] == 20


def test_unknown_belt_speed_is_a_mismatch_and_no_onset_facts_are_not_judged() -> None:
    side = build_analysis(speed_mps=None)
    result = evaluate_findings(side=side, intake=_intake(treadmill_speed_kmh_at_onset=10.5))
    f = next(f for f in result.findings if f.code == CODE)
    assert "--speed" in f.text
    nothing = evaluate_findings(side=build_analysis(), intake=_intake())
    assert CODE not in nothing.codes
    assert next(o for o in nothing.outcomes if o.code == CODE).status == "not_judged"


def test_incline_boundary_when_the_filmed_incline_is_unknown() -> None:
    side = build_analysis(speed_mps=10.5 / 3.6)
    assert CODE not in evaluate_findings(side=side, intake=_intake(treadmill_incline_pct_at_onset=1.0)).codes
    assert CODE in evaluate_findings(side=side, intake=_intake(treadmill_incline_pct_at_onset=1.5)).codes


def test_watch_dynamics_at_the_usual_pace_are_added_to_bouncing() -> None:
    side = build_analysis(overrides={"vertical_oscillation_cm": 12.5})
    runs = [{"speed_mps": 2.9, "cadence_spm": 162.0, "vertical_oscillation_cm": 9.0},
            {"speed_mps": 3.0, "cadence_spm": 164.0, "vertical_oscillation_cm": 9.4},
            {"speed_mps": 4.5, "cadence_spm": 180.0, "vertical_oscillation_cm": 8.0}]  # a race: not the usual pace
    result = evaluate_findings(side=side, training={"running_dynamics": {"runs": runs}})
    vo = next(f for f in result.findings if f.code == "HIGH_VO")
    assert vo.values["watch_vertical_oscillation_cm"] == pytest.approx(9.2)
    assert vo.values["watch_cadence_spm"] == pytest.approx(163.0)
    assert "torso" in vo.confidence_note
    assert "watch_cadence_spm" not in evaluate_findings(side=side).findings[0].values


def test_tolerances_are_configuration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("symptom_match:\n  speed_tolerance_kmh: 5.0\n", encoding="utf-8")
    assert load_rules(clinic).symptom_match.speed_tolerance_kmh == 5.0
    side = build_analysis(speed_mps=14.1 / 3.6)
    result = evaluate_findings(side=side, intake=_intake(treadmill_speed_kmh_at_onset=10.5), rules_path=clinic)
    assert CODE not in result.codes
