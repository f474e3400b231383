"""Each metric recovers the known answer of the synthetic runner.

Tolerances: temporal metrics ±1 frame per event (an interval ±√2 frames; cadence is averaged over ~25 steps so
±1 spm); VO ±0.5 cm (the 10 Hz filter flattens the peaks a little); spec angles (trunk lean, pelvic drop) ±1°;
lateral lean ±0.6° (the square-wave lean is smoothed by the filter); geometry-derived angles ±3° (event timing
of ±1 frame moves the leg by a few degrees at 60 fps); heel-ahead ±(belt speed × 2 frames) + 1 cm.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from backtorun.pipeline import analyze_pose
from backtorun.synthetic import RunnerSpec, synthetic_run, true_values

SPEC = RunnerSpec(cadence_spm=172.0, contact_time_s=0.24, vertical_oscillation_cm=8.5, thigh_extension_deg=18.0,
                  trunk_lean_deg=7.0, pelvic_drop_deg=5.0, lateral_lean_deg=3.0, arm_crossover_ratio=0.2,
                  speed_mps=3.2, height_cm=178.0, step_width_cm=9.0)


@pytest.mark.parametrize("fps,noise_px", [(60.0, 0.0), (120.0, 1.0), (60.0, 1.5)])
def test_side_view_metrics_recover_known_answers(fps: float, noise_px: float) -> None:
    pose = synthetic_run(SPEC, view="side", fps=fps, duration_s=10, noise_px=noise_px, seed=3)
    a = analyze_pose(pose, height_cm=SPEC.height_cm, speed_mps=SPEC.speed_mps)
    s = {k: v.mean for k, v in a.summary.items()}
    frame_ms = 1000.0 / fps
    step_ms = 60000.0 / SPEC.cadence_spm
    assert a.view == "side"
    assert abs(s["cadence_spm"] - SPEC.cadence_spm) < 1.0
    assert abs(s["step_time_ms"] - step_ms) < frame_ms
    assert abs(s["contact_time_ms"] - 1000 * SPEC.contact_time_s) <= math.sqrt(2) * frame_ms
    assert abs(s["flight_time_ms"] - (step_ms - 1000 * SPEC.contact_time_s)) <= math.sqrt(2) * frame_ms
    assert abs(s["duty_factor_pct"] - 100 * SPEC.contact_time_s / (2 * step_ms / 1000)) < 1.5
    assert abs(s["step_length_m"] - SPEC.speed_mps * step_ms / 1000) < 0.02
    assert abs(s["vertical_oscillation_cm"] - SPEC.vertical_oscillation_cm) < 0.5
    assert abs(s["vertical_ratio_pct"] - SPEC.vertical_oscillation_cm / (SPEC.speed_mps * step_ms / 1000)) < 0.5
    assert abs(s["trunk_lean_deg"] - SPEC.trunk_lean_deg) < 1.0
    assert abs(s["trunk_extension_at_pushoff_deg"]) < 1.0  # constant lean → no trunk extension
    truth = true_values(SPEC)
    for name in ("thigh_extension_deg", "knee_flexion_ic_deg", "knee_flexion_peak_stance_deg", "shank_angle_ic_deg"):
        assert abs(s[name] - truth[name]) < 3.0, name
    assert abs(s["hip_extension_deg"] - (truth["thigh_extension_deg"] - SPEC.trunk_lean_deg)) < 3.0
    assert abs(s["heel_ahead_cm"] - truth["heel_ahead_cm"]) < 2 * 100 * SPEC.speed_mps / fps + 1.0
    # uncertainty where known: ±√2 frames for intervals
    assert np.isclose(a.summary["contact_time_ms"].uncertainty, math.sqrt(2) * frame_ms, rtol=0.01)
    # symmetric runner → small asymmetry
    assert abs(a.summary["contact_time_ms"].asymmetry) < 10.0


def test_rear_view_metrics_recover_known_answers() -> None:
    pose = synthetic_run(SPEC, view="rear", fps=60.0, duration_s=10, noise_px=0.5, seed=1)
    a = analyze_pose(pose, height_cm=SPEC.height_cm)
    s = {k: v.mean for k, v in a.summary.items()}
    assert a.view == "rear"
    assert abs(s["cadence_spm"] - SPEC.cadence_spm) < 1.5
    assert abs(s["pelvic_drop_deg"] - SPEC.pelvic_drop_deg) < 1.0
    assert abs(s["lateral_trunk_lean_deg"] - SPEC.lateral_lean_deg) < 0.6
    assert abs(s["arm_crossover_ratio"] - SPEC.arm_crossover_ratio) < 0.05
    assert s["arm_crossover_pct"] == 100.0
    assert abs(s["step_width_cm"] - SPEC.step_width_cm) < 1.5
    assert "pelvic_obliquity_deg" in a.curves and len(a.curves["pelvic_obliquity_deg"]["L"]["mean"]) == 101


def test_no_crossover_and_no_drop_are_recognised() -> None:
    spec = RunnerSpec(arm_crossover_ratio=-0.2, pelvic_drop_deg=0.0)
    a = analyze_pose(synthetic_run(spec, view="rear", duration_s=8), height_cm=spec.height_cm)
    assert a.summary["arm_crossover_pct"].mean == 0.0
    assert abs(a.summary["pelvic_drop_deg"].mean) < 0.5


def test_curves_and_low_fps_flag() -> None:
    a = analyze_pose(synthetic_run(SPEC, fps=30.0, duration_s=8), height_cm=SPEC.height_cm)
    assert {"knee_flexion_deg", "thigh_angle_deg", "trunk_lean_deg"} <= set(a.curves)
    knee = np.array(a.curves["knee_flexion_deg"]["L"]["mean"])
    assert knee.size == 101 and 30 < knee.max() < 130
    assert "LOW_FRAME_RATE" in {f.code for f in a.quality_flags}


def test_lower_body_only_gives_nan_trunk_with_flag() -> None:
    pose = synthetic_run(SPEC, fps=150.0, duration_s=6)
    xy = pose.xy.copy()
    xy[:, :23] = np.nan  # mocap-style: no upper body
    a = analyze_pose(pose.replace(xy=xy), height_cm=SPEC.height_cm)
    assert math.isnan(a.summary["trunk_lean_deg"].mean)
    assert "NO_TRUNK_LANDMARKS" in {f.code for f in a.quality_flags}
    assert abs(a.summary["cadence_spm"].mean - SPEC.cadence_spm) < 1.0


def _ic(side: str, t: float):  # type: ignore[no-untyped-def]
    from backtorun.types import GaitEvent

    return GaitEvent(side=side, leg="near" if side == "L" else "far", kind="IC", frame=int(round(t * 100)), time_s=t,
                     confidence=0.9)


def test_cadence_uses_every_alternating_step_and_drops_outliers() -> None:
    from backtorun.metrics.summary import step_times_from_events, summarize
    from backtorun.types import GaitEvents

    # far-leg (R) ICs 20 ms late: L→R steps 0.37 s, R→L steps 0.33 s; true mean step 0.35 s (171.4 spm)
    ev = [_ic("L", 0.7 * k) for k in range(10) if k != 8] + [_ic("R", 0.7 * k + 0.37) for k in range(10) if k not in (4, 7)]
    ev.append(_ic("L", 0.7 * 4 + 0.36))  # a spurious L IC where R's was missed: L→L gives no step
    # L(8) and R(7) missed: the step L(7) → R(8) spans 1.07 s and must be rejected
    events = GaitEvents(tuple(ev))
    steps = step_times_from_events(events)
    assert steps["kept"].sum() >= 13
    assert (steps["step_time_ms"] > 1000).sum() == 1
    assert not ((steps["step_time_ms"] > 1000) & steps["kept"]).any()
    import pandas as pd

    table = pd.DataFrame({"valid": [True], "side": ["L"], "step_time_ms": [370.0], "cadence_spm": [60000 / 370]})
    s = summarize(table, ["cadence_spm", "step_time_ms"], frame_ms=10.0, events=events)
    assert abs(s["cadence_spm"].mean - 60000 / 350) < 1.0  # not 60000/370 = 162 spm from the valid L rows alone
    assert s["cadence_spm"].n >= 13
    assert abs(s["step_time_ms"].by_side["L"].mean - 370) < 2 and abs(s["step_time_ms"].by_side["R"].mean - 330) < 2
    # without events: the old behaviour (valid rows only)
    assert abs(summarize(table, ["cadence_spm"], frame_ms=10.0)["cadence_spm"].mean - 60000 / 370) < 0.01
