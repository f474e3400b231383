"""Per-frame angle series (conventions.py sign conventions). Image y is down; ``f`` = forward sign in x."""

from __future__ import annotations

import numpy as np

from backtorun.conventions import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER, SIDE_LANDMARKS, Side
from backtorun.types import PoseSeries


def hip_mid(pose: PoseSeries) -> np.ndarray:
    """HIP_MID = (left hip + right hip) / 2, pixels (frames × 2)."""
    return (pose.xy[:, L_HIP] + pose.xy[:, R_HIP]) / 2


def shoulder_mid(pose: PoseSeries) -> np.ndarray:
    """SHO_MID = (left shoulder + right shoulder) / 2, pixels (frames × 2)."""
    return (pose.xy[:, L_SHOULDER] + pose.xy[:, R_SHOULDER]) / 2


def trunk_lean_deg(pose: PoseSeries, forward: int) -> np.ndarray:
    """Sagittal trunk lean φ: HIP_MID→SHO_MID from the upward vertical, + when the shoulders are ahead (§3 M8)."""
    v = shoulder_mid(pose) - hip_mid(pose)
    return np.degrees(np.arctan2(forward * v[:, 0], -v[:, 1]))


def thigh_angle_deg(pose: PoseSeries, side: Side, forward: int) -> np.ndarray:
    """Thigh angle θ: HIP→KNEE from the downward vertical, + when the knee is behind the hip (§3 M6)."""
    lm = SIDE_LANDMARKS[side]
    v = pose.xy[:, lm["knee"]] - pose.xy[:, lm["hip"]]
    return np.degrees(np.arctan2(-forward * v[:, 0], v[:, 1]))


def shank_angle_deg(pose: PoseSeries, side: Side, forward: int) -> np.ndarray:
    """Shank angle: KNEE→ANKLE from the downward vertical, + when the ankle is ahead of the knee (§3 M9 b)."""
    lm = SIDE_LANDMARKS[side]
    v = pose.xy[:, lm["ankle"]] - pose.xy[:, lm["knee"]]
    return np.degrees(np.arctan2(forward * v[:, 0], v[:, 1]))


def knee_flexion_deg(pose: PoseSeries, side: Side) -> np.ndarray:
    """Knee flexion = 180° − angle(HIP, KNEE, ANKLE); 0° = straight (§3 M10)."""
    lm = SIDE_LANDMARKS[side]
    a = pose.xy[:, lm["hip"]] - pose.xy[:, lm["knee"]]
    b = pose.xy[:, lm["ankle"]] - pose.xy[:, lm["knee"]]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def lateral_sign(view: str) -> int:
    """+1 when the runner's right side appears on the image right (rear view), −1 in a front view."""
    return 1 if view == "rear" else -1


def pelvic_obliquity_deg(pose: PoseSeries, view: str) -> np.ndarray:
    """Frontal-plane angle of the hip line to horizontal, + when the runner's RIGHT hip is lower (image y down)."""
    s = lateral_sign(view)
    d = pose.xy[:, R_HIP] - pose.xy[:, L_HIP]
    return np.degrees(np.arctan2(d[:, 1], s * d[:, 0]))


def lateral_trunk_angle_deg(pose: PoseSeries, view: str) -> np.ndarray:
    """Frontal-plane HIP_MID→SHO_MID from the upward vertical, + when the shoulders are toward the runner's RIGHT."""
    s = lateral_sign(view)
    v = shoulder_mid(pose) - hip_mid(pose)
    return np.degrees(np.arctan2(s * v[:, 0], -v[:, 1]))
