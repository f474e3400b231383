"""Write the technique analysis to an output folder: analysis.json, strides.csv, pose.npz, annotated.mp4 and
key-frame PNGs (IC and TO per side with the relevant angle drawn).

Every file is written to a temporary name in the same folder and renamed into place, so a reader never sees
a half-written file and an interrupted run leaves the previous outputs intact.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from backtorun.types import GaitAnalysis, PoseSeries
from backtorun.visuals.annotate import write_annotated_video
from backtorun.visuals.keyframes import pick_keyframes, render_keyframe, write_png

if TYPE_CHECKING:
    from backtorun.visuals.preview import PreviewRecorder

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
#: Permissions of written files (mkstemp creates 0600; outputs are ordinary readable files).
FILE_MODE = 0o644


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through ``write(tmp)`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _atomic_write(path: Path, text: str) -> Path:
    return _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def _atomic_save_pose(pose: PoseSeries, path: Path) -> Path:
    return _atomic(path, pose.save)


def write_analysis_outputs(analysis: GaitAnalysis, pose: PoseSeries, out_dir: str | Path, *,
                           video_path: str | Path | None = None, annotate: bool = True,
                           progress: ProgressCallback | None = None,
                           preview: PreviewRecorder | None = None) -> dict[str, Path]:
    """Write all outputs of one analysis into ``out_dir`` (created if needed); returns {name: path}.

    Names: ``analysis`` (analysis.json, schema backtorun.analysis/1), ``strides`` (strides.csv), ``pose``
    (pose.npz, reloadable with PoseSeries.load), ``annotated_video`` (annotated.mp4, only with ``video_path``
    and ``annotate``), ``keyframe_IC_L``/``keyframe_TO_L``/… (keyframes/IC_L.png …; drawn on the video frame,
    or on a blank canvas without video).
    progress(done, total) follows the annotated-video frames (the long part). preview: the frames recorded
    during the pose pass (see :mod:`backtorun.visuals.preview`), so the video need not be decoded again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["analysis"] = _atomic_write(out / "analysis.json",
                                      json.dumps(analysis.to_json_dict(), indent=2, allow_nan=False) + "\n")
    paths["strides"] = _atomic_write(out / "strides.csv", analysis.strides.to_csv(index=False))
    paths["pose"] = _atomic_save_pose(pose, out / "pose.npz")

    keyframes = pick_keyframes(analysis)
    frames: dict[int, object] = {}
    if video_path is not None and annotate:
        path, grabbed = write_annotated_video(video_path, pose, analysis.events, out / "annotated.mp4",
                                              grab=[k.frame for k in keyframes], progress=progress,
                                              preview=preview)
        paths["annotated_video"] = path
        frames.update(grabbed)
    elif video_path is not None:
        frames.update(_grab_frames(video_path, sorted({k.frame for k in keyframes})))
    if keyframes:
        kdir = out / "keyframes"
        kdir.mkdir(exist_ok=True)
        for kf in keyframes:
            img = render_keyframe(pose, kf, image=frames.get(kf.frame),  # type: ignore[arg-type]
                                  direction=analysis.running_direction)
            paths[f"keyframe_{kf.name}"] = write_png(kdir / f"{kf.name}.png", img)
    else:
        log.warning("no gait events: no key-frame pictures written")
    return paths


def _grab_frames(video_path: str | Path, indices: list[int], *, max_side: int = 1280) -> dict[int, object]:
    """The frames ``indices`` (scaled to ``max_side``), decoding each stretch between key frames once."""
    from backtorun.pose.video import build_frame_index, iter_frames

    if not indices:
        return {}
    index = build_frame_index(video_path)
    keys = sorted(index.keyframes) or [0]

    def key_of(i: int) -> int:
        return max((k for k in keys if k <= i), default=0)

    runs: list[list[int]] = []
    for i in sorted(set(indices)):
        if runs and key_of(i) <= runs[-1][-1]:
            runs[-1].append(i)  # no key frame in between: keep decoding forward
        else:
            runs.append([i])
    want = set(indices)
    out: dict[int, object] = {}
    for run in runs:
        for frame in iter_frames(video_path, start_frame=run[0], stop_frame=run[-1] + 1, index=index,
                                 max_side=max_side, only=want):
            out[frame.index] = frame.rgb
    return out
