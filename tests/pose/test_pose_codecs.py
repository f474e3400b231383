"""Every frame decoded exactly once, in order, with its timestamp — sequentially and in parallel segments — for
AV1, VP9, H.265 and H.264 clips encoded here with PyAV; a segment that comes back short falls back to one
sequential pass, and frames still missing become the FRAMES_NOT_DECODED quality flag in every output."""

from __future__ import annotations

import json
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from backtorun.capture import undecoded_frames_flag
from backtorun.conventions import N_LANDMARKS
from backtorun.pipeline import analyze_pose
from backtorun.pose import estimate as estimate_mod
from backtorun.pose import estimate_pose, iter_frames
from backtorun.pose.estimate import plan_segments
from backtorun.pose.segment import SegmentRows
from backtorun.pose import video as video_mod
from backtorun.pose.video import build_frame_index, index_times_s, read_video_info, segment_mismatch
from backtorun.synthetic import synthetic_run

N_FRAMES = 205  # the length of the AV1 clip that lost 35 frames in the parallel decode (issue #11)
FPS = 30
KEYINT = 24
#: Encoder, its options (key frames every KEYINT frames; B-frames / hidden frames where the codec has them) and the
#: decoder name PyAV picks for the result.
CODECS = {
    # SVT-AV1 random access with non-reference frames (what libdav1d dropped); at its default preset and CRF some
    # top-layer frames are coded in 3 bytes and lose a changed number square, so: preset 5, CRF 1
    "av1": ("libsvtav1", {"g": str(KEYINT), "preset": "5", "crf": "1"}, "libdav1d"),
    "vp9": ("libvpx-vp9", {"g": str(KEYINT), "auto-alt-ref": "1", "lag-in-frames": "16"}, "vp9"),
    "h265": ("libx265", {"x265-params": f"keyint={KEYINT}:min-keyint={KEYINT}:scenecut=0:bframes=3:log-level=error"},
             "hevc"),
    "h264": ("libx264", {"x264-params": f"keyint={KEYINT}:min-keyint={KEYINT}:scenecut=0:bframes=2"}, "h264"),
}


BIT_PX = 16  # side of one bit's square: large enough to survive every encoder at its default quality
N_BITS = 8


def _moving_frames(n: int) -> list[np.ndarray]:
    """160×96 frames: a coloured block moving back and forth (real motion for the encoder) above the frame number
    in binary (white/black ``BIT_PX`` squares along the bottom edge, read back by :func:`_number`)."""
    frames = []
    for k in range(n):
        img = np.full((96, 160, 3), 40, np.uint8)
        x = int(12 + 110 * (0.5 + 0.5 * np.sin(k / 7.0)))
        img[16:56, x:x + 24] = (200, 80 + (k % 50), 60)
        for bit in range(N_BITS):
            img[-BIT_PX:, BIT_PX * (bit + 1):BIT_PX * (bit + 2)] = 255 if (k >> bit) & 1 else 0
        frames.append(img)
    return frames


def _number(rgb: np.ndarray) -> int:
    """The frame number drawn by :func:`_moving_frames` (centre of each square)."""
    q = BIT_PX // 4
    return sum(1 << bit for bit in range(N_BITS)
               if rgb[-BIT_PX + q:-q, BIT_PX * (bit + 1) + q:BIT_PX * (bit + 2) - q].mean() > 128)


def _encode(path: Path, codec: str, frames: list[np.ndarray]) -> Path:
    encoder, options, _ = CODECS[codec]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(encoder, rate=Fraction(FPS))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = options
        for k, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("codecs")
    frames = _moving_frames(N_FRAMES)
    return {c: _encode(folder / f"clip_{c}.mp4", c, frames) for c in CODECS}


def test_the_wheel_has_every_encoder() -> None:
    """All four encoders come with PyAV's wheel (libaom-av1 and librav1e do not; SVT-AV1 encodes AV1)."""
    for encoder, _, _ in CODECS.values():
        assert av.Codec(encoder, "w").is_encoder


def _decoded(path: Path, **kw) -> list[tuple[int, float, int]]:  # type: ignore[no-untyped-def]
    return [(f.index, f.time_s, _number(f.rgb)) for f in iter_frames(path, **kw)]


