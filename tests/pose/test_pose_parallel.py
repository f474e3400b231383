"""estimate_pose(parallel="processes" / "hybrid"): same landmarks as the thread workers, fallbacks, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtorun.conventions import N_LANDMARKS
from backtorun.errors import NoRunnerFound
from backtorun.pose import estimate_pose
from backtorun.pose.synth import numbered_frames, read_frame_number, write_video

TREADMILL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "video" / "treadmill"


class _FrameNumber:
    """Landmarks that encode the frame number seen; built by a closure factory (not picklable)."""

    name = "frame-number"

    def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
        return np.full((N_LANDMARKS, 2), float(read_frame_number(rgb))), np.full(N_LANDMARKS, 0.9), None

    def close(self) -> None:
        pass


def test_custom_factory_runs_in_threads_even_when_processes_are_asked(tmp_path: Path) -> None:
    video = write_video(tmp_path / "n.mp4", numbered_frames(60, height=32, width=64), fps=30.0, gop=10)
    made: list[_FrameNumber] = []

    def factory() -> _FrameNumber:  # a closure: could not be sent to a worker process
        made.append(_FrameNumber())
        return made[-1]

    got = estimate_pose(video, estimator_factory=factory, workers=2, min_segment_frames=20, parallel="processes")
    assert len(made) == 2  # both segments used this process's factory
    assert np.array_equal(got.xy[:, 0, 0], np.arange(60))


def test_unknown_parallel_mode_is_refused(tmp_path: Path) -> None:
    video = write_video(tmp_path / "g.mp4", [np.full((32, 64, 3), 90, np.uint8)] * 5, fps=30.0)
    with pytest.raises(ValueError, match="parallel"):
        estimate_pose(video, estimator_factory=_FrameNumber, parallel="gpu")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["processes", "hybrid"])
def test_processes_give_the_thread_landmarks_on_mini_run(mode: str) -> None:
    path = TREADMILL / "mini_run.mp4"
    threads = estimate_pose(path, workers=2, parallel="threads")
    ticks: list[int] = []
    procs = estimate_pose(path, workers=2, parallel=mode, progress=lambda done, total: ticks.append(done))
    assert threads.n_frames == procs.n_frames > 180
    for field in ("xy", "visibility", "world_xyz", "time_s", "frame_index", "camera_motion_px"):
        assert np.array_equal(getattr(threads, field), getattr(procs, field), equal_nan=True), field
    assert procs.source == threads.source and "runner-tracking" in procs.source
    assert ticks == list(range(1, procs.n_frames + 1))  # every frame counted once, in order


@pytest.mark.slow
def test_nobody_in_view_is_a_one_line_error_with_processes(tmp_path: Path) -> None:
    video = write_video(tmp_path / "empty.mp4", [np.full((96, 128, 3), 90, np.uint8)] * 40, fps=30.0, gop=10)
    with pytest.raises(NoRunnerFound) as err:
        estimate_pose(video, workers=2, min_segment_frames=10, parallel="processes")
    assert "\n" not in str(err.value) and "no person" in str(err.value)


def test_error_in_a_worker_process_arrives_as_the_same_one_line_error(tmp_path: Path) -> None:
    from backtorun.errors import VideoUnreadable
    from backtorun.pose.estimate import Segment, SegmentRun, _Progress, _run_in_processes
    from backtorun.pose.video import FrameIndex

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video " * 100)
    index = FrameIndex(pts=np.arange(200), keyframes=(0, 100), time_base=1 / 30)
    with pytest.raises(VideoUnreadable) as err:
        _run_in_processes(SegmentRun(bad, index, prefetch=2), [Segment(0, 100, 0), Segment(100, 200, 100)],
                          _Progress(200, None), True)
    assert "\n" not in str(err.value) and "bad.mp4" in str(err.value)
    assert err.value.__cause__ is None  # the worker's traceback is not glued to the message
