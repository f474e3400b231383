"""Per-frame size normalisation of a runner who moves toward or away from a fixed camera (keypoint files only).

The event detectors assume a treadmill: the runner's image size and position stay put, so a foot's or the hip's
image height is (up to one scale) its height. A runner filmed from behind while running away (e.g. the shared
OpenPose rear sample, leg length 460 → 110 px in 2.7 s) breaks that. Here the leg length ``L(t)`` (ankle-centre
minus hip-centre image height, on a log scale) and the feet's path ``g(t)`` (ankle centre) are smoothed with a
centred moving average of ``trend_window_s`` (about a stride, so the steps average out of the trend), and every
frame is rescaled about its trend point to the clip's median leg length:
``xy' = (xy − g(t))·median(L)/L(t) + g₀``. Step-to-step motion (the oscillations the detectors use) survives;
the approach or recession does not. Frames outside the span where hips and ankles were found are left empty
(an extrapolated trend is no measurement). Limits: ``services/size_normalise.yaml``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from backtorun.config_files import load_validated
from backtorun.conventions import L_ANKLE, L_HIP, R_ANKLE, R_HIP
from backtorun.types import PoseSeries, QualityFlag

FLAG_CODE = "RUNNER_SIZE_NORMALISED"


class SizeNormalisation(BaseModel):
    """When and how to normalise; defaults in ``services/size_normalise.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_size_ratio: float = Field(1.5, gt=1.0)
    trend_window_s: float = Field(0.5, gt=0.0, le=5.0)
    min_frames: int = Field(20, ge=5)


def load_size_normalisation(path: str | Path | None = None) -> SizeNormalisation:
    """The packaged limits, overridden by the keys of an optional YAML file."""
    return load_validated(SizeNormalisation, what="size normalisation",
                          packaged=("backtorun.services", "size_normalise.yaml"), path=path)


def normalise_receding_runner(pose: PoseSeries, cfg: SizeNormalisation | None = None
                              ) -> tuple[PoseSeries, QualityFlag | None]:
    """``pose`` rescaled per frame to a constant leg length when the runner's size changes by more than
    ``cfg.min_size_ratio`` over the clip (with a quality flag saying so); otherwise ``pose`` and None."""
    cfg = cfg or load_size_normalisation()
    xy = pose.xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without a runner: NaN, on purpose
        hip = np.nanmean(xy[:, [L_HIP, R_HIP]], axis=1)
        ankle = np.nanmean(xy[:, [L_ANKLE, R_ANKLE]], axis=1)
    leg_px = ankle[:, 1] - hip[:, 1]
    ok = np.isfinite(leg_px) & (leg_px > 0) & np.isfinite(ankle[:, 0])
    if int(ok.sum()) < cfg.min_frames:
        return pose, None
    idx = np.flatnonzero(ok)
    span = np.zeros(pose.n_frames, dtype=bool)
    span[idx[0]:idx[-1] + 1] = True
    window = max(3, int(round(cfg.trend_window_s * pose.fps)) | 1)

    def trend(values: np.ndarray) -> np.ndarray:
        series = pd.Series(np.where(ok, values, np.nan)).interpolate(limit_direction="both")
        return series.rolling(window, center=True, min_periods=1).mean().to_numpy()

    log_leg = trend(np.log(np.where(ok, leg_px, 1.0)))
    ratio = float(np.exp(log_leg[span].max() - log_leg[span].min()))
    if ratio < cfg.min_size_ratio:
        return pose, None
    scale = np.exp(np.median(np.log(leg_px[ok])) - log_leg)
    path = np.stack([trend(ankle[:, 0]), trend(ankle[:, 1])], axis=1)
    anchor = np.median(path[ok], axis=0)
    out = (xy - path[:, None, :]) * scale[:, None, None] + anchor
    out[~span] = np.nan
    visibility = np.where(span[:, None], pose.visibility, 0.0)
    flag = QualityFlag(
        FLAG_CODE,
        f"the runner's image size changes ×{ratio:.1f} over the clip (running toward or away from the camera, not "
        "on a treadmill): each frame was rescaled to a constant leg length about the feet's path, so step timing "
        "holds but distances and angles are approximate; film treadmill running with a fixed camera", "warning")
    return pose.replace(xy=out, visibility=visibility, source=f"{pose.source}, size-normalised ×{ratio:.1f}"), flag
