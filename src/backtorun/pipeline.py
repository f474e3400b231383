"""The technique analysis without the video: PoseSeries → GaitAnalysis.

kinematics (clean, view, scale) → events → stride table → summary → capture check, bundled in GaitAnalysis.
Works on any frame rate and on lower-body-only keypoints (trunk metrics then NaN with a flag).

Each stage gets its own section of :class:`AnalysisSettings` (``prepare``: pose + filtering; the event detector
from ``make_detector``: events; :class:`StrideTableBuilder`: strides; :class:`CaptureCheck`: capture); this module
reads no setting itself. The complete tree is recorded in ``GaitAnalysis.settings``, with the facts of the run
(what was measured or chosen, not set) under its ``"run"`` key.
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Callable

import numpy as np

from backtorun import capture
from backtorun import conventions as cv
from backtorun.capture import AnalysisResults, CaptureCheck
from backtorun.errors import TooFewStrides
from backtorun.events import EventInput, foot_noise_px, make_detector
from backtorun.kinematics import Kinematics, prepare
from backtorun.metrics import StrideTableBuilder, angles, cycle_curves, summarize
from backtorun.settings import AnalysisSettings
from backtorun.types import GaitAnalysis, PoseSeries, QualityFlag, VideoInfo, flags_from

log = logging.getLogger(__name__)

VIEWS = ("auto", "side", "rear", "front")


def _frame_to_row(pose: PoseSeries) -> Callable[[int], int]:
    fi = pose.frame_index

    def f(frame: int) -> int:
        return int(min(np.searchsorted(fi, frame), fi.size - 1))

    return f


def _software() -> dict[str, str]:
    out = {}
    for pkg in ("backtorun", "mediapipe", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _curves(kin: Kinematics, table, frame_to_row) -> dict:  # type: ignore[no-untyped-def]
    pose = kin.angles_pose
    series: dict[str, dict[str, np.ndarray]] = {}
    if kin.view == "side":
        series["knee_flexion_deg"] = {s: angles.knee_flexion_deg(pose, s) for s in ("L", "R")}
        series["thigh_angle_deg"] = {s: angles.thigh_angle_deg(pose, s, kin.forward) for s in ("L", "R")}
        trunk = angles.trunk_lean_deg(pose, kin.forward)
        series["trunk_lean_deg"] = {"L": trunk, "R": trunk}
    else:
        series["knee_flexion_deg"] = {s: angles.knee_flexion_deg(pose, s) for s in ("L", "R")}
        lat = angles.lateral_trunk_angle_deg(pose, kin.view)
        series["trunk_lean_deg"] = {"L": lat, "R": lat}
        obl = angles.pelvic_obliquity_deg(pose, kin.view)
        series["pelvic_obliquity_deg"] = {"L": obl, "R": obl}
    return cycle_curves(series, table, frame_to_row)


def slow_motion_corrected(pose: PoseSeries, capture_fps: float) -> PoseSeries:
    """The pose on the true time axis of a slow-motion clip captured at ``capture_fps`` and played back at
    ``pose.fps``: t_true = t · f_playback / f_capture (frame indices unchanged)."""
    if not capture_fps > 0:
        from backtorun.errors import InputError

        raise InputError(f"capture frame rate {capture_fps!r} is not positive", hint="e.g. --capture-fps 240")
    factor = float(pose.fps) / float(capture_fps)
    t0 = float(pose.time_s[0]) if pose.n_frames else 0.0
    return pose.replace(time_s=t0 + (pose.time_s - t0) * factor, fps=float(capture_fps))


def analyze_pose(pose: PoseSeries, *, settings: AnalysisSettings | None = None, view: str = "auto",
                 height_cm: float | None = None, speed_mps: float | None = None,
                 video_info: VideoInfo | None = None, capture_fps: float | None = None) -> GaitAnalysis:
    """Events, per-stride metrics, summary, curves and quality flags of one recording's pose.

    ``capture_fps``: the true capture frame rate of a slow-motion clip (e.g. 240 for a clip filmed at 240 fps and
    played back at 30 fps); time is rescaled by playback fps / capture fps before the analysis.

    Raises NoRunnerFound / CaptureUnsuitable / TooFewStrides (each with a one-line hint) only when nothing
    meaningful can be said; every other problem becomes a QualityFlag. ``settings``: the parameter tree (default
    :class:`AnalysisSettings`()); recorded complete in the result's ``settings``.
    """
    settings = settings or AnalysisSettings()
    check = CaptureCheck(settings.capture)
    playback_fps = pose.fps
    if capture_fps is not None:
        pose = slow_motion_corrected(pose, capture_fps)
    if view not in VIEWS:
        from backtorun.errors import InputError

        raise InputError(f"unknown view {view!r}", hint="use auto, side or rear")
    flags: list[QualityFlag] = check.pose(pose)
    kin = prepare(pose, settings=settings, view=view, height_cm=height_cm)
    flags += check.camera_motion(pose)
    flags += [f for f in check.kinematics(kin, view)
              if not (f.code == "NOT_ON_TREADMILL" and any(g.code == f.code for g in flags))]
    apparent = capture.apparent_cadence_spm(kin.events_pose, forward=kin.forward, fs_hz=kin.fs_hz)
    slow_flag = check.apparent_slow_motion(apparent)
    if slow_flag is not None:
        flags.append(slow_flag)
    noise_px = foot_noise_px(kin.pose, leg_length_px=kin.leg_length_px, cutoff_hz=kin.events_cutoff_hz)
    near_side = kin.near.side if kin.near else None
    detector = make_detector(settings.events, kin.view)
    events = detector.detect(EventInput(pose=kin.events_pose, leg_length_px=kin.leg_length_px, forward=kin.forward,
                                        near_side=near_side, noise_px=noise_px, unfiltered_pose=kin.pose))
    f2r = _frame_to_row(kin.pose)
    strides = StrideTableBuilder(settings.strides)
    symmetry = strides.assess(kin, events, frame_to_row=f2r)  # per-leg confidence, far-leg artefact guard
    table = strides.build(kin, events, speed_mps=speed_mps, frame_to_row=f2r, symmetry=symmetry)
    metrics = list(cv.SIDE_VIEW_METRICS if kin.view == "side" else cv.REAR_VIEW_METRICS)
    frame_ms = 1000.0 / kin.fs_hz
    summary = summarize(table, metrics, frame_ms=frame_ms, events=events, symmetry=symmetry)
    try:
        flags += check.results(AnalysisResults(view=kin.view, events=events, table=table, summary=summary,
                                               speed_mps=speed_mps, near_side=near_side,
                                               slow_motion=slow_flag is not None, pose=pose, symmetry=symmetry))
    except TooFewStrides:
        raise check.refusal(flags, kin=kin, n_initial_contacts=len(events.select(kind="IC"))) from None
    if capture_fps is not None:
        flags.append(QualityFlag("TIME_RESCALED", f"time rescaled for slow motion: captured at {capture_fps:g} fps, "
                                 f"played back at {playback_fps:g} fps (×{playback_fps / capture_fps:.3g})", "info"))
    if video_info is None:
        video_info = VideoInfo(path=pose.video_path or "", fps=pose.fps, n_frames=pose.n_frames, width=pose.width,
                               height=pose.height, rotation_deg=pose.rotation_deg, duration_s=pose.duration_s)
    on_treadmill = not any(f.code == "NOT_ON_TREADMILL" for f in flags)
    settings_used: dict = settings.model_dump(mode="json")
    settings_used["run"] = {
        "apparent_cadence_spm": apparent if np.isfinite(apparent) else None, "view_requested": view,
        "capture_fps": capture_fps, "playback_fps": playback_fps, "scale_method": kin.scale.method,
        "near_side_method": kin.near.method if kin.near else None, "leg_swaps_repaired_frames": kin.swapped_frames,
        "foot_noise_px": round(noise_px, 3) if np.isfinite(noise_px) else None, "pose_source": pose.source,
        "event_detector": detector.name,
    }
    return GaitAnalysis(
        video=video_info, view=kin.view, events=events, strides=table, summary=summary,
        quality_flags=flags_from(flags), running_direction=kin.direction,
        near_side=near_side, on_treadmill=on_treadmill, scale=kin.scale,
        speed_mps=speed_mps, height_cm=height_cm, settings=settings_used, software=_software(),
        curves=_curves(kin, table, f2r),
    )
