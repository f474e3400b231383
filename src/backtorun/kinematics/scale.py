"""Pixel → metre scale (domain.md §1.4).

Leg length (hip-joint centre to ankle-joint centre) is taken as 0.491 × body height: Winter's anthropometric
segment table puts the hip joint at 0.530 H and the ankle at 0.039 H above the floor (Winter DA, Biomechanics and
Motor Control of Human Movement, 4th ed., 2009, Table 4.1; grade C). In pixels we use a high percentile of the
per-frame thigh + shank length (segments are shortest when they point at or away from the camera).
"""

from __future__ import annotations

import numpy as np

from backtorun.conventions import SIDE_LANDMARKS, Side
from backtorun.types import PoseSeries, ScaleInfo

LEG_LENGTH_PER_HEIGHT = 0.491
#: Height assumed when neither the runner's height nor world landmarks are available (D); flagged.
ASSUMED_HEIGHT_CM = 170.0


def segment_leg_length(points: np.ndarray, side: Side) -> np.ndarray:
    """Per-frame thigh + shank length (|hip→knee| + |knee→ankle|) in the units of ``points`` (frames × landmarks × d)."""
    lm = SIDE_LANDMARKS[side]
    hip, knee, ankle = points[:, lm["hip"]], points[:, lm["knee"]], points[:, lm["ankle"]]
    return np.linalg.norm(hip - knee, axis=1) + np.linalg.norm(knee - ankle, axis=1)


def leg_length_px(pose: PoseSeries, side: Side | None = None) -> float:
    """Leg length in pixels: 90th percentile over frames of thigh + shank (given side, or the longer side)."""
    sides: tuple[Side, ...] = (side,) if side else ("L", "R")
    vals = []
    for s in sides:
        d = segment_leg_length(pose.xy, s)
        d = d[np.isfinite(d)]
        if d.size:
            vals.append(float(np.percentile(d, 90)))
    return max(vals) if vals else float("nan")


def estimate_scale(pose: PoseSeries, *, height_cm: float | None, side: Side | None = None) -> ScaleInfo:
    """Metres per pixel and how it was obtained: "height" (given height), "segments" (MediaPipe world-landmark
    thigh + shank lengths in metres ÷ the same in pixels, §1.4 b), "assumed_height" (170 cm, D), or "none"."""
    leg_px = leg_length_px(pose, side)
    if not np.isfinite(leg_px) or leg_px <= 0:
        return ScaleInfo(None, "none")
    if height_cm:
        return ScaleInfo(LEG_LENGTH_PER_HEIGHT * height_cm / 100.0 / leg_px, "height", True)
    if pose.world_xyz is not None:
        sides: tuple[Side, ...] = (side,) if side else ("L", "R")
        vals = []
        for s in sides:
            d = segment_leg_length(pose.world_xyz, s)
            d = d[np.isfinite(d)]
            if d.size:
                vals.append(float(np.median(d)))
        if vals and 0.5 < max(vals) < 1.3:
            return ScaleInfo(max(vals) / leg_px, "segments", True)
    return ScaleInfo(LEG_LENGTH_PER_HEIGHT * ASSUMED_HEIGHT_CM / 100.0 / leg_px, "assumed_height", True)
