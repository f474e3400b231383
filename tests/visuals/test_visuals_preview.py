"""The preview recorded during the pose pass: every analysed frame once, in order, and the annotated video made
from it matches the one made by decoding the original again."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from backtorun.conventions import N_LANDMARKS
from backtorun.pose import estimate_pose
from backtorun.pose.synth import numbered_frames, read_frame_number, synthetic_runner_pose, write_video
from backtorun.types import GaitEvent
from backtorun.visuals.annotate import write_annotated_video
from backtorun.visuals.preview import PreviewRecorder


class _FrameNumberEstimator:
    """Landmarks that encode the frame number the estimator sees (to check what the preview holds)."""

    name = "frame-number"

    def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
        xy = np.full((N_LANDMARKS, 2), float(read_frame_number(rgb)))
        return xy, np.full(N_LANDMARKS, 0.9), None

    def close(self) -> None:
        pass


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


@pytest.mark.parametrize("memory_mb", [0.0, 0.3, 256.0])  # all encoded to files; mixed; all kept in memory
def test_preview_holds_every_analysed_frame_once_in_order(tmp_path: Path, memory_mb: float) -> None:
    n = 150  # 96×32 frames: 4,608 bytes each in I420, so 0.3 MB hold 68 of them
    video = write_video(tmp_path / "n.mp4", numbered_frames(n, height=32, width=96), fps=30.0, gop=10)
    recorder = PreviewRecorder(tmp_path, fps=30.0, max_side=720, memory_mb=memory_mb)
    pose = estimate_pose(video, estimator_factory=_FrameNumberEstimator, workers=3, min_segment_frames=40,
                         frame_sink=recorder)
    in_memory = min(n, int(memory_mb * 2**20) // 4608)
    assert recorder.frames_in_memory == in_memory
    files = list(tmp_path.glob("preview-*.mp4"))
    if memory_mb == 0:
        assert len(files) == 3  # one file per segment
    elif in_memory == n:
        assert not files  # a segment writes a file only once the memory budget is spent
    else:
        assert 1 <= len(files) <= 3
    assert recorder.frame_indices == list(range(n))  # warm-up frames before a segment are not recorded
    assert recorder.covers(pose.frame_index)
    frames = list(recorder.frames(pose.time_s))
    assert [f.index for f in frames] == list(range(n))
    assert [read_frame_number(f.rgb) for f in frames] == list(range(n))  # the picture is that frame's
    assert np.allclose([f.time_s for f in frames], pose.time_s)


def test_preview_is_scaled_to_the_annotated_size(tmp_path: Path) -> None:
    video = write_video(tmp_path / "hd.mp4", [np.full((720, 1280, 3), 60, np.uint8)] * 6, fps=30.0)
    recorder = PreviewRecorder(tmp_path, fps=30.0, max_side=640)
    pose = estimate_pose(video, estimator_factory=_FrameNumberEstimator, frame_sink=recorder)
    frames = list(recorder.frames(pose.time_s))
    assert len(frames) == 6 and frames[0].rgb.shape == (360, 640, 3)
    assert frames[0].scale == pytest.approx(0.5)
    assert frames[0].rgb.mean() == pytest.approx(60, abs=2)


@pytest.mark.parametrize("memory_mb", [0.0, 256.0])  # preview encoded to a file; kept in memory
def test_annotated_video_from_the_preview_matches_a_second_decode(tmp_path: Path, memory_mb: float) -> None:
    n = 48
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    frames = [np.roll(base, 4 * k, axis=1) for k in range(n)]  # textured and moving: compression has work to do
    video = write_video(tmp_path / "in.mp4", frames, fps=30.0)
    recorder = PreviewRecorder(tmp_path, fps=30.0, max_side=720, memory_mb=memory_mb)
    pose = estimate_pose(video, estimator_factory=_FrameNumberEstimator, frame_sink=recorder)
    stick = synthetic_runner_pose(n, fps=30.0, width=320, height=240)
    pose.xy[:], pose.visibility[:] = stick.xy, stick.visibility
    events = [GaitEvent("L", "near", "IC", 10, pose.time_s[10], 0.9), GaitEvent("L", "near", "TO", 20,
                                                                                pose.time_s[20], 0.9)]
    a, grab_a = write_annotated_video(video, pose, events, tmp_path / "a.mp4", grab=[12], preview=recorder)
    b, grab_b = write_annotated_video(video, pose, events, tmp_path / "b.mp4", grab=[12])
    va, vb = _decode(a), _decode(b)
    assert len(va) == len(vb) == n and va[0].shape == vb[0].shape
    diff = np.mean([np.abs(x.astype(int) - y.astype(int)).mean() for x, y in zip(va, vb)])
    assert diff < 8  # the same pictures and drawings; only compression differs (noise-like texture: worst case)
    assert np.abs(grab_a[12].astype(int) - grab_b[12].astype(int)).mean() < 8


def test_a_preview_without_the_pose_frames_falls_back_to_decoding(tmp_path: Path) -> None:
    n = 20
    video = write_video(tmp_path / "in.mp4", [np.full((48, 64, 3), 90, np.uint8)] * n, fps=30.0)
    recorder = PreviewRecorder(tmp_path, fps=30.0, max_side=720)
    estimate_pose(video, estimator_factory=_FrameNumberEstimator, max_frames=10, frame_sink=recorder)
    pose = synthetic_runner_pose(n, fps=30.0, width=64, height=48)
    assert not recorder.covers(pose.frame_index)
    out, _ = write_annotated_video(video, pose, (), tmp_path / "ann.mp4", preview=recorder)
    assert len(_decode(out)) == n


def test_frame_sink_needs_threads(tmp_path: Path) -> None:
    video = write_video(tmp_path / "in.mp4", [np.full((48, 64, 3), 90, np.uint8)] * 4, fps=30.0)
    with pytest.raises(ValueError, match="threads"):
        estimate_pose(video, parallel="processes", frame_sink=PreviewRecorder(tmp_path, fps=30.0, max_side=720))


def test_small_i420_copy_follows_the_display_rotation_and_keeps_colours(tmp_path: Path) -> None:
    from backtorun.pose import iter_frames

    img = np.zeros((240, 320, 3), np.uint8)
    img[:] = (30, 60, 220)
    img[:60, :80] = (255, 0, 0)  # red block top-left of the stored (landscape) image
    path = write_video(tmp_path / "portrait.mp4", [img] * 4, rotation_deg=-90)  # shown as portrait
    frame = next(iter(iter_frames(path, preview_side=160)))
    assert frame.preview is not None and frame.preview.shape == (160 * 3 // 2, 120)  # portrait, longer side 160
    rgb = av.VideoFrame.from_ndarray(frame.preview, format="yuv420p").to_ndarray(format="rgb24")
    small = frame.rgb[::2, ::2].astype(int)  # the full-size decoded image, halved
    assert np.abs(rgb[10:-10, 10:-10].astype(int) - small[10:-10, 10:-10]).mean() < 6
    assert rgb[:20, -20:].mean(axis=(0, 1))[0] > 200  # turned 90° clockwise like the RGB image: top-right, red
    assert np.abs(rgb[100, 40].astype(int) - (30, 60, 220)).max() < 12


def test_rgb_to_video_frame_decodes_back_to_the_same_colours() -> None:
    from backtorun.visuals.video_writer import rgb_to_video_frame

    img = np.zeros((72, 40, 3), np.uint8)
    img[:24], img[24:48], img[48:] = (255, 0, 0), (0, 200, 50), (30, 60, 220)
    back = rgb_to_video_frame(img).to_ndarray(format="rgb24")
    assert back.shape == img.shape
    assert np.abs(back[[10, 36, 60], 20].astype(int) - img[[10, 36, 60], 20]).max() <= 2


def test_opencv_single_threaded_restores_the_setting_after_the_last_user() -> None:
    import cv2

    from backtorun.pose.estimate import opencv_single_threaded

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        with opencv_single_threaded():
            assert cv2.getNumThreads() == 1
            with opencv_single_threaded():
                assert cv2.getNumThreads() == 1
            assert cv2.getNumThreads() == 1  # still in use by the outer one
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


def test_preview_parts_are_annotated_in_parallel_and_joined_in_order(tmp_path: Path) -> None:
    n = 150
    video = write_video(tmp_path / "n.mp4", numbered_frames(n, height=64, width=96), fps=30.0, gop=10)
    recorder = PreviewRecorder(tmp_path, fps=30.0, max_side=720, memory_mb=0.5)  # ≈ half in memory
    pose = estimate_pose(video, estimator_factory=_FrameNumberEstimator, workers=3, min_segment_frames=40,
                         frame_sink=recorder)
    assert len(recorder.part_frames(pose.time_s)) == 3 and 0 < recorder.frames_in_memory < n
    pose.xy[:] = np.nan  # no skeleton over the frame numbers
    ticks: list[int] = []
    out, grabbed = write_annotated_video(video, pose, (), tmp_path / "ann.mp4", grab=[5, 100], preview=recorder,
                                         progress=lambda d, t: ticks.append(d))
    assert sorted(grabbed) == [5, 100] and read_frame_number(grabbed[100]) == 100
    assert sorted(ticks) == list(range(1, n + 1))
    assert not list(tmp_path.glob("ann.part*"))  # the parts are gone once joined
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        decoded = [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(s)]
    assert [read_frame_number(img) for _pts, img in decoded] == list(range(n))  # every frame once, in order
    steps = np.diff([pts for pts, _img in decoded])
    assert (steps > 0).all() and steps.min() == steps.max()  # the joined parts follow on at the frame rate
