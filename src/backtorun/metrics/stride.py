"""Per-stride metric functions (domain.md §3, M1–M14). One function per metric; each documents its formula,
unit, landmarks and source. A stride runs from an initial contact (IC) of one foot to that foot's next IC.

Every function takes a :class:`StrideContext` (the signals of one recording, computed once) and a
:class:`Stride` (row indices of its events) and returns a float (NaN when it cannot be computed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backtorun.conventions import L_SHOULDER, L_HIP, R_HIP, R_SHOULDER, SIDE_LANDMARKS, Side
from backtorun.metrics import angles
from backtorun.types import PoseSeries


@dataclass(frozen=True)
class Stride:
    side: Side
    ic: int  # row of this foot's IC
    to: int | None  # row of this foot's TO within the stride
    contra_ic: int | None  # row of the other foot's first IC within the stride (end of the step)
    next_ic: int  # row of this foot's next IC (end of the stride)
    prev_contra_ic: int | None = None  # row of the other foot's IC before ``ic`` (for step width)


@dataclass(frozen=True, eq=False)
class StrideContext:
    """Signals of one recording, computed once (angles from the filtered pose, per §1.5).

    Built from the pose and the recording's facts (a parameter object: ``StrideContext(pose, view=…, …)``); the
    time axis and the angle signals are derived in ``__post_init__``."""

    pose: PoseSeries
    view: str
    forward: int
    metres_per_px: float | None
    leg_length_px: float
    speed_mps: float | None
    hip_extension_window_s: float
    #: Hip-line obliquity of a standing trial (°, + right hip lower) subtracted from pelvic drop; None → the
    #: clip's mean obliquity is subtracted instead (M11 "subtract a standing-frame offset").
    standing_pelvic_obliquity_deg: float | None = None
    time_s: np.ndarray = field(init=False)
    trunk: np.ndarray = field(init=False)
    thigh: dict[str, np.ndarray] = field(init=False)
    knee: dict[str, np.ndarray] = field(init=False)
    shank: dict[str, np.ndarray] = field(init=False)
    hip_y: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        pose, forward = self.pose, self.forward
        derived = {
            "time_s": pose.time_s,
            "trunk": angles.trunk_lean_deg(pose, forward),
            "thigh": {s: angles.thigh_angle_deg(pose, s, forward) for s in ("L", "R")},
            "knee": {s: angles.knee_flexion_deg(pose, s) for s in ("L", "R")},
            "shank": {s: angles.shank_angle_deg(pose, s, forward) for s in ("L", "R")},
            "hip_y": angles.hip_mid(pose)[:, 1],
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: derived once here


def _dt_ms(c: StrideContext, a: int | None, b: int | None) -> float:
    if a is None or b is None:
        return float("nan")
    return float(1000.0 * (c.time_s[b] - c.time_s[a]))


def _nanmax(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else float("nan")


def _nanmean(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")


# ---- M1 / M3 temporal ------------------------------------------------------------------------------------------

def step_time_ms(c: StrideContext, s: Stride) -> float:
    """M1/M3 step time (ms) = IC(contralateral) − IC(ipsilateral). Landmarks: events only. Source [7][8] (events)."""
    return _dt_ms(c, s.ic, s.contra_ic)


def cadence_spm(c: StrideContext, s: Stride) -> float:
    """M1 cadence (steps/min) of this step = 60 / step time. The summary uses 60 / mean(step time) (§3 M1)."""
    st = step_time_ms(c, s)
    return 60000.0 / st if st > 0 else float("nan")


def stride_time_ms(c: StrideContext, s: Stride) -> float:
    """Stride time (ms) = IC(next, same foot) − IC. §3 M3."""
    return _dt_ms(c, s.ic, s.next_ic)


def contact_time_ms(c: StrideContext, s: Stride) -> float:
    """M3 ground contact time GCT (ms) = TO − IC of the same foot [33][34]."""
    return _dt_ms(c, s.ic, s.to)


def flight_time_ms(c: StrideContext, s: Stride) -> float:
    """M3 flight time (ms) = IC(contralateral) − TO(ipsilateral) = step time − GCT; negative means no flight."""
    return _dt_ms(c, s.to, s.contra_ic)


def duty_factor_pct(c: StrideContext, s: Stride) -> float:
    """M3 duty factor (%) = GCT / stride time × 100 [34][35]."""
    st = stride_time_ms(c, s)
    return 100.0 * contact_time_ms(c, s) / st if st > 0 else float("nan")


# ---- M2 / M4 / M5 spatial ----------------------------------------------------------------------------------------

def step_length_m(c: StrideContext, s: Stride) -> float:
    """M2 step length (m) = belt speed v × step time (treadmill; §3 M2). NaN without a belt speed."""
    if not c.speed_mps:
        return float("nan")
    return float(c.speed_mps * step_time_ms(c, s) / 1000.0)


def vertical_oscillation_cm(c: StrideContext, s: Stride) -> float:
    """M4 vertical oscillation (cm) of the pelvis: max − min of HIP_MID image y over the step [IC, contralateral IC],
    × metres per pixel × 100 (§3 M4; pelvis, not centre of mass; Garmin norms are chest-sensor based [33])."""
    if s.contra_ic is None or not c.metres_per_px:
        return float("nan")
    y = c.hip_y[s.ic:s.contra_ic + 1]
    y = y[np.isfinite(y)]
    if y.size < 2:
        return float("nan")
    return float((y.max() - y.min()) * c.metres_per_px * 100.0)


def vertical_ratio_pct(c: StrideContext, s: Stride) -> float:
    """M5 vertical ratio (%) = VO (m) / step length (m) × 100, step length = v × step time [33]."""
    vo, sl = vertical_oscillation_cm(c, s), step_length_m(c, s)
    return float(vo / 100.0 / sl * 100.0) if sl > 0 else float("nan")


# ---- M6 / M7 / M8 hip and trunk ---------------------------------------------------------------------------------

def _window(c: StrideContext, row: int | None, half_s: float) -> slice | None:
    if row is None:
        return None
    t = c.time_s
    lo = int(np.searchsorted(t, t[row] - half_s - 1e-9))
    hi = int(np.searchsorted(t, t[row] + half_s + 1e-9, side="right"))
    return slice(lo, max(hi, row + 1))


def thigh_extension_deg(c: StrideContext, s: Stride) -> float:
    """M6 peak thigh extension (°): max of θ_thigh (HIP→KNEE from the downward vertical, + knee behind hip) within
    TO ± ``hip_extension_window_s`` (50 ms), ipsilateral leg. Landmarks hip, knee. [22][31]"""
    w = _window(c, s.to, c.hip_extension_window_s)
    return _nanmax(c.thigh[s.side][w]) if w else float("nan")


def hip_extension_deg(c: StrideContext, s: Stride) -> float:
    """M6 peak relative hip extension (°): max of (θ_thigh − φ_trunk) within TO ± 50 ms; φ_trunk = HIP_MID→SHO_MID
    from vertical, + forward. Landmarks hips, knee, shoulders. NaN without shoulders. [22][31]"""
    w = _window(c, s.to, c.hip_extension_window_s)
    return _nanmax(c.thigh[s.side][w] - c.trunk[w]) if w else float("nan")


def trunk_lean_deg(c: StrideContext, s: Stride) -> float:
    """M8 trunk forward lean (°): mean φ_trunk over stance [IC, TO]. Landmarks hips, shoulders. [27][96]"""
    if s.to is None:
        return float("nan")
    return _nanmean(c.trunk[s.ic:s.to + 1])


def trunk_extension_at_pushoff_deg(c: StrideContext, s: Stride) -> float:
    """M7 proxy (a), experimental: Δφ = mean φ_trunk over the stride − φ_trunk at ipsilateral TO (°); + = trunk
    moves backwards as the thigh extends. Landmarks hips, shoulders. (D, idea from [31][22])"""
    if s.to is None:
        return float("nan")
    return float(_nanmean(c.trunk[s.ic:s.next_ic]) - c.trunk[s.to])


# ---- M9 / M10 landing --------------------------------------------------------------------------------------------

def _heel_ahead_px(c: StrideContext, s: Stride) -> float:
    lm = SIDE_LANDMARKS[s.side]
    heel = c.pose.xy[s.ic, lm["heel"], 0]
    if not np.isfinite(heel):
        heel = c.pose.xy[s.ic, lm["ankle"], 0]
    hip = (c.pose.xy[s.ic, L_HIP, 0] + c.pose.xy[s.ic, R_HIP, 0]) / 2
    return float(c.forward * (heel - hip))


def heel_ahead_cm(c: StrideContext, s: Stride) -> float:
    """M9 (a) heel ahead of the pelvis at IC (cm) = f·(x_heel − x_HIPMID) × m/px × 100. Landmarks heel, hips. [30][22]"""
    return _heel_ahead_px(c, s) * c.metres_per_px * 100.0 if c.metres_per_px else float("nan")


def heel_ahead_leg_ratio(c: StrideContext, s: Stride) -> float:
    """M9 (a) heel ahead of the pelvis at IC ÷ leg length (hip–ankle, pixels; unitless). [30]"""
    return _heel_ahead_px(c, s) / c.leg_length_px if c.leg_length_px > 0 else float("nan")


def shank_angle_ic_deg(c: StrideContext, s: Stride) -> float:
    """M9 (b) shank angle at IC (°): KNEE→ANKLE from the downward vertical, + ankle ahead of knee. [22]"""
    return float(c.shank[s.side][s.ic])


def knee_flexion_ic_deg(c: StrideContext, s: Stride) -> float:
    """M10 knee flexion at IC (°) = 180° − angle(HIP, KNEE, ANKLE). [2][37]"""
    return float(c.knee[s.side][s.ic])


def knee_flexion_peak_stance_deg(c: StrideContext, s: Stride) -> float:
    """M10 peak knee flexion in stance (°): max over [IC, TO] of 180° − angle(HIP, KNEE, ANKLE). [2][22]"""
    if s.to is None:
        return float("nan")
    return _nanmax(c.knee[s.side][s.ic:s.to + 1])


# ---- rear view: M11–M14 ---------------------------------------------------------------------------------------------

def pelvic_drop_deg(c: StrideContext, s: Stride) -> float:
    """M11 contralateral pelvic drop (°): peak, between IC and mid-stance of the stance leg, of the hip-line angle to
    horizontal signed + when the swing-side hip is lower, relative to the runner's resting hip line: the standing
    trial's obliquity when given, else the clip's mean obliquity (a constant tilt — camera roll, landmark bias,
    leg-length difference — would otherwise add to one side's drop and subtract from the other's, issue #13).
    Landmarks hips 23/24. BlazePose hips are joint-centre estimates, lab values do not transfer. [23][24][18]"""
    if s.to is None:
        return float("nan")
    obl = angles.pelvic_obliquity_deg(c.pose, c.view) - pelvic_obliquity_offset_deg(c)  # + right hip lower
    sign = 1.0 if s.side == "L" else -1.0  # stance L → swing R
    mid = s.ic + max(1, (s.to - s.ic) // 2)
    return _nanmax(sign * obl[s.ic:mid + 1])


def pelvic_obliquity_offset_deg(c: StrideContext) -> float:
    """Resting hip-line obliquity (°, + right hip lower): the standing trial's when given, else the mean over the
    clip (NaN frames ignored; 0 when no frame has both hips)."""
    if c.standing_pelvic_obliquity_deg is not None and np.isfinite(c.standing_pelvic_obliquity_deg):
        return float(c.standing_pelvic_obliquity_deg)
    obl = angles.pelvic_obliquity_deg(c.pose, c.view)
    return float(np.nanmean(obl)) if np.isfinite(obl).any() else 0.0


def lateral_trunk_lean_deg(c: StrideContext, s: Stride) -> float:
    """M14 lateral trunk lean (°): mean over stance of HIP_MID→SHO_MID from vertical in the frontal plane, + toward
    the stance-leg side. Landmarks hips, shoulders. [18]"""
    if s.to is None:
        return float("nan")
    lat = angles.lateral_trunk_angle_deg(c.pose, c.view)  # + toward runner's right
    sign = 1.0 if s.side == "R" else -1.0
    return _nanmean(sign * lat[s.ic:s.to + 1])


def _lateral(c: StrideContext, x: np.ndarray) -> np.ndarray:
    return angles.lateral_sign(c.view) * x


def arm_crossover_ratio(c: StrideContext, s: Stride) -> float:
    """M12 arm crossover ratio (unitless): max over the stride of how far the ipsilateral wrist passes the midline
    (SHO_MID x) toward the other side, ÷ shoulder width; ≤ 0 means no crossing. Landmarks wrists, shoulders. (D, [90])"""
    lm = SIDE_LANDMARKS[s.side]
    sl = slice(s.ic, s.next_ic)
    xy = c.pose.xy[sl]
    mid = _lateral(c, (xy[:, L_SHOULDER, 0] + xy[:, R_SHOULDER, 0]) / 2)
    wrist = _lateral(c, xy[:, lm["wrist"], 0])
    cross = (wrist - mid) if s.side == "L" else (mid - wrist)
    width = np.abs(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0])
    w = float(np.nanmedian(width)) if np.isfinite(width).any() else float("nan")
    return _nanmax(cross) / w if w > 0 else float("nan")


def arm_crossover_pct(c: StrideContext, s: Stride) -> float:
    """M12 crossover (% of strides): 100 when the wrist crossed the midline on this stride, else 0 — the summary mean
    is then the percentage of strides with crossover. (D)"""
    r = arm_crossover_ratio(c, s)
    return float("nan") if not np.isfinite(r) else (100.0 if r > 0 else 0.0)


def step_width_cm(c: StrideContext, s: Stride) -> float:
    """Step width (cm): lateral distance between this foot's ankle at its IC and the other foot's ankle at the
    preceding IC, × m/px × 100. Landmarks ankles. (D)"""
    if s.prev_contra_ic is None or not c.metres_per_px:
        return float("nan")
    me = SIDE_LANDMARKS[s.side]["ankle"]
    other = SIDE_LANDMARKS["R" if s.side == "L" else "L"]["ankle"]
    d = abs(c.pose.xy[s.ic, me, 0] - c.pose.xy[s.prev_contra_ic, other, 0])
    return float(d * c.metres_per_px * 100.0)


def shoulder_pelvis_rotation_index(c: StrideContext, s: Stride) -> float:
    """M13 indicator (unitless, experimental): relative range over the stride of r = apparent shoulder width ÷
    apparent hip width, (max r − min r) / mean r, rear view. Larger = shoulders and pelvis rotate more out of
    phase. Not an angle; trend/asymmetry only (D, [21][4])."""
    xy = c.pose.xy[s.ic:s.next_ic]
    sw = np.abs(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0])
    hw = np.abs(xy[:, L_HIP, 0] - xy[:, R_HIP, 0])
    r = np.divide(sw, hw, out=np.full_like(sw, np.nan), where=hw > 0)  # hips one behind the other: no ratio
    r = r[np.isfinite(r)]
    if r.size < 3 or r.mean() <= 0:
        return float("nan")
    return float((r.max() - r.min()) / r.mean())
