"""Events stage: cleaned PoseSeries → GaitEvents (IC/TO of both feet, treadmill running; domain.md §2)."""

from __future__ import annotations

from backtorun.conventions import Side
from backtorun.events.detect import TreadmillEventDetector
from backtorun.events.detect_rear import RearViewEventDetector
from backtorun.types import GaitEvents, PoseSeries

__all__ = ["detect_events", "TreadmillEventDetector", "RearViewEventDetector"]


def detect_events(pose: PoseSeries, *, view: str, forward: int, near_side: Side | None,
                  leg_length_px: float) -> GaitEvents:
    """IC and TO of both feet with the method that suits the camera view."""
    if view == "side":
        return TreadmillEventDetector().detect(pose, forward=forward, near_side=near_side, leg_length_px=leg_length_px)
    return RearViewEventDetector().detect(pose, leg_length_px=leg_length_px)
