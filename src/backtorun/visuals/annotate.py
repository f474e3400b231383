"""Annotated video: the video's frames with the skeleton, gait events as they happen and running metrics
(cadence over the last steps, last contact time per side) drawn on them. Streamed: one frame in memory at a
time. Written as H.264 MP4 with PyAV (libx264), else MPEG-4 Part 2 (``mpeg4``).

The frames come from the preview recorded during the pose pass (:mod:`backtorun.visuals.preview`, one part per
pose segment) or, without one, from decoding the original video again. Preview parts are drawn and encoded in
parallel, one thread and one single-threaded encoder each, and the parts' compressed streams are then joined
into one MP4 without re-encoding (same encoder settings, each part starting with a key frame).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import av
import cv2
import numpy as np

from backtorun.conventions import SIDE_LANDMARKS
from backtorun.errors import VideoUnreadable
from backtorun.pose.video import Frame, even_size, iter_frames, prefetched
from backtorun.types import GaitEvent, GaitEvents, PoseSeries
from backtorun.visuals.video_writer import open_video_writer, rgb_to_video_frame

if TYPE_CHECKING:
    from backtorun.visuals.preview import PreviewRecorder
from backtorun.visuals.skeleton import LEFT_COLOR, RIGHT_COLOR, draw_skeleton, draw_text

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

#: How long an event marker stays on screen after the event (s).
EVENT_SHOW_S = 0.25
#: Cadence shown = steps per minute over this many most recent initial contacts.
CADENCE_WINDOW_STEPS = 6
#: Longer side of the annotated video (pixels).
ANNOTATED_MAX_SIDE = 720
#: libx264 speed preset and constant-rate factor for the annotated video.
X264_PRESET = "ultrafast"
X264_CRF = 26


@dataclass
class _RunningMetrics:
    """Metrics computed from the events seen so far (what a viewer could know at that moment)."""

    ic_times: list[float]
    last_ic: dict[str, float]
    contact_ms: dict[str, float]

    def update(self, e: GaitEvent) -> None:
        if e.kind == "IC":
            self.ic_times.append(e.time_s)
            self.last_ic[e.side] = e.time_s
        elif e.kind == "TO" and e.side in self.last_ic:
            ct = (e.time_s - self.last_ic[e.side]) * 1000.0
            if 0 < ct < 1000:
                self.contact_ms[e.side] = ct

    def lines(self) -> list[str]:
        out = []
        ics = self.ic_times[-CADENCE_WINDOW_STEPS:]
        if len(ics) >= 3 and ics[-1] > ics[0]:
            out.append(f"cadence {60.0 * (len(ics) - 1) / (ics[-1] - ics[0]):.0f} steps/min")
        for side in ("L", "R"):
            if side in self.contact_ms:
                out.append(f"contact {side} {self.contact_ms[side]:.0f} ms")
        return out


def _mark_event(img: np.ndarray, e: GaitEvent, xy: np.ndarray | None, scale: float) -> None:
    color = LEFT_COLOR if e.side == "L" else RIGHT_COLOR
    if xy is not None:
        idx = SIDE_LANDMARKS[e.side]["heel" if e.kind == "IC" else "toe"]
        p = xy[idx]
        if np.isfinite(p).all():
            r = max(6, int(14 * scale))
            cv2.circle(img, (int(p[0]), int(p[1])), r, color, max(2, int(3 * scale)), cv2.LINE_AA)
            cv2.putText(img, f"{e.kind} {e.side}", (int(p[0]) + r + 4, int(p[1]) - r), cv2.FONT_HERSHEY_SIMPLEX,
                        0.8 * scale, color, max(1, int(2 * scale)), cv2.LINE_AA)


@dataclass
class _Canvas:
    """What every part of one annotated video shares (read-only while parts are drawn)."""

    pose: PoseSeries
    events: list[GaitEvent]  # sorted by frame
    row_of: dict[int, int]
    want: set[int]
    preset: str
    crf: int
    threads: int | None
    tick: Callable[[], None]


def _annotate_part(frames: Iterable[Frame], out: Path, canvas: _Canvas) -> tuple[int, dict[int, np.ndarray]]:
    """Draw on ``frames`` (in order) and encode them into ``out``; returns (frames written, grabbed originals).
    Events before the first frame are taken into account, so a part can start anywhere in the video."""
    pose, ev = canvas.pose, canvas.events
    grabbed: dict[int, np.ndarray] = {}
    metrics = _RunningMetrics([], {}, {})
    container = stream = None
    k_ev, done = 0, 0
    active: list[GaitEvent] = []
    try:
        for frame in frames:
            img = frame.rgb
            if frame.index in canvas.want:
                grabbed[frame.index] = img.copy()
            h, w = img.shape[:2]
            if container is None:
                ow, oh = even_size(w, h, None)
                container, stream, codec = open_video_writer(out, ow, oh, pose.fps or 30.0, preset=canvas.preset,
                                                             crf=canvas.crf, threads=canvas.threads)
                log.debug("annotated video part %s: %dx%d, %s", out.name, ow, oh, codec)
            assert stream is not None
            ow, oh = stream.width, stream.height
            if (ow, oh) != (w, h):
                img = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_LINEAR)
            sx, sy = ow / float(pose.width), oh / float(pose.height)
            scale = max(0.5, min(ow, oh) / 720.0)
            r = canvas.row_of.get(frame.index)
            xy = pose.xy[r] * np.array([sx, sy]) if r is not None else None
            if xy is not None:
                draw_skeleton(img, xy, pose.visibility[r])
            while k_ev < len(ev) and ev[k_ev].frame <= frame.index:
                metrics.update(ev[k_ev])
                active.append(ev[k_ev])
                k_ev += 1
            active = [e for e in active if frame.time_s - e.time_s <= EVENT_SHOW_S]
            for e in active:
                _mark_event(img, e, xy, scale)
            draw_text(img, [f"t {frame.time_s:6.2f} s  frame {frame.index}"] + metrics.lines())
            for packet in stream.encode(rgb_to_video_frame(img)):
                container.mux(packet)
            done += 1
            canvas.tick()
        if container is not None and stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    finally:
        if container is not None:
            container.close()
    return done, grabbed


def join_mp4(parts: list[Path], out: Path) -> None:
    """Join MP4 files of one video stream each, made with the same encoder settings and each starting with a key
    frame, into ``out`` without re-encoding (packets copied, timestamps shifted to follow on)."""
    with av.open(str(parts[0])) as first, av.open(str(out), mode="w") as dst:
        ostream = dst.add_stream_from_template(first.streams.video[0])
        offset = 0
        for path in parts:
            with av.open(str(path)) as src:
                stream = src.streams.video[0]
                end = offset
                for packet in src.demux(stream):
                    if packet.dts is None:  # the demuxer's empty flush packet
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    end = max(end, packet.pts + (packet.duration or 0))
                    packet.stream = ostream
                    dst.mux(packet)
                offset = end


def write_annotated_video(video_path: str | Path, pose: PoseSeries, events: GaitEvents | Iterable[GaitEvent],
                          out_path: str | Path, *, max_side: int | None = ANNOTATED_MAX_SIDE,
                          grab: Iterable[int] = (), progress: ProgressCallback | None = None,
                          preset: str = X264_PRESET, crf: int = X264_CRF,
                          frame_threads: bool = True, skip_loop_filter: bool = True,
                          preview: PreviewRecorder | None = None) -> tuple[Path, dict[int, np.ndarray]]:
    """Write the annotated MP4 to ``out_path``; returns (path, {frame index: original RGB frame} for ``grab``).

    max_side: the output is scaled down so its longer side is at most this many pixels (None: full size).
    grab: frame indices whose unannotated frames (at the output size) are returned, e.g. for key frames.
    preset, crf: libx264 settings. frame_threads: let FFmpeg decode several frames at once (decoding is the
    longest step here; measured 5.7 → 4.7 ms a frame wall at 720 px on IMG_5396).
    skip_loop_filter: decode without deblocking (≈ 20 % cheaper; invisible once scaled down, see iter_frames).
    preview: frames recorded during the pose pass (:mod:`backtorun.visuals.preview`, already at the output
    size): used instead of decoding ``video_path`` again when they are exactly the pose's frames; its parts
    are drawn in parallel and joined.
    """
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.stem + ".part" + out_path.suffix)
    n_total = int(pose.frame_index.max()) + 1 if pose.n_frames else 0
    lock = threading.Lock()
    done = [0]

    def tick() -> None:
        if progress is None:
            return
        with lock:
            done[0] += 1
            progress(done[0], max(n_total, done[0]))

    if preview is not None and preview.covers(pose.frame_index):
        sources = [prefetched(part, 2) for part in preview.part_frames(pose.time_s)]
    else:
        if preview is not None:
            log.info("the preview does not hold the pose's frames; decoding %s again", Path(video_path).name)
        sources = [iter_frames(video_path, prefetch=3, max_side=max_side, frame_threads=frame_threads,
                               skip_loop_filter=skip_loop_filter)]
    canvas = _Canvas(pose, sorted(events, key=lambda e: (e.frame, e.kind)),
                     {int(f): r for r, f in enumerate(pose.frame_index)}, {int(g) for g in grab}, preset, crf,
                     1 if len(sources) > 1 else None, tick)
    part_paths = [tmp] if len(sources) == 1 else [tmp.with_name(f"{tmp.stem}{k}{tmp.suffix}")
                                                  for k in range(len(sources))]
    try:
        if len(sources) == 1:
            results = [_annotate_part(sources[0], tmp, canvas)]
        else:
            with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="backtorun-annotate") as pool:
                results = list(pool.map(lambda k: _annotate_part(sources[k], part_paths[k], canvas),
                                        range(len(sources))))
        written = [k for k, (n, _g) in enumerate(results) if n > 0]
        if not written:
            raise VideoUnreadable(f"{Path(video_path).name}: no frames to annotate",
                                  hint="check that this is the video the pose was estimated from")
        if len(sources) > 1:
            join_mp4([part_paths[k] for k in written], tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for p in part_paths:
            if p != tmp:
                p.unlink(missing_ok=True)
    tmp.replace(out_path)
    grabbed: dict[int, np.ndarray] = {}
    for _n, g in results:
        grabbed.update(g)
    return out_path, grabbed
