"""MediaPipe BlazePose (legacy ``solutions.pose``): model_complexity=1 is the full model bundled in the wheel,
model_complexity=2 the heavy model, installed on request by ``scripts/install_heavy_pose.sh`` next to the full one
(``settings.pose.model_complexity``; docs/pose.md, "Heavy model"). The legacy graph would fetch a missing model
from the internet when it starts, so :func:`check_landmark_model` refuses a missing one first: nothing is
downloaded at run time.

Two objects: :class:`MediaPipePoseEstimator` (video/tracking mode: follows one person from frame to frame) and
:class:`MediaPipePeopleDetector` (single-image mode, finds up to a few people by masking each one found and
looking again) used by :mod:`backtorun.pose.tracking` to pick the runner when several people are in view.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Final

import numpy as np

from backtorun.conventions import N_LANDMARKS
from backtorun.errors import ConfigError, MissingDependency

#: Grey used to blank image regions (people already found, or everything outside the runner's region).
MASK_VALUE = 127

#: Landmark model file that MediaPipe's pose graph loads for each supported ``model_complexity`` (inside the
#: mediapipe package, ``modules/pose_landmark/``): 1 = BlazePose full (in the wheel), 2 = BlazePose heavy.
LANDMARK_MODEL_FILES: Final[dict[int, str]] = {1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}
#: The script that installs the heavy model (repository root relative).
HEAVY_INSTALL_SCRIPT: Final = "scripts/install_heavy_pose.sh"


def _mediapipe() -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise MissingDependency("mediapipe is not installed", hint="run the README's setup command") from exc
    return mp


def landmark_model_path(model_complexity: int) -> Path | None:
    """Where MediaPipe's pose graph loads the landmark model of ``model_complexity`` from (found without importing
    mediapipe); None when mediapipe is not installed. ConfigError for a complexity other than 1 or 2."""
    if model_complexity not in LANDMARK_MODEL_FILES:
        raise ConfigError(f"pose model_complexity must be 1 (BlazePose full) or 2 (heavy), not {model_complexity!r}",
                          hint="set pose.model_complexity to 1 or 2 in the settings file")
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "modules" / "pose_landmark" / LANDMARK_MODEL_FILES[model_complexity]


def check_landmark_model(model_complexity: int) -> None:
    """One-line MissingDependency when the landmark model of ``model_complexity`` is not installed (the heavy
    model is optional: ``scripts/install_heavy_pose.sh``); ConfigError for a complexity other than 1 or 2."""
    path = landmark_model_path(model_complexity)
    if path is None:
        raise MissingDependency("mediapipe is not installed", hint="run the README's setup command")
    if not path.is_file():
        hint = (f"run 'bash {HEAVY_INSTALL_SCRIPT}' (needs npm), or set pose.model_complexity: 1"
                if model_complexity == 2 else "reinstall mediapipe with the README's setup command")
        raise MissingDependency(
            f"the BlazePose model for pose.model_complexity={model_complexity} ({path.name}) is not installed",
            hint=hint)


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
    """BlazePose full or heavy (33 landmarks, pixels + world metres). Tracking mode keeps following one person.

    Landmarks come out normalised to the image and are scaled to the pixels of the image given.
    The graph is created lazily on the first frame (no heavy work in the constructor); the constructor refuses a
    model that is not installed (:func:`check_landmark_model`). ``name`` records the model complexity.
    """

    def __init__(self, *, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True) -> None:
        check_landmark_model(model_complexity)
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
        check_landmark_model(model_complexity)
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
