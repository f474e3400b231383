"""Write the technique analysis to an output folder: analysis.json, strides.csv, pose.npz, annotated.mp4 and
key-frame PNGs (IC and TO per side with the relevant angle drawn).

Every file is written to a temporary name in the same folder and renamed into place (:func:`atomic_write`, the
project's one atomic writer), so a reader never sees a half-written file and an interrupted or disk-full write
leaves the previous file intact. Output-location problems (a file in the way, an uncreatable or read-only folder,
a full disk) become one :class:`OutputError` line naming the path, checked by :func:`check_output_dir` /
:func:`check_output_file` before any expensive work.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from backtorun.errors import InputError
from backtorun.types import GaitAnalysis, PoseSeries

if TYPE_CHECKING:
    from backtorun.visuals.preview import PreviewRecorder

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
#: Permissions of written files (mkstemp creates 0600; outputs are ordinary readable files).
FILE_MODE = 0o644


_MB = 1024 * 1024
#: Name prefix of the hidden folder a run is written into before it is published (services.run_folder).
STAGING_PREFIX = ".backtorun-staging-"
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


class OutputError(InputError):
    """An output location that cannot be written (one line naming the path and what to do)."""


def _free_mb(path: Path) -> float | None:
    for p in (path, *path.parents):
        try:
            return shutil.disk_usage(p).free / _MB
        except OSError:
            continue
    return None


def output_error(exc: OSError, path: str | Path, *, need_bytes: int | None = None) -> OutputError:
    """The one-line :class:`OutputError` for an OSError met while writing ``path`` (named as it will be published,
    without the staging folders)."""
    staged = Path(path)
    p = Path(*[part for part in staged.parts if not part.startswith(STAGING_PREFIX)]) if staged.parts else staged
    if exc.errno in _FULL:
        free = _free_mb(staged.parent)
        need = f"about {need_bytes / _MB:.1f} MB needed, " if need_bytes else ""
        have = f"{free:.1f} MB free" if free is not None else "no space left"
        return OutputError(f"disk full writing {p} ({need}{have}); the previous file, if any, is unchanged",
                           hint="free some space or choose another output location")
    if exc.errno in _DENIED:
        return OutputError(f"no permission to write {p}" + (" (read-only file system)" if exc.errno == errno.EROFS
                                                            else ""),
                           hint="choose a folder you can write to")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return OutputError(f"cannot create {p}: a file is in the way of a folder on that path",
                           hint="choose another output path")
    if exc.errno == errno.EISDIR:
        return OutputError(f"{p} is a folder", hint="give a file name")
    return OutputError(f"cannot write {p}: {exc.strerror or exc.__class__.__name__}",
                       hint="check the path and choose another output location if needed")


def atomic_write(path: str | Path, write: Callable[[Path], object], *, need_bytes: int | None = None) -> Path:
    """Write through ``write(tmp)`` to a temporary file beside ``path``, then rename it into place.

    On any failure the temporary file is removed and ``path`` keeps its previous content; an OSError becomes a
    one-line :class:`OutputError`."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    except OSError as exc:
        raise output_error(exc, path, need_bytes=need_bytes) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(exc, path, need_bytes=need_bytes) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of UTF-8 text."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), need_bytes=len(data))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """:func:`atomic_write` of bytes."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), need_bytes=len(data))


def _write_png(path: Path, rgb: object) -> Path:
    """An RGB image as PNG, encoded in memory and written atomically (a real OSError, with errno, on failure)."""
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))  # type: ignore[call-overload]
    if not ok:
        raise OutputError(f"could not encode the key frame {path.name}", hint="report this as a bug")
    return atomic_write_bytes(path, buf.tobytes())


def check_output_dir(path: str | Path, *, create: bool = True) -> Path:
    """Create the output folder ``path`` if needed and prove it writable (a probe file); one-line OutputError
    for a file in the way, an uncreatable or read-only folder. Call before any expensive work.

    ``create=False``: create nothing; check that the folder, or its nearest existing parent, is a writable folder."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output folder {out} is an existing file", hint="give a folder path for --out")
    if not create:
        base = out
        while not base.exists() and base != base.parent:
            base = base.parent
        if not base.is_dir():
            raise OutputError(f"cannot create {out}: {base} is a file, not a folder", hint="choose another output path")
        _probe(base)
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    _probe(out)
    return out


def check_output_file(path: str | Path, *, parent_must_exist: bool = True) -> Path:
    """Check that file ``path`` can be written: it is not a folder and its folder is a writable folder (or, with
    ``parent_must_exist=False``, can be created: its nearest existing parent is a writable folder)."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p} is a folder", hint="give a file name")
    if p.parent.exists() and not p.parent.is_dir():
        raise OutputError(f"{p.parent} is a file, not a folder", hint="choose another output path")
    if not p.parent.exists():
        if parent_must_exist:
            raise OutputError(f"folder {p.parent} does not exist", hint="create it or choose another output path")
        check_output_dir(p.parent, create=False)
        return p
    _probe(p.parent)
    return p


def _probe(folder: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".backtorun-probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise output_error(exc, folder) from None


def _atomic_write(path: Path, text: str) -> Path:
    return atomic_write_text(path, text)


def _atomic_save_pose(pose: PoseSeries, path: Path) -> Path:
    return atomic_write(path, pose.save)


def write_analysis_outputs(analysis: GaitAnalysis, pose: PoseSeries, out_dir: str | Path, *,
                           video_path: str | Path | None = None, annotate: bool = True,
                           progress: ProgressCallback | None = None,
                           preview: PreviewRecorder | None = None) -> dict[str, Path]:
    """Write all outputs of one analysis into ``out_dir`` (created if needed); returns {name: path}.

    Names: ``analysis`` (analysis.json, schema backtorun.analysis/2), ``strides`` (strides.csv), ``pose``
    (pose.npz, reloadable with PoseSeries.load), ``annotated_video`` (annotated.mp4, only with ``video_path``
    and ``annotate``), ``keyframe_IC_L``/``keyframe_TO_L``/… (keyframes/IC_L.png …; drawn on the video frame,
    or on a blank canvas without video).
    progress(done, total) follows the annotated-video frames (the long part). preview: the frames recorded
    during the pose pass (see :mod:`backtorun.visuals.preview`), so the video need not be decoded again.
    """
    from backtorun.visuals.annotate import write_annotated_video
    from backtorun.visuals.keyframes import pick_keyframes, render_keyframe

    out = check_output_dir(out_dir)
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
        try:
            kdir.mkdir(exist_ok=True)
        except OSError as exc:
            raise output_error(exc, kdir) from None
        for kf in keyframes:
            img = render_keyframe(pose, kf, image=frames.get(kf.frame),  # type: ignore[arg-type]
                                  direction=analysis.running_direction)
            paths[f"keyframe_{kf.name}"] = _write_png(kdir / f"{kf.name}.png", img)
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
