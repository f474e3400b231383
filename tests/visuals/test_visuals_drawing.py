"""Skeleton/angle drawing, key-frame choice and the annotated video (generated video + synthetic runner)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from backtorun.conventions import LANDMARK_INDEX as LI
from backtorun.pose.synth import synthetic_runner_pose, write_video
from backtorun.types import GaitAnalysis, GaitEvent, GaitEvents, VideoInfo
from backtorun.visuals.annotate import write_annotated_video
from backtorun.visuals.keyframes import KeyFrame, knee_flexion_deg, pick_keyframes, render_keyframe
from backtorun.visuals.skeleton import LEFT_COLOR, draw_skeleton


def _analysis(n_frames: int = 60, fps: float = 30.0) -> GaitAnalysis:
    ev = []
    for k, f in enumerate(range(3, n_frames - 6, 10)):
        side = "L" if k % 2 == 0 else "R"
        ev.append(GaitEvent(side, "near" if side == "L" else "far", "IC", f, f / fps, 0.9))
        ev.append(GaitEvent(side, "near" if side == "L" else "far", "TO", f + 4, (f + 4) / fps, 0.8))
    rows = []
    for side in ("L", "R"):
        ics = [e.frame for e in ev if e.side == side and e.kind == "IC"]
        for j, (a, b) in enumerate(zip(ics, ics[1:])):
            rows.append({"side": side, "start_frame": a, "end_frame": b, "valid": True,
                         "knee_flexion_ic_deg": 10.0 + 5 * j, "thigh_extension_deg": 20.0 - 3 * j})
    info = VideoInfo(path="synthetic.mp4", fps=fps, n_frames=n_frames, width=320, height=240)
    return GaitAnalysis(video=info, view="side", events=GaitEvents(tuple(ev)), strides=pd.DataFrame(rows),
                        summary={}, quality_flags=(), running_direction="right")


def test_draw_skeleton_draws_left_in_its_colour() -> None:
    pose = synthetic_runner_pose(1, width=320, height=240)
    img = np.zeros((240, 320, 3), np.uint8)
    draw_skeleton(img, pose.xy[0], pose.visibility[0])
    mid = ((pose.xy[0, LI["left_knee"]] + pose.xy[0, LI["left_ankle"]]) / 2).round().astype(int)
    patch = img[mid[1] - 2: mid[1] + 3, mid[0] - 2: mid[0] + 3].reshape(-1, 3)
    assert any(np.abs(p.astype(int) - LEFT_COLOR).sum() < 60 for p in patch)
    blank = np.zeros_like(img)
    draw_skeleton(blank, pose.xy[0], np.zeros_like(pose.visibility[0]))  # nothing visible: nothing drawn
    assert blank.sum() == 0


def test_knee_flexion_formula() -> None:
    assert knee_flexion_deg(np.array([0.0, 0.0]), np.array([0.0, 1.0]), np.array([0.0, 2.0])) == pytest.approx(0, abs=1e-3)
    assert knee_flexion_deg(np.array([0.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0])) == pytest.approx(90)


def test_pick_keyframes_uses_median_stride() -> None:
    ga = _analysis()
    kfs = {k.name: k for k in pick_keyframes(ga)}
    assert set(kfs) == {"IC_L", "TO_L", "IC_R", "TO_R"}
    left = ga.strides[ga.strides.side == "L"]
    med = float(np.median(left.knee_flexion_ic_deg))
    row = left.iloc[int(np.argmin(np.abs(left.knee_flexion_ic_deg - med)))]
    assert kfs["IC_L"].frame == int(row.start_frame)
    assert kfs["IC_L"].stride_value == pytest.approx(row.knee_flexion_ic_deg)
    to = kfs["TO_L"]
    assert to.metric == "thigh_extension_deg"
    assert any(e.frame == to.frame and e.kind == "TO" and e.side == "L" for e in ga.events)


def test_pick_keyframes_without_stride_table() -> None:
    ga = _analysis()
    bare = GaitAnalysis(video=ga.video, view="side", events=ga.events, strides=pd.DataFrame(), summary={},
                        quality_flags=())
    kfs = pick_keyframes(bare)
    assert len(kfs) == 4 and all(k.metric is None for k in kfs)


def test_render_keyframe_without_video_is_a_cropped_picture() -> None:
    pose = synthetic_runner_pose(10, width=640, height=480)
    img = render_keyframe(pose, KeyFrame("L", "IC", 4, "knee_flexion_ic_deg", 12.0), direction="right")
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert img.std() > 5  # something was drawn


def test_annotated_video_streams_every_frame(tmp_path: Path) -> None:
    n = 60
    pose = synthetic_runner_pose(n, fps=30.0, width=320, height=240)
    frames = [np.full((240, 320, 3), 30, np.uint8) for _ in range(n)]
    video = write_video(tmp_path / "in.mp4", frames, fps=30.0)
    calls: list[int] = []
    out, grabbed = write_annotated_video(video, pose, _analysis(n).events, tmp_path / "ann.mp4", grab=[5, 17],
                                         progress=lambda d, t: calls.append(d))
    assert out.exists() and not (tmp_path / "ann.part.mp4").exists()
    assert set(grabbed) == {5, 17} and grabbed[5].mean() == pytest.approx(30, abs=3)  # originals, unannotated
    assert calls[-1] == n
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
    assert len(decoded) == n and decoded[0].shape == (240, 320, 3)
    assert decoded[10].mean() > 31  # skeleton and text drawn over the plain grey


def test_annotated_video_is_scaled_to_720_px_and_keeps_the_aspect(tmp_path: Path) -> None:
    n = 12
    pose = synthetic_runner_pose(n, fps=30.0, width=1280, height=720)
    video = write_video(tmp_path / "hd.mp4", [np.full((720, 1280, 3), 60, np.uint8)] * n, fps=30.0)
    out, _ = write_annotated_video(video, pose, (), tmp_path / "ann.mp4")
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        first = next(c.decode(s))
        assert first.width == 720 and first.height in (404, 406)  # longer side 720, even sizes, 16:9 kept
        assert s.codec_context.name == "h264"
