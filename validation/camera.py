"""Pinhole camera: 3D keypoints (metres, lab frame) → 2D pixel landmarks in a :class:`PoseSeries`.

Lab frame used throughout validation: X forward (running direction), Y up, Z to the runner's right, metres.
The camera looks at a target point; image x is to the right, image y down (conventions.py). Projection:
``u = f·x_c/z_c + c_x``, ``v = f·y_c/z_c + c_y`` with (x_c, y_c, z_c) the point in camera axes (right, down,
forward). Default intrinsics mimic a phone in landscape: 1920×1080 px, f = 1500 px (≈ 65° horizontal field of
view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.types import PoseSeries


@dataclass(frozen=True)
class PinholeCamera:
    """A pinhole camera at ``position_m`` looking at ``target_m`` (lab frame, metres)."""

    position_m: tuple[float, float, float]
    target_m: tuple[float, float, float]
    focal_px: float = 1500.0
    width_px: int = 1920
    height_px: int = 1080

    def rotation(self) -> np.ndarray:
        """Rows: camera right, down and forward axes in lab coordinates."""
        c = np.asarray(self.position_m, float)
        fwd = np.asarray(self.target_m, float) - c
        fwd /= np.linalg.norm(fwd)
        up = np.array([0.0, 1.0, 0.0])
        right = np.cross(fwd, up)
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return np.vstack([right, down, fwd])

    def to_camera(self, points_m: np.ndarray) -> np.ndarray:
        """Points (..., 3) in camera axes (right, down, forward), metres."""
        return (np.asarray(points_m, float) - np.asarray(self.position_m, float)) @ self.rotation().T

    def project(self, points_m: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) of points (..., 3); NaN stays NaN; points behind the camera become NaN."""
        pc = self.to_camera(points_m)
        z = pc[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            u = self.focal_px * pc[..., 0] / z + self.width_px / 2.0
            v = self.focal_px * pc[..., 1] / z + self.height_px / 2.0
        uv = np.stack([u, v], axis=-1)
        uv[z <= 0] = np.nan
        return uv


def side_camera(target_m: np.ndarray, *, distance_m: float = 3.0, height_m: float | None = None,
                yaw_deg: float = 0.0, side: str = "L", aim_height_m: float | None = None,
                **intrinsics: float) -> PinholeCamera:
    """Camera beside the runner (on the runner's ``side``), perpendicular to the running direction when yaw = 0.

    ``target_m`` is the mean hip centre; ``height_m`` the lens height (default: hip height); ``yaw_deg``
    rotates the camera about the vertical through the target (positive: towards the runner's front);
    ``aim_height_m`` the height of the point looked at (default: lens height, i.e. a level camera).
    """
    tx, ty, tz = (float(v) for v in target_m)
    h = ty if height_m is None else float(height_m)
    aim = h if aim_height_m is None else float(aim_height_m)
    s = -1.0 if side == "L" else 1.0
    a = np.radians(yaw_deg)
    pos = (tx + distance_m * np.sin(a), h, tz + s * distance_m * np.cos(a))
    return PinholeCamera(position_m=pos, target_m=(tx, aim, tz), **intrinsics)  # type: ignore[arg-type]


def rear_camera(target_m: np.ndarray, *, distance_m: float = 3.0, height_m: float | None = None,
                **intrinsics: float) -> PinholeCamera:
    """Camera behind the runner, centred on the target, level, looking forward."""
    tx, ty, tz = (float(v) for v in target_m)
    h = ty if height_m is None else float(height_m)
    return PinholeCamera(position_m=(tx - distance_m, h, tz), target_m=(tx, h, tz), **intrinsics)  # type: ignore[arg-type]


def pixel_noise(shape: tuple[int, ...], *, sd_px: float, seed: int, fps: float | None = None,
                cutoff_hz: float | None = None) -> np.ndarray:
    """Gaussian pixel noise (frames × …), white or, with ``cutoff_hz``, low-pass filtered (zero-lag 4th-order
    Butterworth) and rescaled to the same SD — closer to a pose model's slowly wandering errors."""
    rng = np.random.default_rng(seed)
    n = rng.normal(0.0, 1.0, size=shape)
    if cutoff_hz is not None and fps is not None and cutoff_hz < fps / 2:
        from scipy.signal import butter, filtfilt

        b, a = butter(4, cutoff_hz / (fps / 2))
        n = filtfilt(b, a, n, axis=0)
        n /= n.std()
    return sd_px * n


def project_pose(points_m: np.ndarray, time_s: np.ndarray, camera: PinholeCamera, *, noise_px: float = 0.0,
                 seed: int = 0, source: str = "validation", with_world: bool = True,
                 noise_cutoff_hz: float | None = None) -> PoseSeries:
    """Project landmark trajectories (frames × 33 × 3, lab metres, NaN = absent) into a PoseSeries.

    Present landmarks get visibility 1, absent ones NaN and visibility 0. ``noise_px`` adds Gaussian pixel noise
    (SD in px) to every present coordinate, seeded for reproducibility: independent per frame, or low-pass
    filtered at ``noise_cutoff_hz``. ``world_xyz`` is filled MediaPipe-style: metres, hip-centred, in camera
    axes (x right, y down, z away from the camera).
    """
    pts = np.asarray(points_m, float)
    if pts.ndim != 3 or pts.shape[1] != N_LANDMARKS or pts.shape[2] != 3:
        raise ValueError(f"points must be (frames, {N_LANDMARKS}, 3), got {pts.shape}")
    xy = camera.project(pts)
    t_arr = np.asarray(time_s, float)
    fps_est = float(1.0 / np.median(np.diff(t_arr))) if t_arr.size > 1 else None
    if noise_px > 0:
        xy = xy + pixel_noise(xy.shape, sd_px=noise_px, seed=seed, fps=fps_est, cutoff_hz=noise_cutoff_hz)
    present = np.isfinite(xy).all(axis=2)
    vis = present.astype(float)
    world = None
    if with_world:
        from backtorun.conventions import L_HIP, R_HIP

        pc = camera.to_camera(pts)
        world = pc - 0.5 * (pc[:, [L_HIP], :] + pc[:, [R_HIP], :])
    t = np.asarray(time_s, float)
    fps = float(1.0 / np.median(np.diff(t))) if t.size > 1 else 0.0
    return PoseSeries(
        xy=xy, visibility=vis, time_s=t - t[0], frame_index=np.arange(t.size), fps=fps,
        width=camera.width_px, height=camera.height_px, world_xyz=world, source=source,
    )


def resample(points_m: np.ndarray, time_s: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample trajectories (frames × K × 3) at a new frame rate (cubic interpolation, like a camera sampling).

    Returns (points, time_s) covering the same span; NaN gaps stay NaN.
    """
    from scipy.interpolate import CubicSpline

    t = np.asarray(time_s, float)
    new_t = np.arange(t[0], t[-1] + 1e-9, 1.0 / fps)
    flat = np.asarray(points_m, float).reshape(t.size, -1)
    out = np.full((new_t.size, flat.shape[1]), np.nan)
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j])
        if ok.sum() < 4:
            continue
        cs = CubicSpline(t[ok], flat[ok, j])
        vals = cs(new_t)
        # keep gaps: a new sample is NaN when its nearest original sample was missing
        near = np.clip(np.searchsorted(t, new_t), 0, t.size - 1)
        vals[~ok[near]] = np.nan
        out[:, j] = vals
    return out.reshape((new_t.size,) + np.asarray(points_m).shape[1:]), new_t
