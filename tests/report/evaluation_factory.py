"""Builds synthetic, fully populated Evaluations for the report and evaluation tests (no video, no producers)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd

from backtorun.assessment import TestAssessment
from backtorun.assessment.assess import TestOutcome
from backtorun.evaluation import Evaluation, InputFile, software_versions
from backtorun.findings.result import FindingsResult, PatternResult
from backtorun.intake import Intake
from backtorun.plan import Plan
from backtorun.plan.builder import Exercise, Recommendation, Referral
from backtorun.plan.cadence import CadencePlan, CadenceTarget
from backtorun.plan.return_to_run import ReturnToRunPlan, WalkRunPhase
from backtorun.training import TrainingAssessment
from backtorun.training.rules import WeekVolume
from backtorun.types import (
    Finding, GaitAnalysis, GaitEvent, GaitEvents, MetricSummary, QualityFlag, RedFlagClearance, RedFlagHit,
    RedFlagScreen, ScaleInfo, SideSummary, VideoInfo,
)

SIDE_MEANS = {"cadence_spm": (158.0, 3.0), "contact_time_ms": (285.0, 12.0), "vertical_oscillation_cm": (10.8, 0.6),
              "vertical_ratio_pct": (9.4, 0.5), "hip_extension_deg": (6.5, 1.5), "trunk_lean_deg": (2.1, 1.0),
              "trunk_extension_at_pushoff_deg": (6.8, 1.2), "shank_angle_ic_deg": (12.5, 1.8),
              "knee_flexion_ic_deg": (14.0, 2.5), "knee_flexion_peak_stance_deg": (41.0, 3.0)}
REAR_MEANS = {"pelvic_drop_deg": (5.0, 1.2), "arm_crossover_ratio": (0.18, 0.05), "lateral_trunk_lean_deg": (2.0, 0.8)}


def make_analysis(view: str = "side", *, n_steps: int = 20, seed: int = 0) -> GaitAnalysis:
    rng = np.random.default_rng(seed)
    means = SIDE_MEANS if view == "side" else REAR_MEANS
    rows = []
    for i in range(n_steps):
        side = "L" if i % 2 == 0 else "R"
        row = {"side": side, "start_frame": 20 * i, "end_frame": 20 * i + 20, "valid": i != 3}
        for m, (mu, sd) in means.items():
            row[m] = mu + (1.0 if side == "R" and m == "pelvic_drop_deg" else 0.0) + rng.normal(0, sd)
        rows.append(row)
    strides = pd.DataFrame(rows)
    valid = strides[strides["valid"]]
    summary = {}
    for m in means:
        by_side = {s: SideSummary(float(g[m].mean()), float(g[m].std()), int(len(g))) for s, g in valid.groupby("side")}
        mean, sd = float(valid[m].mean()), float(valid[m].std())
        summary[m] = MetricSummary(metric=m, mean=mean, sd=sd, cv_pct=100 * sd / abs(mean), n=len(valid),
                                   by_side=by_side, uncertainty=16.7 if m.endswith("_ms") else None,
                                   asymmetry=by_side["R"].mean - by_side["L"].mean)
    x = np.linspace(0, 1, 101)
    curves = {
        "knee_flexion_deg": {s: {"mean": list(20 + 25 * np.sin(2 * math.pi * x) ** 2 + k), "sd": [3.0] * 101}
                             for k, s in ((0, "L"), (2, "R"))},
        "thigh_angle_deg": {s: {"mean": list(25 * np.cos(2 * math.pi * x) + k), "sd": [2.0] * 101}
                            for k, s in ((0, "L"), (1, "R"))},
    }
    events = GaitEvents(tuple(GaitEvent("L" if i % 2 == 0 else "R", "near" if i % 2 == 0 else "far", "IC", 20 * i,
                                        20 * i / 120.0, 0.9) for i in range(n_steps)))
    return GaitAnalysis(
        video=VideoInfo(path=f"/data/{view}.mp4", fps=120.0, n_frames=1200, width=1280, height=720, duration_s=10.0),
        view=view, events=events, strides=strides, summary=summary,
        quality_flags=(QualityFlag("far_leg_occluded", "The far leg is often hidden; its values are less certain."),),
        running_direction="left" if view == "side" else "away", near_side="L" if view == "side" else None,
        scale=ScaleInfo(0.0021, "height", True), speed_mps=2.8, height_cm=170.0,
        software={"pose": "mediapipe-0.10.21/blazepose-full"}, curves=curves if view == "side" else {},
    )


def gait_findings() -> list[Finding]:
    return [
        Finding(code="LOW_HIP_EXT", title="Limited hip extension at push-off",
                text="Peak hip extension at push-off differs from typical and may add load to the lower back.",
                domain="gait", severity="moderate", side="L", values={"hip_extension_deg": 6.5},
                threshold={"hip_extension_deg": "< 10"}, evidence_grade="B", sources=("22", "31"),
                confidence=0.8, confidence_note="far leg partly occluded", recommendations=("R2", "R3", "R6"),
                plain_text="Your hip does not stretch back much as you push off."),
        Finding(code="HIGH_VO", title="Bouncing: large vertical oscillation",
                text="Vertical movement each step differs from typical and may add load.", domain="gait",
                severity="marked", values={"vertical_oscillation_cm": 10.8}, threshold={"vertical_oscillation_cm": "> 9.7"},
                evidence_grade="C", sources=("33", "1"), recommendations=("R1",),
                conflicting_evidence="Treadmill running shows about 1.5 cm less vertical displacement than overground [1].",
                plain_text="You move up and down a lot with each step."),
        Finding(code="ARM_CROSS", title="Arms cross the midline", text="x", domain="gait", status="not_judged",
                confidence_note="no rear-view video"),
        Finding(code="TEST_SLB", title="Low single-leg bridge endurance", text="Fewer bridges than typical.",
                domain="test", severity="mild", side="R", values={"reps": 14}, threshold={"reps": "< 20"},
                evidence_grade="B", sources=("57",), recommendations=("R3",)),
    ]


def patterns() -> list[PatternResult]:
    return [
        PatternResult(code="HIP_EXT_BACK_EXT", title="Too little hip extension with the back extending instead",
                      status="detected", text="Hip extension is limited and the back extends instead.", plain_text="",
                      evidence=({"code": "LOW_HIP_EXT", "title": "Limited hip extension at push-off",
                                 "status": "detected", "values": {"hip_extension_deg": 6.5},
                                 "threshold": {"hip_extension_deg": "< 10"}},)),
        PatternResult(code="BOUNCING", title="Vertical bouncing", status="detected", text="", plain_text="",
                      evidence=({"vertical_oscillation_cm": 10.8},)),
        PatternResult(code="ARM_TWIST", title="Twisting from arm swing", status="not_judged", text="", plain_text="",
                      reasons=("needs a rear-view recording",)),
        PatternResult(code="TREADMILL_POSTURE", title="Treadmill posture (upright trunk, running in place)",
                      status="not_detected", text="", plain_text="", evidence=({"trunk_lean_deg": 4.1},)),
    ]


def cadence_plan(minutes: float = 20) -> CadencePlan:
    targets = tuple(CadenceTarget(step=i + 1, increase_pct=pct, spm=spm, metronome_file=f"metronome_{spm}spm.ogg",
                                  metronome_command=f"backtorun metronome --spm {spm} --minutes {minutes:g} "
                                                    f"-o metronome_{spm}spm.ogg")
                    for i, (pct, spm) in enumerate(((5.0, 166), (10.0, 174))))
    return CadencePlan(measured_spm=158.0, targets=targets, metronome_minutes=minutes, indicated=True,
                       retest="Re-test at 4 weeks.", faded_feedback=("Week 1: check every 500 m.",),
                       evidence_grade="C", sources=("2", "24"))


def running_plan() -> Plan:
    stretch = Exercise(name="Half-kneeling hip-flexor stretch", frequency="", progression="add knee bend", sets=3,
                       hold_s=30, per_side=True)
    rtr = ReturnToRunPlan(entry_criteria=("walking 30 min briskly with pain at most 3/10",),
                          phases=(WalkRunPhase(phase=1, rpe=3, walk_min=2, run_min=3, total_km=1.6, total_mi=1.0),
                                  WalkRunPhase(phase=6, rpe=5, walk_min=0, run_min=None, total_km=3.2, total_mi=2.0)),
                          rest_days_between_runs=1, min_repeats_per_phase=2,
                          rules={"progress": "pain at most 3/10", "regress": "pain above 5/10"},
                          time_based_alternative=(), after_continuous="", evidence_grade="C", sources=("87", "88"))
    return Plan(notes=("Review the stiff knee.",), cadence=cadence_plan(), return_to_run=rtr,
                recommendations=(Recommendation(code="R2", title="Hip-flexor mobility", summary="Stretch the hip flexors.",
                                                because=("LOW_HIP_EXT",), exercises=(stretch,),
                                                cues=("Squeeze the glute.",), caveats="Small ROM change.",
                                                evidence_grade="B/C", sources=("81", "82")),),
                pain_rule={"text": "Pain up to 3/10 is safe.", "evidence_grade": "C", "sources": ["88"]},
                running_outside="Alternate treadmill and outdoor runs.")


def test_assessment(findings: list[Finding]) -> TestAssessment:
    return TestAssessment(outcomes=(TestOutcome(test_id="single_leg_bridge", name="Single-leg bridge",
                                                values={"reps": 14}, norm="< 20 poor", judgement="differs", side="R"),),
                          findings=[findings[3]])


def training_assessment() -> TrainingAssessment:
    weeks = tuple(WeekVolume(week_start=dt.date(2026, 10, d), run_km=km, walk_km=0.0, treadmill_km=km * 0.8, n_runs=4,
                             longest_run_km=km / 3, run_time_min=km * 6)
                  for d, km in ((5, 20.0), (12, 22.0), (19, 31.0), (26, 33.0)))
    return TrainingAssessment(
        today=dt.date(2026, 11, 20), weeks=weeks, findings=[],
        metrics={"weekly_km_last7": 33.0, "longest_run_30d_km": 11.0, "treadmill_share_pct": 80.0,
                 "weekly_progression": [{"week_start": "2026-10-19", "run_km": 31.0, "prev_km": 22.0, "flag": True}]},
        stored_dynamics={"n_runs": 3, "runs": [], "mean": {"cadence_spm": 162.0, "vertical_oscillation_cm": 9.1,
                                                           "stance_time_ms": 268.0}})


def make_evaluation(*, refer: bool = False, rear: bool = True, training: bool = True, refer_level: str = "emergency",
                    yellow: bool = False, cleared: bool = False) -> Evaluation:
    """A full synthetic evaluation. refer: a red flag at ``refer_level`` replaces the plan; yellow: a STarT Back
    psychosocial yellow flag; cleared: an URGENT flag that a clinician has cleared (the plan is kept)."""
    side = make_analysis("side")
    findings = gait_findings()
    red = RedFlagScreen(level="none")
    plan: Plan = running_plan()
    if refer:
        code, reason, action = (("RF-CES", "new saddle numbness and bladder changes", "same-day emergency department")
                                if refer_level == "emergency" else
                                ("RF-FRACTURE", "prolonged corticosteroid use with new back pain",
                                 "urgent (same-week) medical assessment"))
        red = RedFlagScreen(level=refer_level, hits=(RedFlagHit(
            code=code, level=refer_level, reason=reason, action=action, evidence_grade="C",
            sources=("64",) if code == "RF-CES" else ("62",), title="Possible cauda equina syndrome"
            if code == "RF-CES" else "Possible spinal fracture"),))
        plan = Plan(referral=Referral(level=refer_level, reasons=(f"{reason} ({code})",), action=action, codes=(code,),
                                      letter="Dear colleague,\nplease assess urgently for cauda equina syndrome."))
    elif cleared:
        clearance = RedFlagClearance(who="Dr A. Example (GP)", when="2026-11-18", why="remote basal-cell carcinoma, "
                                     "discharged from follow-up", flags=("RF-MALIGNANCY",))
        red = RedFlagScreen(level="urgent", hits=(RedFlagHit(
            code="RF-MALIGNANCY", level="urgent", reason="history of cancer", action="urgent medical review",
            sources=("62",), title="Possible malignancy", clearance=clearance),), clearances=(clearance,))
    if yellow:
        red = dataclasses.replace(red, yellow_flags=("STarT Back psychosocial subscale 4/5 (≥ 4): psychosocially "
                                                     "informed care; not a referral [67]",))
    return Evaluation(
        patient={"name": "Test Runner", "id": "T-1", "age_years": 38, "sex": "female"},
        session={"date": "2026-11-20", "clinician": "A. Physio", "speed_mps": 2.8, "incline_pct": 1.0},
        inputs=(InputFile("side_video", "side.mp4", "0" * 64, 1234),),
        settings={"analysis": {"lowpass_cutoff_hz": 10.0}},
        software=software_versions(),
        side=side, rear=make_analysis("rear", seed=1) if rear else None,
        intake=Intake(runner_id="T-1", age_years=38, pain={"now": 1, "worst_24h": 3, "during_run": 5}),
        red_flags=red,
        tests=test_assessment(findings),
        training=training_assessment() if training else None,
        findings=FindingsResult(findings=findings, patterns=patterns()),
        plan=plan,
        attribution=("Synthetic test data.",),
    )
