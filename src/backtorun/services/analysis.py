"""Use case: a treadmill video (or a keypoint file) → GaitAnalysis + output files in a folder."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pydantic import BaseModel, ConfigDict, Field

from backtorun.errors import InputError, VideoUnreadable
from backtorun.pipeline import VIEWS, analyze_pose
from backtorun.settings import AnalysisSettings
from backtorun.types import GaitAnalysis, PoseSeries, QualityFlag, VideoInfo

if TYPE_CHECKING:
    from backtorun.metrics.two_sided import TwoSidedMerge
    from backtorun.visuals.preview import PreviewRecorder

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
KEYPOINT_SUFFIXES = (".npz", ".csv", ".json")
__all__ = ["VIEWS", "AnalysisOptions", "analyze_video_file", "analyze_keypoints_file", "read_settings",
           "is_keypoint_input", "check_video_input", "video_info", "analyze_recording", "analyze_two_sided",
           "merge_side_clips", "SIDE_CLIP_DIRS"]
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".3gp", ".wmv", ".mpg", ".mpeg")
#: Leading bytes of still-image and document formats that are sometimes given in place of a video.
_NOT_VIDEO_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
                    b"%PDF": "a PDF document", b"PK\x03\x04": "a ZIP archive (or .xlsx/.docx)",
                    b"RIFF": None, b"BM": None}


@dataclass(frozen=True)
class AnalysisOptions:
    """What shapes one recording's analysis besides the recording itself: the view requested (auto, side, rear,
    front), the runner's height (cm) and belt speed (m/s) when known, the true capture frame rate of a slow-motion
    clip (time is rescaled, see :func:`backtorun.pipeline.slow_motion_corrected`) and the parameter tree (None:
    defaults). The CLI, the evaluation, the batch workers and the web build the same object."""

    view: str = "auto"
    height_cm: float | None = None
    speed_mps: float | None = None
    capture_fps: float | None = None
    settings: AnalysisSettings | None = None

    def analyze(self, pose: PoseSeries, video_info: VideoInfo | None = None) -> GaitAnalysis:
        """:func:`backtorun.pipeline.analyze_pose` of ``pose`` with these options."""
        return analyze_pose(pose, settings=self.settings, view=self.view, height_cm=self.height_cm,
                            speed_mps=self.speed_mps, video_info=video_info, capture_fps=self.capture_fps)


def read_settings(path: str | Path | None) -> AnalysisSettings | None:
    """The analysis settings of a ``--settings`` file (a YAML/JSON settings tree, or an earlier analysis.json
    whose recorded settings are reused); None without a file. One-line ConfigError when it is invalid."""
    from backtorun.settings import load_settings

    return load_settings(path) if path is not None else None


def video_info(path: str | Path) -> VideoInfo:
    """Container facts of a video (frame rate, size, duration) without decoding it all; VideoUnreadable when the
    file is not a video this program can read (an upload is checked with it)."""
    from backtorun.pose.video import read_video_info

    return read_video_info(path)


class VideoLimits(BaseModel):
    """Frame-size limits of a video to analyse; defaults in ``services/video_limits.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_short_side_px: int = Field(64, ge=1)
    recommended_short_side_px: int = Field(720, ge=1)


def check_frame_size(info: VideoInfo, limits: VideoLimits | None = None) -> None:
    """One-line VideoUnreadable before the pose pass when the frame's short side is below
    ``limits.min_short_side_px`` (no person can be found in it), naming the size and what to film."""
    if limits is None:
        from backtorun.config_files import load_validated

        limits = load_validated(VideoLimits, what="video limit", packaged=("backtorun.services", "video_limits.yaml"))
    if info.width and info.height and min(info.width, info.height) < limits.min_short_side_px:
        raise VideoUnreadable(
            f"{Path(info.path).name} is too small to find a person: {info.width}×{info.height} px",
            hint=f"film at least {limits.recommended_short_side_px} px on the short side (720p) with the whole runner "
                 f"in view; below {limits.min_short_side_px} px nothing can be analysed")


