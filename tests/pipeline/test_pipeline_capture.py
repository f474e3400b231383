"""Slow-motion time rescaling (capture_fps) and evidence-based far-leg occlusion flag on synthetic runners."""

from __future__ import annotations

import numpy as np
import pytest

from backtorun.errors import InputError
from backtorun.pipeline import analyze_pose, slow_motion_corrected
from backtorun.synthetic import RunnerSpec, synthetic_run

SPEC = RunnerSpec(cadence_spm=170.0)


def _as_slow_motion(capture_fps: float, playback_fps: float):  # type: ignore[no-untyped-def]
    """A clip captured at ``capture_fps`` and stored for playback at ``playback_fps`` (same frames, slower time)."""
    pose = synthetic_run(SPEC, fps=capture_fps, duration_s=8)
    factor = capture_fps / playback_fps
    return pose.replace(time_s=pose.time_s * factor, fps=playback_fps)


def test_capture_fps_rescales_a_slow_motion_clip() -> None:
    slow = _as_slow_motion(120.0, 30.0)  # 4× slow motion
    a = analyze_pose(slow)
    codes = {f.code for f in a.quality_flags}
    assert "SLOW_MOTION_SUSPECTED" in codes
    msg = next(f.message for f in a.quality_flags if f.code == "SLOW_MOTION_SUSPECTED")
    assert "--capture-fps" in msg
    fixed = analyze_pose(slow, capture_fps=120.0)
    codes = {f.code for f in fixed.quality_flags}
    assert "SLOW_MOTION_SUSPECTED" not in codes and "TIME_RESCALED" in codes
    assert abs(fixed.summary["cadence_spm"].mean - SPEC.cadence_spm) < 1.5
    assert fixed.settings["run"]["capture_fps"] == 120.0 and fixed.settings["run"]["playback_fps"] == 30.0


def test_slow_motion_corrected_time_axis_and_bad_value() -> None:
    slow = _as_slow_motion(240.0, 30.0)
    fixed = slow_motion_corrected(slow, 240.0)
    assert fixed.fps == 240.0
    assert np.allclose(np.diff(fixed.time_s), 1 / 240.0)
    with pytest.raises(InputError):
        slow_motion_corrected(slow, 0.0)


def test_far_leg_flag_needs_evidence_of_occlusion() -> None:
    pose = synthetic_run(SPEC, fps=60.0, duration_s=8)
    a = analyze_pose(pose)
    assert "FAR_LEG_OCCLUDED" not in {f.code for f in a.quality_flags}  # perfect keypoints: nothing hidden
    far = "R" if a.near_side == "L" else "L"
    from backtorun.conventions import SIDE_LANDMARKS

    vis = pose.visibility.copy()
    idx = [SIDE_LANDMARKS[far][k] for k in ("ankle", "heel", "toe")]
    hidden = (np.arange(pose.n_frames) % 5) < 2  # 40 % of frames: far foot behind the near leg
    vis[np.ix_(hidden, idx)] = 0.2
    b = analyze_pose(pose.replace(visibility=vis))
    flag = next(f for f in b.quality_flags if f.code == "FAR_LEG_OCCLUDED")
    assert "visibility" in flag.message and "40 %" in flag.message
