"""A fake pose estimator for tests: replays a known PoseSeries frame by frame (the test seam).

It implements :class:`backtorun.pose.base.PoseEstimator`, so :func:`backtorun.pose.estimate_pose` can be run on
a generated video without MediaPipe, and every stage after it sees exactly the landmarks the test chose.
Landmarks are scaled from the series' image size to the size of the image given (a test video may be smaller).
"""

from __future__ import annotations

import numpy as np

from backtorun.types import PoseSeries


class FakePoseEstimator:
    """Returns row ``k`` of ``series`` for the ``k``-th call (NaN once the series is exhausted)."""

    def __init__(self, series: PoseSeries, *, name: str = "fake") -> None:
        self.series = series
        self.name = name
        self.calls = 0
        self.closed = False

    def estimate(self, rgb: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        k = self.calls
        self.calls += 1
        n_lm = self.series.xy.shape[1]
        if k >= self.series.n_frames:
            return np.full((n_lm, 2), np.nan), np.zeros(n_lm), None
        h, w = rgb.shape[:2]
        sx, sy = w / float(self.series.width), h / float(self.series.height)
        xy = self.series.xy[k] * np.array([sx, sy])
        world = None if self.series.world_xyz is None else self.series.world_xyz[k].copy()
        return xy, self.series.visibility[k].copy(), world

    def close(self) -> None:
        self.closed = True
