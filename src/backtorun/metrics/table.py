"""(PoseSeries, GaitEvents) → StrideTable: one row per stride (IC to the same foot's next IC)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from backtorun import conventions as cv
from backtorun.metrics import stride as m
from backtorun.metrics.symmetry import SymmetryAssessment, assess_symmetry
from backtorun.settings import StrideSettings
from backtorun.types import GaitEvents

if TYPE_CHECKING:  # pragma: no cover
    from backtorun.kinematics import Kinematics

MetricFn = Callable[[m.StrideContext, m.Stride], float]

SIDE_VIEW_FUNCTIONS: dict[str, MetricFn] = {
    cv.CADENCE_SPM: m.cadence_spm, cv.STEP_TIME_MS: m.step_time_ms, cv.STRIDE_TIME_MS: m.stride_time_ms,
    cv.CONTACT_TIME_MS: m.contact_time_ms, cv.FLIGHT_TIME_MS: m.flight_time_ms, cv.DUTY_FACTOR_PCT: m.duty_factor_pct,
    cv.STEP_LENGTH_M: m.step_length_m, cv.VERTICAL_OSCILLATION_CM: m.vertical_oscillation_cm,
    cv.VERTICAL_RATIO_PCT: m.vertical_ratio_pct, cv.HIP_EXTENSION_DEG: m.hip_extension_deg,
    cv.THIGH_EXTENSION_DEG: m.thigh_extension_deg, cv.TRUNK_LEAN_DEG: m.trunk_lean_deg,
    cv.TRUNK_EXTENSION_AT_PUSHOFF_DEG: m.trunk_extension_at_pushoff_deg, cv.HEEL_AHEAD_CM: m.heel_ahead_cm,
    cv.HEEL_AHEAD_LEG_RATIO: m.heel_ahead_leg_ratio, cv.SHANK_ANGLE_IC_DEG: m.shank_angle_ic_deg,
    cv.KNEE_FLEXION_IC_DEG: m.knee_flexion_ic_deg, cv.KNEE_FLEXION_PEAK_STANCE_DEG: m.knee_flexion_peak_stance_deg,
}
REAR_VIEW_FUNCTIONS: dict[str, MetricFn] = {
    cv.CADENCE_SPM: m.cadence_spm, cv.STEP_TIME_MS: m.step_time_ms, cv.STRIDE_TIME_MS: m.stride_time_ms,
    cv.PELVIC_DROP_DEG: m.pelvic_drop_deg, cv.ARM_CROSSOVER_PCT: m.arm_crossover_pct,
    cv.ARM_CROSSOVER_RATIO: m.arm_crossover_ratio, cv.LATERAL_TRUNK_LEAN_DEG: m.lateral_trunk_lean_deg,
    cv.STEP_WIDTH_CM: m.step_width_cm, cv.SHOULDER_PELVIS_ROTATION_INDEX: m.shoulder_pelvis_rotation_index,
}

BASE_COLUMNS = ["side", "leg", "start_frame", "end_frame", "start_time_s", "ic_confidence", "to_confidence", "valid",
                "quality_flags", "leg_confidence"]


def functions_for(view: str) -> dict[str, MetricFn]:
    return SIDE_VIEW_FUNCTIONS if view == "side" else REAR_VIEW_FUNCTIONS


def build_strides(events: GaitEvents, frame_to_row: Callable[[int], int]) -> list[tuple[m.Stride, dict]]:
    """Pair each IC with its foot's TO, the other foot's next IC and the foot's next IC."""
    out = []
    for side in ("L", "R"):
        other = "R" if side == "L" else "L"
        ics = events.select(side=side, kind="IC")
        tos = events.select(side=side, kind="TO")
        oics = events.select(side=other, kind="IC")
        for a, b in zip(ics, ics[1:]):
            to = next((e for e in tos if a.time_s < e.time_s < b.time_s), None)
            cic = next((e for e in oics if a.time_s < e.time_s < b.time_s), None)
            pcic = next((e for e in reversed(oics) if e.time_s < a.time_s), None)
            st = m.Stride(side=side, ic=frame_to_row(a.frame), to=frame_to_row(to.frame) if to else None,
                          contra_ic=frame_to_row(cic.frame) if cic else None, next_ic=frame_to_row(b.frame),
                          prev_contra_ic=frame_to_row(pcic.frame) if pcic else None)
            meta = {"side": side, "leg": a.leg, "start_frame": a.frame, "end_frame": b.frame, "start_time_s": a.time_s,
                    "ic_confidence": a.confidence, "to_confidence": to.confidence if to else np.nan}
            out.append((st, meta))
    return out


