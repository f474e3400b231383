"""Treadmill or overground? From the runner's travel across the frame (landmarks only)."""

from __future__ import annotations

import numpy as np

from backtorun.conventions import L_HIP, R_HIP
from backtorun.types import PoseSeries


def hip_travel_body_heights(pose: PoseSeries, *, body_height_px: float) -> float:
    """Robust range (5th–95th percentile) of the pelvis position across the frame, in body heights.

    On a treadmill the pelvis stays within a few percent of body height; a runner who crosses the frame (or a
    camera that pans imperfectly) gives a much larger range. Uses x in side view; the caller divides by the body
    height in pixels. (D)
    """
    hip = (pose.xy[:, L_HIP] + pose.xy[:, R_HIP]) / 2
    x = hip[:, 0]
    x = x[np.isfinite(x)]
    if x.size < 2 or not body_height_px > 0:
        return float("nan")
    return float((np.percentile(x, 95) - np.percentile(x, 5)) / body_height_px)


def body_size_change(pose: PoseSeries, leg_px_series: np.ndarray) -> float:
    """Relative change of apparent leg length between the first and last third of the clip (runner approaching or
    leaving the camera, as in rear/front views of overground running). (D)"""
    v = leg_px_series
    n = v.size
    if n < 6:
        return float("nan")
    a, b = v[: n // 3], v[-(n // 3):]
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return float("nan")
    ma, mb = float(np.percentile(a, 90)), float(np.percentile(b, 90))
    return abs(mb - ma) / max(ma, mb)
