"""Acceptance: events on mini_run.mp4 against the hand labels (issue 2, "Done when")."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtorun.events.scoring import cadence_from_labels, load_event_labels, score_events
from backtorun.pipeline import analyze_pose
from backtorun.types import PoseSeries
from validation.pose_cache import cached_pose

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def mini_run_pose() -> PoseSeries:
    """Pose of mini_run.mp4 (cached while the video and the pose code are unchanged)."""
    return cached_pose(DATA / "video" / "treadmill" / "mini_run.mp4")


@pytest.mark.slow
def test_mini_run_near_leg_events_and_cadence(mini_run_pose: PoseSeries) -> None:
    labels = load_event_labels(DATA / "labels" / "mini_run_events.csv")
    analysis = analyze_pose(mini_run_pose)
    near = score_events(analysis.events, labels, tolerance_frames=1, confidences=("high", "medium"), legs=["near"])
    assert near.overall.n_labels >= 20
    assert near.overall.hit_rate >= 0.90, near.summary_lines()
    # cadence against the labels' cadence (label frames → seconds with the clip's own frame timing)
    fs = 1.0 / float(mini_run_pose.time_s[1] - mini_run_pose.time_s[0])
    assert abs(analysis.summary["cadence_spm"].mean - cadence_from_labels(labels, fs)) <= 2.0
    # the near leg is the runner's left here (faces image left) and every event carries a confidence
    assert analysis.near_side == "L"
    assert all(0.0 <= e.confidence <= 1.0 for e in analysis.events)
    assert {e.leg for e in analysis.events} == {"near", "far"}
