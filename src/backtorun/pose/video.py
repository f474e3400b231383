"""Video decoding with PyAV: container metadata, true per-frame timestamps, rotation honoured."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from backtorun.errors import VideoUnreadable
from backtorun.types import VideoInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based, sequential decode order
    time_s: float  # presentation time from the container
    rgb: np.ndarray  # (H, W, 3) uint8, rotation applied


def _rotation_of(stream: av.video.stream.VideoStream, first_frame: av.VideoFrame | None) -> int:
    rot = 0
    if first_frame is not None and getattr(first_frame, "rotation", None):
        rot = int(first_frame.rotation)
    else:
        tag = stream.metadata.get("rotate")
        if tag:
            try:
                rot = int(tag)
            except ValueError:
                rot = 0
    return rot % 360


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoUnreadable(f"{path}: file not found", hint="check the path")
    if path.is_dir():
        raise VideoUnreadable(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoUnreadable(f"{path}: the file is empty", hint="copy the recording again from the camera or phone")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VideoUnreadable(
            f"{path.name}: not a readable video ({exc.__class__.__name__})",
            hint="export it again as MP4 (H.264) or MOV",
        ) from exc
    if not container.streams.video:
        container.close()
        raise VideoUnreadable(f"{path.name}: contains no video stream", hint="choose the video file, not an audio or image file")
    return container


def read_video_info(path: str | Path) -> VideoInfo:
    """Container facts: average frame rate, frame count (counted if the header lacks it), displayed size."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        first = None
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as exc:
            raise VideoUnreadable(
                f"{path.name}: no frame could be decoded (truncated or corrupt file)",
                hint="copy the recording again; if it was cut short, record again",
            ) from exc
        rot = _rotation_of(stream, first)
        w, h = stream.codec_context.width, stream.codec_context.height
        if rot in (90, 270):
            w, h = h, w
        fps = float(stream.average_rate) if stream.average_rate else float(stream.guessed_rate or 0)
        n = int(stream.frames or 0)
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (n / fps if fps else 0.0)
        return VideoInfo(path=str(path), fps=fps, n_frames=n, width=int(w), height=int(h), rotation_deg=rot,
                         duration_s=duration, codec=stream.codec_context.name)
    finally:
        container.close()


def _rotate(img: np.ndarray, rot: int) -> np.ndarray:
    # rotation metadata gives the counter-clockwise angle needed for display
    if rot == 90:
        return np.ascontiguousarray(np.rot90(img, 1))
    if rot == 180:
        return np.ascontiguousarray(img[::-1, ::-1])
    if rot == 270:
        return np.ascontiguousarray(np.rot90(img, -1))
    return img


def iter_frames(path: str | Path, *, max_frames: int | None = None) -> Iterator[Frame]:
    """Decode frames one by one (streamed: memory does not grow with video length)."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base
        fps = float(stream.average_rate) if stream.average_rate else 30.0
        rot: int | None = None
        index = 0
        t0: float | None = None
        try:
            for frame in container.decode(stream):
                if rot is None:
                    rot = _rotation_of(stream, frame)
                pts = frame.pts
                t = float(pts * tb) if pts is not None and tb is not None else index / fps
                if t0 is None:
                    t0 = t
                yield Frame(index=index, time_s=t - t0, rgb=_rotate(frame.to_ndarray(format="rgb24"), rot))
                index += 1
                if max_frames is not None and index >= max_frames:
                    break
        except av.error.FFmpegError as exc:
            if index == 0:
                raise VideoUnreadable(f"{path.name}: no frame could be decoded ({exc})",
                                      hint="the file is corrupt or truncated; copy or record it again") from exc
            log.warning("%s: decoding stopped after %d frames (%s); the file may be truncated", path.name, index, exc)
    finally:
        container.close()
