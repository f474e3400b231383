"""The pose-estimator seam: interchangeable estimators share this protocol (the fake one is the test seam)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PoseEstimator(Protocol):
    """Estimates landmarks of one person per frame.

    ``estimate`` returns (xy_px (L,2), visibility (L,), world_xyz (L,3) or None), NaN-filled when no person.
    """

    name: str

    def estimate(self, rgb: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]: ...

    def close(self) -> None: ...
