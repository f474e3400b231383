"""A downscaled copy of the analysed frames, recorded during the pose pass, so that the annotated video does not
have to decode the original video a second time.

The pose pass decodes every frame at full size anyway. :class:`PreviewRecorder` is handed to
``estimate_pose(..., frame_sink=recorder)``: each pose segment gets its own writer, which scales each frame it
is shown to the annotated video's size (longer side ``max_side``) and encodes it into a temporary H.264 file
(libx264 ``ultrafast``, CRF ``PREVIEW_CRF``: visually lossless, so the annotated video, encoded once more from
it, loses nothing visible). Afterwards :meth:`PreviewRecorder.frames` plays the segments back in frame order.
Streamed: one frame in memory at a time; the temporary files take ≈ 1–2 MB a second of 60 fps video.

Cost (IMG_5396, 1080×1920 60 fps → 406×720, one core): scaling + encoding here ≈ 2 ms a frame and decoding it
again ≈ 0.7 ms, against ≈ 5 ms a frame to decode and scale the full-size original a second time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from backtorun.pose.video import Frame
from backtorun.visuals.video_writer import even_size, open_video_writer, rgb_to_video_frame

log = logging.getLogger(__name__)

#: libx264 constant-rate factor of the preview (low = near lossless; the annotated video is encoded from it).
PREVIEW_CRF = 16
PREVIEW_PRESET = "ultrafast"


@dataclass
class _Part:
    """One pose segment's preview file and the frame indices written to it, in order."""

    first_frame: int
    path: Path
    frames: list[int] = field(default_factory=list)
    scale: float = 1.0  # preview pixels per displayed-video pixel


class _PartWriter:
    """Scales and encodes the frames of one segment (a :class:`backtorun.pose.estimate.FrameSink`)."""

    def __init__(self, part: _Part, *, max_side: int, fps: float) -> None:
        self.part, self.max_side, self.fps = part, max_side, fps
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None

    def add(self, frame: Frame) -> None:
        h, w = frame.rgb.shape[:2]
        if self._stream is None:
            ow, oh = even_size(w, h, self.max_side)
            self._container, self._stream, _codec = open_video_writer(
                self.part.path, ow, oh, self.fps, preset=PREVIEW_PRESET, crf=PREVIEW_CRF, threads=1)
            self.part.scale = frame.scale * ow / float(w)
        stream, container = self._stream, self._container
        assert stream is not None and container is not None
        size = (stream.width, stream.height)
        if frame.preview is not None and frame.preview.shape == (size[1] * 3 // 2, size[0]):
            vf = av.VideoFrame.from_ndarray(frame.preview, format="yuv420p")  # scaled in the decoding thread
        else:
            img = frame.rgb if (w, h) == size else cv2.resize(frame.rgb, size, interpolation=cv2.INTER_LINEAR)
            vf = rgb_to_video_frame(img)
        for packet in stream.encode(vf):
            container.mux(packet)
        self.part.frames.append(frame.index)

    def close(self) -> None:
        if self._container is None or self._stream is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None


class PreviewRecorder:
    """Records downscaled copies of the frames the pose pass analyses, one temporary file per pose segment.

    Call it with a segment (``recorder(segment)``, as ``estimate_pose`` does) to get that segment's writer.
    ``folder`` must exist and is the caller's to remove (e.g. a ``tempfile.TemporaryDirectory``).
    """

    def __init__(self, folder: str | Path, *, fps: float, max_side: int) -> None:
        self.folder, self.fps, self.max_side = Path(folder), fps, max_side
        self.preview_side: int | None = max_side  # frames arrive with Frame.preview at this size
        self._parts: list[_Part] = []
        self._lock = threading.Lock()

    def __call__(self, segment: object) -> _PartWriter:
        first = int(getattr(segment, "start", 0))
        with self._lock:
            part = _Part(first, self.folder / f"preview-{len(self._parts):02d}-{first}.mp4")
            self._parts.append(part)
        return _PartWriter(part, max_side=self.max_side, fps=self.fps)

    @property
    def frame_indices(self) -> list[int]:
        """Every recorded frame index, in playback order."""
        return [i for p in sorted(self._parts, key=lambda p: p.first_frame) for i in p.frames]

    def covers(self, frame_index: np.ndarray) -> bool:
        """True when exactly the frames ``frame_index`` (a pose series' rows) were recorded, in that order."""
        rec = self.frame_indices
        return len(rec) == len(frame_index) and bool(np.array_equal(np.asarray(rec), np.asarray(frame_index)))

    def part_frames(self, time_s: np.ndarray) -> list[Iterator[Frame]]:
        """One iterator per part (in frame order) over its recorded frames as :class:`Frame`; ``time_s[k]`` is
        the time of the k-th recorded frame overall (the pose series' ``time_s`` when :meth:`covers` holds)."""
        out, k = [], 0
        for part in sorted(self._parts, key=lambda p: p.first_frame):
            if part.frames:
                out.append(self._play(part, time_s[k:k + len(part.frames)]))
                k += len(part.frames)
        return out

    def frames(self, time_s: np.ndarray) -> Iterator[Frame]:
        """All recorded frames in order (the parts one after the other); see :meth:`part_frames`."""
        for part in self.part_frames(time_s):
            yield from part

    @staticmethod
    def _play(part: _Part, time_s: np.ndarray) -> Iterator[Frame]:
        with av.open(str(part.path)) as container:
            stream = container.streams.video[0]
            for j, vf in enumerate(container.decode(stream)):
                if j >= len(part.frames):
                    break
                yield Frame(index=part.frames[j], time_s=float(time_s[j]), rgb=vf.to_ndarray(format="rgb24"),
                            scale=part.scale)
