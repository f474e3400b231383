"""Cadence targets at the prescribed speed and individual load-management pathways (issue #13 items 3 and 4)."""

from __future__ import annotations

import datetime as dt

import pytest

from backtorun.findings import evaluate_findings
from backtorun.intake.model import Intake
from backtorun.plan import build_plan, default_library
from backtorun.plan.cadence import cadence_at_speed
from backtorun.plan.load_pathway import weekly_pain_trend
from tests.findings.gait_builder import build_analysis

FILMED_KMH, PAIN_KMH = 14.1, 10.5


def _runner(**extra: object) -> Intake:
    """30–46 km a week, hurts only after 20 min on the treadmill at 10.5 km/h (the runner of issue #13)."""
    doc = {"age_years": 38, "assessment_date": "2026-11-25", "pain": {"now": 1, "during_run": 4},
           "timing": {"surfaces": "treadmill_only", "onset_minutes_into_run": 20,
                      "treadmill_speed_kmh_at_onset": PAIN_KMH},
           "training": {"weekly_volume_km": 30, "weekly_volume_km_max": 46, "longest_run_30d_km": 14}}
    doc.update(extra)
    return Intake.model_validate(doc)


def test_pain_speed_differs_from_filmed_speed_gives_warning_and_targets_for_the_prescribed_speed() -> None:
    side = build_analysis(speed_mps=FILMED_KMH / 3.6, overrides={"cadence_spm": 172.0})
    intake = _runner()
    findings = evaluate_findings(side=side, intake=intake)
    assert "CAPTURE_SYMPTOM_MISMATCH" in findings.codes
    plan = build_plan(findings, side=side, intake=intake, today=dt.date(2026, 11, 25))
    c = plan.cadence
    assert c is not None and c.measured_spm == pytest.approx(172.0)
    assert c.prescribed_speed_mps == pytest.approx(PAIN_KMH / 3.6, abs=1e-3)
    assert c.prescribed_speed_source == "pain_onset_speed"
    k = default_library().cadence.speed_relation.exponent
    preferred = 172.0 * (PAIN_KMH / FILMED_KMH) ** k
    assert c.preferred_spm == pytest.approx(preferred, abs=0.05)
    assert [t.spm for t in c.targets] == [round(preferred * 1.05), round(preferred * 1.10)]
    # the filmed-speed targets (181, 189) would be too high at 10.5 km/h
    assert all(t.spm < s for t, s in zip(c.targets, (181, 189)))
    assert c.targets[0].increase_vs_filmed_pct < 0  # +5 % at 10.5 km/h is below the step rate filmed at 14.1
    assert "10.5 km/h" in c.retest and "scaled" in c.preferred_basis


def test_same_speed_keeps_the_filmed_cadence_as_base() -> None:
    side = build_analysis(speed_mps=PAIN_KMH / 3.6, overrides={"cadence_spm": 160.0})
    plan = build_plan(evaluate_findings(side=side), side=side, intake=_runner())
    assert plan.cadence.preferred_spm == pytest.approx(160.0)
    assert [t.spm for t in plan.cadence.targets] == [168, 176]


def test_watch_cadence_at_the_prescribed_speed_is_the_base_when_logged() -> None:
    class Training:  # the parts of a TrainingAssessment the plan reads
        weeks = ()
        metrics: dict = {}
        history = None

        @staticmethod
        def running_dynamics_summary() -> dict:
            return {"runs": [{"speed_mps": 2.9, "cadence_spm": 158.0}, {"speed_mps": 2.95, "cadence_spm": 160.0}]}

    side = build_analysis(speed_mps=FILMED_KMH / 3.6, overrides={"cadence_spm": 172.0})
    plan = build_plan(evaluate_findings(side=side), side=side, intake=_runner(), training=Training())
    assert plan.cadence.preferred_spm == pytest.approx(159.0)
    assert "watch" in plan.cadence.preferred_basis


def test_cadence_scales_with_speed() -> None:
    assert cadence_at_speed(170.0, 3.0, 3.0, 0.2) == pytest.approx(170.0)
    assert cadence_at_speed(150.1, 2.5, 4.5, 0.199) == pytest.approx(168.7, abs=0.1)


def test_runner_hurting_only_after_20_min_gets_modified_running_not_walk_run() -> None:
    side = build_analysis()
    plan = build_plan(evaluate_findings(side=side), side=side, intake=_runner(), today=dt.date(2026, 11, 25))
    p = plan.load_pathway
    assert p is not None and p.code == "modified_running"
    assert plan.return_to_run is None and plan.has_running_plan  # no walk–run table from 1.6 km
    assert p.weeks[0].weekly_km == 30 and p.weeks[1].weekly_km == pytest.approx(33.0)
    assert p.weeks[0].treadmill_cap_min == 16 and p.weeks[0].treadmill_cap_min < 20
    assert p.weeks[0].treadmill_incline_pct == 1.0
    # long run: the reported 14 km, kept within 40 % of the week (12 km, then 13.2 km), never +10 % beyond [72]
    assert p.weeks[0].long_run_km == pytest.approx(12.0) and p.weeks[1].long_run_km == pytest.approx(13.2)
    assert all(b.long_run_km <= a.long_run_km * 1.10 + 0.05 for a, b in zip(p.weeks, p.weeks[1:]))  # 0.1 km rounding
    assert p.retest_date == "2026-12-23" and "2 points" in p.pain_trend_rule
    assert any("16 min" in e for e in p.elements)
    assert plan.to_dict()["load_pathway"]["code"] == "modified_running"


