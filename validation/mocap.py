"""Marker helpers: gap filling, rigid-body cluster fit, anatomical landmark calibration, hip joint centre.

Rigid fit: least-squares rotation and translation between a marker cluster in a reference pose and in each
frame, by singular value decomposition (Söderkvist & Wedin 1993, J Biomech 26:1473–1477). A landmark digitised
in the static trial is expressed relative to its cluster there and carried with the cluster in every frame
(calibrated anatomical systems technique, Cappozzo et al. 1995, Clin Biomech 10:171–178).

Hip joint centre: Harrington et al. 2007 regression (J Biomech 40:595–602), in the pelvis frame with origin at
the mid-point of the anterior superior iliac spines (ASIS), x anterior, y superior, z right:
``x = −0.24·PD − 9.9 mm``, ``y = −0.30·PW − 10.9 mm``, ``z = ±(0.33·PW + 7.3 mm)`` (+ right, − left), with PW
the inter-ASIS distance and PD the depth between the ASIS and PSIS mid-points.
"""

from __future__ import annotations

import numpy as np


def fill_gaps(x: np.ndarray, *, max_gap: int = 30) -> np.ndarray:
    """Fill NaN gaps up to ``max_gap`` samples along axis 0 by cubic interpolation (per column); longer stay NaN."""
    from scipy.interpolate import CubicSpline

    a = np.array(x, dtype=float)
    flat = a.reshape(a.shape[0], -1)
    idx = np.arange(a.shape[0])
    for j in range(flat.shape[1]):
        col = flat[:, j]
        bad = ~np.isfinite(col)
        if not bad.any() or bad.all() or (~bad).sum() < 4:
            continue
        cs = CubicSpline(idx[~bad], col[~bad])
        # label gap runs and fill only the short interior ones
        runs = np.flatnonzero(np.diff(np.r_[0, bad.astype(int), 0]))
        for s, e in zip(runs[::2], runs[1::2]):
            if e - s <= max_gap and s > 0 and e < col.size:
                col[s:e] = cs(idx[s:e])
    return flat.reshape(a.shape)


def rigid_fit(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t with ``cur ≈ ref @ R.T + t`` (markers × 3; NaN rows ignored, ≥ 3 needed)."""
    ok = np.isfinite(ref).all(axis=1) & np.isfinite(cur).all(axis=1)
    if ok.sum() < 3:
        return np.full((3, 3), np.nan), np.full(3, np.nan)
    a, b = ref[ok], cur[ok]
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, cb - ca @ rot.T


def carry_landmark(cluster_static: np.ndarray, landmark_static: np.ndarray, cluster_frames: np.ndarray) -> np.ndarray:
    """Trajectory (frames × 3) of a landmark rigidly attached to a cluster (frames × markers × 3)."""
    out = np.full((cluster_frames.shape[0], 3), np.nan)
    for i, cur in enumerate(cluster_frames):
        rot, tr = rigid_fit(cluster_static, cur)
        if np.isfinite(rot).all():
            out[i] = landmark_static @ rot.T + tr
    return out


def pelvis_frame(r_asis: np.ndarray, l_asis: np.ndarray, r_psis: np.ndarray, l_psis: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Origin (mid-ASIS, frames × 3) and axes (frames × 3 × 3, rows x anterior, y superior, z right)."""
    mid_asis = 0.5 * (r_asis + l_asis)
    mid_psis = 0.5 * (r_psis + l_psis)
    z = r_asis - l_asis
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    v = mid_asis - mid_psis
    y = np.cross(z, v)
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    x = np.cross(y, z)
    return mid_asis, np.stack([x, y, z], axis=-2)


def harrington_hjc(r_asis: np.ndarray, l_asis: np.ndarray, r_psis: np.ndarray, l_psis: np.ndarray, *,
                   units_per_mm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Right and left hip joint centres (frames × 3) by the Harrington et al. 2007 regression.

    Pelvic width and depth are taken per frame (they are rigid, so this only averages marker noise).
    ``units_per_mm`` converts the regression's mm constants to the marker unit (1 for mm, 0.001 for m).
    """
    origin, axes = pelvis_frame(r_asis, l_asis, r_psis, l_psis)
    pw = np.linalg.norm(r_asis - l_asis, axis=-1)
    pd_ = np.linalg.norm(0.5 * (r_asis + l_asis) - 0.5 * (r_psis + l_psis), axis=-1)
    pw_m, pd_m = np.nanmedian(pw), np.nanmedian(pd_)
    k = units_per_mm
    x = -0.24 * pd_m - 9.9 * k
    y = -0.30 * pw_m - 10.9 * k
    z = 0.33 * pw_m + 7.3 * k
    right = origin + x * axes[..., 0, :] + y * axes[..., 1, :] + z * axes[..., 2, :]
    left = origin + x * axes[..., 0, :] + y * axes[..., 1, :] - z * axes[..., 2, :]
    return right, left


def sagittal_angle_from_down_deg(proximal: np.ndarray, distal: np.ndarray) -> np.ndarray:
    """Angle (deg) of proximal→distal projected on the sagittal X–Y plane, from the downward vertical.

    Positive when the distal point is *behind* the proximal one (−X), e.g. thigh extension (conventions.py).
    """
    d = distal - proximal
    return np.degrees(np.arctan2(-d[..., 0], -d[..., 1]))


def cluster_poses(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rigid poses of a marker cluster (frames × markers × 3) relative to its mean shape.

    Returns (local marker coordinates about their centroid, rotations frames × 3 × 3, translations frames × 3)
    with ``frames[i] ≈ local @ R[i].T + t[i]``.
    """
    ref = np.nanmedian(frames, axis=0)
    local = ref - np.nanmean(ref, axis=0)
    rots = np.full((frames.shape[0], 3, 3), np.nan)
    trs = np.full((frames.shape[0], 3), np.nan)
    for i, cur in enumerate(frames):
        rots[i], trs[i] = rigid_fit(local, cur)
    return local, rots, trs


def score_joint_centre(prox: np.ndarray, dist: np.ndarray, *, ridge: float = 1e-3) -> np.ndarray:
    """Functional joint centre between two marker clusters (SCoRE, Ehrig et al. 2006, J Biomech 39:2798–2809).

    Finds the point fixed in both clusters' frames that moves least between them over the trial (linear least
    squares, a small ridge keeps it near the clusters along a hinge axis). Returns its trajectory (frames × 3),
    the mean of the two clusters' estimates.
    """
    _, ra, ta = cluster_poses(prox)
    _, rb, tb = cluster_poses(dist)
    ok = np.isfinite(ra).all(axis=(1, 2)) & np.isfinite(rb).all(axis=(1, 2))
    a = np.concatenate([ra[ok], -rb[ok]], axis=2).reshape(-1, 6)
    b = (tb[ok] - ta[ok]).reshape(-1)
    lam = ridge * np.trace(a.T @ a) / 6.0
    c = np.linalg.solve(a.T @ a + lam * np.eye(6), a.T @ b)
    pa = np.einsum("fij,j->fi", ra, c[:3]) + ta
    pb = np.einsum("fij,j->fi", rb, c[3:]) + tb
    return 0.5 * (pa + pb)
