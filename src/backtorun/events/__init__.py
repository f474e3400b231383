"""Events stage: cleaned PoseSeries → GaitEvents (IC/TO of both feet, treadmill running; domain.md §2)."""

from __future__ import annotations

import numpy as np

from backtorun.conventions import Side
from backtorun.events.detect import TreadmillEventDetector, foot_jitter_px
from backtorun.events.detect_rear import RearViewEventDetector
from backtorun.types import GaitEvents, PoseSeries

__all__ = ["detect_events", "foot_noise_px", "foot_jitter_px", "TreadmillEventDetector", "RearViewEventDetector"]


def foot_noise_px(raw: PoseSeries, *, leg_length_px: float, cutoff_hz: float) -> float:
    """Noise SD (px) of the foot heights left after the event filter: the jitter of the unfiltered pose
    (:func:`foot_jitter_px`) × √(2·f_c/f_s), the fraction of white noise a low-pass at ``cutoff_hz`` lets through
    (1 when the filter is not applied, f_c ≥ 0.9·Nyquist). (D)"""
    from backtorun.kinematics.clean import sampling_rate_hz

    fs = sampling_rate_hz(raw.time_s, raw.fps)
    frac = 1.0 if cutoff_hz >= 0.45 * fs else float(np.sqrt(2.0 * cutoff_hz / fs))
    return foot_jitter_px(raw, leg_length_px=leg_length_px) * frac


def detect_events(pose: PoseSeries, *, view: str, forward: int, near_side: Side | None,
                  leg_length_px: float, noise_px: float | None = None) -> GaitEvents:
    """IC and TO of both feet with the method that suits the camera view.

    ``noise_px``: SD of the foot landmarks' height noise in ``pose`` (see :func:`foot_noise_px`); estimated from
    ``pose`` itself when None.
    """
    if view == "side":
        return TreadmillEventDetector().detect(pose, forward=forward, near_side=near_side, leg_length_px=leg_length_px,
                                               noise_px=noise_px)
    return RearViewEventDetector().detect(pose, leg_length_px=leg_length_px)
