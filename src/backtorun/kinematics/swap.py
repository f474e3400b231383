"""Left/right leg-label swap repair.

Pose estimators often exchange the labels of the two legs for a frame or a few frames in a side view (the
legs look alike). We choose, for every frame, whether to swap the left and right leg landmarks so that the
trajectories are as continuous as possible: a Viterbi search over the per-frame states {kept, swapped} that
minimises the sum of distances between each leg point and its constant-velocity prediction from the two
previous frames (second-order continuity), plus a small cost per swapped frame so that the estimator's own
labels win when both choices are equally smooth. (D)
"""

from __future__ import annotations

import numpy as np

from backtorun.conventions import (
    L_ANKLE, L_HEEL, L_HIP, L_KNEE, L_TOE, R_ANKLE, R_HEEL, R_HIP, R_KNEE, R_TOE,
)
from backtorun.types import PoseSeries

LEG_PAIRS: tuple[tuple[int, int], ...] = (
    (L_HIP, R_HIP), (L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE), (L_HEEL, R_HEEL), (L_TOE, R_TOE),
)
_TRACKED = ((L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE), (L_HEEL, R_HEEL), (L_TOE, R_TOE))


def _legs(xy: np.ndarray, swapped: bool) -> np.ndarray:
    """(n_tracked, 2 sides, 2) points of one frame in the given labelling."""
    left = np.array([xy[a] for a, _ in _TRACKED])
    right = np.array([xy[b] for _, b in _TRACKED])
    return np.stack([right, left], axis=1) if swapped else np.stack([left, right], axis=1)


def _dist(a: np.ndarray, b: np.ndarray, cap: float) -> float:
    """Sum of point distances, each capped so one mis-detected frame cannot outweigh a run of good ones."""
    d = np.linalg.norm(a - b, axis=-1)
    d = np.minimum(d[np.isfinite(d)], cap)
    return float(d.sum()) if d.size else 0.0


def hip_ankle_distance_px(pose: PoseSeries) -> float:
    """Median straight hip-to-ankle distance over frames and sides, in pixels (a body-size yardstick for the swap
    costs; not :func:`backtorun.kinematics.scale.leg_length_px`, the thigh + shank length of the scale)."""
    d = np.concatenate([
        np.linalg.norm(pose.xy[:, L_HIP] - pose.xy[:, L_ANKLE], axis=1),
        np.linalg.norm(pose.xy[:, R_HIP] - pose.xy[:, R_ANKLE], axis=1),
    ])
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def find_leg_swaps(pose: PoseSeries, *, swap_cost_px: float | None = None, cap_leg: float = 0.15,
                   lam_leg: float = 0.05, second_order: bool = True) -> np.ndarray:
    """Boolean per frame: True where the left/right leg labels should be exchanged.

    ``swap_cost_px`` is the prior cost of a swapped frame (default 5 % of the leg length); each point's
    prediction error is capped at 15 % of the leg length (D, tuned so that isolated mixed-up frames do not
    flip long runs of correct frames).
    """
    n = pose.n_frames
    if n < 3:
        return np.zeros(n, dtype=bool)
    leg = hip_ankle_distance_px(pose)
    if not np.isfinite(leg) or leg <= 0:
        return np.zeros(n, dtype=bool)
    lam = swap_cost_px if swap_cost_px is not None else lam_leg * leg
    cap = cap_leg * leg
    pts = np.stack([np.stack([_legs(pose.xy[t], False), _legs(pose.xy[t], True)]) for t in range(n)])
    # pts[t, s] : (n_tracked, 2, 2)
    # state at t = (s_{t-1}, s_t) encoded 2*s_{t-1} + s_t
    inf = np.inf
    cost = np.full(4, inf)
    for s0 in (0, 1):
        for s1 in (0, 1):
            cost[2 * s0 + s1] = _dist(pts[1, s1], pts[0, s0], cap) + lam * (s0 + s1)
    back = np.zeros((n, 4), dtype=np.int8)
    for t in range(2, n):
        new = np.full(4, inf)
        for s1 in (0, 1):
            for s2 in (0, 1):
                best, arg = inf, 0
                for s0 in (0, 1):
                    prev = cost[2 * s0 + s1]
                    pred = (2 * pts[t - 1, s1] - pts[t - 2, s0]) if second_order else pts[t - 1, s1]
                    c = prev + _dist(pts[t, s2], pred, cap)
                    if c < best:
                        best, arg = c, s0
                new[2 * s1 + s2] = best + lam * s2
                back[t, 2 * s1 + s2] = arg
        cost = new
    state = int(np.argmin(cost))
    out = np.zeros(n, dtype=bool)
    s1, s2 = divmod(state, 2)
    out[n - 1], out[n - 2] = bool(s2), bool(s1)
    for t in range(n - 1, 1, -1):
        s0 = int(back[t, 2 * s1 + s2])
        out[t - 2] = bool(s0)
        s1, s2 = s0, s1
    # a global swap is not a repair: keep the estimator's labels for the majority of frames
    if out.mean() > 0.5:
        out = ~out
    return out


def apply_leg_swaps(pose: PoseSeries, swaps: np.ndarray) -> PoseSeries:
    """The pose with left/right leg landmarks (hip to toe) exchanged on the frames marked in ``swaps``."""
    if not swaps.any():
        return pose
    xy, vis = pose.xy.copy(), pose.visibility.copy()
    world = pose.world_xyz.copy() if pose.world_xyz is not None else None
    for a, b in LEG_PAIRS:
        xy[swaps, a], xy[swaps, b] = pose.xy[swaps, b], pose.xy[swaps, a]
        vis[swaps, a], vis[swaps, b] = pose.visibility[swaps, b], pose.visibility[swaps, a]
        if world is not None and pose.world_xyz is not None:
            world[swaps, a], world[swaps, b] = pose.world_xyz[swaps, b], pose.world_xyz[swaps, a]
    return pose.replace(xy=xy, visibility=vis, world_xyz=world)


def repair_leg_swaps(pose: PoseSeries) -> tuple[PoseSeries, int]:
    """Detect and undo left/right leg-label swaps; returns the repaired pose and the number of frames changed."""
    swaps = find_leg_swaps(pose)
    return apply_leg_swaps(pose, swaps), int(swaps.sum())
