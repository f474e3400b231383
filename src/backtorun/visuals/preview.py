"""A downscaled copy of the analysed frames, recorded during the pose pass, so that the annotated video does not
have to decode the original video a second time.

The pose pass decodes every frame at full size anyway. :class:`PreviewRecorder` is handed to
``estimate_pose(..., frame_sink=recorder)``: each pose segment gets its own writer, and each frame it is shown
arrives with a small I420 copy at the annotated video's size (longer side ``max_side``), scaled in the decoding
thread (``Frame.preview``). The first frames are kept as they are, in memory, up to ``memory_mb`` for the whole
recording (≈ 0.44 MB a frame at 404×720: the default 192 MB hold ≈ 7 s of 60 fps video, ≈ 15 s of 30 fps);
later frames are encoded into a temporary H.264 file per segment (libx264 ``ultrafast``, CRF ``PREVIEW_CRF``:
visually lossless, so the annotated video, encoded once more from it, loses nothing visible; ≈ 0.6 MB a second
of 60 fps video). Memory is therefore bounded whatever the video's length. Afterwards
:meth:`PreviewRecorder.part_frames` plays each segment back in frame order (as RGB).

Cost per frame (IMG_5396, 1080×1920 60 fps → 404×720, one core): the I420 copy ≈ 0.8 ms in the decoding
thread; kept in memory nothing more, encoded ≈ 1.6 ms and decoded again ≈ 1 ms; against ≈ 5 ms to decode and
scale the full-size original a second time.
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

from backtorun.pose.video import Frame, even_size
from backtorun.visuals.video_writer import i420_to_video_frame, open_video_writer, rgb_to_i420

log = logging.getLogger(__name__)

#: libx264 constant-rate factor of the preview (low = near lossless; the annotated video is encoded from it).
PREVIEW_CRF = 16
PREVIEW_PRESET = "ultrafast"
#: Preview frames kept raw in memory for one recording (MiB); later frames are encoded to a temporary file (D).
PREVIEW_MEMORY_MB = 192


@dataclass
class _Part:
    """One pose segment's preview: its frame indices in order, the first ones kept raw, the rest in ``path``."""

    first_frame: int
    path: Path
    frames: list[int] = field(default_factory=list)
    kept: list[np.ndarray] = field(default_factory=list)  # I420 of frames[:len(kept)]
    size: tuple[int, int] | None = None  # (width, height) of the preview
    scale: float = 1.0  # preview pixels per displayed-video pixel


