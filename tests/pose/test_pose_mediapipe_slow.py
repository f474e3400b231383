"""MediaPipe on real video: runner chosen among several people; parallel segments on a portrait 60 fps clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtorun.conventions import LANDMARK_INDEX as LI
from backtorun.pose import estimate_pose

TREADMILL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "video" / "treadmill"


@pytest.mark.slow
def test_runner_is_followed_not_the_bystander() -> None:
    # run_test1: the runner on the treadmill (left/centre) and a bystander standing at the right edge whose
    # legs are cut by the frame. Plain BlazePose tracking follows the bystander in every frame.
    series = estimate_pose(TREADMILL / "run_test1.mp4", max_frames=150, workers=2, min_segment_frames=50)
    hips = series.xy[:, [LI["left_hip"], LI["right_hip"]], 0].mean(axis=1)
    found = np.isfinite(hips)
    assert found.mean() > 0.9
    assert np.mean(hips[found] < 0.62 * series.width) > 0.95  # the bystander stands at x ≈ 0.7–0.8 width
    ankles = series.xy[:, [LI["left_ankle"], LI["right_ankle"]], 1]
    assert np.nanmedian(ankles) < series.height  # the followed person's feet are in the frame
    assert "runner-tracking" in series.source


@pytest.mark.slow
def test_parallel_segments_on_portrait_60fps_clip() -> None:
    path = TREADMILL / "IMG_5396.mp4"
    seq = estimate_pose(path, max_frames=120, workers=1)
    par = estimate_pose(path, max_frames=120, workers=2, min_segment_frames=40)
    for s in (seq, par):
        assert (s.width, s.height, s.rotation_deg) == (1080, 1920, 0)
        assert np.array_equal(s.frame_index, np.arange(120))
        assert np.allclose(np.diff(s.time_s), 1 / 60, atol=1e-4)
        feet = s.xy[:, [LI["left_heel"], LI["right_heel"]]]
        assert np.isfinite(feet).all() and (feet[..., 1] < 1920).all() and (feet[..., 1] > 960).all()
    # the first segment is the same computation as the sequential run
    first = par.frame_index < 40
    assert np.allclose(par.xy[first], seq.xy[first], atol=1e-3)
    # later segments start tracking afresh; the landmarks still agree closely
    heel = [LI["left_heel"], LI["right_heel"], LI["left_foot_index"], LI["right_foot_index"]]
    diff = np.linalg.norm(par.xy[:, heel] - seq.xy[:, heel], axis=2)
    assert np.median(diff) < 10.0
