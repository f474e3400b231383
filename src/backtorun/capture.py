"""Capture check: is this recording fit for treadmill gait analysis? Before analysis (pose only) and after
(events and metrics). Problems become :class:`QualityFlag` s shown in every output; the analysis refuses
(raises) only when nothing meaningful can be said, and then says what to change in the recording.

All thresholds come from :class:`backtorun.settings.CaptureSettings` (``settings.capture``), read only by
:class:`CaptureCheck`, the capture stage object.

Quality flag codes (severity in brackets):

=============================  =====================================================================================
LOW_FRAME_RATE [warning]       frame rate < ``min_fps_for_contact_times`` (50): contact/flight time and duty factor
                               carry ±1 frame (≥ 20 ms) per event; the message says what contact time can and cannot
                               tell at the clip's rate (:func:`contact_time_resolution_text`) and recommends the
                               phone's slow-motion mode (120/240 fps, ``--capture-fps``) (§1.3).
FEW_STRIDES [warning]          fewer than ``min_strides_per_side`` valid strides on a side (§1.3: ≥ 7 steps).
BODY_OUT_OF_FRAME [warning]    head or feet missing / at the frame edge on many frames.
CAMERA_NOT_PERPENDICULAR [w]   side view: estimated camera yaw > ``max_camera_yaw_deg`` from perpendicular to the belt.
CAMERA_NOT_BEHIND [warning]    rear (or front) view: estimated camera yaw > ``max_camera_yaw_deg`` from the belt's
                               axis (the camera is not straight behind the runner).
LOW_VISIBILITY [warning]       mean visibility of the leg landmarks < ``min_mean_visibility``.
SLOW_MOTION_SUSPECTED [error]  cadence below ``min_cadence_spm`` although the runner has a flight phase: the clip is
                               probably played back in slow motion; the true frame rate is unknown, so all
                               temporal metrics (cadence, times, step length) are unreliable; ``--capture-fps``
                               (``capture_fps=``) rescales time when the capture rate is known.
TIME_RESCALED [info]           time was rescaled with the capture frame rate given for a slow-motion clip.
CADENCE_IMPLAUSIBLE [warning]  cadence above ``max_cadence_spm`` (time-lapse, or events doubled).
NOT_ON_TREADMILL [error]       the runner travels across the frame (> ``treadmill_max_travel_body_heights``).
                               Also raised when the background moves (a camera panning to follow the runner:
                               median background speed > ``panning_min_background_speed_body_heights_per_s``).
OVERGROUND_SUSPECTED [warning] the pelvis wanders more than on a treadmill (> ``treadmill_suspect_travel_body_heights``):
                               probably overground running.
STEP_TIMING_ARTEFACT [info]    side view: step times alternate long/short while the legs' swing rhythm is even (the
                               event-based and rhythm-based step-time SIs differ by > ``strides.rhythm_si_tolerance_pct``):
                               far-leg contacts mistimed, left/right asymmetry withheld as "not assessable"
                               (:mod:`backtorun.metrics.symmetry`).
ASYMMETRY_NOT_ASSESSABLE [info] side view: a leg's measurement confidence is below ``strides.min_leg_confidence``
                               (foot hidden, noisy, events refused): left/right asymmetry withheld.
FAR_LEG_OCCLUDED [info]        side view: evidence that the far leg is hidden (far-foot landmarks missing or with low
                               visibility on > 10 % of frames, or far-foot visibility < 0.8 × near foot's).
NO_TRUNK_LANDMARKS [warning]   shoulders missing: trunk lean, hip extension (relative) and M7 are not computed.
NO_BELT_SPEED [info]           no belt speed given: step length and vertical ratio not computed.
SCALE_ESTIMATED [info]         pixel→metre scale not from the runner's height (cm values are estimates).
VIEW_OVERRIDDEN [warning]      the view given differs from the view detected.
LEG_SWAPS_REPAIRED [info]      left/right leg labels were exchanged back on some frames.
NOT_SIDE_OR_REAR [warning]     front view: frontal metrics are computed mirrored; rear view is preferred.
FRAMES_NOT_DECODED [warning]   some frames of the video could not be decoded, even in one sequential pass after the
                               parallel segments did not match the frame index (``PoseSeries.frames_expected``).
=============================  =====================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

from backtorun import conventions as cv
from backtorun.conventions import (
    L_ANKLE, L_HEEL, L_HIP, L_KNEE, L_SHOULDER, L_TOE, NOSE, R_ANKLE, R_HEEL, R_HIP, R_KNEE, R_SHOULDER, R_TOE,
)
from backtorun.errors import CaptureUnsuitable, NoRunnerFound, TooFewStrides
from backtorun.settings import CaptureSettings
from backtorun.types import GaitEvents, MetricSummary, PoseSeries, QualityFlag

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from backtorun.kinematics import Kinematics
    from backtorun.metrics.symmetry import SymmetryAssessment

LEG_LANDMARKS = (L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE, L_HEEL, R_HEEL, L_TOE, R_TOE)
#: Where the camera belongs for each view: (flag code when it is yawed off, the ideal place in words).
CAMERA_PLACEMENT: Mapping[str, tuple[str, str]] = {
    "side": ("CAMERA_NOT_PERPENDICULAR", "side-on, perpendicular to the belt, at hip height 3–5 m away"),
    "rear": ("CAMERA_NOT_BEHIND", "straight behind the runner on the centre line of the belt, at hip height"),
    "front": ("CAMERA_NOT_BEHIND", "straight behind the runner on the centre line of the belt, at hip height"),
}
#: Where a view's camera is yawed from, in refusal messages.
_IDEAL_AXIS = {"side": "side-on", "rear": "straight behind", "front": "straight in front"}
_YAW_CODES = frozenset(code for code, _ in CAMERA_PLACEMENT.values())


def camera_placement(view: str | None) -> str:
    """Where to put the camera for ``view`` (side-on for side, straight behind for rear); both when unknown."""
    if view in CAMERA_PLACEMENT:
        return CAMERA_PLACEMENT[view][1]
    return f"{CAMERA_PLACEMENT['side'][1]} (side view), or {CAMERA_PLACEMENT['rear'][1]} (rear view)"


def runner_found(pose: PoseSeries) -> np.ndarray:
    """Per frame: both hips and at least one ankle present."""
    xy = pose.xy
    return (np.isfinite(xy[:, L_HIP, 0]) & np.isfinite(xy[:, R_HIP, 0])
            & (np.isfinite(xy[:, L_ANKLE, 0]) | np.isfinite(xy[:, R_ANKLE, 0])))


def check_pose(pose: PoseSeries, cfg: CaptureSettings) -> list[QualityFlag]:
    """Checks before analysis. Raises NoRunnerFound / CaptureUnsuitable when nothing can be measured."""
    name = pose.video_path or "the recording"
    if pose.n_frames == 0:
        raise NoRunnerFound(f"{name}: no frames", hint="record the runner side-on with the whole body in view")
    found = runner_found(pose)
    if found.mean() < cfg.min_found_fraction:
        raise NoRunnerFound(
            f"{name}: a runner (hips and feet) was found on only {100 * found.mean():.0f} % of the frames",
            hint="film the runner side-on or from behind with the whole body, feet included, in view")
    dur = float(pose.time_s[found][-1] - pose.time_s[found][0]) if found.sum() > 1 else 0.0
    if dur < cfg.min_duration_s:
        raise CaptureUnsuitable(f"{name}: only {dur:.1f} s of usable pose data",
                                hint="record at least 20 s of steady running after 2–3 min of warm-up")
    vis = np.nan_to_num(pose.visibility[:, LEG_LANDMARKS], nan=0.0)
    mean_vis = float(vis[found].mean()) if found.any() else 0.0
    if mean_vis < cfg.min_usable_visibility:
        raise CaptureUnsuitable(
            f"{name}: the legs are hardly visible (mean landmark visibility {mean_vis:.2f})",
            hint="film from the side, camera at hip height 3–5 m away, nothing between camera and runner, good light")
    flags: list[QualityFlag] = []
    undecoded = undecoded_frames_flag(pose)
    if undecoded is not None:
        flags.append(undecoded)
    fps = pose.fps
    if fps and fps < cfg.min_fps_for_contact_times:
        flags.append(QualityFlag("LOW_FRAME_RATE", f"{fps:.0f} fps is below {cfg.min_fps_for_contact_times:.0f} fps: "
                                 + contact_time_resolution_text(fps)))
    if mean_vis < cfg.min_mean_visibility:
        flags.append(QualityFlag("LOW_VISIBILITY", f"leg landmarks are poorly visible (mean {mean_vis:.2f} < "
                                 f"{cfg.min_mean_visibility:.2f}); results are less reliable — improve light and contrast"))
    out = _out_of_frame_fraction(pose, found)
    if out > 0.1:
        flags.append(QualityFlag("BODY_OUT_OF_FRAME", f"head or feet are outside the picture on {100 * out:.0f} % of the "
                                 "frames; frame the whole body with some margin"))
    if not np.isfinite(pose.xy[:, [L_SHOULDER, R_SHOULDER], 0]).any():
        flags.append(QualityFlag("NO_TRUNK_LANDMARKS", "no shoulder landmarks: trunk lean, relative hip extension and "
                                 "trunk extension at push-off are not computed"))
    return flags


def contact_time_resolution_text(fps: float) -> str:
    """What contact time can and cannot tell at ``fps``: one frame = 1000/fps ms; a contact time is the interval
    of two events, each placed to ±1 frame (§2 step 6), so one value is good to ±√2 frames and a difference
    between two (left vs right, before vs after retraining) to ±2 frames. Ends with the capture advice (§1.3)."""
    frame_ms = 1000.0 / fps
    return (f"one frame is {frame_ms:.0f} ms, so each contact or flight time is measured to about "
            f"±{np.sqrt(2.0) * frame_ms:.0f} ms and a left/right or before/after difference in contact time "
            f"smaller than about {2.0 * frame_ms:.0f} ms cannot be told from this clip (cadence and step-time means "
            "over many steps are still reliable); film in the phone's slow-motion mode (120 or 240 fps) and give "
            "its capture rate (--capture-fps 240) when the clip plays back slowed down")


def undecoded_frames_flag(pose: PoseSeries) -> QualityFlag | None:
    """FRAMES_NOT_DECODED when frames of ``[0, pose.frames_expected)`` have no row (none when that is unknown).

    Any missing frame is flagged: the analysis then runs on the frames that were decoded (their true times kept),
    but events and angles near the gaps rest on fewer frames than the video holds."""
    n = pose.frames_expected
    if not n:
        return None
    lost = np.setdiff1d(np.arange(n, dtype=np.int64), np.asarray(pose.frame_index, dtype=np.int64))
    if lost.size == 0:
        return None
    return QualityFlag("FRAMES_NOT_DECODED", f"{lost.size} of the video's {n} frames ({100 * lost.size / n:.1f} %, "
                       f"first: frame {int(lost[0])}) could not be decoded and are left out; results near them are "
                       "less reliable — export the video again as MP4 (H.264) and analyse that copy")


def _out_of_frame_fraction(pose: PoseSeries, found: np.ndarray) -> float:
    """Fraction of frames (with a runner) where the nose or a foot is missing or within 1 % of the frame edge."""
    if not found.any() or pose.width <= 0 or pose.height <= 0:
        return 0.0
    pts = pose.xy[found][:, [NOSE, L_HEEL, R_HEEL, L_TOE, R_TOE]]
    has_nose = np.isfinite(pose.xy[:, NOSE, 0]).any()
    if not has_nose:  # lower-body keypoints only: check the feet
        pts = pts[:, 1:]
    mx, my = 0.01 * pose.width, 0.01 * pose.height
    bad = (~np.isfinite(pts[..., 0]) | (pts[..., 0] < mx) | (pts[..., 0] > pose.width - mx)
           | (pts[..., 1] < my) | (pts[..., 1] > pose.height - my))
    # a foot missing on its own is handled by gap filling; count frames where ≥ 2 of the points are bad
    return float(np.mean(bad.sum(axis=1) >= 2))


def check_kinematics(kin: "Kinematics", cfg: CaptureSettings, view_requested: str) -> list[QualityFlag]:
    """Checks on view, camera angle, treadmill and leg repair (after the kinematics stage)."""
    flags: list[QualityFlag] = []
    if view_requested != "auto" and view_requested != kin.view_detected:
        flags.append(QualityFlag("VIEW_OVERRIDDEN", f"analysed as a {kin.view} view as requested, but it looks like a "
                                 f"{kin.view_detected} view"))
    if kin.view == "front":
        flags.append(QualityFlag("NOT_SIDE_OR_REAR", "front view: frontal metrics are computed mirrored; film from "
                                 "behind (rear view) or side-on"))
    if np.isfinite(kin.camera_yaw_deg) and kin.camera_yaw_deg > cfg.max_camera_yaw_deg:
        if kin.view == "side":
            flags.append(QualityFlag("CAMERA_NOT_PERPENDICULAR", f"the camera is about {kin.camera_yaw_deg:.0f}° from "
                                     "perpendicular to the belt (estimated); sagittal angles and distances are "
                                     f"distorted — place the camera {camera_placement('side')}"))
        else:
            flags.append(QualityFlag("CAMERA_NOT_BEHIND", f"the camera is about {kin.camera_yaw_deg:.0f}° off the "
                                     f"line of the belt (estimated); frontal angles (pelvic drop, knee and foot "
                                     f"position) are distorted — place the camera {camera_placement(kin.view)}"))
    travel = kin.hip_travel_body_heights
    if np.isfinite(travel):
        if travel > cfg.treadmill_max_travel_body_heights:
            flags.append(QualityFlag("NOT_ON_TREADMILL", f"the runner travels {travel:.1f} body heights across the frame: "
                                     "this is not treadmill running; metrics use treadmill assumptions and are unreliable",
                                     "error"))
        elif travel > cfg.treadmill_suspect_travel_body_heights:
            flags.append(QualityFlag("OVERGROUND_SUSPECTED", f"the pelvis wanders {travel:.2f} body heights across the "
                                     "frame, more than on a treadmill: probably overground running filmed by a moving "
                                     "camera; treadmill assumptions (belt speed, step length) may not hold"))
    if kin.swapped_frames:
        flags.append(QualityFlag("LEG_SWAPS_REPAIRED", f"left/right leg labels were exchanged back on {kin.swapped_frames} "
                                 "frames", "info"))
    if kin.scale.method != "height":
        how = {"segments": "from model-estimated segment lengths", "assumed_height": "from an assumed 170 cm height",
               "none": "not available"}.get(kin.scale.method, kin.scale.method)
        flags.append(QualityFlag("SCALE_ESTIMATED", f"pixel→metre scale {how}: centimetre values are estimates; "
                                 "give the runner's height (--height-cm)", "info"))
    return flags


def check_camera_motion(pose: PoseSeries, cfg: CaptureSettings) -> list[QualityFlag]:
    """NOT_ON_TREADMILL when the background slides across the image: a camera following an overground runner.

    Uses the camera motion measured during the pose pass (:mod:`backtorun.pose.camera_motion`); keypoint files
    carry none, and then only the runner's own travel (``check_kinematics``) can tell.
    """
    from backtorun.pose.camera_motion import is_panning, panning_summary

    threshold = cfg.panning_min_background_speed_body_heights_per_s
    if not is_panning(pose, threshold=threshold):
        return []
    speed = panning_summary(pose)["median_speed_body_heights_per_s"]
    return [QualityFlag("NOT_ON_TREADMILL", f"the background moves {speed:.2f} body heights per second (threshold "
                        f"{threshold:g}): the camera follows the runner, so this is not treadmill running; metrics "
                        "use treadmill assumptions and are unreliable — film on a treadmill from a fixed camera",
                        "error")]


def apparent_cadence_spm(pose: PoseSeries, *, forward: int, fs_hz: float) -> float:
    """Cadence implied by the dominant period of the feet's fore-aft motion relative to the pelvis (autocorrelation,
    strides of 0.3–15 s), independent of event detection: 120 / stride period. NaN when no periodicity is found.

    Used to recognise slow-motion clips, whose events are often too smeared to detect (D)."""
    from backtorun.events.detect import stride_period_frames

    hip = (pose.xy[:, L_HIP, 0] + pose.xy[:, R_HIP, 0]) / 2
    periods = []
    for heel, ankle in ((L_HEEL, L_ANKLE), (R_HEEL, R_ANKLE)):
        x = np.where(np.isfinite(pose.xy[:, heel, 0]), pose.xy[:, heel, 0], pose.xy[:, ankle, 0])
        p = stride_period_frames(forward * (x - hip), min_frames=0.3 * fs_hz, max_frames=15.0 * fs_hz)
        if p is not None:
            periods.append(p)
    if not periods:
        return float("nan")
    return float(120.0 * fs_hz / float(np.median(periods)))


def slow_motion_flag(cadence_spm: float, *, source: str) -> QualityFlag:
    return QualityFlag(
        "SLOW_MOTION_SUSPECTED", f"{source} cadence {cadence_spm:.0f} steps/min is implausibly low for running: the "
        "clip is probably played back in slow motion. The true frame rate is unknown, so cadence, step/contact/flight "
        "times and step length are unreliable — export the clip at real-time speed or give its capture frame rate "
        "(--capture-fps N, e.g. 240)",
        "error")


def far_leg_occlusion_evidence(pose: PoseSeries, *, near_side: str, cfg: CaptureSettings) -> list[str]:
    """What shows that the far leg is hidden (empty when nothing does): far-foot landmarks (ankle, heel, toe) with low
    visibility (< ``cfg.hidden_visibility``) or missing (NaN) on > ``cfg.occluded_fraction`` of the frames on which
    the runner was found, or a far-leg visibility clearly below the near leg's. Uses the raw pose (before gap
    filling). (D)"""
    far = "R" if near_side == "L" else "L"
    found = runner_found(pose)
    if not found.any():
        return []
    idx_far = [cv.SIDE_LANDMARKS[far][k] for k in ("ankle", "heel", "toe")]
    idx_near = [cv.SIDE_LANDMARKS[near_side][k] for k in ("ankle", "heel", "toe")]  # type: ignore[index]
    missing = ~np.isfinite(pose.xy[found][:, idx_far, 0])
    vis_far = np.nan_to_num(pose.visibility[found][:, idx_far], nan=0.0)
    vis_near = np.nan_to_num(pose.visibility[found][:, idx_near], nan=0.0)
    out = []
    miss_frac = float(missing.any(axis=1).mean())
    low_frac = float(((vis_far < cfg.hidden_visibility) & ~missing).any(axis=1).mean())
    if miss_frac > cfg.occluded_fraction:
        out.append(f"far foot not found on {100 * miss_frac:.0f} % of frames")
    if low_frac > cfg.occluded_fraction:
        out.append(f"far foot landmarks uncertain (visibility < {cfg.hidden_visibility}) on {100 * low_frac:.0f} % of frames")
    if not out and vis_far.mean() < 0.8 * vis_near.mean():
        out.append(f"far-foot visibility {vis_far.mean():.2f} vs {vis_near.mean():.2f} for the near foot")
    return out


def refusal_observations(flags: list[QualityFlag], *, cfg: CaptureSettings, kin: "Kinematics | None" = None,
                         n_initial_contacts: int | None = None) -> list[str]:
    """Short phrases on what was seen in a recording that could not be analysed, for the refusal message."""
    codes = {f.code for f in flags}
    seen: list[str] = []
    if codes & {"NOT_ON_TREADMILL", "OVERGROUND_SUSPECTED"}:
        seen.append("the runner does not stay in place as on a treadmill (overground running, or a camera "
                    "following the runner)")
    if kin is not None and np.isfinite(kin.camera_yaw_deg) and kin.camera_yaw_deg >= cfg.oblique_note_deg:
        axis = _IDEAL_AXIS.get(kin.view, "the ideal axis")
        seen.append(f"the view is oblique (camera about {kin.camera_yaw_deg:.0f}° from {axis})")
    elif codes & _YAW_CODES:
        seen.append("the view is oblique")
    if kin is not None and not np.isfinite(kin.leg_length_px):
        seen.append("the legs could not be measured (hip or ankle landmarks missing)")
    if "LOW_VISIBILITY" in codes:
        seen.append("the legs are poorly visible")
    if "BODY_OUT_OF_FRAME" in codes:
        seen.append("feet or head are often outside the picture")
    if n_initial_contacts is not None:
        seen.append(f"{n_initial_contacts} foot contacts detected")
    return seen


def too_few_strides(flags: list[QualityFlag], *, cfg: CaptureSettings, kin: "Kinematics | None" = None,
                    n_initial_contacts: int | None = None) -> TooFewStrides:
    """The TooFewStrides refusal, saying what was seen and what to change."""
    seen = refusal_observations(flags, cfg=cfg, kin=kin, n_initial_contacts=n_initial_contacts)
    codes = {f.code for f in flags}
    msg = "no complete, consistent stride was found" + (f" ({'; '.join(seen)})" if seen else "")
    view = kin.view if kin is not None else None
    if codes & {"NOT_ON_TREADMILL", "OVERGROUND_SUSPECTED"}:
        where = camera_placement(view) if view is not None else "side-on or straight behind the runner at hip height"
        hint = f"film treadmill running with a fixed camera {where}, whole body and both feet in view"
    elif any(s.startswith("the view is oblique") for s in seen):
        hint = (f"place the camera {camera_placement(view)}, nothing between camera and runner, and record at "
                "least 20 s of steady running")
    else:
        hint = "record at least 20 s of steady running, whole body and both feet in view"
    return TooFewStrides(msg, hint=hint)


@dataclass(frozen=True)
class AnalysisResults:
    """What the checks after events and metrics look at: the view analysed, events, StrideTable and summary, the
    belt speed given, the near leg, whether slow motion was already flagged, and the raw pose (far-leg evidence)."""

    view: str
    events: GaitEvents
    table: "pd.DataFrame"
    summary: Mapping[str, MetricSummary]
    speed_mps: float | None = None
    near_side: str | None = None
    slow_motion: bool = False
    pose: PoseSeries | None = None
    symmetry: "SymmetryAssessment | None" = None


def check_results(res: AnalysisResults, cfg: CaptureSettings) -> list[QualityFlag]:
    """Checks after events and metrics: strides per side, cadence plausibility (slow motion), far-leg occlusion.

    With ``res.slow_motion`` (already flagged from the apparent cadence) a clip without usable strides is returned
    with its flags instead of being refused."""
    view, table, summary, speed_mps = res.view, res.table, res.summary, res.speed_mps
    near_side, slow_motion, pose = res.near_side, res.slow_motion, res.pose
    flags: list[QualityFlag] = []
    if table.empty or not table["valid"].any():
        if slow_motion:
            return flags
        raise TooFewStrides("no complete, consistent stride was found",
                            hint="record at least 20 s of steady running, whole body and both feet in view")
    for side in ("L", "R"):
        n = int(table[(table["side"] == side) & table["valid"]].shape[0])
        if n < cfg.min_strides_per_side:
            flags.append(QualityFlag("FEW_STRIDES", f"only {n} valid strides for the {'left' if side == 'L' else 'right'} "
                                     f"foot (< {cfg.min_strides_per_side}); means are less stable — record 20–30 s"))
            break
    cad = summary.get(cv.CADENCE_SPM)
    if cad is not None and np.isfinite(cad.mean):
        duty = summary.get(cv.DUTY_FACTOR_PCT)
        running = duty is None or not np.isfinite(duty.mean) or duty.mean < 50.0
        if cad.mean < cfg.min_cadence_spm and running:
            flags.append(slow_motion_flag(cad.mean, source="measured"))
        elif cad.mean < cfg.min_cadence_spm:
            flags.append(QualityFlag("CADENCE_IMPLAUSIBLE", f"cadence {cad.mean:.0f} steps/min with no flight phase: "
                                     "walking, or a slow-motion clip; this tool analyses running"))
        elif cad.mean > cfg.max_cadence_spm:
            flags.append(QualityFlag("CADENCE_IMPLAUSIBLE", f"cadence {cad.mean:.0f} steps/min is above "
                                     f"{cfg.max_cadence_spm:.0f}: time-lapse clip or doubled events"))
    if view == "side" and near_side is not None and pose is not None:
        evidence = far_leg_occlusion_evidence(pose, near_side=near_side, cfg=cfg)
        if evidence:
            flags.append(QualityFlag("FAR_LEG_OCCLUDED", "the far leg is partly hidden behind the near leg ("
                                     + "; ".join(evidence) + "): its events and angles are less reliable; film the "
                                     "other side too", "info"))
    flags += symmetry_flags(res.symmetry)
    if speed_mps is None and view == "side":
        flags.append(QualityFlag("NO_BELT_SPEED", "no belt speed given: step length and vertical ratio are not "
                                 "computed (use --speed, e.g. --speed 10 km/h)", "info"))
    return flags


def symmetry_flags(symmetry: "SymmetryAssessment | None") -> list[QualityFlag]:
    """STEP_TIMING_ARTEFACT or ASYMMETRY_NOT_ASSESSABLE when the left/right comparison was withheld
    (:mod:`backtorun.metrics.symmetry`); info level, since every other metric stands."""
    if symmetry is None or symmetry.assessable:
        return []
    if symmetry.artefact:
        return [QualityFlag("STEP_TIMING_ARTEFACT", f"left/right asymmetry {symmetry.reason}; film the other side "
                            "too (each leg as the near leg) to compare the legs", "info")]
    return [QualityFlag("ASYMMETRY_NOT_ASSESSABLE", f"left/right asymmetry {symmetry.reason}; film the other side "
                        "too (each leg as the near leg) to compare the legs", "info")]


class CaptureCheck:
    """The capture stage object: every check of this module with ``settings.capture`` (its only reader).

    One method per point of the analysis at which a check can run: :meth:`pose` (before), :meth:`kinematics`
    and :meth:`camera_motion` (after the kinematics stage), :meth:`apparent_slow_motion` (before events),
    :meth:`results` (after metrics) and :meth:`refusal` (the TooFewStrides message)."""

    def __init__(self, settings: CaptureSettings | None = None) -> None:
        self.settings = settings or CaptureSettings()

    def pose(self, pose: PoseSeries) -> list[QualityFlag]:
        """:func:`check_pose`."""
        return check_pose(pose, self.settings)

    def kinematics(self, kin: "Kinematics", view_requested: str) -> list[QualityFlag]:
        """:func:`check_kinematics`."""
        return check_kinematics(kin, self.settings, view_requested)

    def camera_motion(self, pose: PoseSeries) -> list[QualityFlag]:
        """:func:`check_camera_motion`."""
        return check_camera_motion(pose, self.settings)

    def apparent_slow_motion(self, apparent_cadence_spm: float) -> QualityFlag | None:
        """SLOW_MOTION_SUSPECTED when the apparent cadence (:func:`apparent_cadence_spm`) is below
        ``min_cadence_spm``; None otherwise (also when it is unknown)."""
        if np.isfinite(apparent_cadence_spm) and apparent_cadence_spm < self.settings.min_cadence_spm:
            return slow_motion_flag(apparent_cadence_spm, source="apparent")
        return None

    def results(self, res: AnalysisResults) -> list[QualityFlag]:
        """:func:`check_results`."""
        return check_results(res, self.settings)

    def refusal(self, flags: list[QualityFlag], *, kin: "Kinematics | None" = None,
                n_initial_contacts: int | None = None) -> TooFewStrides:
        """:func:`too_few_strides`."""
        return too_few_strides(flags, cfg=self.settings, kin=kin, n_initial_contacts=n_initial_contacts)
