"""Run a pose estimator over a video and collect a PoseSeries."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.errors import NoRunnerFound
from backtorun.pose.base import PoseEstimator
from backtorun.pose.video import iter_frames, read_video_info
from backtorun.types import PoseSeries

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


def estimate_pose(path: str | Path, *, estimator: PoseEstimator | None = None,
                  progress: ProgressCallback | None = None, max_frames: int | None = None) -> PoseSeries:
    """Landmarks of the runner in every frame of ``path`` (streamed decode; NaN where nobody is found)."""
    from backtorun.pose._mediapipe import MediaPipePoseEstimator

    info = read_video_info(path)
    own = estimator is None
    est: PoseEstimator = estimator or MediaPipePoseEstimator()
    xy_rows, vis_rows, world_rows, times, idx = [], [], [], [], []
    try:
        for frame in iter_frames(path, max_frames=max_frames):
            xy, vis, world = est.estimate(frame.rgb, frame.time_s)
            xy_rows.append(xy)
            vis_rows.append(vis)
            world_rows.append(world if world is not None else np.full((N_LANDMARKS, 3), np.nan))
            times.append(frame.time_s)
            idx.append(frame.index)
            if progress is not None:
                progress(frame.index + 1, info.n_frames)
    finally:
        if own:
            est.close()
    xy_a = np.asarray(xy_rows, dtype=float).reshape(-1, N_LANDMARKS, 2)
    found = np.isfinite(xy_a[:, :, 0]).any(axis=1)
    if not found.any():
        raise NoRunnerFound(f"{Path(path).name}: no person was found in any of the {len(xy_rows)} frames",
                            hint="film the runner side-on with the whole body, feet included, in view")
    return PoseSeries(
        xy=xy_a, visibility=np.asarray(vis_rows, dtype=float), time_s=np.asarray(times, dtype=float),
        frame_index=np.asarray(idx, dtype=np.int64), fps=info.fps, width=info.width, height=info.height,
        rotation_deg=info.rotation_deg, world_xyz=np.asarray(world_rows, dtype=float), source=est.name,
        video_path=str(path),
    )
