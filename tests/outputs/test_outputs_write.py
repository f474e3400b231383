"""write_analysis_outputs: every file written, JSON schema, atomic writes, with and without video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from backtorun.outputs import write_analysis_outputs
from backtorun.pose.synth import synthetic_runner_pose, write_video
from backtorun.types import GaitAnalysis, GaitEvent, GaitEvents, MetricSummary, PoseSeries, QualityFlag, VideoInfo


def _analysis(pose: PoseSeries, video: str) -> GaitAnalysis:
    ev = []
    for k, f in enumerate(range(2, pose.n_frames - 6, 9)):
        side = "L" if k % 2 == 0 else "R"
        ev += [GaitEvent(side, "near", "IC", f, float(pose.time_s[f]), 0.9),
               GaitEvent(side, "near", "TO", f + 4, float(pose.time_s[f + 4]), 0.7)]
    rows = [{"side": s, "start_frame": e.frame, "end_frame": e.frame + 18, "knee_flexion_ic_deg": 10.0 + i,
             "thigh_extension_deg": 15.0 + i, "contact_time_ms": float("nan")}
            for i, (s, e) in enumerate((e.side, e) for e in ev if e.kind == "IC")]
    info = VideoInfo(path=video, fps=pose.fps, n_frames=pose.n_frames, width=pose.width, height=pose.height)
    return GaitAnalysis(video=info, view="side", events=GaitEvents(tuple(ev)), strides=pd.DataFrame(rows),
                        summary={"cadence_spm": MetricSummary("cadence_spm", 172.0, 2.0, 1.2, 8)},
                        quality_flags=(QualityFlag("few_strides", "only 4 strides per side"),),
                        running_direction="right")


@pytest.fixture()
def clip(tmp_path: Path) -> tuple[Path, PoseSeries]:
    pose = synthetic_runner_pose(48, fps=30.0, width=320, height=240)
    video = write_video(tmp_path / "clip.mp4", [np.full((240, 320, 3), 60, np.uint8)] * 48, fps=30.0)
    return video, pose


def test_all_outputs_with_video(tmp_path: Path, clip: tuple[Path, PoseSeries]) -> None:
    video, pose = clip
    ga = _analysis(pose, str(video))
    out = tmp_path / "out"
    paths = write_analysis_outputs(ga, pose, out, video_path=video)
    assert {"analysis", "strides", "pose", "annotated_video", "keyframe_IC_L", "keyframe_TO_L",
            "keyframe_IC_R", "keyframe_TO_R"} <= set(paths)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    doc = json.loads(paths["analysis"].read_text())
    assert doc["schema"].startswith("backtorun.analysis/")
    assert doc["summary"]["cadence_spm"] == 172.0
    assert doc["quality"]["flags"][0]["code"] == "few_strides"
    assert len(doc["events"]) == len(ga.events) and doc["strides"][0]["contact_time_ms"] is None
    assert pd.read_csv(paths["strides"]).shape[0] == len(ga.strides)
    assert np.allclose(PoseSeries.load(paths["pose"]).xy, pose.xy, equal_nan=True, atol=1e-3)
    img = cv2.imread(str(paths["keyframe_IC_L"]))
    assert img is not None and img.shape[0] > 100
    assert not [p for p in out.rglob("*") if ".part" in p.name or p.name.endswith(".tmp")]


def test_outputs_without_video_draw_on_blank_canvas(tmp_path: Path, clip: tuple[Path, PoseSeries]) -> None:
    _video, pose = clip
    paths = write_analysis_outputs(_analysis(pose, "keypoints.csv"), pose, tmp_path / "o")
    assert "annotated_video" not in paths and "keyframe_TO_R" in paths
    assert cv2.imread(str(paths["keyframe_TO_R"])) is not None


def test_no_annotation_still_uses_video_frames(tmp_path: Path, clip: tuple[Path, PoseSeries]) -> None:
    video, pose = clip
    paths = write_analysis_outputs(_analysis(pose, str(video)), pose, tmp_path / "o", video_path=video,
                                   annotate=False)
    assert "annotated_video" not in paths
    img = cv2.imread(str(paths["keyframe_IC_L"]))
    # the video frames are uniform grey 60; a blank canvas would be grey 40
    centre = img.shape[1] // 2
    assert abs(float(np.median(img[5:30, centre - 5:centre + 5])) - 60) < 4


def test_analysis_json_is_replaced_atomically(tmp_path: Path, clip: tuple[Path, PoseSeries],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _video, pose = clip
    out = tmp_path / "o"
    write_analysis_outputs(_analysis(pose, "x"), pose, out, annotate=False)
    before = (out / "analysis.json").read_text()
    broken = _analysis(pose, "x")

    def boom(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("serialisation failed")

    monkeypatch.setattr(GaitAnalysis, "to_json_dict", boom)
    with pytest.raises(RuntimeError):
        write_analysis_outputs(broken, pose, out)
    assert (out / "analysis.json").read_text() == before