@pytest.mark.parametrize("codec", list(CODECS))
def test_sequential_decode_gives_every_frame_once_with_its_time(clips: dict[str, Path], codec: str) -> None:
    path = clips[codec]
    assert read_video_info(path).codec == CODECS[codec][2]
    index = build_frame_index(path)
    assert index.n_frames == N_FRAMES and index.keyframes[:2] == (0, KEYINT)
    got = _decoded(path)
    assert [i for i, _, _ in got] == list(range(N_FRAMES))
    assert [k for _, _, k in got] == list(range(N_FRAMES))  # the picture shown is that frame's picture
    times = np.array([t for _, t, _ in got])
    assert np.allclose(times, np.arange(N_FRAMES) / FPS, atol=1e-6)
    assert np.allclose(times, index_times_s(index), atol=1e-9)


@pytest.mark.parametrize("codec", list(CODECS))
def test_parallel_segments_equal_the_sequential_decode(clips: dict[str, Path], codec: str) -> None:
    """Each segment, decoded from its key frame after a seek, gives exactly the sequential frames (the AV1 clip
    lost every other frame of its second segment before libdav1d stopped being asked to skip frames)."""
    path = clips[codec]
    index = build_frame_index(path)
    full = _decoded(path)
    for workers, min_frames in ((2, 90), (4, 40)):
        segments = plan_segments(index, N_FRAMES, workers, min_frames=min_frames)
        assert len(segments) == workers and any(0 < s.key < s.start for s in segments)
        joined = []
        for seg in segments:
            part = _decoded(path, start_frame=seg.start, stop_frame=seg.stop, index=index, prefetch=2)
            assert segment_mismatch(index, seg.start, seg.stop, np.array([i for i, _, _ in part]),
                                    np.array([t for _, t, _ in part])) is None, (codec, seg)
            joined += part
        assert joined == full


class _FrameNumber:
    """Landmark 0 carries the number written in the frame seen (so every row names the picture it came from)."""

    name = "frame-number"

    def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
        return np.full((N_LANDMARKS, 2), float(_number(rgb))), np.full(N_LANDMARKS, 0.9), None

    def close(self) -> None:
        pass


