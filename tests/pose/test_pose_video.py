"""Decoding: rotation, true timestamps, segments/seek, prefetch, and bad files (generated videos)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtorun.errors import VideoUnreadable
from backtorun.pose import iter_frames, read_video_info
from backtorun.pose.synth import loop_video, numbered_frames, read_frame_number, write_video
from backtorun.pose.video import (
    build_frame_index,
    check_complete,
    display_rotation_deg,
    index_times_s,
    missing_frames,
    rotate_image,
    segment_mismatch,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _marked_frames(n: int) -> list[np.ndarray]:
    return numbered_frames(n)


def _frame_number(rgb: np.ndarray) -> int:
    return read_frame_number(rgb)


def test_portrait_phone_rotation_is_applied(tmp_path: Path) -> None:
    path = write_video(tmp_path / "portrait.mp4", _marked_frames(6), rotation_deg=-90)  # iPhone portrait
    info = read_video_info(path)
    assert (info.width, info.height) == (32, 64)
    assert info.rotation_deg == 270
    frame = next(iter(iter_frames(path)))
    assert frame.rgb.shape == (64, 32, 3)
    # turned 90° clockwise for display: the top-left block is now top-right
    assert frame.rgb[:6, -6:].mean() > 200
    assert frame.rgb[:6, :6].mean() < 100


def test_rotation_conventions() -> None:
    assert display_rotation_deg(-90) == 270
    assert display_rotation_deg(90) == 90
    assert display_rotation_deg(-180) == 180
    assert display_rotation_deg(0, "90") == 270  # legacy tag counts clockwise
    img = np.arange(6).reshape(2, 3)
    assert rotate_image(img, 90).shape == (3, 2)
    assert rotate_image(img, 90)[0, 0] == 2  # counter-clockwise: top-right corner goes to top-left


def test_true_timestamps_of_variable_frame_rate(tmp_path: Path) -> None:
    times = [0.0, 0.030, 0.050, 0.100, 0.133, 0.200, 0.210, 0.300]
    path = write_video(tmp_path / "vfr.mp4", _marked_frames(len(times)), times_s=times)
    frames = list(iter_frames(path))
    assert [f.index for f in frames] == list(range(len(times)))
    assert np.allclose([f.time_s for f in frames], times, atol=1e-3)


def test_segment_decode_matches_full_decode(tmp_path: Path) -> None:
    path = write_video(tmp_path / "gop.mp4", _marked_frames(25), gop=5)
    index = build_frame_index(path)
    assert index.n_frames == 25 and index.keyframes[:3] == (0, 5, 10)
    full = [(f.index, round(f.time_s, 6), _frame_number(f.rgb)) for f in iter_frames(path)]
    assert [k for _, _, k in full] == list(range(25))
    part = [(f.index, round(f.time_s, 6), _frame_number(f.rgb))
            for f in iter_frames(path, start_frame=7, stop_frame=13, index=index)]
    assert part == full[7:13]
    ahead = [(f.index, round(f.time_s, 6), _frame_number(f.rgb)) for f in iter_frames(path, prefetch=3)]
    assert ahead == full


def test_loop_video_repeats_the_clip(tmp_path: Path) -> None:
    src = write_video(tmp_path / "clip.mp4", _marked_frames(10), gop=5)
    long = loop_video(src, tmp_path / "long.mp4", repeats=3)
    frames = list(iter_frames(long))
    assert len(frames) == 30
    assert [_frame_number(f.rgb) for f in frames] == list(range(10)) * 3
    assert np.all(np.diff([f.time_s for f in frames]) > 0)


def test_not_a_video_file(tmp_path: Path) -> None:
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoUnreadable, match="not a readable video"):
        read_video_info(p)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(VideoUnreadable, match="empty"):
        read_video_info(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoUnreadable, match="not found"):
        read_video_info(tmp_path / "nope.mp4")


@pytest.mark.parametrize("name", ["IMG_5396.mp4", "mini_run.mp4"])
def test_truncated_copy_is_refused(tmp_path: Path, name: str) -> None:
    data = (DATA / "video" / "treadmill" / name).read_bytes()
    p = tmp_path / f"cut_{name}"
    p.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(VideoUnreadable, match="truncated") as err:
        check_complete(p, build_frame_index(p))
    assert "\n" not in str(err.value)


def test_only_selected_frames_are_yielded(tmp_path: Path) -> None:
    path = write_video(tmp_path / "sel.mp4", _marked_frames(20), gop=5)
    got = [(f.index, _frame_number(f.rgb)) for f in iter_frames(path, only={3, 11, 12}, start_frame=2)]
    assert got == [(3, 3), (11, 11), (12, 12)]
    small = next(iter(iter_frames(path, max_side=32)))
    assert small.rgb.shape == (16, 32, 3) and small.scale == 0.5


def test_seeking_into_a_real_clip_gives_identical_frames() -> None:
    # IMG_5396 has B-frames and key frames only at 0 and 250: reaching frame 213 passes over many
    # non-reference frames, which are skipped, not decoded
    path = DATA / "video" / "treadmill" / "IMG_5396.mp4"
    index = build_frame_index(path)
    full = {f.index: f.rgb for f in iter_frames(path, only={61, 95, 213, 214, 215, 300})}  # sequential
    part = {f.index: f.rgb for f in iter_frames(path, start_frame=213, stop_frame=216, index=index)}
    assert set(part) == {213, 214, 215}
    assert all(np.array_equal(full[k], part[k]) for k in part)
    # scattered frames picked with the index: non-reference frames in between are skipped, not decoded
    picked = {f.index: f.rgb for f in iter_frames(path, only={61, 95, 213, 300}, start_frame=61, index=index)}
    assert set(picked) == {61, 95, 213, 300}
    assert all(np.array_equal(full[k], picked[k]) for k in picked)


def test_segment_mismatch_names_count_order_and_time_problems(tmp_path: Path) -> None:
    path = write_video(tmp_path / "m.mp4", _marked_frames(20), gop=5)
    index = build_frame_index(path)
    times = index_times_s(index)
    assert np.allclose(times, np.arange(20) / 30.0)
    idx = np.arange(5, 15)
    assert segment_mismatch(index, 5, 15, idx, times[idx]) is None
    short = np.delete(idx, [3, 5])
    assert "2 missing, first missing frame 8" in segment_mismatch(index, 5, 15, short, times[short])
    swapped = idx.copy()
    swapped[[2, 3]] = swapped[[3, 2]]
    assert segment_mismatch(index, 5, 15, swapped, times[swapped]) is not None  # out of order
    twice = np.r_[idx[:-1], idx[-2]]
    assert segment_mismatch(index, 5, 15, twice, times[twice]) is not None  # a frame twice, one missing
    late = times[idx].copy()
    late[4] += 1 / 30.0
    assert "frame 9" in segment_mismatch(index, 5, 15, idx, late)
    assert segment_mismatch(index, 5, 15, idx, np.where(idx == 7, np.nan, times[idx])) is not None
    assert np.array_equal(missing_frames(6, np.array([0, 2, 3, 5])), [1, 4])


def test_frames_expected_survives_save_and_load(tmp_path: Path) -> None:
    from backtorun.capture import undecoded_frames_flag
    from backtorun.pose.synth import synthetic_runner_pose
    from backtorun.types import PoseSeries

    pose = synthetic_runner_pose(30)
    keep = np.r_[0:10, 12:30]
    gappy = pose.replace(xy=pose.xy[keep], visibility=pose.visibility[keep], time_s=pose.time_s[keep],
                         frame_index=pose.frame_index[keep], frames_expected=30)
    back = PoseSeries.load(gappy.save(tmp_path / "p.npz"))
    assert back.frames_expected == 30
    flag = undecoded_frames_flag(back)
    assert flag is not None and "2 of the video's 30 frames" in flag.message and "first: frame 10" in flag.message
    assert PoseSeries.load(pose.save(tmp_path / "q.npz")).frames_expected is None
    assert undecoded_frames_flag(pose) is None  # unknown (keypoint files): never flagged
    assert undecoded_frames_flag(pose.replace(frames_expected=30)) is None
