"""The default side detector takes every IC from the body's loading only on clean high-rate keypoints
(``events.side.ic_from_loading: clean``): certain visibilities (marker data, not a pose model), ≥ 100 Hz, a foot
jitter ≤ 0.5 ‰ of the leg and a moving hip. There it is the more accurate and does not depend on how far the heel
sinks after contact; everywhere else (pose-model video, 60 fps, pixel noise) the events are exactly the
touch-down's (docs/validation.md §6e)."""

from __future__ import annotations

import numpy as np
import pytest

from backtorun.settings import AnalysisSettings

TOUCH_DOWN = AnalysisSettings(events={"side": {"ic_from_loading": "none"}})


@pytest.fixture(scope="module")
def rbds45(shared_data):  # noqa: ANN001
    from validation import rbds

    return rbds.load_trial(*rbds.rbds_paths("45"))


def _run(data, settings: AnalysisSettings | None = None, *,  # noqa: ANN001, ANN202
         fps: float | None = None, noise_px: float = 0.0, visibility: float | None = None):
    from validation import rbds

    pose = rbds.to_pose(data.keypoints, rbds.make_camera(data.keypoints), fps=fps, noise_px=noise_px, seed=5)
    if visibility is not None:  # a pose model's: a tenth of the landmarks less than certain
        vis = pose.visibility.copy()
        vis[np.random.default_rng(2).random(vis.shape) < 0.1] = visibility
        pose = pose.replace(visibility=vis)
    analysis = rbds.analyze(pose, speed_mps=4.5, height_cm=data.height_cm, settings=settings)
    events = [(e.side, e.kind, e.frame) for e in analysis.events]
    return events, rbds.score_analysis(analysis, pose, data.truth).headline()


def test_marker_keypoints_take_the_loading_ic_and_meet_the_targets(rbds45) -> None:  # noqa: ANN001
    events, h = _run(rbds45)
    touch_events, touch = _run(rbds45, TOUCH_DOWN)
    assert events != touch_events
    assert h["n_events_detected"] == h["n_events_truth"]
    assert h["ic_mae_ms"] <= 6.0 < touch["ic_mae_ms"]  # 4.1 vs 8.9 ms when pinned
    assert abs(h["contact_time_bias_ms"]) <= 5.0 and abs(h["flight_time_bias_ms"]) <= 5.0


def test_loading_ic_does_not_depend_on_the_heel_sink(rbds45) -> None:  # noqa: ANN001
    from validation import rbds

    _, as_recorded = _run(rbds45)
    _, flat = _run(rbds.with_heel_sink(rbds45, 0.0))
    _, touch_flat = _run(rbds.with_heel_sink(rbds45, 0.0), TOUCH_DOWN)
    assert abs(flat["ic_bias_ms"] - as_recorded["ic_bias_ms"]) < 1.0  # 0.0 ms when pinned
    assert touch_flat["ic_bias_ms"] < -10.0  # −13.2 ms: the touch-down calls a non-sinking heel early


@pytest.mark.parametrize("case", [{"visibility": 0.9}, {"fps": 60.0}, {"fps": 240.0, "noise_px": 0.5}])
def test_other_keypoints_keep_the_touch_down(rbds45, case: dict) -> None:  # noqa: ANN001
    events, _ = _run(rbds45, **case)
    touch_events, _ = _run(rbds45, TOUCH_DOWN, **case)
    assert events == touch_events
