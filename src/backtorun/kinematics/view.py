"""Camera view (side / rear / front), running direction and near leg from landmark geometry alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from backtorun.conventions import (
    L_ANKLE, L_HEEL, L_HIP, L_SHOULDER, L_TOE, NOSE, R_ANKLE, R_HEEL, R_HIP, R_SHOULDER, R_TOE, Side, View,
)
from backtorun.types import PoseSeries

Direction = Literal["left", "right", "toward", "away", "unknown"]

#: Shoulder (or hip) width ÷ torso length above which the camera sees the runner from behind or in front (D).
#: Pure side view gives ~0–0.25, rear/front views ~0.5–0.9; the camera-yaw estimate uses the same ratio.
FRONTAL_WIDTH_RATIO = 0.45
#: Typical frontal-plane shoulder width ÷ torso length of adults (biacromial ≈ 0.23·H, torso ≈ 0.30·H; D).
FRONTAL_REFERENCE_RATIO = 0.75


def _nanmedian(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def torso_length_px(pose: PoseSeries) -> np.ndarray:
    """Per-frame distance from HIP_MID to SHO_MID in pixels (NaN where missing)."""
    hip = (pose.xy[:, L_HIP] + pose.xy[:, R_HIP]) / 2
    sho = (pose.xy[:, L_SHOULDER] + pose.xy[:, R_SHOULDER]) / 2
    return np.linalg.norm(sho - hip, axis=1)


def frontal_width_ratio(pose: PoseSeries) -> float:
    """Median over frames of (shoulder width, or hip width when shoulders are missing) ÷ torso length.

    Without shoulders (lower-body keypoints only) the hip-joint width is used instead: the torso length is taken
    as 0.55 × hip-to-ankle length and the hip width doubled (hip-joint centres are about half as far apart as the
    shoulders; D).
    """
    torso = torso_length_px(pose)
    sw = np.abs(pose.xy[:, L_SHOULDER, 0] - pose.xy[:, R_SHOULDER, 0])
    r = _nanmedian(sw / torso)
    if np.isfinite(r):
        return r
    hw = np.abs(pose.xy[:, L_HIP, 0] - pose.xy[:, R_HIP, 0])
    hip_mid = (pose.xy[:, L_HIP] + pose.xy[:, R_HIP]) / 2
    ankle_mid = (pose.xy[:, L_ANKLE] + pose.xy[:, R_ANKLE]) / 2
    leg = np.linalg.norm(hip_mid - ankle_mid, axis=1)
    return _nanmedian(2.0 * hw / (0.55 * leg))


def detect_view(pose: PoseSeries) -> View:
    """"side", "rear" or "front".

    Side when the shoulder width is small relative to the torso length (< ``FRONTAL_WIDTH_RATIO``). Otherwise rear
    when the runner's right shoulder/hip appears on the image right (camera behind the runner sees the runner's
    right on its right), front when it appears on the left. (D)
    """
    ratio = frontal_width_ratio(pose)
    if not np.isfinite(ratio) or ratio < FRONTAL_WIDTH_RATIO:
        return "side"
    dx = np.concatenate([pose.xy[:, R_SHOULDER, 0] - pose.xy[:, L_SHOULDER, 0],
                         pose.xy[:, R_HIP, 0] - pose.xy[:, L_HIP, 0]])
    return "rear" if _nanmedian(dx) > 0 else "front"


def camera_yaw_deg(pose: PoseSeries, view: View) -> float:
    """Rough angle of the camera away from the ideal axis (perpendicular to the belt for side, along it for rear).

    From the apparent shoulder width ÷ torso length ``r`` relative to an adult frontal reference ``r0`` (D):
    side view ``asin(r / r0)``, rear/front ``acos(r / r0)``. Coarse (±10°): trunk rotation during running widens
    the apparent shoulders too.
    """
    r = frontal_width_ratio(pose)
    if not np.isfinite(r):
        return float("nan")
    c = float(np.clip(r / FRONTAL_REFERENCE_RATIO, 0.0, 1.0))
    return float(np.degrees(np.arcsin(c) if view == "side" else np.arccos(c)))


def forward_sign(pose: PoseSeries) -> int:
    """+1 when the runner faces image right, −1 when facing left (§2 step 1: sign of mean toe − heel in x)."""
    d = np.concatenate([pose.xy[:, L_TOE, 0] - pose.xy[:, L_HEEL, 0], pose.xy[:, R_TOE, 0] - pose.xy[:, R_HEEL, 0]])
    m = _nanmedian(d)
    if not np.isfinite(m) or m == 0:
        nose = pose.xy[:, NOSE, 0] - (pose.xy[:, L_HIP, 0] + pose.xy[:, R_HIP, 0]) / 2
        m = _nanmedian(nose)
    return 1 if (np.isfinite(m) and m > 0) else -1


def running_direction(pose: PoseSeries, view: View) -> Direction:
    """Image direction the runner faces: left/right in side view, away (rear view) or toward (front view)."""
    if view == "rear":
        return "away"
    if view == "front":
        return "toward"
    return "right" if forward_sign(pose) > 0 else "left"


@dataclass(frozen=True)
class NearSide:
    side: Side
    method: str  # "world_z", "visibility", "geometry"
    confidence: float


def near_side(pose: PoseSeries, direction: Direction) -> NearSide:
    """Which of the runner's sides faces the camera in a side view.

    1. MediaPipe world landmarks: the side whose hip/shoulder z is smaller (nearer the camera) on most frames.
    2. Otherwise visibility of the ankles/heels/toes (the far foot is occluded more often).
    3. Otherwise geometry: facing image-left shows the left side to an unmirrored camera, facing right the right.
    """
    w = pose.world_xyz
    if w is not None and np.isfinite(w[:, [L_HIP, R_HIP], 2]).any():
        dz = np.concatenate([w[:, L_HIP, 2] - w[:, R_HIP, 2], w[:, L_SHOULDER, 2] - w[:, R_SHOULDER, 2]])
        dz = dz[np.isfinite(dz)]
        if dz.size:
            frac_left = float(np.mean(dz < 0))
            if abs(frac_left - 0.5) > 0.2:
                return NearSide("L" if frac_left > 0.5 else "R", "world_z", abs(frac_left - 0.5) * 2)
    vis = np.nan_to_num(pose.visibility, nan=0.0)
    vl = float(vis[:, [L_ANKLE, L_HEEL, L_TOE]].mean()) if pose.n_frames else 0.0
    vr = float(vis[:, [R_ANKLE, R_HEEL, R_TOE]].mean()) if pose.n_frames else 0.0
    if abs(vl - vr) > 0.08:
        return NearSide("L" if vl > vr else "R", "visibility", min(1.0, abs(vl - vr) * 4))
    return NearSide("L" if direction == "left" else "R", "geometry", 0.5)
