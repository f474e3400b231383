"""The event-detector protocol: every gait-event detector takes its settings in ``__init__`` and has one verb,
``detect(EventInput) -> GaitEvents``, so detectors are interchangeable (``settings.events.detector`` picks one;
see :func:`backtorun.events.make_detector`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from backtorun.conventions import Side
from backtorun.types import GaitEvents, PoseSeries


@dataclass(frozen=True)
class EventInput:
    """What a detector sees of one recording.

    pose: the cleaned pose, lightly filtered for events (``Kinematics.events_pose``); leg_length_px: hip-to-ankle
    length (px) that scales every threshold; forward: +1 when the runner faces image right, −1 left (side view);
    near_side: the leg nearer the camera (None: unknown or not a side view); noise_px: SD (px) of the foot
    landmarks' height noise in ``pose`` (None: the detector estimates it if it needs it); unfiltered_pose: the
    cleaned pose before that filter, same rows (None: not available), for signals a low-pass would shift on clean
    keypoints."""

    pose: PoseSeries
    leg_length_px: float
    forward: int = 1
    near_side: Side | None = None
    noise_px: float | None = None
    unfiltered_pose: PoseSeries | None = None


class EventDetector(Protocol):
    """A gait-event detector: settings in ``__init__``, no state kept between calls, results returned."""

    #: Registry name (the value of ``settings.events.detector`` that selects it).
    name: ClassVar[str]

    def detect(self, inp: EventInput) -> GaitEvents:
        """IC and TO events of both feet, each with a confidence in [0, 1]."""
        ...
