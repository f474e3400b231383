"""Events stage: cleaned PoseSeries → GaitEvents (IC/TO of both feet, treadmill running; domain.md §2).

Detectors follow one protocol (:class:`backtorun.events.base.EventDetector`); ``settings.events.detector``
picks one by name from :data:`DETECTORS` (``auto``: the side detector for a side view, the rear detector
otherwise), so a new detector is compared with the others by changing one setting.
"""

from __future__ import annotations

import numpy as np

from backtorun.events.base import EventDetector, EventInput
from backtorun.events.detect import TreadmillEventDetector, foot_jitter_px
from backtorun.events.detect_belt import BeltEventDetector
from backtorun.events.detect_rear import RearViewEventDetector
from backtorun.settings import EventSettings
from backtorun.types import PoseSeries

__all__ = ["DETECTORS", "EventDetector", "EventInput", "make_detector", "detector_name", "foot_noise_px",
           "foot_jitter_px", "TreadmillEventDetector", "RearViewEventDetector", "BeltEventDetector"]

#: Detector classes by name; each takes the section of ``EventSettings`` with the same name in ``__init__``.
DETECTORS: dict[str, type] = {"side": TreadmillEventDetector, "rear": RearViewEventDetector,
                              "belt": BeltEventDetector}


def detector_name(settings: EventSettings, view: str) -> str:
    """The detector ``settings.detector`` selects for a recording of ``view`` ("auto": side for side views)."""
    if settings.detector != "auto":
        return settings.detector
    return "side" if view == "side" else "rear"


def make_detector(settings: EventSettings, view: str) -> EventDetector:
    """The detector for ``view`` under ``settings``, constructed with its own settings section."""
    name = detector_name(settings, view)
    return DETECTORS[name](getattr(settings, name))  # type: ignore[no-any-return]


def foot_noise_px(raw: PoseSeries, *, leg_length_px: float, cutoff_hz: float) -> float:
    """Noise SD (px) of the foot heights left after the event filter: the jitter of the unfiltered pose
    (:func:`foot_jitter_px`) × √(2·f_c/f_s), the fraction of white noise a low-pass at ``cutoff_hz`` lets through
    (1 when the filter is not applied, f_c ≥ 0.9·Nyquist). (D)"""
    from backtorun.kinematics.clean import sampling_rate_hz

    fs = sampling_rate_hz(raw.time_s, raw.fps)
    frac = 1.0 if cutoff_hz >= 0.45 * fs else float(np.sqrt(2.0 * cutoff_hz / fs))
    return foot_jitter_px(raw, leg_length_px=leg_length_px) * frac