@pytest.mark.parametrize("change, expect_walk_run", [
    ({"pain": {"during_run": 6}}, True),                              # running pain above 5/10
    ({"pain": {"during_run": 5}}, False),                             # at the acceptable limit
    ({"training": {"weekly_volume_km": 9.9}}, True),                  # not running enough now
    ({"training": {"weekly_volume_km": 10}}, False),
    ({"timing": {"surfaces": "treadmill_and_outside", "onset_minutes_into_run": 9.9}}, True),   # no pain-free block
    ({"timing": {"surfaces": "treadmill_and_outside", "onset_minutes_into_run": 10}}, False),
    ({"training": {}}, True),                                         # load history unknown
])
def test_pathway_boundaries(change: dict, expect_walk_run: bool) -> None:
    base = _runner().model_dump(mode="json")
    for key, value in change.items():
        base[key] = {**base[key], **value} if value else {}
    intake = Intake.model_validate(base)
    plan = build_plan(evaluate_findings(side=build_analysis()), side=build_analysis(), intake=intake)
    assert (plan.load_pathway.code == "walk_run") is expect_walk_run
    assert (plan.return_to_run is not None) is expect_walk_run
    if expect_walk_run:
        assert plan.load_pathway.reasons and plan.load_pathway.retest_date


@pytest.mark.parametrize("this_week, last_week, decision", [
    (3, 3, "progress"), (2, 3, "progress"), (4, 4, "hold"), (3.5, 2, "hold"), (4, 2, "step_back"),
    (6, 6, "step_back"), (5, 5, "hold"),
])
def test_weekly_pain_trend_rule(this_week: float, last_week: float, decision: str) -> None:
    lib = default_library()
    assert weekly_pain_trend(this_week, last_week, rule=lib.pain_rule,
                             mic_points=lib.load_management.pain_trend.mic_points) == decision


def test_recent_load_spike_holds_the_first_week_and_restarts_the_long_run() -> None:
    from backtorun.types import Finding

    spike = Finding(code="LOAD_SPIKE", title="Single-run load spike", text="", domain="load", severity="moderate",
                    values={"worst": {"distance_km": 18.0, "longest_prev_km": 10.0, "ratio": 1.8}})
    side = build_analysis()
    findings = evaluate_findings(side=side, other_findings=[spike])
    plan = build_plan(findings, side=side, intake=_runner(training={"weekly_volume_km": 40, "longest_run_30d_km": 18}))
    p = plan.load_pathway
    assert p.code == "modified_running" and p.inputs["load_flags"] == ["LOAD_SPIKE"]
    assert p.weeks[0].weekly_km == p.weeks[1].weekly_km == 40 and p.weeks[2].weekly_km == pytest.approx(44.0)
    assert p.weeks[0].long_run_km == pytest.approx(10.0)  # the longest run before the spike, not the 18 km spike
    no_flag = build_plan(evaluate_findings(side=side), side=side,
                         intake=_runner(training={"weekly_volume_km": 40, "longest_run_30d_km": 18})).load_pathway
    assert no_flag.weeks[1].weekly_km == pytest.approx(44.0) and no_flag.weeks[0].long_run_km == pytest.approx(16.0)


def test_a_noted_bone_stress_flag_restarts_with_walk_run() -> None:
    from backtorun.types import RedFlagHit, RedFlagScreen

    side = build_analysis()
    screen = RedFlagScreen(level="consider", hits=(RedFlagHit("RF-BONE-STRESS", "consider", "previous bone-stress "
                                                              "injury", "clinician to consider", "B", ("107",)),))
    plan = build_plan(evaluate_findings(side=side), side=side, red_flags=screen, intake=_runner())
    assert plan.referral is None
    assert plan.load_pathway.code == "walk_run" and plan.return_to_run is not None
    assert any("RF-BONE-STRESS" in r for r in plan.load_pathway.reasons)
    other = RedFlagScreen(level="consider", hits=(RedFlagHit("RF-MALIGNANCY", "consider", "age 66 alone",
                                                             "clinician to consider", "C", ()),))
    assert build_plan(evaluate_findings(side=side), side=side, red_flags=other,
                      intake=_runner()).load_pathway.code == "modified_running"
