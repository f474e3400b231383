"""MediaPipe BlazePose (legacy ``solutions.pose``, model_complexity=1: the model bundled in the wheel).

Two objects: :class:`MediaPipePoseEstimator` (video/tracking mode: follows one person from frame to frame) and
:class:`MediaPipePeopleDetector` (single-image mode, finds up to a few people by masking each one found and
looking again) used by :mod:`backtorun.pose.tracking` to pick the runner when several people are in view.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.errors import MissingDependency

#: Grey used to blank image regions (people already found, or everything outside the runner's region).
MASK_VALUE = 127


def _mediapipe() -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise MissingDependency("mediapipe is not installed", hint="run the README's setup command") from exc
    return mp


def _to_arrays(result: Any, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    xy = np.full((N_LANDMARKS, 2), np.nan)
    vis = np.zeros(N_LANDMARKS)
    if result.pose_landmarks is None:
        return xy, vis, None
    lms = result.pose_landmarks.landmark
    xy[:, 0] = [lm.x * w for lm in lms]
    xy[:, 1] = [lm.y * h for lm in lms]
    vis[:] = [lm.visibility for lm in lms]
    world = None
    if result.pose_world_landmarks is not None:
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=float)
    return xy, vis, world


class MediaPipePoseEstimator:
    """BlazePose full (33 landmarks, pixels + world metres). Tracking mode keeps following one person.

    Landmarks come out normalised to the image and are scaled to the pixels of the image given.
    The graph is created lazily on the first frame (no heavy work in the constructor).
    """

    def __init__(self, *, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True) -> None:
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.smooth_landmarks = smooth_landmarks
        self._pose: Any = None
        mp = _mediapipe()
        self.name = f"mediapipe-{mp.__version__}/blazepose-complexity{model_complexity}"

    def _ensure(self) -> Any:
        if self._pose is None:
            self._pose = _mediapipe().solutions.pose.Pose(
                static_image_mode=False, model_complexity=self.model_complexity,
                smooth_landmarks=self.smooth_landmarks,
                min_detection_confidence=self.min_detection_confidence,
                min_tracking_confidence=self.min_tracking_confidence,
            )
        return self._pose

    def estimate(self, rgb: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        h, w = rgb.shape[:2]
        return _to_arrays(self._ensure().process(rgb), w, h)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


class MediaPipePeopleDetector:
    """Finds up to ``max_people`` people in one image (single-image mode; slower, used only to (re)acquire).

    BlazePose returns one person per call, so each person found is blanked out (box grown by ``grow``) and the
    image is searched again.
    """

    def __init__(self, *, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 grow: float = 0.1) -> None:
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.grow = grow
        self._pose: Any = None
        _mediapipe()

    def _ensure(self) -> Any:
        if self._pose is None:
            self._pose = _mediapipe().solutions.pose.Pose(
                static_image_mode=True, model_complexity=self.model_complexity, smooth_landmarks=False,
                min_detection_confidence=self.min_detection_confidence,
            )
        return self._pose

    def detect_people(self, rgb: np.ndarray, max_people: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
        h, w = rgb.shape[:2]
        img = rgb
        people: list[tuple[np.ndarray, np.ndarray]] = []
        for _ in range(max_people):
            xy, vis, _world = _to_arrays(self._ensure().process(img), w, h)
            if not np.isfinite(xy).any():
                break
            people.append((xy, vis))
            x0, y0 = np.nanmin(xy, axis=0)
            x1, y1 = np.nanmax(xy, axis=0)
            gx, gy = self.grow * (x1 - x0), self.grow * (y1 - y0)
            xa, xb = int(max(0, x0 - gx)), int(min(w, x1 + gx + 1))
            ya, yb = int(max(0, y0 - gy)), int(min(h, y1 + gy + 1))
            if xb <= xa or yb <= ya:
                break
            if img is rgb:
                img = rgb.copy()
            img[ya:yb, xa:xb] = MASK_VALUE
        return people

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
