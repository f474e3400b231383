from __future__ import annotations

import numpy as np
import pandas as pd

from backtorun.events.scoring import cadence_from_labels, score_events
from backtorun.types import GaitEvent, GaitEvents


def _labels() -> pd.DataFrame:
    return pd.DataFrame({"frame": [10, 20, 30, 40], "leg": ["near"] * 4, "side": ["L"] * 4,
                         "kind": ["IC", "TO", "IC", "TO"], "confidence": ["high", "high", "medium", "low"]})


def _ev(frames_kinds: list[tuple[int, str]]) -> GaitEvents:
    return GaitEvents(tuple(GaitEvent("L", "near", k, f, f / 30.0, 0.9) for f, k in frames_kinds))


def test_hits_errors_and_misses() -> None:
    s = score_events(_ev([(11, "IC"), (23, "TO"), (30, "IC")]), _labels(), tolerance_frames=1)
    # the low-confidence label is excluded; TO at 23 is 3 frames late → matched but not a hit
    assert s.overall.n_labels == 3
    assert s.overall.n_hits == 2
    assert s.groups["near-TO"].mean_error_frames == 3
    assert np.isclose(s.groups["near-IC"].mean_error_frames, 0.5)


def test_far_detection_is_a_miss() -> None:
    s = score_events(_ev([(14, "IC")]), _labels(), confidences=None)
    assert s.groups["near-IC"].n_missed == 1  # frame 30 has no IC within 5 frames
    assert s.groups["near-IC"].n_hits == 0 and s.groups["near-IC"].mean_error_frames == 4
    assert s.groups["near-TO"].n_missed == 2


def test_cadence_from_labels() -> None:
    lab = pd.DataFrame({"frame": [0, 10, 20, 30], "kind": ["IC"] * 4})
    assert np.isclose(cadence_from_labels(lab, 30.0), 180.0)
