"""Build GaitAnalysis objects with known per-stride values for findings and plan tests (no video needed)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from backtorun.types import GaitAnalysis, GaitEvents, MetricSummary, QualityFlag, SideSummary, VideoInfo

#: A typical recreational runner at 3.0 m/s on a treadmill (values inside every default normal band).
NORMAL_SIDE: dict[str, float] = {
    "cadence_spm": 172.0,
    "step_time_ms": 348.8,
    "stride_time_ms": 697.7,
    "contact_time_ms": 240.0,
    "flight_time_ms": 108.8,
    "duty_factor_pct": 34.4,
    "step_length_m": 1.046,
    "vertical_oscillation_cm": 7.5,
    "vertical_ratio_pct": 7.2,
    "hip_extension_deg": 16.0,
    "thigh_extension_deg": 21.0,
    "trunk_lean_deg": 7.0,
    "trunk_extension_at_pushoff_deg": 1.0,
    "heel_ahead_cm": 15.0,
    "heel_ahead_leg_ratio": 0.17,
    "shank_angle_ic_deg": 5.0,
    "knee_flexion_ic_deg": 17.0,
    "knee_flexion_peak_stance_deg": 45.0,
}
NORMAL_REAR: dict[str, float] = {
    "cadence_spm": 172.0,
    "step_time_ms": 348.8,
    "pelvic_drop_deg": 5.0,
    "arm_crossover_pct": 10.0,
    "arm_crossover_ratio": 0.05,
    "lateral_trunk_lean_deg": 2.0,
    "step_width_cm": 8.0,
    "shoulder_pelvis_rotation_index": 0.1,
}
#: Stride-to-stride SD used for each metric (unit of the metric); default 3 % of the mean.
SPREAD: dict[str, float] = {"trunk_extension_at_pushoff_deg": 1.5, "hip_extension_deg": 1.5, "trunk_lean_deg": 1.0}


def _standard_normal(n: int, rng: np.random.Generator) -> np.ndarray:
    """n values with mean exactly 0 and SD exactly 1 so that the requested means hold exactly."""
    z = rng.standard_normal(n)
    z = z - z.mean()
    return z / z.std(ddof=1)


def build_analysis(
    view: str = "side",
    *,
    overrides: Mapping[str, float | tuple[float, float] | None] | None = None,
    n_per_side: int = 12,
    speed_mps: float | None = 3.0,
    on_treadmill: bool = True,
    quality_flags: Sequence[QualityFlag] = (),
    seed: int = 0,
) -> GaitAnalysis:
    """A GaitAnalysis whose strides and summary carry the given per-metric means.

    overrides: metric → mean (both sides), (left, right) means, or None to leave the metric out.
    """
    base = dict(NORMAL_SIDE if view == "side" else NORMAL_REAR)
    for k, v in (overrides or {}).items():
        if v is None:
            base.pop(k, None)
        else:
            base[k] = v  # type: ignore[assignment]
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"side": ["L"] * n_per_side + ["R"] * n_per_side, "valid": [True] * (2 * n_per_side)}
    summary: dict[str, MetricSummary] = {}
    for metric, target in base.items():
        left, right = target if isinstance(target, tuple) else (target, target)
        col = []
        by_side = {}
        for side_name, mean in (("L", left), ("R", right)):
            sd = SPREAD.get(metric, abs(mean) * 0.03 + 1e-6)
            vals = mean + sd * _standard_normal(n_per_side, rng)
            col.extend(vals.tolist())
            by_side[side_name] = SideSummary(float(vals.mean()), float(vals.std(ddof=1)), n_per_side)
        arr = np.asarray(col)
        mean_all = float(arr.mean())
        sd_all = float(arr.std(ddof=1))
        lm, rm = by_side["L"].mean, by_side["R"].mean
        if metric.endswith("_deg"):
            asym = rm - lm
        else:
            asym = 100.0 * (rm - lm) / ((rm + lm) / 2.0) if (rm + lm) != 0 else None
        summary[metric] = MetricSummary(
            metric=metric, mean=mean_all, sd=sd_all, cv_pct=100 * sd_all / abs(mean_all) if mean_all else float("nan"),
            n=2 * n_per_side, by_side=by_side, uncertainty=None, asymmetry=asym,
        )
        rows[metric] = col
    strides = pd.DataFrame(rows)
    return GaitAnalysis(
        video=VideoInfo(path=f"synthetic-{view}.mp4", fps=120.0, n_frames=3600, width=1920, height=1080,
                        duration_s=30.0),
        view=view,  # type: ignore[arg-type]
        events=GaitEvents(()),
        strides=strides,
        summary=summary,
        quality_flags=tuple(quality_flags),
        on_treadmill=on_treadmill,
        speed_mps=speed_mps,
    )


def scenario(name: str) -> dict[str, GaitAnalysis | None]:
    """Keyword arguments (side=..., rear=...) for evaluate_findings for one scenario with known problems.

    a_low_hip_ext_back  low hip extension with the trunk extending at push-off
    b_bouncing          bouncing with low cadence and overstride (2.8 m/s)
    c_arm_cross         arms crossing the midline (rear view), side view normal
    d_upright           upright trunk
    e_normal            a normal runner, side and rear views
    """
    if name == "a_low_hip_ext_back":
        return {"side": build_analysis(overrides={"hip_extension_deg": 4.0, "thigh_extension_deg": 10.0,
                                                  "trunk_extension_at_pushoff_deg": 8.0})}
    if name == "b_bouncing":
        return {"side": build_analysis(speed_mps=2.8, overrides={
            "cadence_spm": 155.0, "step_time_ms": 387.1, "stride_time_ms": 774.2, "contact_time_ms": 262.0,
            "flight_time_ms": 125.1, "duty_factor_pct": 33.8, "step_length_m": 1.084,
            "vertical_oscillation_cm": 12.5, "vertical_ratio_pct": 11.5, "shank_angle_ic_deg": 16.0,
            "heel_ahead_cm": 30.0, "heel_ahead_leg_ratio": 0.32})}
    if name == "c_arm_cross":
        return {"side": build_analysis(), "rear": build_analysis("rear", overrides={"arm_crossover_pct": 80.0,
                                                                                   "arm_crossover_ratio": 0.3})}
    if name == "d_upright":
        return {"side": build_analysis(overrides={"trunk_lean_deg": -3.0})}  # 6° below 3°: beyond rule Q1
    if name == "e_normal":
        return {"side": build_analysis(), "rear": build_analysis("rear")}
    raise KeyError(name)
