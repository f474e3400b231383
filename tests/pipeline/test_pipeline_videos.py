"""Every shared video completes or stops with a clear message; slow-motion and overground clips carry the right
flags; plausibility of the metrics on real treadmill clips. Poses are estimated once per session (cached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtorun.errors import BacktorunError
from backtorun.pipeline import analyze_pose
from backtorun.types import PoseSeries
from validation.pose_cache import cached_pose

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VIDEOS = sorted((DATA / "video").glob("*/*.mp4"))


@pytest.fixture(scope="session")
def poses() -> dict[str, PoseSeries]:
    """Pose of every shared video (cached while the videos and the pose code are unchanged)."""
    return {v.stem: cached_pose(v) for v in VIDEOS}


def _analyze(pose: PoseSeries):  # type: ignore[no-untyped-def]
    try:
        return analyze_pose(pose), None
    except BacktorunError as exc:
        return None, exc


@pytest.mark.slow
def test_every_video_completes_or_stops_clearly(poses: dict[str, PoseSeries]) -> None:
    assert len(VIDEOS) >= 7
    for name, pose in poses.items():
        analysis, err = _analyze(pose)
        if err is not None:
            msg = str(err)
            assert "\n" not in msg and " — " in msg, (name, msg)  # one line with a hint
        else:
            assert analysis.quality_flags is not None and analysis.view in ("side", "rear", "front")


@pytest.mark.slow
def test_slow_motion_clip_is_flagged(poses: dict[str, PoseSeries]) -> None:
    analysis, err = _analyze(poses["slow"])
    assert err is None
    flag = next(f for f in analysis.quality_flags if f.code == "SLOW_MOTION_SUSPECTED")
    assert "true frame rate is unknown" in flag.message and flag.severity == "error"


@pytest.mark.slow
def test_overground_clips_are_flagged_or_refused(poses: dict[str, PoseSeries]) -> None:
    for name in ("pace_steps", "run_test2", "run_test6"):
        analysis, err = _analyze(poses[name])
        if err is None:
            codes = {f.code for f in analysis.quality_flags}
            assert codes & {"NOT_ON_TREADMILL", "OVERGROUND_SUSPECTED"}, (name, codes)
        else:
            assert " — " in str(err)
    analysis, _ = _analyze(poses["run_test6"])  # fixed camera, the runner crosses the frame
    assert analysis is not None and not analysis.on_treadmill
    analysis, _ = _analyze(poses["pace_steps"])  # the camera pans to follow the runner
    assert analysis is not None and not analysis.on_treadmill
    assert "background moves" in next(f.message for f in analysis.quality_flags if f.code == "NOT_ON_TREADMILL")


@pytest.mark.slow
def test_treadmill_sprint_with_bystander_is_not_called_overground(poses: dict[str, PoseSeries]) -> None:
    analysis, err = _analyze(poses["run_test1"])  # oblique view, hands on the rails, a bystander
    if err is not None:
        assert "oblique" in str(err) and "\n" not in str(err)
    else:
        codes = {f.code for f in analysis.quality_flags}
        assert analysis.on_treadmill and "NOT_ON_TREADMILL" not in codes
        assert codes & {"FEW_STRIDES", "BODY_OUT_OF_FRAME"}, codes


@pytest.mark.slow
def test_real_treadmill_metrics_are_plausible(poses: dict[str, PoseSeries]) -> None:
    for name in ("mini_run", "IMG_5396"):
        a = analyze_pose(poses[name], height_cm=175)
        s = {k: v.mean for k, v in a.summary.items()}
        codes = {f.code for f in a.quality_flags}
        assert "NOT_ON_TREADMILL" not in codes and "OVERGROUND_SUSPECTED" not in codes
        assert 150 < s["cadence_spm"] < 200
        assert 120 < s["contact_time_ms"] < 300
        assert 15 < s["duty_factor_pct"] < 45
        assert 3 < s["vertical_oscillation_cm"] < 12
        assert -5 < s["trunk_lean_deg"] < 20
        assert 25 < s["knee_flexion_peak_stance_deg"] < 70
        assert 5 < s["thigh_extension_deg"] < 40
        assert a.summary["cadence_spm"].n >= 8


@pytest.mark.slow
def test_refusals_say_what_was_seen(poses: dict[str, PoseSeries]) -> None:
    _, err = _analyze(poses["run_test2"])  # overground, camera following the runner
    assert err is not None and "treadmill" in str(err) and "\n" not in str(err)