@pytest.mark.parametrize("codec", list(CODECS))
def test_estimate_pose_parallel_equals_sequential(clips: dict[str, Path], codec: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = clips[codec]
    with caplog.at_level(logging.WARNING, logger="backtorun.pose.estimate"):
        par = estimate_pose(path, estimator_factory=_FrameNumber, workers=4, min_segment_frames=40,
                            camera_motion=False)
    assert "sequential pass" not in caplog.text  # the segments matched the index: no fallback was needed
    seq = estimate_pose(path, estimator=_FrameNumber(), camera_motion=False)
    for pose in (par, seq):
        assert np.array_equal(pose.frame_index, np.arange(N_FRAMES))
        assert np.array_equal(pose.xy[:, 0, 0], np.arange(N_FRAMES))
        assert pose.frames_expected == N_FRAMES
    assert np.array_equal(par.time_s, seq.time_s)
    assert undecoded_frames_flag(par) is None


def test_the_av1_skip_bug_itself_is_caught_by_the_index_check(clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """With libdav1d asked to skip non-reference frames again (the code before the fix), its second segment comes
    back short; the check against the frame index notices and the sequential pass recovers every frame."""
    monkeypatch.setattr(video_mod, "SKIP_NONREF_DECODERS", video_mod.SKIP_NONREF_DECODERS | {"libdav1d"})
    index = build_frame_index(clips["av1"])
    short = [f.index for f in iter_frames(clips["av1"], start_frame=103, stop_frame=N_FRAMES, index=index)]
    assert len(short) < N_FRAMES - 103  # the bug, reproduced
    with caplog.at_level(logging.WARNING, logger="backtorun.pose.estimate"):
        pose = estimate_pose(clips["av1"], estimator_factory=_FrameNumber, workers=2, camera_motion=False)
    assert "does not match the frame index" in caplog.text
    assert np.array_equal(pose.frame_index, np.arange(N_FRAMES))
    assert np.array_equal(pose.xy[:, 0, 0], np.arange(N_FRAMES))
    assert undecoded_frames_flag(pose) is None


def _short_segments(drop_always: frozenset[int]):  # type: ignore[no-untyped-def]
    """A ``run_segment`` that loses every other frame of segments after the first from frame 115 on (as the AV1
    decode did), and the frames ``drop_always`` in any pass, the sequential one included."""
    real = estimate_mod.run_segment
    calls: list[tuple[int, int]] = []

    def run_segment(run, seg, est, progress, **kw):  # type: ignore[no-untyped-def]
        calls.append((seg.start, seg.stop))
        rows: SegmentRows = real(run, seg, est, progress, **kw)
        lost = np.isin(rows.index, list(drop_always))
        if seg.start > 0:
            lost |= (rows.index >= 115) & (rows.index % 2 == 1)
        keep = ~lost
        return SegmentRows(rows.xy[keep], rows.vis[keep], rows.world[keep], rows.time_s[keep], rows.index[keep],
                           rows.motion[keep])

    return run_segment, calls


def test_short_segment_falls_back_to_one_sequential_pass(clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    fake, calls = _short_segments(frozenset())
    monkeypatch.setattr(estimate_mod, "run_segment", fake)
    ticks: list[tuple[int, int]] = []
    with caplog.at_level(logging.WARNING, logger="backtorun.pose.estimate"):
        pose = estimate_pose(clips["h264"], estimator_factory=_FrameNumber, workers=2, camera_motion=False,
                             progress=lambda done, total: ticks.append((done, total)))
    assert sorted(calls) == [(0, 103), (0, N_FRAMES), (103, N_FRAMES)]  # two segments, then one full pass
    assert "does not match the frame index" in caplog.text and "45 missing" in caplog.text
    assert np.array_equal(pose.frame_index, np.arange(N_FRAMES))
    assert np.array_equal(pose.xy[:, 0, 0], np.arange(N_FRAMES))
    assert ticks[-1] == (N_FRAMES, N_FRAMES)
    assert undecoded_frames_flag(pose) is None


def test_frames_still_missing_after_the_fallback_become_a_quality_flag(
        clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    fake, calls = _short_segments(frozenset({150, 151, 152}))
    monkeypatch.setattr(estimate_mod, "run_segment", fake)
    pose = estimate_pose(clips["av1"], estimator_factory=_FrameNumber, workers=2, camera_motion=False)
    assert (0, N_FRAMES) in calls
    assert pose.n_frames == N_FRAMES - 3 and pose.frames_expected == N_FRAMES
    assert not np.isin([150, 151, 152], pose.frame_index).any()
    assert np.array_equal(pose.xy[:, 0, 0], pose.frame_index)  # every row still holds its own frame
    flag = undecoded_frames_flag(pose)
    assert flag is not None and flag.code == "FRAMES_NOT_DECODED"
    assert f"3 of the video's {N_FRAMES} frames" in flag.message and "first: frame 150" in flag.message


def _with_gap(n_lost: int) -> tuple:  # type: ignore[type-arg]
    """A synthetic 8-s run at 60 fps whose frames 200 … 200 + 2·n_lost (every other one) were not decoded."""
    pose = synthetic_run(duration_s=8, fps=60)
    lost = np.arange(200, 200 + 2 * n_lost, 2)
    keep = ~np.isin(pose.frame_index, lost)
    return pose.replace(xy=pose.xy[keep], visibility=pose.visibility[keep], time_s=pose.time_s[keep],
                        frame_index=pose.frame_index[keep], frames_expected=pose.n_frames), pose.n_frames


def test_the_flag_is_in_the_analysis_and_its_json() -> None:
    pose, n = _with_gap(35)
    analysis = analyze_pose(pose)
    flag = next(f for f in analysis.quality_flags if f.code == "FRAMES_NOT_DECODED")
    assert flag.severity == "warning" and f"35 of the video's {n} frames" in flag.message
    assert "FRAMES_NOT_DECODED" in [f["code"] for f in analysis.to_json_dict()["quality"]["flags"]]
    complete = analyze_pose(synthetic_run(duration_s=8, fps=60).replace(frames_expected=n))
    assert "FRAMES_NOT_DECODED" not in {f.code for f in complete.quality_flags}


def test_the_flag_reaches_the_cli_and_analysis_json(tmp_path: Path) -> None:
    from backtorun.cli import app

    pose, _ = _with_gap(10)
    saved = pose.save(tmp_path / "pose.npz")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["analyze", str(saved), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "FRAMES_NOT_DECODED" in result.output
    data = json.loads((out / "analysis.json").read_text())
    assert "FRAMES_NOT_DECODED" in [f["code"] for f in data["quality"]["flags"]]
