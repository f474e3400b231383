"""Rule set loading, clinic overrides, confidence from data quality, rule Q1, red flags and merged findings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backtorun.errors import ConfigError
from backtorun.findings import default_rules_text, evaluate_findings, load_rules
from backtorun.types import Finding, QualityFlag, RedFlagHit, RedFlagScreen
from tests.findings.gait_builder import build_analysis, scenario

# ---- rules as data -------------------------------------------------------------------------------------------

REQUIRED = {"GAIT_LOW_CADENCE", "HIGH_VO", "HIGH_VR", "LONG_GCT", "LOW_HIP_EXT", "LUMBO_PELVIC_COMP",
            "UPRIGHT_TRUNK", "EXCESS_LEAN", "OVERSTRIDE", "STIFF_KNEE", "PELVIC_DROP", "ARM_CROSS", "ASYM"}


def test_packaged_rules_cover_the_rule_map_with_grades_sources_and_texts() -> None:
    rules = load_rules()
    assert {r.code for r in rules.rules} == REQUIRED
    for r in rules.rules:
        assert r.evidence_grade and r.text and r.plain_text and r.thresholds
        assert r.sources, r.code
    # dependencies come first in evaluation order
    order = [r.code for r in rules.rules]
    assert order.index("OVERSTRIDE") < order.index("GAIT_LOW_CADENCE")
    assert order.index("LOW_HIP_EXT") < order.index("LUMBO_PELVIC_COMP")


def _write(tmp_path: Path, text: str, name: str = "clinic.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_clinic_file_changing_one_threshold_changes_the_outcome(tmp_path: Path) -> None:
    side = build_analysis(overrides={"trunk_lean_deg": 7.0})  # normal with default threshold (< 3°)
    assert "UPRIGHT_TRUNK" not in evaluate_findings(side=side).codes
    clinic = _write(tmp_path, "rules:\n  UPRIGHT_TRUNK:\n    thresholds: {trunk_lean_deg: 13.0}\n")
    result = evaluate_findings(side=side, rules_path=clinic)
    assert "UPRIGHT_TRUNK" in result.codes
    f = next(f for f in result.findings if f.code == "UPRIGHT_TRUNK")
    assert f.threshold["trunk_lean_deg"] == "< 13°"
    assert str(clinic) in result.rules_sources
    # everything else kept its default
    assert load_rules(clinic).rule("HIGH_VO").thresholds == load_rules().rule("HIGH_VO").thresholds


def test_clinic_cadence_threshold_switches_low_cadence_off(tmp_path: Path) -> None:
    kwargs = scenario("b_bouncing")
    assert "GAIT_LOW_CADENCE" in evaluate_findings(**kwargs).codes
    clinic = _write(tmp_path, "rules:\n  GAIT_LOW_CADENCE:\n    thresholds:\n      cadence_spm: 150\n")
    codes = evaluate_findings(**kwargs, rules_path=clinic).codes
    assert "GAIT_LOW_CADENCE" not in codes
    assert {"HIGH_VO", "HIGH_VR", "OVERSTRIDE"} <= codes


def test_clinic_reference_enables_a_switched_off_condition(tmp_path: Path) -> None:
    rear = build_analysis("rear", overrides={"pelvic_drop_deg": 9.5})  # symmetric: no side difference
    assert "PELVIC_DROP" not in evaluate_findings(side=None, rear=rear).codes
    clinic = _write(tmp_path, "rules:\n  PELVIC_DROP:\n    thresholds: {clinic_reference_deg: 6.0}\n")
    result = evaluate_findings(side=None, rear=rear, rules_path=clinic)
    assert "PELVIC_DROP" in result.codes  # 3.5° above the reference: beyond the ±3° error of rule Q1
    near = build_analysis("rear", overrides={"pelvic_drop_deg": 7.0})  # 1° above: within the error
    assert "PELVIC_DROP" not in evaluate_findings(side=None, rear=near, rules_path=clinic).codes


@pytest.mark.parametrize("text, needle", [
    ("rules: [unclosed", "not valid YAML"),
    ("- just\n- a list\n", "must contain a mapping"),
    ("rules:\n  HIGH_VO:\n    thresholds: {vo_moderate_cm: lots}\n", "must be a number"),
    ("rules:\n  HIGH_VO:\n    treshold: {vo_moderate_cm: 9}\n", "unknown key"),
    ("rules:\n  HIGH_VO:\n    when: {metric: vertical_oscilation_cm, op: '>', threshold: vo_moderate_cm}\n",
     "unknown metric"),
    ("rules:\n  HIGH_VO:\n    when: {metric: vertical_oscillation_cm, op: '=>', threshold: vo_moderate_cm}\n",
     "operator"),
    ("rules:\n  HIGH_VO:\n    when: {metric: vertical_oscillation_cm, op: '>', threshold: nine}\n",
     "not a threshold"),
    ("rules:\n  HIGH_VO:\n    when: {eval: '__import__(\"os\")'}\n", "unknown condition"),
    ("rules:\n  HIGH_VO:\n    when: {finding: HIGH_VR}\n  HIGH_VR:\n    when: {finding: HIGH_VO}\n", "cycle"),
    ("rules:\n  HIGH_VO:\n    recommendations: [R9]\n", "R9"),
    ("rules:\n  HIGH_VO:\n    severity: catastrophic\n", "severity"),
    ("quality:\n  q1_confidence_factor: 2\n", "q1_confidence_factor"),
])
def test_invalid_clinic_file_raises_config_error(tmp_path: Path, text: str, needle: str) -> None:
    clinic = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        evaluate_findings(side=build_analysis(), rules_path=clinic)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message  # one line for the CLI


def test_missing_clinic_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read rules file"):
        load_rules(tmp_path / "nope.yaml")


def test_packaged_text_is_the_default(tmp_path: Path) -> None:
    doc = yaml.safe_load(default_rules_text())
    assert doc["rules"]["GAIT_LOW_CADENCE"]["thresholds"]["cadence_spm"] == 164.0


# ---- confidence from data quality -----------------------------------------------------------------------------


def test_flagged_capture_reduces_confidence_and_says_so() -> None:
    flag = QualityFlag("LOW_FPS", "30 fps is below the 50 fps needed for contact times", "warning")
    side = build_analysis(overrides={"trunk_lean_deg": -2.0}, quality_flags=[flag])
    f = next(f for f in evaluate_findings(side=side).findings if f.code == "UPRIGHT_TRUNK")
    assert f.confidence < 1.0
    assert "LOW_FPS" in (f.confidence_note or "")


def test_rear_flag_does_not_touch_side_findings() -> None:
    flag = QualityFlag("REAR_OCCLUDED", "wrists hidden", "warning")
    side = build_analysis(overrides={"trunk_lean_deg": -2.0})
    rear = build_analysis("rear", overrides={"arm_crossover_pct": 80.0}, quality_flags=[flag])
    by_code = {f.code: f for f in evaluate_findings(side=side, rear=rear).findings}
    assert by_code["UPRIGHT_TRUNK"].confidence == 1.0
    assert by_code["ARM_CROSS"].confidence < 1.0 and "REAR_OCCLUDED" in by_code["ARM_CROSS"].confidence_note


def test_few_strides_reduce_confidence() -> None:
    side = build_analysis(overrides={"trunk_lean_deg": -2.0}, n_per_side=3)
    f = next(f for f in evaluate_findings(side=side).findings if f.code == "UPRIGHT_TRUNK")
    assert f.confidence < 1.0 and "strides" in f.confidence_note


def test_q1_value_within_error_of_threshold_is_not_emitted_unless_the_clinic_asks(tmp_path: Path) -> None:
    # at 3.0 m/s the 2D-to-true offset is 13.125°: thigh 21° → estimated true hip extension 7.9°, 2.1° below 10°
    side = build_analysis(overrides={"thigh_extension_deg": 21.0})
    result = evaluate_findings(side=side)
    assert "LOW_HIP_EXT" not in result.codes
    outcome = next(o for o in result.outcomes if o.code == "LOW_HIP_EXT")
    assert any("Q1" in r for r in outcome.reasons)
    clinic = _write(tmp_path, "quality:\n  q1_mode: reduce_confidence\n")
    f = next(f for f in evaluate_findings(side=side, rules_path=clinic).findings if f.code == "LOW_HIP_EXT")
    assert f.confidence < 1.0 and "Q1" in f.confidence_note


def test_q1_side_difference_within_error_is_not_emitted(tmp_path: Path) -> None:
    side = build_analysis(overrides={"hip_extension_deg": (17.0, 13.0)})  # 4° difference, both sides ≥ 10°
    clinic = _write(tmp_path, "rules:\n  LOW_HIP_EXT:\n    thresholds: {side_diff_deg: 3.0}\n")
    result = evaluate_findings(side=side, rules_path=clinic)
    assert "LOW_HIP_EXT" not in result.codes
    outcome = next(o for o in result.outcomes if o.code == "LOW_HIP_EXT")
    assert any("Q1" in r for r in outcome.reasons)


def test_side_difference_beyond_error_names_the_limited_side() -> None:
    side = build_analysis(overrides={"hip_extension_deg": (17.0, 10.5)})
    by_code = {f.code: f for f in evaluate_findings(side=side).findings}
    assert by_code["LOW_HIP_EXT"].side == "R"
    assert by_code["ASYM"].severity == "info"  # report only


def test_unknown_speed_assumed_for_cadence_rule_with_a_note() -> None:
    kwargs = scenario("b_bouncing")
    side = kwargs["side"]
    no_speed = build_analysis(speed_mps=None, overrides={k: v.mean for k, v in side.summary.items()})
    f = next(f for f in evaluate_findings(side=no_speed).findings if f.code == "GAIT_LOW_CADENCE")
    assert f.confidence < 1.0 and "speed unknown" in f.confidence_note


def test_fast_runner_low_cadence_rule_does_not_apply() -> None:
    fast = build_analysis(speed_mps=4.0, overrides={k: v.mean for k, v in scenario("b_bouncing")["side"].summary.items()})
    assert "GAIT_LOW_CADENCE" not in evaluate_findings(side=fast).codes


def test_treadmill_offset_only_on_treadmill() -> None:
    on = build_analysis(overrides={"vertical_oscillation_cm": 9.2}, on_treadmill=True)
    off = build_analysis(overrides={"vertical_oscillation_cm": 9.2}, on_treadmill=False)
    assert "HIGH_VO" in evaluate_findings(side=on).codes
    assert "HIGH_VO" not in evaluate_findings(side=off).codes


# ---- red flags and merged findings ---------------------------------------------------------------------------


def _screen() -> RedFlagScreen:
    hit = RedFlagHit("RF-FRACTURE", "urgent", "fall on the stairs last week and long-term steroid use",
                     "urgent medical review", "A", ("62",))
    return RedFlagScreen(level="urgent", hits=(hit,), yellow_flags=("STarT Back psychosocial subscale 4",))


def test_red_flags_become_referral_findings_first() -> None:
    result = evaluate_findings(**scenario("b_bouncing"), red_flags=_screen())
    assert result.refer
    first = result.findings[0]
    assert first.code == "RED_FLAG_FRACTURE" and first.severity == "referral" and first.domain == "red_flag"
    assert first.sources == ("62",)
    assert "YELLOW_FLAG" in result.codes
    assert result.to_dict()["refer"] is True


def test_test_findings_are_merged_and_thomas_is_gated_by_gait() -> None:
    thomas = Finding(code="TEST_THOMAS", title="Hip-flexor length", text="thigh above horizontal", domain="test",
                     values={"thomas_hip_angle_deg": 8.0}, threshold={"thomas_hip_angle_deg": "> 0°"})
    slb = Finding(code="TEST_SLB", title="Single-leg bridge", text="14 reps", domain="test",
                  values={"slb_reps": 14}, threshold={"slb_reps": "< 20"})
    with_gait = evaluate_findings(**scenario("a_low_hip_ext_back"), other_findings=[thomas, slb])
    assert {"TEST_THOMAS", "TEST_SLB", "LOW_HIP_EXT"} <= with_gait.codes
    merged = {f.code: f for f in with_gait.findings}
    assert merged["TEST_THOMAS"].recommendations == ("R2",)  # filled from the rule map
    assert merged["TEST_SLB"].recommendations == ("R3",)
    normal = evaluate_findings(**scenario("e_normal"), other_findings=[thomas, slb])
    assert "TEST_THOMAS" not in normal.codes and "TEST_SLB" in normal.codes
    dropped = next(o for o in normal.outcomes if o.code == "TEST_THOMAS")
    assert dropped.status == "not_detected" and dropped.reasons
    no_video = evaluate_findings(side=None, other_findings=[thomas])
    assert "TEST_THOMAS" in no_video.codes
    assert "cross-checked" in no_video.findings[0].confidence_note
