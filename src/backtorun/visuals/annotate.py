"""Annotated video: the original video re-decoded frame by frame with the skeleton, gait events as they happen
and running metrics (cadence over the last steps, last contact time per side) drawn on it. Streamed: one frame
in memory at a time. Written as H.264 MP4 with PyAV (libx264), else MPEG-4 Part 2 (``mpeg4``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import av
import cv2
import numpy as np

from backtorun.conventions import SIDE_LANDMARKS
from backtorun.errors import MissingDependency, VideoUnreadable
from backtorun.pose.video import iter_frames
from backtorun.types import GaitEvent, GaitEvents, PoseSeries
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


def _open_writer(path: Path, width: int, height: int, fps: float, *, preset: str = X264_PRESET,
                 crf: int = X264_CRF) -> tuple[av.container.OutputContainer, av.VideoStream, str]:
    rate = max(1, int(round(fps)))
    container = av.open(str(path), mode="w")
    for codec, options in (("libx264", {"preset": preset, "crf": str(crf)}), ("mpeg4", {"qscale": "4"})):
        try:
            stream = container.add_stream(codec, rate=rate)
        except (av.error.FFmpegError, ValueError, KeyError) as exc:
            log.info("encoder %s not available (%s); trying the next", codec, exc)
            continue
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = options
        return container, stream, codec
    container.close()
    raise MissingDependency("no H.264 or MPEG-4 video encoder in this FFmpeg build",
                            hint="install PyAV from its wheels (they include libx264)")


def _target_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    s = 1.0 if not max_side or max(w, h) <= max_side else max_side / float(max(w, h))
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


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


def write_annotated_video(video_path: str | Path, pose: PoseSeries, events: GaitEvents | Iterable[GaitEvent],
                          out_path: str | Path, *, max_side: int | None = ANNOTATED_MAX_SIDE,
                          grab: Iterable[int] = (), progress: ProgressCallback | None = None,
                          preset: str = X264_PRESET, crf: int = X264_CRF,
                          frame_threads: bool = True,
                          skip_loop_filter: bool = True) -> tuple[Path, dict[int, np.ndarray]]:
    """Write the annotated MP4 to ``out_path``; returns (path, {frame index: original RGB frame} for ``grab``).

    max_side: the output is scaled down so its longer side is at most this many pixels (None: full size).
    grab: frame indices whose unannotated frames (at the output size) are returned, e.g. for key frames.
    preset, crf: libx264 settings. frame_threads: let FFmpeg decode several frames at once (decoding is the
    longest step here; measured 5.7 → 4.7 ms a frame wall at 720 px on IMG_5396).
    skip_loop_filter: decode without deblocking (≈ 20 % cheaper; invisible once scaled down, see iter_frames).
    """
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.stem + ".part" + out_path.suffix)
    ev = sorted(events, key=lambda e: (e.frame, e.kind))
    want = set(int(g) for g in grab)
    grabbed: dict[int, np.ndarray] = {}
    row_of = {int(f): r for r, f in enumerate(pose.frame_index)}
    n_total = int(pose.frame_index.max()) + 1 if pose.n_frames else 0
    metrics = _RunningMetrics([], {}, {})
    container = stream = None
    k_ev = 0
    active: list[GaitEvent] = []
    done = 0
    try:
        for frame in iter_frames(video_path, prefetch=3, max_side=max_side, frame_threads=frame_threads,
                                 skip_loop_filter=skip_loop_filter):
            img = frame.rgb
            if frame.index in want:
                grabbed[frame.index] = img.copy()
            h, w = img.shape[:2]
            if container is None:
                ow, oh = _target_size(w, h, None)
                container, stream, codec = _open_writer(tmp, ow, oh, pose.fps or 30.0, preset=preset, crf=crf)
                log.info("annotated video: %dx%d, %s", ow, oh, codec)
            assert stream is not None
            ow, oh = stream.width, stream.height
            if (ow, oh) != (w, h):
                img = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_LINEAR)
            sx, sy = ow / float(pose.width), oh / float(pose.height)
            scale = max(0.5, min(ow, oh) / 720.0)
            r = row_of.get(frame.index)
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
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            for packet in stream.encode(vf):
                container.mux(packet)
            done += 1
            if progress is not None:
                progress(done, max(n_total, done))
        if container is None:
            raise VideoUnreadable(f"{Path(video_path).name}: no frames to annotate",
                                  hint="check that this is the video the pose was estimated from")
        assert stream is not None
        for packet in stream.encode():
            container.mux(packet)
    except BaseException:
        if container is not None:
            container.close()
            container = None
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if container is not None:
            container.close()
    tmp.replace(out_path)
    return out_path, grabbed