def is_keypoint_input(path: str | Path) -> bool:
    """True for keypoint inputs: a .npz/.csv/.json file or a folder (OpenPose JSON per frame)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in KEYPOINT_SUFFIXES


def check_video_input(video: str | Path) -> Path:
    """One-line InputError before any decoding for a missing path, a folder of videos (→ ``batch``) or a file
    that is an image or document rather than a video."""
    p = Path(video)
    if not p.exists():
        raise InputError(f"{p}: file not found", hint="check the path")
    if p.is_dir():
        videos = [q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES]
        if videos and not any(q.suffix.lower() == ".json" for q in p.iterdir()):
            raise InputError(f"{p} is a folder of {len(videos)} video(s), not one recording",
                             hint=f"analyse one video at a time, or all of them with `backtorun batch {p} --out DIR`")
        return p
    if is_keypoint_input(p):
        return p
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc.__class__.__name__})",
                         hint="check the file's permissions") from None
    for magic, what in _NOT_VIDEO_MAGIC.items():
        if what and head.startswith(magic):
            raise VideoUnreadable(f"{p.name} is {what}, not a video", hint="give the treadmill video file (e.g. .mp4, .mov)")
    return p


def _write(analysis: GaitAnalysis, pose: PoseSeries, out_dir: str | Path, *, video: str | Path | None,
           progress: Progress | None, preview: PreviewRecorder | None = None,
           source: str | Path | None = None) -> None:
    """Outputs into a fresh staging folder, published as the run of ``out_dir`` with its run.json last; the
    annotated video is written when a ``preview`` was recorded during the pose pass."""
    annotate = preview is not None
    from backtorun.outputs import write_analysis_outputs
    from backtorun.services.run_folder import publish_run, staged_run

    with staged_run(out_dir) as stage:
        write_analysis_outputs(analysis, pose, stage, video_path=video, annotate=annotate, progress=progress,
                               preview=preview)
        publish_run(stage, out_dir, kind="analysis", inputs=[source or video] if (source or video) else (),
                    extra={"view": analysis.view, "quality_flags": [f.code for f in analysis.quality_flags]})


def analyze_video_file(video: str | Path, out_dir: str | Path, options: AnalysisOptions | None = None, *,
                       progress: Callable[[int, int], None] | None = None, annotate: bool = True) -> GaitAnalysis:
    """Pose estimation, analysis and all outputs (analysis.json, strides.csv, annotated video, key frames).

    ``options``: view, height, speed, capture frame rate and settings (:class:`AnalysisOptions`; None: defaults).
    With ``annotate``, the pose pass also records the annotated video's frames at its size (a temporary
    preview, see :mod:`backtorun.visuals.preview`), so the video is decoded only once.
    Raises VideoUnreadable, NoRunnerFound, CaptureUnsuitable or TooFewStrides with a one-line hint, and
    MissingDependency before decoding when ``settings.pose.model_complexity`` asks for a model not installed."""
    from backtorun.pose import estimate_pose, read_video_info
    from backtorun.visuals.annotate import ANNOTATED_MAX_SIDE
    from backtorun.visuals.preview import PreviewRecorder

    from backtorun.outputs import check_output_dir

    check_video_input(video)
    check_output_dir(out_dir, create=False)  # before the long decode
    model_complexity = ((options or AnalysisOptions()).settings or AnalysisSettings()).pose.model_complexity
    info = read_video_info(video)
    check_frame_size(info)  # an 8×8 clip is named for what it is, not "no person found" after the whole decode
    folder = tempfile.TemporaryDirectory(prefix="backtorun-preview-") if annotate else contextlib.nullcontext()
    with folder as tmp:
        preview = PreviewRecorder(tmp, fps=info.fps or 30.0, max_side=ANNOTATED_MAX_SIDE) if tmp else None
        pose = estimate_pose(video, progress=progress, frame_sink=preview, model_complexity=model_complexity)
        vinfo = VideoInfo(path=str(video), fps=info.fps, n_frames=info.n_frames or pose.n_frames, width=info.width,
                          height=info.height, rotation_deg=info.rotation_deg, duration_s=info.duration_s,
                          codec=info.codec)
        analysis = (options or AnalysisOptions()).analyze(pose, video_info=vinfo)
        _write(analysis, pose, out_dir, video=video, progress=progress, preview=preview)
    return analysis


def analyze_keypoints_file(path: str | Path, out_dir: str | Path, options: AnalysisOptions | None = None, *,
                           fps: float | None = None) -> GaitAnalysis:
    """Analysis of a saved pose (.npz), a keypoint CSV or an OpenPose JSON folder; writes analysis.json,
    strides.csv and key frames on a blank canvas. ``fps``: frame rate of inputs that do not store one."""
    from backtorun.outputs import check_output_dir
    from backtorun.pose import load_keypoints

    from backtorun.services.size_normalise import normalise_receding_runner

    check_output_dir(out_dir, create=False)
    pose = load_keypoints(path, fps=fps)
    notes: list[QualityFlag] = []
    if "fps assumed" in pose.source:  # OpenPose folders store no frame rate: say so in every output
        notes.append(QualityFlag("FPS_ASSUMED", f"{Path(path).name} does not store its frame rate: "
                                 f"{pose.fps:g} fps was assumed, so every time and rate scales with it — give "
                                 "the source video's rate with --fps", "warning"))
    pose, size_note = normalise_receding_runner(pose)  # outdoor clips: a runner approaching or receding
    notes += [size_note] if size_note is not None else []
    analysis = (options or AnalysisOptions()).analyze(pose)
    if notes:
        analysis = dataclasses.replace(analysis, quality_flags=(*analysis.quality_flags, *notes))
    _write(analysis, pose, out_dir, video=None, progress=None, source=path)
    return analysis


# ---------------------------------------------------------------------------------------------------------
# Two side videos (camera on the runner's left and right): each leg from the clip where it is the near leg
# ---------------------------------------------------------------------------------------------------------

#: Output sub-folder of each side clip's analysis, by camera side.
SIDE_CLIP_DIRS = {"left": "side_left", "right": "side_right"}


def analyze_recording(path: str | Path, out_dir: str | Path, options: AnalysisOptions | None = None, *,
                      fps: float | None = None, progress: Callable[[int, int], None] | None = None,
                      annotate: bool = True) -> GaitAnalysis:
    """:func:`analyze_keypoints_file` for a keypoint input, else :func:`analyze_video_file`."""
    if is_keypoint_input(path):
        return analyze_keypoints_file(path, out_dir, options, fps=fps)
    return analyze_video_file(path, out_dir, options, progress=progress, annotate=annotate)


def merge_side_clips(clips: "dict[str, GaitAnalysis]", *, inputs: "dict[str, str | Path] | None" = None
                     ) -> "TwoSidedMerge":
    """:func:`backtorun.metrics.two_sided.merge_sides` (each leg from the clip where it is the near leg);
    ``inputs``: the file each clip was analysed from, named in the provenance."""
    from backtorun.metrics.two_sided import merge_sides

    return merge_sides(clips, names={r: Path(p).name for r, p in (inputs or {}).items()})


def analyze_two_sided(left: str | Path | None, right: str | Path | None, out_dir: str | Path,
                      options: AnalysisOptions | None = None, *, fps: float | None = None,
                      progress: Callable[[int, int], None] | None = None, annotate: bool = True) -> "TwoSidedMerge":
    """Analyse a left-side and/or a right-side recording (video or keypoints) into ``out_dir/side_left`` and
    ``out_dir/side_right`` (side view forced) and merge them; ``out_dir/two_sided.json`` records the merge
    (which clip, frame rate and strides each leg's numbers came from) and both analyses."""
    import json

    from backtorun.outputs import atomic_write_text, check_output_dir

    given = {role: p for role, p in (("left", left), ("right", right)) if p is not None}
    if not given:
        raise InputError("no side video given", hint="add --side-left VIDEO and/or --side-right VIDEO")
    for p in given.values():
        check_video_input(p)
    out = check_output_dir(out_dir, create=True)
    opts = dataclasses.replace(options or AnalysisOptions(), view="side")
    clips = {role: analyze_recording(p, out / SIDE_CLIP_DIRS[role], opts, fps=fps, progress=progress,
                                     annotate=annotate) for role, p in given.items()}
    merged = merge_side_clips(clips, inputs=given)
    atomic_write_text(out / "two_sided.json", json.dumps(merged.to_dict(with_clips=False), indent=1,
                                                          ensure_ascii=False, allow_nan=False))
    return merged
