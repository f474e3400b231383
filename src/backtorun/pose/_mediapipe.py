"""MediaPipe BlazePose (legacy ``solutions.pose``, model_complexity=1: the model bundled in the wheel)."""

from __future__ import annotations

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.errors import MissingDependency


class MediaPipePoseEstimator:
    """BlazePose full (33 landmarks, pixels + world metres). Tracking mode keeps following one person."""

    def __init__(self, *, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self._pose = None
        try:
            import mediapipe  # noqa: F401
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise MissingDependency("mediapipe is not installed", hint="run the README's setup command") from exc
        import mediapipe as mp

        self.name = f"mediapipe-{mp.__version__}/blazepose-complexity{model_complexity}"

    def _ensure(self):  # type: ignore[no-untyped-def]
        if self._pose is None:
            import mediapipe as mp

            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False, model_complexity=self.model_complexity, smooth_landmarks=True,
                min_detection_confidence=self.min_detection_confidence,
                min_tracking_confidence=self.min_tracking_confidence,
            )
        return self._pose

    def estimate(self, rgb: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        h, w = rgb.shape[:2]
        result = self._ensure().process(rgb)
        xy = np.full((N_LANDMARKS, 2), np.nan)
        vis = np.zeros(N_LANDMARKS)
        if result.pose_landmarks is None:
            return xy, vis, None
        for i, lm in enumerate(result.pose_landmarks.landmark):
            xy[i] = (lm.x * w, lm.y * h)
            vis[i] = lm.visibility
        world = None
        if result.pose_world_landmarks is not None:
            world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=float)
        return xy, vis, world

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