class StrideTableBuilder:
    """Stride stage: (prepared pose, events) → StrideTable. Reads ``settings.strides`` (its only reader):
    the hip-extension search window of the stride context, the validity rule of :func:`stride_table`, and the
    per-leg confidence and asymmetry guard of :meth:`assess` (:mod:`backtorun.metrics.symmetry`)."""

    def __init__(self, settings: StrideSettings | None = None) -> None:
        self.settings = settings or StrideSettings()

    def assess(self, kin: "Kinematics", events: GaitEvents, *,
               frame_to_row: Callable[[int], int]) -> SymmetryAssessment:
        """Per-leg confidence and whether left/right asymmetry is assessable (side view only: the rear view sees
        both feet alike, and its asymmetry stays as measured)."""
        if kin.view != "side":
            return SymmetryAssessment()
        return assess_symmetry(kin.pose, kin.events_pose, events, forward=kin.forward,
                               leg_length_px=kin.leg_length_px, near_side=kin.near.side if kin.near else None,
                               fs_hz=kin.fs_hz, settings=self.settings, frame_to_row=frame_to_row)

    def build(self, kin: "Kinematics", events: GaitEvents, *, speed_mps: float | None,
              frame_to_row: Callable[[int], int], symmetry: SymmetryAssessment | None = None) -> pd.DataFrame:
        """The StrideTable of ``events`` measured on ``kin.angles_pose``; ``leg_confidence`` per row from
        ``symmetry`` (computed with :meth:`assess` when not given)."""
        ctx = m.StrideContext(kin.angles_pose, view=kin.view, forward=kin.forward,
                                    metres_per_px=kin.scale.metres_per_px, leg_length_px=kin.leg_length_px,
                                    speed_mps=speed_mps, hip_extension_window_s=self.settings.hip_extension_window_s)
        table = stride_table(ctx, events, frame_to_row=frame_to_row, validity=self.settings)
        if symmetry is None:
            symmetry = self.assess(kin, events, frame_to_row=frame_to_row)
        if not table.empty:
            conf = {s: symmetry.confidence(s) for s in ("L", "R")}
            table["leg_confidence"] = [np.nan if conf.get(s) is None else float(conf[s])  # type: ignore[arg-type]
                                       for s in table["side"]]
        return table


def stride_table(ctx: m.StrideContext, events: GaitEvents, *, frame_to_row: Callable[[int], int],
                 validity: StrideSettings) -> pd.DataFrame:
    """StrideTable with unit-suffixed metric columns of the view (conventions.SIDE/REAR_VIEW_METRICS).

    A row is valid when its stride has a TO and a contralateral IC, both stride time and step time lie within
    ±``validity.max_step_deviation`` of the clip's medians, and the IC confidence ≥ ``validity.min_confidence``.
    ``quality_flags``
    lists why a row is invalid or weak (";"-separated codes: missing_to, missing_contra_ic, irregular_stride,
    low_confidence, far_leg). ``leg_confidence`` (the row's leg's measurement confidence) is NaN here and filled by
    :meth:`StrideTableBuilder.build`.
    """
    max_step_deviation, min_confidence = validity.max_step_deviation, validity.min_confidence
    fns = functions_for(ctx.view)
    rows = []
    for st, meta in build_strides(events, frame_to_row):
        row = dict(meta)
        for name, fn in fns.items():
            row[name] = fn(ctx, st)
        rows.append(row)
    df = pd.DataFrame(rows, columns=BASE_COLUMNS + list(fns))
    if df.empty:
        return df
    stride_med = np.nanmedian(df[cv.STRIDE_TIME_MS]) if df[cv.STRIDE_TIME_MS].notna().any() else np.nan
    step_med = np.nanmedian(df[cv.STEP_TIME_MS]) if df[cv.STEP_TIME_MS].notna().any() else np.nan
    flags_col, valid_col = [], []
    for _, r in df.iterrows():
        flags = []
        if ctx.view == "side" and not np.isfinite(r[cv.CONTACT_TIME_MS]):
            flags.append("missing_to")
        if not np.isfinite(r[cv.STEP_TIME_MS]):
            flags.append("missing_contra_ic")
        if (np.isfinite(stride_med) and abs(r[cv.STRIDE_TIME_MS] - stride_med) > max_step_deviation * stride_med) or (
                np.isfinite(step_med) and np.isfinite(r[cv.STEP_TIME_MS])
                and abs(r[cv.STEP_TIME_MS] - step_med) > max_step_deviation * step_med):
            flags.append("irregular_stride")
        if r["ic_confidence"] < min_confidence:
            flags.append("low_confidence")
        valid_col.append(not flags)
        if r["leg"] == "far":
            flags.append("far_leg")
        flags_col.append(";".join(flags))
    df["valid"] = valid_col
    df["quality_flags"] = flags_col
    return df.sort_values("start_time_s", kind="stable").reset_index(drop=True)