def _i420(frame: Frame, size: tuple[int, int]) -> np.ndarray:
    """The frame's I420 copy at ``size``: the decoder's (``Frame.preview``) or, without it, made from the RGB."""
    w, h = size
    if frame.preview is not None and frame.preview.shape == (h * 3 // 2, w):
        return frame.preview
    img = frame.rgb if frame.rgb.shape[1::-1] == size else cv2.resize(frame.rgb, size, interpolation=cv2.INTER_LINEAR)
    return rgb_to_i420(img)


class _PartWriter:
    """Keeps or encodes the frames of one segment (a :class:`backtorun.pose.estimate.FrameSink`)."""

    def __init__(self, part: _Part, recorder: PreviewRecorder) -> None:
        self.part, self.recorder = part, recorder
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None

    def add(self, frame: Frame) -> None:
        part = self.part
        if part.size is None:
            h, w = frame.rgb.shape[:2]
            part.size = even_size(w, h, self.recorder.max_side)
            part.scale = frame.scale * part.size[0] / float(w)
        img = _i420(frame, part.size)
        if self._stream is None and self.recorder.reserve(img.nbytes):
            part.kept.append(img)
        else:
            self._encode(img)
        part.frames.append(frame.index)

    def _encode(self, img: np.ndarray) -> None:
        if self._stream is None:
            assert self.part.size is not None
            self._container, self._stream, _codec = open_video_writer(
                self.part.path, *self.part.size, self.recorder.fps, preset=PREVIEW_PRESET, crf=PREVIEW_CRF,
                threads=1)
        assert self._container is not None
        for packet in self._stream.encode(i420_to_video_frame(img)):
            self._container.mux(packet)

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
    """Records downscaled copies of the frames the pose pass analyses: the first ``memory_mb`` of them raw in
    memory, the rest in one temporary file per pose segment.

    Call it with a segment (``recorder(segment)``, as ``estimate_pose`` does) to get that segment's writer.
    ``folder`` must exist and is the caller's to remove (e.g. a ``tempfile.TemporaryDirectory``).
    """

    def __init__(self, folder: str | Path, *, fps: float, max_side: int,
                 memory_mb: float = PREVIEW_MEMORY_MB) -> None:
        self.folder, self.fps, self.max_side = Path(folder), fps, max_side
        self.preview_side: int | None = max_side  # frames arrive with Frame.preview at this size
        self._parts: list[_Part] = []
        self._memory_left = int(memory_mb * 2**20)
        self._lock = threading.Lock()

    def __call__(self, segment: object) -> _PartWriter:
        first = int(getattr(segment, "start", 0))
        with self._lock:
            part = _Part(first, self.folder / f"preview-{len(self._parts):02d}-{first}.mp4")
            self._parts.append(part)
        return _PartWriter(part, self)

    def reserve(self, n_bytes: int) -> bool:
        """Take ``n_bytes`` of the memory budget; False (nothing taken) when too little is left."""
        with self._lock:
            if n_bytes > self._memory_left:
                return False
            self._memory_left -= n_bytes
            return True

    @property
    def frame_indices(self) -> list[int]:
        """Every recorded frame index, in playback order."""
        return [i for p in self._sorted_parts() for i in p.frames]

    @property
    def frames_in_memory(self) -> int:
        """How many recorded frames are held raw in memory (the rest are in the temporary files)."""
        return sum(len(p.kept) for p in self._parts)

    def covers(self, frame_index: np.ndarray) -> bool:
        """True when exactly the frames ``frame_index`` (a pose series' rows) were recorded, in that order."""
        rec = self.frame_indices
        return len(rec) == len(frame_index) and bool(np.array_equal(np.asarray(rec), np.asarray(frame_index)))

    def part_frames(self, time_s: np.ndarray) -> list[Iterator[Frame]]:
        """One iterator per part (in frame order) over its recorded frames as RGB :class:`Frame`; ``time_s[k]``
        is the time of the k-th recorded frame overall (the pose series' ``time_s`` when :meth:`covers` holds)."""
        out, k = [], 0
        for part in self._sorted_parts():
            if part.frames:
                out.append(self._play(part, time_s[k:k + len(part.frames)]))
                k += len(part.frames)
        return out

    def frames(self, time_s: np.ndarray) -> Iterator[Frame]:
        """All recorded frames in order (the parts one after the other); see :meth:`part_frames`."""
        for part in self.part_frames(time_s):
            yield from part

    def _sorted_parts(self) -> list[_Part]:
        return sorted(self._parts, key=lambda p: p.first_frame)

    @staticmethod
    def _play(part: _Part, time_s: np.ndarray) -> Iterator[Frame]:
        def frame(j: int, i420: np.ndarray) -> Frame:
            # OpenCV converts this size ≈ 10× faster than swscale (404×720: 0.16 vs 2.5 ms), within 3 levels
            return Frame(index=part.frames[j], time_s=float(time_s[j]), scale=part.scale,
                         rgb=cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420))

        for j, img in enumerate(part.kept):
            yield frame(j, img)
        if len(part.frames) == len(part.kept):
            return
        with av.open(str(part.path)) as container:
            for j, vf in enumerate(container.decode(container.streams.video[0]), start=len(part.kept)):
                if j >= len(part.frames):
                    break
                yield frame(j, vf.to_ndarray())
