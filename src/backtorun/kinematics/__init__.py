"""Kinematics stage: PoseSeries → cleaned PoseSeries + facts (view, direction, near leg, scale, treadmill).

``prepare(pose, ...)`` runs, in order: gap filling (§1.2), left/right leg-swap repair (side view), zero-lag
filtering (§1.5; a light version for event detection, a stronger one for angles), view and running-direction
detection, near leg, pixel→metre scale (§1.4) and the treadmill travel check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtorun.conventions import View
from backtorun.kinematics.clean import fill_gaps, filter_pose, sampling_rate_hz
from backtorun.kinematics.scale import LEG_LENGTH_PER_HEIGHT, estimate_scale, leg_length_px, segment_leg_length
from backtorun.kinematics.swap import repair_leg_swaps
from backtorun.kinematics.treadmill import hip_travel_body_heights
from backtorun.kinematics.view import (
    Direction, NearSide, camera_yaw_deg, detect_view, forward_sign, near_side, running_direction,
)
from backtorun.settings import AnalysisSettings
from backtorun.types import PoseSeries, ScaleInfo

__all__ = ["Kinematics", "prepare", "fill_gaps", "filter_pose", "detect_view", "repair_leg_swaps", "estimate_scale"]


@dataclass(frozen=True, eq=False)
class Kinematics:
    """The cleaned pose in two filter strengths plus the facts later stages need."""

    pose: PoseSeries  # gap-filled, swap-repaired, unfiltered
    events_pose: PoseSeries  # lightly filtered (event_lowpass_cutoff_hz)
    angles_pose: PoseSeries  # filtered for angles (lowpass_cutoff_hz)
    view: View
    view_detected: View
    direction: Direction
    forward: int  # +1 facing image right, −1 facing left
    near: NearSide | None
    scale: ScaleInfo
    leg_length_px: float
    body_height_px: float
    hip_travel_body_heights: float
    swapped_frames: int
    camera_yaw_deg: float
    fs_hz: float
    events_cutoff_hz: float  # low-pass cut-off events_pose was filtered at


def prepare(pose: PoseSeries, *, settings: AnalysisSettings, view: str = "auto",
            height_cm: float | None = None) -> Kinematics:
    """Clean the pose and derive view, direction, near leg, scale and treadmill facts (see module docstring).

    Reads ``settings.pose`` and ``settings.filtering`` (its only reader)."""
    cleaning, filtering = settings.pose, settings.filtering
    filled = fill_gaps(pose, min_visibility=cleaning.min_visibility, max_gap_frames=cleaning.max_gap_frames)
    detected = detect_view(filled)
    chosen: View = detected if view == "auto" else view  # type: ignore[assignment]
    swapped = 0
    if chosen == "side":
        filled, swapped = repair_leg_swaps(filled)
    fs = sampling_rate_hz(filled.time_s, filled.fps)
    ev_pose = filter_pose(filled, cutoff_hz=filtering.event_lowpass_cutoff_hz, order=filtering.filter_order)
    ang_pose = filter_pose(filled, cutoff_hz=filtering.lowpass_cutoff_hz, order=filtering.filter_order)
    direction = running_direction(filled, chosen)
    fwd = forward_sign(filled) if chosen == "side" else 1
    near = near_side(filled, direction) if chosen == "side" else None
    leg_px = leg_length_px(filled, near.side if near else None)
    body_px = leg_px / LEG_LENGTH_PER_HEIGHT if np.isfinite(leg_px) else float("nan")
    h = height_cm if height_cm is not None else cleaning.default_height_cm
    scale = estimate_scale(filled, height_cm=h, side=near.side if near else None)
    travel = hip_travel_body_heights(filled, body_height_px=body_px) if chosen == "side" else float("nan")
    return Kinematics(
        pose=filled, events_pose=ev_pose, angles_pose=ang_pose, view=chosen, view_detected=detected,
        direction=direction, forward=fwd, near=near, scale=scale, leg_length_px=leg_px, body_height_px=body_px,
        hip_travel_body_heights=travel, swapped_frames=swapped, camera_yaw_deg=camera_yaw_deg(filled, chosen),
        fs_hz=fs, events_cutoff_hz=filtering.event_lowpass_cutoff_hz,
    )


_ = segment_leg_length  # re-exported helper
