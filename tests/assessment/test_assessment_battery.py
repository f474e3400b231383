"""Strength and flexibility tests (domain.md §6): cut-offs tested on both sides, LSI, Thomas rule, input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtorun.assessment import (assess_tests, load_battery, load_norms, load_test_results, lsi_pct,
                                  parse_test_results)
from backtorun.errors import BadTestResults

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"


def run(data, gait=frozenset()):
    return assess_tests(parse_test_results(data), gait_findings_codes=set(gait))


def fcodes(a):
    return {f.code: f for f in a.findings}


def test_battery_has_t1_to_t9_with_protocol_units_sides():
    b = load_battery()
    assert [f"T{i}" for i in range(1, 10)] == list(b)
    for t in b.values():
        assert t["protocol"] and t["units"] and t["sides"]


@pytest.mark.parametrize("left,right,expected", [(10, 10, 100.0), (8, 10, 80.0), (10, 8, 80.0), (0, 10, 0.0),
                                                 (None, 5, None), (0, 0, None)])
def test_lsi(left, right, expected):
    assert lsi_pct(left, right) == (pytest.approx(expected) if expected is not None else None)


def test_sample_results_and_json():
    a = assess_tests(load_test_results(SAMPLES / "sample_tests.yaml"))
    json.dumps(a.to_dict())
    assert {"TEST_PRONE_HIP_EXT", "TEST_SLB", "TEST_HHD_LSI", "TEST_SLS"} <= set(fcodes(a))
    assert all(f.domain == "test" for f in a.findings)


@pytest.mark.parametrize("hip,gait,status", [(0.0, {"LOW_HIP_EXT"}, None), (0.5, set(), "not_judged"),
                                             (0.5, {"LOW_HIP_EXT"}, "detected"),
                                             (0.5, {"LUMBO_PELVIC_COMP"}, "detected"),
                                             (0.5, {"OVERSTRIDE"}, "not_judged")])
def test_thomas_needs_gait_finding(hip, gait, status):
    a = run({"thomas": {"left": {"hip_angle_deg": hip, "knee_flexion_deg": 80}}}, gait)
    f = fcodes(a).get("TEST_THOMAS")
    if status is None:
        assert f is None and a.outcome("T1").judgement == "typical"
    else:
        assert f.status == status
        assert (f.recommendations == ("R2",)) is (status == "detected")
        if status == "not_judged":
            assert "not a finding alone" in a.outcome("T1").note


@pytest.mark.parametrize("knee,judgement", [(67, "typical"), (66, "not_a_finding_alone")])
def test_thomas_knee_flexion_boundary(knee, judgement):
    a = run({"thomas": {"right": {"hip_angle_deg": -5, "knee_flexion_deg": knee}}})
    assert a.outcome("T1").judgement == judgement
    assert "TEST_THOMAS" not in fcodes(a)  # knee criterion alone is not the finding


@pytest.mark.parametrize("left,right,flag", [(5.0, 5.0, False), (4.9, 5.0, True), (10, 15, False), (10, 15.1, True)])
def test_prone_hip_extension_boundaries(left, right, flag):
    a = run({"prone_hip_extension": {"left": {"rom_deg": left}, "right": {"rom_deg": right}}})
    assert ("TEST_PRONE_HIP_EXT" in fcodes(a)) is flag


@pytest.mark.parametrize("hold,sex,flag,judgement", [(176, "male", False, "typical"), (175.9, "male", True, "differs"),
                                                     (100, "female", False, "not_judged")])
def test_sorensen_boundary(hold, sex, flag, judgement):
    a = run({"sex": sex, "sorensen": {"hold_s": hold}})
    assert ("TEST_SORENSEN" in fcodes(a)) is flag
    assert a.outcome("T3").judgement == judgement


@pytest.mark.parametrize("flexor,flag", [(99, False), (100, True)])
def test_mcgill_flexion_extension_boundary(flexor, flag):
    a = run({"mcgill": {"flexor_s": flexor, "extensor_s": 100}})
    assert ("TEST_CORE_RATIO" in fcodes(a)) is flag


@pytest.mark.parametrize("side,flag", [(74, False), (75, True)])
def test_mcgill_side_extension_boundary(side, flag):
    a = run({"mcgill": {"extensor_s": 100, "side_bridge_left_s": side, "side_bridge_right_s": side}})
    assert ("TEST_CORE_RATIO" in fcodes(a)) is flag


@pytest.mark.parametrize("right,flag", [(105, False), (106, True), (95, False), (94, True)])
def test_mcgill_right_left_boundary(right, flag):
    a = run({"mcgill": {"extensor_s": 400, "side_bridge_left_s": 100, "side_bridge_right_s": right}})
    assert ("TEST_CORE_RATIO" in fcodes(a)) is flag


def test_mcgill_uses_sorensen_as_extensor_when_missing():
    a = run({"sorensen": {"hold_s": 100}, "mcgill": {"flexor_s": 120}})
    assert a.outcome("T4").values["ratio_flexion_extension"] == pytest.approx(1.2)
    assert "TEST_CORE_RATIO" in fcodes(a)


@pytest.mark.parametrize("left,right,flag", [(20, 20, False), (19, 20, True), (34, 40, False), (33, 40, True)])
def test_single_leg_bridge_boundaries(left, right, flag):
    a = run({"single_leg_bridge": {"left_reps": left, "right_reps": right}})
    assert ("TEST_SLB" in fcodes(a)) is flag
    if flag:
        assert fcodes(a)["TEST_SLB"].side == "left"


@pytest.mark.parametrize("rating,flag", [("fair", False), ("poor", True)])
def test_single_leg_squat(rating, flag):
    a = run({"single_leg_squat": {"right": {"overall": rating}}})
    assert ("TEST_SLS" in fcodes(a)) is flag


@pytest.mark.parametrize("left,right,flag", [(85, 100, False), (84.9, 100, True), (100, 84, True)])
def test_hhd_lsi_boundary(left, right, flag):
    a = run({"weight_kg": 50, "hhd": [{"muscle": "hip_abduction", "left": left, "right": right}]})
    f = fcodes(a).get("TEST_HHD_LSI")
    assert (f is not None) is flag
    assert a.outcome("T7").values["left_N_per_kg"] == pytest.approx(left / 50)
    if flag:
        assert f.side == ("left" if left < right else "right")


@pytest.mark.parametrize("prev,real", [(100 - 14.8, False), (100 - 14.9, True)])
def test_hhd_change_vs_mdc(prev, real):
    a = run({"hhd": [{"muscle": "hip_extension", "unit": "Nm", "left": 100, "right": 100, "previous_left": prev}]})
    assert ("beyond MDC" in a.outcome("T7").note) is real


@pytest.mark.parametrize("left,right,flag", [(0, 0, False), (1, 0, True), (0, 2, True)])
def test_aslr_boundary(left, right, flag):
    a = run({"aslr": {"left": left, "right": right}})
    assert ("TEST_ASLR" in fcodes(a)) is flag


def test_invalid_results_give_field_level_errors(tmp_path):
    with pytest.raises(BadTestResults, match="aslr.left"):
        parse_test_results({"aslr": {"left": 6, "right": 0}})
    with pytest.raises(BadTestResults, match="did you mean 'hold_s'"):
        parse_test_results({"sorensen": {"hold": 100}})
    p = tmp_path / "t.yaml"
    p.write_text("single_leg_squat: {left: {overall: great}}\n")
    with pytest.raises(BadTestResults, match="single_leg_squat.left.overall"):
        load_test_results(p)


def test_norms_override(tmp_path):
    p = tmp_path / "n.yaml"
    p.write_text("slb_reps_below: 25\n")
    n = load_norms(p)
    a = assess_tests(parse_test_results({"single_leg_bridge": {"left_reps": 22, "right_reps": 22}}), norms=n)
    assert "TEST_SLB" in fcodes(a)
    assert "TEST_SLB" not in fcodes(run({"single_leg_bridge": {"left_reps": 22, "right_reps": 22}}))
