"""estimate_pose plumbing with the fake estimator, parallel segments, runner tracking, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtorun.conventions import N_LANDMARKS
from backtorun.errors import NoRunnerFound, VideoUnreadable
from backtorun.pose import estimate_pose
from backtorun.pose._fake import FakePoseEstimator
from backtorun.pose.estimate import Segment, plan_segments
from backtorun.pose.synth import numbered_frames, read_frame_number, synthetic_runner_pose, write_video
from backtorun.pose.tracking import RunnerTracker, choose_runner, grow_box, landmark_box, mask_outside, runner_score
from backtorun.pose.video import FrameIndex

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


class FrameNumberEstimator:
    """Returns landmarks that encode the frame number it *sees* (to check segment plumbing)."""

    name = "frame-number"

    def __init__(self) -> None:
        self.closed = False

    def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
        k = read_frame_number(rgb)
        xy = np.full((N_LANDMARKS, 2), float(k))
        return xy, np.full(N_LANDMARKS, 0.9), None

    def close(self) -> None:
        self.closed = True


def test_fake_estimator_replays_through_estimate_pose(tmp_path: Path) -> None:
    truth = synthetic_runner_pose(30, fps=30.0, width=128, height=96)
    video = write_video(tmp_path / "v.mp4", [np.full((48, 64, 3), 90, np.uint8)] * 30, fps=30.0)
    fake = FakePoseEstimator(truth)
    got = estimate_pose(video, estimator=fake)
    assert fake.calls == 30 and not fake.closed  # the caller owns a given estimator
    assert got.n_frames == 30 and (got.width, got.height) == (64, 48)
    assert np.array_equal(got.frame_index, np.arange(30))
    assert np.allclose(got.time_s, np.arange(30) / 30.0, atol=1e-3)
    assert np.allclose(got.xy, truth.xy * 0.5, equal_nan=True)  # scaled to the video's size
    assert got.source == "fake"


def test_parallel_segments_keep_every_frame_in_place(tmp_path: Path) -> None:
    video = write_video(tmp_path / "n.mp4", numbered_frames(120, height=32, width=64), fps=30.0, gop=10)
    made: list[FrameNumberEstimator] = []

    def factory() -> FrameNumberEstimator:
        made.append(FrameNumberEstimator())
        return made[-1]

    seen: list[int] = []
    got = estimate_pose(video, estimator_factory=factory, workers=3, min_segment_frames=20,
                        progress=lambda done, total: seen.append(done))
    assert len(made) == 3 and all(e.closed for e in made)
    assert np.array_equal(got.frame_index, np.arange(120))
    assert np.array_equal(got.xy[:, 0, 0], np.arange(120))  # frame k was analysed as frame k
    assert np.all(np.diff(got.time_s) > 0)
    assert sorted(seen) == list(range(1, 121))


def test_plan_segments_balances_and_covers() -> None:
    index = FrameIndex(pts=np.arange(1000), keyframes=tuple(range(0, 1000, 250)), time_base=1 / 60)
    segs = plan_segments(index, 1000, 2, min_frames=50)
    assert segs[0].start == 0 and segs[-1].stop == 1000
    assert all(a.stop == b.start for a, b in zip(segs, segs[1:]))
    cost = [s.stop - s.start + 0.25 * (s.start - s.key) for s in segs]
    assert max(cost) <= 1000 / 2 * 1.1
    assert plan_segments(index, 80, 4, min_frames=50) == [Segment(0, 80, 0)]


def test_runner_score_prefers_whole_visible_body() -> None:
    runner = synthetic_runner_pose(1, width=640, height=480)
    xy_r, vis_r = runner.xy[0], runner.visibility[0]
    cut = xy_r + np.array([200.0, 150.0])  # a bystander pushed off the bottom edge: legs out of frame
    assert runner_score(xy_r, vis_r, width=640, height=480) > runner_score(cut, vis_r, width=640, height=480)
    assert choose_runner([(cut, vis_r), (xy_r, vis_r)], width=640, height=480) == 1


def test_mask_outside_keeps_only_the_region() -> None:
    img = np.full((40, 60, 3), 200, np.uint8)
    mask_outside(img, (10, 5, 30, 25))
    assert (img[5:25, 10:30] == 200).all()
    assert (img[:5] == 127).all() and (img[25:] == 127).all() and (img[:, :10] == 127).all()
    box = landmark_box(np.array([[1.0, 2.0], [5.0, 9.0], [np.nan, np.nan], [3, 3], [4, 4]]), np.ones(5))
    assert box == (1.0, 2.0, 5.0, 9.0)
    assert grow_box(box, margin_frac=0.5, width=8, height=100) == (0.0, 0.0, 8.0, 12.5)


class _TwoPeopleDetector:
    def __init__(self, runner: np.ndarray, other: np.ndarray, vis: np.ndarray) -> None:
        self.people = [(other, vis), (runner, vis)]
        self.calls = 0

    def detect_people(self, rgb, max_people=3):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.people[:max_people]

    def close(self) -> None:
        pass


class _SeesWhatIsNotMasked:
    """Reports the bystander whenever the bystander's pixels are visible, else the runner."""

    name = "sees"

    def __init__(self, runner: np.ndarray, other: np.ndarray, vis: np.ndarray) -> None:
        self.runner, self.other, self.vis = runner, other, vis

    def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
        x, y = self.other[23].astype(int)
        if rgb[y, x, 0] != 127:
            return self.other.copy(), self.vis, None
        return self.runner.copy(), self.vis, None

    def close(self) -> None:
        pass


