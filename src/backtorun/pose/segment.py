"""One contiguous segment of a video through a pose estimator: the code every pose worker runs, whether a thread
of :func:`backtorun.pose.estimate.estimate_pose` or a worker process (:mod:`backtorun.pose._worker`).

Both import this module; it imports neither, so the two have no import cycle.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.pose.base import PoseEstimator
from backtorun.pose.camera_motion import MOTION_SIDE_PX, CameraMotionTracker, runner_box
from backtorun.pose.video import Frame, FrameIndex, iter_frames

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Segment:
    start: int  # first frame index analysed
    stop: int  # one past the last
    key: int  # key frame decoding starts from


@dataclass(frozen=True)
class SegmentRun:
    """How every segment of one video is decoded and analysed.

    path: the video; index: its frame index (None: decode from the start); prefetch: frames decoded ahead;
    warmup: frames analysed before the segment's first frame so that tracking settles (their landmarks are
    dropped); camera_motion: also measure the background's motion; preview_side: longer side of the small I420
    copy each frame carries for a frame sink (None: none)."""

    path: Path
    index: FrameIndex | None
    prefetch: int = 2
    warmup: int = 0
    camera_motion: bool = True
    preview_side: int | None = None


class Ticker(Protocol):
    """Told once per analysed frame."""

    def tick(self) -> None: ...


class FrameSink(Protocol):
    """Sees every frame a segment analyses (not its warm-up frames), in order, before the pose estimator does
    (e.g. to record a preview); must not modify the image."""

    def add(self, frame: Frame) -> None: ...

    def close(self) -> None: ...


class Progress:
    """Frames done over all segments, reported to ``callback(done, total)`` (serialised across threads)."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.callback, self.done = total, callback, 0
        self._lock = threading.Lock()

    def tick(self) -> None:
        if self.callback is None:
            return
        with self._lock:
            self.done += 1
            self.callback(min(self.done, self.total), self.total)


@dataclass
class SegmentRows:
    """Landmarks of the frames of one segment that could be decoded."""

    xy: np.ndarray
    vis: np.ndarray
    world: np.ndarray
    time_s: np.ndarray
    index: np.ndarray
    motion: np.ndarray


def default_estimator(*, track_runner: bool = True, model_complexity: int = 1) -> PoseEstimator:
    """BlazePose (model_complexity 1 = full, the default; 2 = heavy, when installed), following the runner when
    several people are in view. MissingDependency (one line) when the model is not installed."""
    from backtorun.pose._mediapipe import (
        MediaPipePeopleDetector,
        MediaPipePoseEstimator,
    )
    from backtorun.pose.tracking import RunnerTracker

    est = MediaPipePoseEstimator(model_complexity=model_complexity)
    if not track_runner:
        return est
    return RunnerTracker(est, MediaPipePeopleDetector(model_complexity=model_complexity))


def run_segment(run: SegmentRun, seg: Segment, estimator: PoseEstimator, progress: Ticker, *,
                cancel: threading.Event | None = None, sink: FrameSink | None = None) -> SegmentRows:
    """Landmarks (and camera motion) of the frames ``seg.start`` … ``seg.stop - 1``; stops early when ``cancel``
    is set."""
    n = seg.stop - seg.start
    xy = np.full((n, N_LANDMARKS, 2), np.nan, dtype=np.float32)
    vis = np.zeros((n, N_LANDMARKS), dtype=np.float32)
    world = np.full((n, N_LANDMARKS, 3), np.nan, dtype=np.float32)
    times = np.full(n, np.nan)
    motion = np.full((n, 2), np.nan)
    seen = np.zeros(n, dtype=bool)
    first = max(0, seg.start - run.warmup)
    mover = CameraMotionTracker() if run.camera_motion else None
    for frame in iter_frames(run.path, start_frame=first, stop_frame=seg.stop, prefetch=run.prefetch,
                             index=run.index, motion_side=MOTION_SIDE_PX if run.camera_motion else None,
                             preview_side=run.preview_side):
        if cancel is not None and cancel.is_set():
            break
        r = frame.index - seg.start
        if sink is not None and r >= 0:
            sink.add(frame)
        f_xy, f_vis, f_world = estimator.estimate(frame.rgb, frame.time_s)
        f_motion = (mover.update(frame.gray, frame.gray_scale, runner_box(f_xy / frame.scale, f_vis))
                    if mover is not None and frame.gray is not None else (np.nan, np.nan))
        if r < 0:  # warm-up: the tracker settles on the runner before the segment's first frame
            continue
        xy[r], vis[r], times[r], seen[r] = f_xy, f_vis, frame.time_s, True
        motion[r] = f_motion
        if f_world is not None:
            world[r] = f_world
        progress.tick()
    rows = np.flatnonzero(seen)
    return SegmentRows(xy[rows], vis[rows], world[rows], times[rows], rows + seg.start, motion[rows])
