"""Use case: a treadmill video (or a keypoint file) → GaitAnalysis + output files in a folder."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from backtorun.pipeline import analyze_pose
from backtorun.settings import AnalysisSettings
from backtorun.types import GaitAnalysis, PoseSeries, VideoInfo

if TYPE_CHECKING:
    from backtorun.visuals.preview import PreviewRecorder

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
KEYPOINT_SUFFIXES = (".npz", ".csv", ".json")


def is_keypoint_input(path: str | Path) -> bool:
    """True for keypoint inputs: a .npz/.csv/.json file or a folder (OpenPose JSON per frame)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in KEYPOINT_SUFFIXES


def _write(analysis: GaitAnalysis, pose: PoseSeries, out_dir: str | Path, *, video: str | Path | None,
           annotate: bool, progress: Progress | None, preview: PreviewRecorder | None = None) -> None:
    from backtorun.outputs import write_analysis_outputs

    write_analysis_outputs(analysis, pose, out_dir, video_path=video, annotate=annotate, progress=progress,
                           preview=preview)


def analyze_video_file(video: str | Path, out_dir: str | Path, *, view: str = "auto", height_cm: float | None = None,
                       speed_mps: float | None = None, settings: AnalysisSettings | None = None,
                       progress: Callable[[int, int], None] | None = None, annotate: bool = True,
                       capture_fps: float | None = None) -> GaitAnalysis:
    """Pose estimation, analysis and all outputs (analysis.json, strides.csv, annotated video, key frames).

    ``capture_fps``: true capture rate of a slow-motion clip (time is rescaled; see pipeline.analyze_pose).
    With ``annotate``, the pose pass also records the annotated video's frames at its size (a temporary
    preview, see :mod:`backtorun.visuals.preview`), so the video is decoded only once.
    Raises VideoUnreadable, NoRunnerFound, CaptureUnsuitable or TooFewStrides with a one-line hint."""
    from backtorun.pose import estimate_pose, read_video_info
    from backtorun.visuals.annotate import ANNOTATED_MAX_SIDE
    from backtorun.visuals.preview import PreviewRecorder

    info = read_video_info(video)
    folder = tempfile.TemporaryDirectory(prefix="backtorun-preview-") if annotate else contextlib.nullcontext()
    with folder as tmp:
        preview = PreviewRecorder(tmp, fps=info.fps or 30.0, max_side=ANNOTATED_MAX_SIDE) if tmp else None
        pose = estimate_pose(video, progress=progress, frame_sink=preview)
        vinfo = VideoInfo(path=str(video), fps=info.fps, n_frames=info.n_frames or pose.n_frames, width=info.width,
                          height=info.height, rotation_deg=info.rotation_deg, duration_s=info.duration_s,
                          codec=info.codec)
        analysis = analyze_pose(pose, settings=settings, view=view, height_cm=height_cm, speed_mps=speed_mps,
                                video_info=vinfo, capture_fps=capture_fps)
        _write(analysis, pose, out_dir, video=video, annotate=annotate, progress=progress, preview=preview)
    return analysis


def analyze_keypoints_file(path: str | Path, out_dir: str | Path, *, fps: float | None = None, view: str = "auto",
                           height_cm: float | None = None, speed_mps: float | None = None,
                           settings: AnalysisSettings | None = None, capture_fps: float | None = None) -> GaitAnalysis:
    """Analysis of a saved pose (.npz), a keypoint CSV or an OpenPose JSON folder; writes analysis.json,
    strides.csv and key frames on a blank canvas."""
    from backtorun.pose import load_keypoints

    pose = load_keypoints(path, fps=fps)
    analysis = analyze_pose(pose, settings=settings, view=view, height_cm=height_cm, speed_mps=speed_mps,
                            capture_fps=capture_fps)
    _write(analysis, pose, out_dir, video=None, annotate=False, progress=None)
    return analysis
