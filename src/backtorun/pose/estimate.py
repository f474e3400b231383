"""Run a pose estimator over a video and collect a PoseSeries — in parallel segments, streamed.

Speed: decoding and BlazePose each keep one core busy, and BlazePose in tracking mode must see its frames in
order. So the video is cut into ``workers`` contiguous segments (cut at key frames where that keeps the
segments balanced; see :func:`plan_segments`) and each segment is decoded and analysed by its own thread with
its own estimator (PyAV and MediaPipe release the GIL while they work). Within a worker, decoding runs a few
frames ahead in a background thread. Each segment acquires the runner afresh (see
:mod:`backtorun.pose.tracking`) ``SEGMENT_WARMUP_FRAMES`` before its first frame, so that tracking has settled
at the boundary. Tracking-mode landmarks depend on the frames before, so after a boundary they are not
bit-identical to a single sequential run (on mini_run.mp4: heel/toe median difference 0 px, mean 2.9 px).

``parallel="processes"`` (or ``"hybrid"``) runs the same segment code in worker processes instead
(:mod:`backtorun.pose._worker`; identical landmarks). Measured on the 2-core VM it is not clearly faster on
short clips (each worker process pays ≈ 0.5 s of MediaPipe start-up; the threads already keep both cores busy),
is 7–17 % faster on a 19-s clip, and needs ≈ 300 MB more, so threads are the default (docs/pose.md, "Speed").

Completeness: each segment's frames are checked against the frame index (each frame once, in order, with its
container timestamp); a mismatch — e.g. a decoder that drops frames after the seek — makes the whole video run
again in one sequential pass, and frames still missing then are kept out and flagged (``FRAMES_NOT_DECODED``,
:mod:`backtorun.capture`) through ``PoseSeries.frames_expected``.

Memory: frames are dropped as soon as their landmarks are taken; only landmarks (≈1.6 kB a frame) are kept.

Camera motion: each worker also measures the background's motion from frame to frame on a small grayscale copy
made by its decoder thread (:mod:`backtorun.pose.camera_motion`), stored in ``PoseSeries.camera_motion_px``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

from backtorun.errors import NoRunnerFound, VideoUnreadable
from backtorun.pose._mediapipe import check_landmark_model
from backtorun.pose.base import PoseEstimator
from backtorun.pose.segment import FrameSink, Segment, SegmentRun, default_estimator, run_segment
from backtorun.pose.segment import Progress as _Progress
from backtorun.pose.segment import SegmentRows as _Rows
from backtorun.pose.video import (
    FrameIndex,
    build_frame_index,
    check_complete,
    read_video_info,
    segment_mismatch,
)
from backtorun.types import PoseSeries

log = logging.getLogger(__name__)

__all__ = ["estimate_pose", "plan_segments", "default_estimator", "default_workers", "Segment", "SegmentRun",
           "FrameSink", "FrameSinkFactory", "opencv_single_threaded"]

ProgressCallback = Callable[[int, int], None]
EstimatorFactory = Callable[[], PoseEstimator]

#: Cost of a frame a segment only decodes to reach its start after a seek, relative to a fully analysed frame
#: (measured on IMG_5396: ≈ 2.8 ms, non-reference frames skipped, vs ≈ 20 ms CPU decode + BlazePose).
DECODE_SHARE = 0.15
#: Frames before a segment's start that its estimator sees (results dropped) so that tracking and landmark
#: smoothing have settled at the segment boundary (D).
SEGMENT_WARMUP_FRAMES = 10
#: A segment shorter than this is not worth its own estimator (graph start-up and a fresh detection).
MIN_SEGMENT_FRAMES = 90
#: How segments run in parallel by default: "threads", "processes" or "hybrid" (see :func:`estimate_pose`).
DEFAULT_PARALLEL = "threads"


_opencv_lock = threading.Lock()
_opencv_users = 0
_opencv_threads_before = 0


@contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV without its own thread pool while this runs (nested and concurrent uses counted; the previous
    setting comes back when the last one ends). The segments already keep every core busy, so OpenCV's pool
    only adds contention: scaling a 1080p frame for the preview took 1.33 ms CPU with it, 0.83 ms without."""
    import cv2

    global _opencv_users, _opencv_threads_before
    with _opencv_lock:
        if _opencv_users == 0:
            _opencv_threads_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _opencv_users += 1
    try:
        yield
    finally:
        with _opencv_lock:
            _opencv_users -= 1
            if _opencv_users == 0:
                cv2.setNumThreads(_opencv_threads_before)


