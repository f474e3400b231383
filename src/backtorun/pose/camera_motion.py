"""Camera motion: how fast the background moves in the image, to tell a panning camera from a fixed one.

A treadmill recording is filmed from a fixed camera: the background (everything away from the runner) stands
still. A camera that follows a runner overground (turning or moving with them) makes the background slide
across the image. Per frame, :class:`CameraMotionTracker` estimates the background's apparent translation from
the previous frame:

1. a small grayscale copy of each frame (longer side ``MOTION_SIDE_PX``, from the decoder's luma plane);
2. corners (``cv2.goodFeaturesToTrack``, up to ``_CORNERS_PER_CELL`` in each grid cell) in the previous image outside the runner's landmark box (this
   frame's and the previous frame's, grown by ``RUNNER_MARGIN_FRAC`` of the box height), tracked into this
   image with pyramidal Lucas–Kanade optical flow;
3. the image is cut into ``GRID`` × ``GRID`` cells; each cell with at least two tracked corners gives the median
   of its corners' displacements, and the frame's motion is the median over those cells (at least
   ``MIN_CELLS``, else NaN). Voting by cells rather than by corners keeps a dense static overlay (a caption,
   a logo: many corners in one place) or a moving treadmill belt from outvoting the rest of the background.

The result is stored in :attr:`PoseSeries.camera_motion_px` ((n_frames, 2), displayed-frame pixels,
NaN where unknown). :func:`panning_summary` and :func:`is_panning` turn it into a decision.

Measured on the shared videos (median background speed in body heights per second, BH = median landmark-box
height): treadmill clips 0.000–0.013 (IMG_5396 0.001, mini_run 0.000, run_test1 0.013, slow 0.000);
overground with a following camera: run_test2 0.44, pace_steps 0.09; run_test6 (a fixed camera, the runner
crosses the frame) 0.003 — correctly *not* panning; that clip is told apart by the runner's travel across the
frame instead. Default threshold 0.05 BH/s (settings ``panning_min_background_speed_body_heights_per_s``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from backtorun.types import PoseSeries

log = logging.getLogger(__name__)

#: Longer side (pixels) of the grayscale images motion is measured on.
MOTION_SIDE_PX = 160
#: Runner box grown by this fraction of its height on every side before it is excluded (D).
RUNNER_MARGIN_FRAC = 0.15
#: The image is cut into GRID × GRID cells that vote on the motion (D).
GRID = 4
#: Fewest voting cells for a frame's motion to be known (D).
MIN_CELLS = 3
#: Corners looked for in each cell (quality relative to the cell's best corner).
_CORNERS_PER_CELL = 6
_QUALITY = 0.02
_MIN_DISTANCE_PX = 3
_LK_PARAMS: dict[str, Any] = {"winSize": (11, 11), "maxLevel": 3,
                              "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)}
#: A frame "moves" when the background moves faster than this (body heights per second) (D).
MOVING_FRAME_BODY_HEIGHTS_PER_S = 0.05

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in displayed-frame pixels


def runner_box(xy: np.ndarray, vis: np.ndarray | None = None, *, min_visibility: float = 0.3) -> Box | None:
    """Box of one frame's landmarks (those with visibility ≥ ``min_visibility``, or all finite if fewer than 4)."""
    finite = np.isfinite(xy).all(axis=1)
    if not finite.any():
        return None
    use = finite if vis is None else finite & (np.nan_to_num(vis) >= min_visibility)
    if use.sum() < 4:
        use = finite
    x0, y0 = xy[use].min(axis=0)
    x1, y1 = xy[use].max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def background_shift(prev: np.ndarray, cur: np.ndarray, exclude: list[Box]) -> tuple[float, float]:
    """Apparent background translation (dx, dy) from ``prev`` to ``cur`` (same-size grayscale uint8 images),
    in their pixels; ``exclude`` boxes are in those pixels too. NaN when too little background can be tracked."""
    h, w = prev.shape[:2]
    mask = np.full((h, w), 255, dtype=np.uint8)
    for x0, y0, x1, y1 in exclude:
        xa, ya = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
        xb, yb = min(w, int(np.ceil(x1)) + 1), min(h, int(np.ceil(y1)) + 1)
        if xb > xa and yb > ya:
            mask[ya:yb, xa:xb] = 0
    found, cells = [], []
    for i in range(GRID):  # corners found cell by cell: a strong caption elsewhere cannot crowd them out
        ys = slice(i * h // GRID, (i + 1) * h // GRID)
        for j in range(GRID):
            xs = slice(j * w // GRID, (j + 1) * w // GRID)
            sub_mask = mask[ys, xs]
            if not sub_mask.any():
                continue
            p = cv2.goodFeaturesToTrack(prev[ys, xs], _CORNERS_PER_CELL, _QUALITY, _MIN_DISTANCE_PX, mask=sub_mask)
            if p is None:
                continue
            found.append(p.reshape(-1, 2) + np.array([xs.start, ys.start], dtype=np.float32))
            cells.extend([i * GRID + j] * len(p))
    if len(cells) < 2 * MIN_CELLS:
        return float("nan"), float("nan")
    pts = np.concatenate(found).astype(np.float32).reshape(-1, 1, 2)
    nxt, status, _err = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, **_LK_PARAMS)
    ok = status.ravel() == 1
    d, cell = (nxt - pts).reshape(-1, 2)[ok].astype(np.float64), np.asarray(cells)[ok]
    # one vote per cell: the median of its corners' displacements (cells with ≥ 2 corners), all cells at once:
    # a NaN-padded (cell, corner, xy) table sorted along the corners, the middle one or two taken per cell
    counts = np.bincount(cell, minlength=GRID * GRID)
    voting = np.flatnonzero(counts >= 2)
    if voting.size < MIN_CELLS:
        return float("nan"), float("nan")
    order = np.argsort(cell, kind="stable")
    slot = np.arange(cell.size) - np.repeat(np.cumsum(counts) - counts, counts)
    table = np.full((GRID * GRID, int(counts.max()), 2), np.nan)
    table[cell[order], slot] = d[order]
    table = np.sort(table[voting], axis=1)
    c = counts[voting]
    rows = np.arange(voting.size)
    votes = (table[rows, (c - 1) // 2] + table[rows, c // 2]) / 2.0
    dx, dy = np.median(votes, axis=0)
    return float(dx), float(dy)


class CameraMotionTracker:
    """Feed frames in order (:meth:`update`); each call returns that frame's background motion in full pixels."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._prev_box: Box | None = None

    def reset(self) -> None:
        self._prev, self._prev_box = None, None

    def update(self, gray: np.ndarray, gray_scale: float, box: Box | None) -> tuple[float, float]:
        """gray: small grayscale frame; gray_scale: its pixels per full pixel; box: runner box in full pixels.
        Returns (dx, dy) in full-frame pixels from the previous frame given, NaN for the first."""
        out = (float("nan"), float("nan"))
        if self._prev is not None and self._prev.shape == gray.shape:
            exclude = []
            for b in (box, self._prev_box):
                if b is None:
                    continue
                m = RUNNER_MARGIN_FRAC * max(b[3] - b[1], b[2] - b[0])
                exclude.append(((b[0] - m) * gray_scale, (b[1] - m) * gray_scale,
                                (b[2] + m) * gray_scale, (b[3] + m) * gray_scale))
            dx, dy = background_shift(self._prev, gray, exclude)
            out = (dx / gray_scale, dy / gray_scale)
        self._prev, self._prev_box = gray, box
        return out


def measure_camera_motion(video_path: str | Path, pose: PoseSeries) -> np.ndarray:
    """(n_frames, 2) background motion for the rows of ``pose`` by decoding ``video_path`` again (for a pose
    series made without it, e.g. an older pose.npz). The runner box of each frame comes from ``pose``."""
    from backtorun.pose.video import iter_frames

    row_of = {int(f): r for r, f in enumerate(pose.frame_index)}
    out = np.full((pose.n_frames, 2), np.nan)
    tracker = CameraMotionTracker()
    last = int(pose.frame_index.max()) + 1 if pose.n_frames else 0
    for frame in iter_frames(video_path, stop_frame=last, max_side=64, motion_side=MOTION_SIDE_PX, prefetch=2):
        r = row_of.get(frame.index)
        box = runner_box(pose.xy[r], pose.visibility[r]) if r is not None else None
        assert frame.gray is not None
        d = tracker.update(frame.gray, frame.gray_scale, box)
        if r is not None:
            out[r] = d
    return out


def body_height_px(pose: PoseSeries) -> float:
    """Median height of the landmark box over the frames where the runner was found (pixels)."""
    h = [b[3] - b[1] for r in range(pose.n_frames)
         if (b := runner_box(pose.xy[r], pose.visibility[r])) is not None]
    return float(np.median(h)) if h else float("nan")


def panning_summary(pose: PoseSeries) -> dict[str, float]:
    """How much the background moves (needs ``pose.camera_motion_px``; all NaN without it).

    speed(frame) = |(dx, dy)| ÷ Δt ÷ body height (body heights per second), Δt = time since the previous row.
    Keys: ``median_speed_body_heights_per_s``, ``p75_speed_body_heights_per_s``, ``median_speed_frame_widths_per_s``
    (|(dx, dy)| ÷ Δt ÷ frame width), ``net_travel_body_heights`` (|Σ dx| ÷ body height: a pan keeps one
    direction, camera shake cancels), ``moving_fraction`` (share of known frames faster than
    ``MOVING_FRAME_BODY_HEIGHTS_PER_S``), ``known_fraction`` (share of frames with a motion estimate),
    ``body_height_px``.
    """
    nan = float("nan")
    keys = ("median_speed_body_heights_per_s", "p75_speed_body_heights_per_s", "median_speed_frame_widths_per_s",
            "net_travel_body_heights", "moving_fraction", "known_fraction", "body_height_px")
    out = dict.fromkeys(keys, nan)
    cm = pose.camera_motion_px
    if cm is None or pose.n_frames < 2:
        return out
    bh = body_height_px(pose)
    dt = np.diff(pose.time_s, prepend=np.nan)
    dt[dt <= 0] = np.nan
    step = np.hypot(cm[:, 0], cm[:, 1])
    speed_px = step / dt
    known = np.isfinite(speed_px)
    out["known_fraction"] = float(known.mean())
    out["body_height_px"] = bh
    if not known.any() or not np.isfinite(bh) or bh <= 0:
        return out
    sp = speed_px[known] / bh
    out["median_speed_body_heights_per_s"] = float(np.median(sp))
    out["p75_speed_body_heights_per_s"] = float(np.percentile(sp, 75))
    out["median_speed_frame_widths_per_s"] = float(np.median(speed_px[known]) / max(pose.width, 1))
    out["net_travel_body_heights"] = float(abs(np.nansum(cm[:, 0])) / bh)
    out["moving_fraction"] = float(np.mean(sp > MOVING_FRAME_BODY_HEIGHTS_PER_S))
    return out


def is_panning(pose: PoseSeries, *, threshold: float | None = None, min_known_fraction: float = 0.5) -> bool | None:
    """True when the median background speed exceeds ``threshold`` body heights per second (default: the default
    of ``settings.capture.panning_min_background_speed_body_heights_per_s``, 0.05, never the environment); None
    when it cannot be told (no camera motion stored, or motion known in fewer than ``min_known_fraction`` of the
    frames)."""
    if threshold is None:
        from backtorun.settings import CaptureSettings

        threshold = CaptureSettings.model_fields["panning_min_background_speed_body_heights_per_s"].default
    s = panning_summary(pose)
    if not np.isfinite(s["median_speed_body_heights_per_s"]) or s["known_fraction"] < min_known_fraction:
        return None
    return bool(s["median_speed_body_heights_per_s"] > threshold)
