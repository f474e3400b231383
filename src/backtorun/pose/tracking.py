"""Pick the runner when several people are in view, and keep following that person.

How it works (each step is a small function below, so it can be tested without MediaPipe):

1. *Acquire*: a people detector finds up to ``max_people`` people in the frame; :func:`runner_score` ranks
   them and the best becomes the runner. A runner on a treadmill has the whole lower body (hips, knees,
   ankles, heels, toes) in the frame and visible, and is usually the largest such person; a bystander next to
   the treadmill is usually cut by the frame edge or partly hidden.
2. *Track*: every following frame is given to the tracking estimator. When more than one person was seen at
   acquisition, everything outside the runner's region of interest (the runner's landmark box from the previous frame, grown by ``margin_frac`` of its
   height on every side) painted grey, so the estimator cannot drift to another person. The region moves with
   the runner (a panning camera is followed).
3. *Lose*: a frame whose landmark box centre jumps more than ``max_jump_frac`` box heights from the previous
   one is rejected (NaN); after ``lost_after_frames`` frames without the runner the tracker goes back to 1.

With one person in view the images are not masked at all, so the landmarks are exactly those of plain BlazePose
tracking (masking measurably changes BlazePose's output even when the mask does not touch the body).
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.pose.base import PoseEstimator

log = logging.getLogger(__name__)

#: Lower-body landmark indices (hips, knees, ankles, heels, toes) of the BlazePose layout.
LOWER_BODY = tuple(range(23, 33))
MASK_VALUE = 127

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 pixels


class PeopleDetector(Protocol):
    """Finds several people in one image: a list of (xy (L,2) pixels, visibility (L,)) per person."""

    def detect_people(self, rgb: np.ndarray, max_people: int = 3) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def close(self) -> None: ...


def landmark_box(xy: np.ndarray, vis: np.ndarray, *, min_visibility: float = 0.3) -> Box | None:
    """Bounding box of the landmarks seen with at least ``min_visibility`` (all finite ones if fewer than 4)."""
    finite = np.isfinite(xy).all(axis=1)
    if not finite.any():
        return None
    use = finite & (np.nan_to_num(vis) >= min_visibility)
    if use.sum() < 4:
        use = finite
    pts = xy[use]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def grow_box(box: Box, *, margin_frac: float, width: int, height: int) -> Box:
    """``box`` grown by ``margin_frac`` × its height on every side, clipped to the image."""
    x0, y0, x1, y1 = box
    m = margin_frac * max(y1 - y0, x1 - x0, 1.0)
    return max(0.0, x0 - m), max(0.0, y0 - m), min(float(width), x1 + m), min(float(height), y1 + m)


def mask_outside(rgb: np.ndarray, roi: Box, *, value: int = MASK_VALUE) -> np.ndarray:
    """Paint everything outside ``roi`` with ``value``, in place; returns ``rgb``."""
    h, w = rgb.shape[:2]
    x0, y0 = max(0, int(roi[0])), max(0, int(roi[1]))
    x1, y1 = min(w, int(np.ceil(roi[2]))), min(h, int(np.ceil(roi[3])))
    if x1 <= x0 or y1 <= y0:
        rgb[...] = value
        return rgb
    rgb[:y0] = value
    rgb[y1:] = value
    rgb[y0:y1, :x0] = value
    rgb[y0:y1, x1:] = value
    return rgb


def runner_score(xy: np.ndarray, vis: np.ndarray, *, width: int, height: int) -> float:
    """How much a detected person looks like the runner to analyse (higher is better, 0..1).

    score = mean over lower-body landmarks of (visibility × inside-frame) × fraction of all landmarks inside
    the frame × sqrt(box height ÷ image height). Engineering choice (D): favours a whole, visible, large body.
    """
    finite = np.isfinite(xy).all(axis=1)
    if not finite.any():
        return 0.0
    inside = finite & (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    v = np.clip(np.nan_to_num(vis), 0.0, 1.0)
    lower = list(LOWER_BODY)
    lower_term = float(np.mean(v[lower] * inside[lower]))
    box = landmark_box(xy, vis)
    size = 0.0 if box is None else min(1.0, max(0.0, (box[3] - box[1]) / float(height)))
    return lower_term * float(inside.mean()) * float(np.sqrt(size))


def choose_runner(people: list[tuple[np.ndarray, np.ndarray]], *, width: int, height: int) -> int:
    """Index of the person most likely to be the runner (see :func:`runner_score`)."""
    scores = [runner_score(xy, vis, width=width, height=height) for xy, vis in people]
    return int(np.argmax(scores))


def _nothing() -> tuple[np.ndarray, np.ndarray, None]:
    return np.full((N_LANDMARKS, 2), np.nan), np.zeros(N_LANDMARKS), None


def _centre(box: Box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])


class RunnerTracker:
    """A :class:`PoseEstimator` that picks the runner among several people and keeps following that person.

    Wraps a tracking-mode estimator (one person per frame) and a people detector (several people, used to
    acquire and re-acquire). Modifies the image it is given (masking) — pass a frame you no longer need.
    """

    def __init__(self, estimator: PoseEstimator, detector: PeopleDetector | None, *, margin_frac: float = 0.35,
                 max_jump_frac: float = 0.5, lost_after_frames: int = 5, max_people: int = 3) -> None:
        self.estimator = estimator
        self.detector = detector
        self.margin_frac = margin_frac
        self.max_jump_frac = max_jump_frac
        self.lost_after_frames = lost_after_frames
        self.max_people = max_people
        self.name = f"{estimator.name}+runner-tracking"
        self._roi: Box | None = None
        self._prev: Box | None = None
        self._lost = 0
        self._crowded = False
        self.n_acquisitions = 0
        self.n_people_seen = 0

    def _acquire(self, rgb: np.ndarray) -> None:
        if self.detector is None:
            return
        h, w = rgb.shape[:2]
        people = self.detector.detect_people(rgb, self.max_people)
        if not people:
            return
        self.n_people_seen = max(self.n_people_seen, len(people))
        self._crowded = len(people) > 1
        best = choose_runner(people, width=w, height=h)
        box = landmark_box(*people[best])
        if box is None:
            return
        if len(people) > 1:
            log.info("%d people in view; following the one with the most complete, visible lower body",
                     len(people))
        self.n_acquisitions += 1
        self._prev = box
        self._roi = grow_box(box, margin_frac=self.margin_frac, width=w, height=h)

    def estimate(self, rgb: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        h, w = rgb.shape[:2]
        if self._roi is None and self.detector is not None:
            self._acquire(rgb)
            if self._roi is None:  # nobody in view: the tracking estimator would not find anyone either
                return _nothing()
        if self._roi is not None and self._crowded:
            mask_outside(rgb, self._roi)
        xy, vis, world = self.estimator.estimate(rgb, time_s)
        box = landmark_box(xy, vis)
        if box is not None and self._prev is not None:
            jump = float(np.linalg.norm(_centre(box) - _centre(self._prev)))
            if jump > self.max_jump_frac * max(self._prev[3] - self._prev[1], 1.0):
                log.debug("t=%.3f s: landmarks jumped %.0f px; frame rejected", time_s, jump)
                box = None
        if box is None:
            self._lost += 1
            if self._lost >= self.lost_after_frames:
                self._roi, self._prev, self._lost = None, None, 0
            return _nothing()
        self._lost = 0
        self._prev = box
        self._roi = grow_box(box, margin_frac=self.margin_frac, width=w, height=h)
        return xy, vis, world

    def close(self) -> None:
        self.estimator.close()
        if self.detector is not None:
            self.detector.close()
