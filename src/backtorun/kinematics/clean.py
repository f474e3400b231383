"""Gap filling and zero-lag low-pass filtering of landmark trajectories (domain.md §1.2, §1.5)."""

from __future__ import annotations

import logging

import numpy as np
from scipy.signal import butter, sosfiltfilt

from backtorun.types import PoseSeries

log = logging.getLogger(__name__)


def sampling_rate_hz(time_s: np.ndarray, fallback_fps: float) -> float:
    """Sampling rate from the median frame interval of the container timestamps (handles variable frame rate)."""
    if time_s.size >= 2:
        dt = np.diff(time_s)
        dt = dt[np.isfinite(dt) & (dt > 0)]
        if dt.size:
            return float(1.0 / np.median(dt))
    return float(fallback_fps) if fallback_fps and fallback_fps > 0 else 30.0


def _interp_short_gaps(values: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly interpolate interior NaN runs of at most ``max_gap`` samples in a 1-D array."""
    out = values.copy()
    isnan = ~np.isfinite(out)
    if not isnan.any() or isnan.all() or max_gap <= 0:
        return out
    idx = np.arange(out.size)
    good = ~isnan
    filled = np.interp(idx, idx[good], out[good])
    # run-length of NaN runs; only interior runs no longer than max_gap are filled
    edges = np.diff(np.concatenate(([0], isnan.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for s, e in zip(starts, ends):
        if s > 0 and e < out.size and (e - s) <= max_gap:
            out[s:e] = filled[s:e]
    return out


def fill_gaps(pose: PoseSeries, *, min_visibility: float, max_gap_frames: int) -> PoseSeries:
    """Mark low-visibility landmarks missing (NaN) and interpolate gaps of at most ``max_gap_frames`` frames.

    Visibility below ``min_visibility`` (suggested 0.5, §1.2) → NaN; interior gaps ≤ ``max_gap_frames`` (3, §1.2)
    are linearly interpolated per coordinate; longer gaps stay NaN. Interpolated points get visibility equal to
    ``min_visibility`` so later stages can tell them apart.
    """
    xy = pose.xy.copy()
    vis = np.nan_to_num(pose.visibility.astype(float), nan=0.0)
    low = vis < min_visibility
    xy[low] = np.nan
    new_vis = vis.copy()
    for j in range(xy.shape[1]):
        was_missing = ~np.isfinite(xy[:, j, 0])
        for c in range(2):
            xy[:, j, c] = _interp_short_gaps(xy[:, j, c], max_gap_frames)
        filled = was_missing & np.isfinite(xy[:, j, 0])
        new_vis[filled, j] = min_visibility
    return pose.replace(xy=xy, visibility=new_vis)


def _finite_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def lowpass(values: np.ndarray, *, fs_hz: float, cutoff_hz: float, order: int) -> np.ndarray:
    """Zero-lag Butterworth low-pass (``sosfiltfilt``) of a (n, ...) array along axis 0, run by run of finite data.

    The effective order is doubled by the forward-backward pass. NaN runs are left in place; runs too short for
    the filter's padding are left unfiltered. When the cut-off is at or above 0.9 × Nyquist the data are returned
    unchanged (nothing to remove at that sampling rate).
    """
    out = np.array(values, dtype=float, copy=True)
    nyq = fs_hz / 2.0
    if cutoff_hz >= 0.9 * nyq:
        return out
    sos = butter(order, cutoff_hz / nyq, btype="low", output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    flat = out.reshape(out.shape[0], -1)
    for k in range(flat.shape[1]):
        col = flat[:, k]
        for s, e in _finite_runs(np.isfinite(col)):
            if e - s > padlen:
                col[s:e] = sosfiltfilt(sos, col[s:e], padlen=padlen)
        flat[:, k] = col
    return flat.reshape(out.shape)


def filter_pose(pose: PoseSeries, *, cutoff_hz: float, order: int) -> PoseSeries:
    """The pose with every landmark coordinate low-pass filtered (zero lag, see :func:`lowpass`)."""
    fs = sampling_rate_hz(pose.time_s, pose.fps)
    return pose.replace(xy=lowpass(pose.xy, fs_hz=fs, cutoff_hz=cutoff_hz, order=order))