def test_tracker_picks_runner_and_masks_bystander() -> None:
    runner = synthetic_runner_pose(1, width=640, height=480).xy[0] * 0.5  # in the left half, whole body
    other = runner + np.array([380.0, 300.0])  # bystander at the right, legs below the frame
    vis = np.full(N_LANDMARKS, 0.9)
    det = _TwoPeopleDetector(runner, other, vis)
    tracker = RunnerTracker(_SeesWhatIsNotMasked(runner, other, vis), det)
    for _ in range(5):
        xy, _v, _w = tracker.estimate(np.full((480, 640, 3), 255, np.uint8), 0.0)
        assert np.allclose(xy, runner, equal_nan=True)
    assert det.calls == 1 and tracker.n_people_seen == 2


def test_tracker_rejects_jumps_and_reacquires() -> None:
    runner = synthetic_runner_pose(1, width=640, height=480).xy[0] * 0.5
    vis = np.full(N_LANDMARKS, 0.9)
    far = runner + np.array([300.0, 0.0])
    seq = [runner, runner, far, far, far]

    class Scripted:
        name = "scripted"

        def __init__(self) -> None:
            self.k = 0

        def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
            self.k += 1
            return seq[self.k - 1].copy(), vis, None

        def close(self) -> None:
            pass

    det = _TwoPeopleDetector(runner, runner, vis)
    det.people = [(runner, vis)]
    tracker = RunnerTracker(Scripted(), det, lost_after_frames=2)
    out = [tracker.estimate(np.zeros((480, 640, 3), np.uint8), 0.0)[0] for _ in range(5)]
    assert np.isfinite(out[0][23:]).all() and np.isfinite(out[1][23:]).all()
    assert np.isnan(out[2]).all() and np.isnan(out[3]).all()  # jump rejected, then lost
    assert det.calls == 2  # re-acquired after two lost frames


def test_estimate_pose_non_video(tmp_path: Path) -> None:
    p = tmp_path / "run.mp4"
    p.write_text("frame,time\n" * 200)
    with pytest.raises(VideoUnreadable, match="not a readable video") as err:
        estimate_pose(p, estimator=FakePoseEstimator(synthetic_runner_pose(3)))
    assert "\n" not in str(err.value) and "—" in str(err.value)


def test_estimate_pose_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "run.mp4"
    p.touch()
    with pytest.raises(VideoUnreadable, match="empty"):
        estimate_pose(p, estimator=FakePoseEstimator(synthetic_runner_pose(3)))


def test_estimate_pose_truncated_mp4(tmp_path: Path) -> None:
    data = (DATA / "video" / "treadmill" / "IMG_5396.mp4").read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(VideoUnreadable, match="truncated") as err:
        estimate_pose(p, estimator=FakePoseEstimator(synthetic_runner_pose(3)))
    assert "copy the recording again" in str(err.value)


def test_estimate_pose_no_person_with_mediapipe(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(8)]
    frames += [np.full((120, 160, 3), 180, np.uint8)] * 8
    p = write_video(tmp_path / "nobody.mp4", frames, fps=30.0)
    with pytest.raises(NoRunnerFound, match="no person") as err:
        estimate_pose(p, workers=1)
    assert "whole body" in str(err.value) and "\n" not in str(err.value)


def test_a_failing_worker_stops_the_others(tmp_path: Path) -> None:
    video = write_video(tmp_path / "n.mp4", numbered_frames(120, height=32, width=64), fps=30.0, gop=10)
    made: list[FrameNumberEstimator] = []

    class Failing(FrameNumberEstimator):
        def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
            k = read_frame_number(rgb)
            if k == 70:
                raise RuntimeError("estimator crashed")
            return super().estimate(rgb, time_s)

    def factory() -> FrameNumberEstimator:
        made.append(Failing())
        return made[-1]

    with pytest.raises(RuntimeError, match="crashed"):
        estimate_pose(video, estimator_factory=factory, workers=2, min_segment_frames=20)
    assert all(e.closed for e in made)
