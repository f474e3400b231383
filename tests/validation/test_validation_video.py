"""Real video against hand labels (MediaPipe on mini_run.mp4; the pose is cached in /tmp/btr_cache)."""

from __future__ import annotations

import pytest

from validation import video_labels


@pytest.mark.slow
def test_mini_run_events_match_hand_labels(shared_data) -> None:  # noqa: ANN001
    sc = video_labels.score()
    assert sc.n_labels == 42
    assert sc.n_missed <= 2
    assert sc.overall_hit_rate >= 0.90  # within ±1 frame (33 ms); 95 % (40/42) when the pin was set
    near_ic = sc.groups["near-IC"]["agreement_ms"]
    assert near_ic.mae <= 25.0
    assert abs(sc.cadence_spm - sc.cadence_labels_spm) <= 1.5  # 0.0 measured