def default_workers() -> int:
    """One worker per available core, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


class FrameSinkFactory(Protocol):
    """Makes one :class:`FrameSink` per segment. With an (optional) ``preview_side`` attribute that is not None,
    the frames it is shown carry ``Frame.preview``, a small I420 copy of that longer side made in the decoding
    thread."""

    def __call__(self, segment: Segment) -> FrameSink: ...


def plan_segments(index: FrameIndex, n_frames: int, workers: int, *, min_frames: int = MIN_SEGMENT_FRAMES,
                  decode_share: float = DECODE_SHARE) -> list[Segment]:
    """Cut ``[0, n_frames)`` into at most ``workers`` contiguous segments of about equal cost.

    cost(segment) = (stop − start) + decode_share × (start − key), key = last key frame ≤ start (frames decoded
    only to reach the start). Binary search on the largest cost, greedy cuts.
    """
    n_seg = max(1, min(workers, n_frames // max(1, min_frames)))
    if n_seg == 1 or not index.keyframes:
        return [Segment(0, n_frames, 0)]
    keys = np.asarray(index.keyframes, dtype=np.int64)

    def key_of(s: int) -> int:
        j = int(np.searchsorted(keys, s, side="right")) - 1
        return int(keys[max(j, 0)])

    def cut(limit: float) -> list[Segment] | None:
        segs: list[Segment] = []
        s = 0
        while s < n_frames:
            k = key_of(s)
            room = limit - decode_share * (s - k)
            if room < 1:
                return None
            e = min(n_frames, s + int(room))
            segs.append(Segment(s, e, k))
            s = e
            if len(segs) > n_seg:
                return None
        return segs

    lo, hi = n_frames / n_seg, float(n_frames)
    best = cut(hi) or [Segment(0, n_frames, 0)]
    for _ in range(30):
        mid = (lo + hi) / 2
        segs = cut(mid)
        if segs is None:
            lo = mid
        else:
            best, hi = segs, mid
        if hi - lo < 1:
            break
    return best


def _run_in_processes(run: SegmentRun, segments: list[Segment], ticker: _Progress, track_runner: bool,
                      local: Callable[[Segment], _Rows] | None = None,
                      local_cancel: threading.Event | None = None,
                      model_complexity: int = 1) -> tuple[list[_Rows], str]:
    """Each segment in its own worker process (:mod:`backtorun.pose._worker`); only landmark rows come back.

    local: if given, the first segment runs in a thread of this process through ``local`` (stopped through
    ``local_cancel``) and only the others go to worker processes.
    """
    from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
    from queue import Empty

    from backtorun.pose import _worker

    ctx = _worker.context()
    queue = ctx.Queue() if ticker.callback is not None else None
    stop = ctx.Event()

    def drain() -> None:
        while queue is not None:
            try:
                k = queue.get_nowait()
            except Empty:
                return
            for _ in range(int(k)):
                ticker.tick()

    remote = segments[1:] if local is not None else segments
    with ProcessPoolExecutor(max_workers=len(remote), mp_context=ctx, initializer=_worker.init_worker,
                             initargs=(queue, stop)) as pool, ThreadPoolExecutor(max_workers=1) as here:
        futures: list[Future] = [pool.submit(_worker.run_segment, run, seg, track_runner, model_complexity)
                                 for seg in remote]
        if local is not None:
            futures.insert(0, here.submit(local, segments[0]))
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.1 if queue is not None else None,
                                     return_when=FIRST_EXCEPTION)
                drain()
                for f in done:
                    exc = f.exception()
                    if exc is not None:
                        if exc.__cause__ is not None:  # the worker's traceback: to the log, not the message
                            log.debug("pose worker failed:%s", exc.__cause__)
                            exc.__cause__ = None
                        raise exc
            results = [f.result() for f in futures]
        except BaseException:
            stop.set()
            if local_cancel is not None:
                local_cancel.set()
            raise
        finally:
            drain()
    if local is not None:
        results[0] = (results[0], results[1][1])
    return [r for r, _ in results], results[-1][1]


def _checked_against_index(path: Path, index: FrameIndex, segments: list[Segment], parts: list[_Rows],
                           sequential: Callable[[Segment], _Rows]) -> list[_Rows]:
    """``parts`` when every segment's frames match the frame index (count, order and timestamps, see
    :func:`backtorun.pose.video.segment_mismatch`); otherwise ``[sequential(Segment(0, n, 0))]``: the whole video
    again in one pass from the first frame (no seek, nothing skipped). Frames still missing after that are kept
    missing and flagged by the capture check (``PoseSeries.frames_expected``)."""
    problems = [m for seg, p in zip(segments, parts)
                if (m := segment_mismatch(index, seg.start, seg.stop, p.index, p.time_s)) is not None]
    if not problems:
        return parts
    log.warning("%s: the parallel decode does not match the frame index (%s); decoding again in one sequential "
                "pass", path.name, "; ".join(problems))
    return [sequential(Segment(0, segments[-1].stop, 0))]


def estimate_pose(path: str | Path, *, estimator: PoseEstimator | None = None,
                  estimator_factory: EstimatorFactory | None = None, progress: ProgressCallback | None = None,
                  max_frames: int | None = None, workers: int | None = None, track_runner: bool = True,
                  prefetch: int = 2, min_segment_frames: int = MIN_SEGMENT_FRAMES,
                  camera_motion: bool = True, parallel: str | None = None,
                  frame_sink: FrameSinkFactory | None = None, model_complexity: int = 1) -> PoseSeries:
    """Landmarks of the runner in every frame of ``path`` (NaN where nobody is found).

    estimator: one estimator instance, used for all frames in order (no parallel segments; not closed here).
    estimator_factory: makes one estimator per worker (default: BlazePose with runner tracking, see
    :func:`default_estimator`). workers: parallel segments (default: one per core, at most 4).
    progress(done, total) is called after each frame (from worker threads, serialised).
    camera_motion: also measure the background's motion in every frame (``PoseSeries.camera_motion_px``, see
    :mod:`backtorun.pose.camera_motion`; ≈ 0.8–2.3 ms CPU a frame, measured on IMG_5396).
    parallel: ``"threads"`` (segments in threads of this process), ``"processes"`` (segments in worker
    processes, see :mod:`backtorun.pose._worker`) or ``"hybrid"`` (first segment in a thread here, the others
    in worker processes); all give the same landmarks for the same segments; default :data:`DEFAULT_PARALLEL`.
    A given ``estimator`` or ``estimator_factory`` always runs in threads (it may not be picklable).
    frame_sink: makes one :class:`FrameSink` per segment that sees each analysed frame (threads only; e.g.
    :class:`backtorun.visuals.preview.PreviewRecorder`, so the annotated video needs no second decode).
    model_complexity: the default estimator's BlazePose model (1 = full, in the wheel; 2 = heavy, installed by
    ``scripts/install_heavy_pose.sh``; ``settings.pose.model_complexity``); ignored with ``estimator`` or
    ``estimator_factory``.
    Raises VideoUnreadable (not a video, empty, truncated), NoRunnerFound (nobody in any frame) or, before any
    decoding, MissingDependency when the model asked for is not installed.
    """
    if estimator is None and estimator_factory is None:
        check_landmark_model(model_complexity)
    path = Path(path)
    info = read_video_info(path)
    index = build_frame_index(path)
    check_complete(path, index)
    n_total = index.n_frames or info.n_frames
    if max_frames is not None:
        n_total = min(n_total, max_frames)
    if n_total <= 0:
        raise VideoUnreadable(f"{path.name}: the video has no frames",
                              hint="copy the recording again from the camera or phone, or record again")
    ticker = _Progress(n_total, progress)
    if estimator is not None:
        segments = [Segment(0, n_total, 0)]
    else:
        segments = plan_segments(index, n_total, workers or default_workers(), min_frames=min_segment_frames)
    make: EstimatorFactory = estimator_factory or (lambda: default_estimator(track_runner=track_runner,
                                                                             model_complexity=model_complexity))
    log.info("%s: %d frames in %d segment(s) %s", path.name, n_total, len(segments),
             [(s.start, s.stop) for s in segments])

    name = "unknown"

    run = SegmentRun(path, index, prefetch=prefetch, warmup=SEGMENT_WARMUP_FRAMES, camera_motion=camera_motion,
                     preview_side=getattr(frame_sink, "preview_side", None))

    def work(seg: Segment, *, record: bool = True) -> _Rows:
        nonlocal name
        est = estimator if estimator is not None else make()
        name = getattr(est, "name", name)
        sink = frame_sink(seg) if frame_sink is not None and record else None
        try:
            return run_segment(run, seg, est, ticker, cancel=cancel, sink=sink)
        finally:
            if estimator is None:
                est.close()
            if sink is not None:
                sink.close()

    def again(seg: Segment) -> _Rows:
        """The sequential fallback: progress counted afresh; no frame sink (the preview then no longer covers
        the pose's frames, and the annotated video decodes the video itself)."""
        nonlocal ticker
        ticker = _Progress(seg.stop - seg.start, progress)
        return work(seg, record=False)

    mode = parallel or DEFAULT_PARALLEL
    if mode not in ("threads", "processes", "hybrid"):
        raise ValueError(f"parallel must be 'threads', 'processes' or 'hybrid', not {parallel!r}")
    if frame_sink is not None and mode != "threads":
        raise ValueError("frame_sink needs parallel='threads' (a sink does not cross into worker processes)")
    cancel = threading.Event()  # set when one worker fails or the caller is interrupted: the others stop
    if mode != "threads" and len(segments) > 1 and estimator is None and estimator_factory is None:
        parts, name = _run_in_processes(run, segments, ticker, track_runner,
                                        local=work if mode == "hybrid" else None, local_cancel=cancel,
                                        model_complexity=model_complexity)
    elif len(segments) == 1:
        parts = [work(segments[0])]
    else:
        with opencv_single_threaded(), ThreadPoolExecutor(max_workers=len(segments),
                                                          thread_name_prefix="backtorun-pose") as pool:
            futures = [pool.submit(work, seg) for seg in segments]
            try:
                parts = [f.result() for f in futures]
            except BaseException:
                cancel.set()
                raise
    if len(segments) > 1:
        parts = _checked_against_index(path, index, segments, parts, again)

    xy = np.concatenate([p.xy for p in parts]).astype(np.float64)
    if xy.shape[0] == 0:
        raise VideoUnreadable(f"{path.name}: no frame could be decoded; the file is truncated or corrupt",
                              hint="copy the recording again from the camera or phone, or record again")
    found = np.isfinite(xy[:, :, 0]).any(axis=1)
    if not found.any():
        raise NoRunnerFound(f"{path.name}: no person was found in any of the {xy.shape[0]} frames",
                            hint="film the runner side-on with the whole body, feet included, in view")
    if xy.shape[0] < n_total:
        log.warning("%s: %d of %d frames could be decoded", path.name, xy.shape[0], n_total)
    world = np.concatenate([p.world for p in parts]).astype(np.float64)
    return PoseSeries(
        xy=xy, visibility=np.concatenate([p.vis for p in parts]).astype(np.float64),
        time_s=np.concatenate([p.time_s for p in parts]),
        frame_index=np.concatenate([p.index for p in parts]).astype(np.int64),
        fps=info.fps, width=info.width, height=info.height, rotation_deg=info.rotation_deg,
        world_xyz=world if np.isfinite(world).any() else None, source=name, video_path=str(path),
        camera_motion_px=np.concatenate([p.motion for p in parts]) if camera_motion else None,
        frames_expected=n_total,
    )
