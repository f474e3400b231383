"""Findings that respect measurement (issue #13 item 2): calibrated hip extension, rule Q1 as written, favourable
values shown without a threshold."""

from __future__ import annotations

import pytest

from backtorun.findings import evaluate_findings, load_rules
from tests.findings.gait_builder import build_analysis


def test_calibration_offset_is_interpolated_in_speed_and_held_outside() -> None:
    cal = load_rules().calibrations["thigh_2d_to_true_hip"]
    assert cal.offset(2.5) == (pytest.approx(11.4), True)
    assert cal.offset(4.5)[0] == pytest.approx(18.3)
    assert cal.offset(3.5)[0] == pytest.approx(14.85)
    assert cal.offset(2.0)[0] == pytest.approx(11.4) and cal.offset(6.0)[0] == pytest.approx(18.3)
    assert cal.offset(None) == (pytest.approx(11.4), False)


@pytest.mark.parametrize("thigh_deg, detected", [(17.9, True), (18.4, False), (30.0, False)])
def test_hip_extension_boundary_on_the_calibrated_value(thigh_deg: float, detected: bool) -> None:
    # 3.0 m/s: offset 13.125°; flagged when 10° − (thigh − 13.125°) ≥ 5° (Q1), i.e. thigh ≤ 18.125°
    side = build_analysis(overrides={"thigh_extension_deg": thigh_deg})
    assert ("LOW_HIP_EXT" in evaluate_findings(side=side).codes) is detected


def test_the_raw_2d_value_that_fooled_the_old_rule_is_now_judged() -> None:
    # thigh − trunk 16° passed the old 10° rule; a 2D thigh extension of 15° at 4 m/s is ~1.6° of true extension
    side = build_analysis(speed_mps=4.0, overrides={"thigh_extension_deg": 15.0, "hip_extension_deg": 16.0})
    f = next(f for f in evaluate_findings(side=side).findings if f.code == "LOW_HIP_EXT")
    assert f.values["hip_extension_est_deg (L)"] == pytest.approx(15.0 - 16.575)
    assert f.values["hip_extension_2d_offset_deg"] == pytest.approx(16.58, abs=0.01)
    assert "validation" in f.text


def test_unknown_speed_uses_the_smaller_offset_with_reduced_confidence() -> None:
    side = build_analysis(speed_mps=None, overrides={"thigh_extension_deg": 12.0})
    f = next(f for f in evaluate_findings(side=side).findings if f.code == "LOW_HIP_EXT")
    assert f.values["hip_extension_2d_offset_deg"] == pytest.approx(11.4)
    assert f.confidence < 1.0 and "belt speed unknown" in f.confidence_note


@pytest.mark.parametrize("lean_deg, detected", [(-1.9, False), (-2.1, True), (1.0, False)])
def test_upright_trunk_only_beyond_the_measurement_error(lean_deg: float, detected: bool) -> None:
    side = build_analysis(overrides={"trunk_lean_deg": lean_deg})
    result = evaluate_findings(side=side)
    assert ("UPRIGHT_TRUNK" in result.codes) is detected
    if not detected and lean_deg < 3:
        assert any("Q1" in r for r in next(o for o in result.outcomes if o.code == "UPRIGHT_TRUNK").reasons)


@pytest.mark.parametrize("left, right, detected", [(5.0, 7.9, False), (5.0, 8.1, True)])
def test_pelvic_drop_side_difference_boundary(left: float, right: float, detected: bool) -> None:
    rear = build_analysis("rear", overrides={"pelvic_drop_deg": (left, right)})
    result = evaluate_findings(side=None, rear=rear)
    assert ("PELVIC_DROP" in result.codes) is detected


def test_favourable_side_is_shown_without_a_threshold() -> None:
    side = build_analysis(overrides={"thigh_extension_deg": (10.0, 30.0), "hip_extension_deg": (12.0, 14.0)})
    f = next(f for f in evaluate_findings(side=side).findings if f.code == "LOW_HIP_EXT")
    assert f.side == "L"
    assert "hip_extension_est_deg (R)" in f.values  # shown for context …
    assert "hip_extension_est_deg (R)" not in f.threshold  # … but not as a problem
    assert "hip_extension_est_deg (L)" in f.threshold


def test_problem_directions_say_which_side_of_typical_is_a_problem() -> None:
    d = load_rules().problem_directions()
    assert d["thigh_extension_deg"] == "low"  # more hip extension is favourable
    assert d["vertical_oscillation_cm"] == "high" and d["cadence_spm"] == "low"
    assert d["trunk_lean_deg"] == "both"  # upright (< 3°) and excess lean (> 15°)
    assert "hip_extension_deg" not in d  # judged only as a left/right difference
