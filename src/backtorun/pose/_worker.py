"""Pose segments in worker *processes* (``estimate_pose(..., parallel="processes")``).

Each worker process decodes its own segment and runs its own BlazePose (with runner tracking and camera motion,
exactly the code the thread workers run: :func:`backtorun.pose.segment.run_segment`), then sends back only the
landmark arrays of its segment (≈ 1.6 kB a frame), so memory stays flat with video length.

Processes are started with the "forkserver" method (never a plain fork of a parent that may hold threads, a
web server or a Dask client); the fork server imports this module, and with it MediaPipe, PyAV and NumPy, once,
so each worker starts from a process that has them loaded already. Progress ticks and the stop signal cross the
process boundary through a queue and an event handed to each worker when it starts.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
from typing import Any

import av  # noqa: F401  - loaded once in the fork server
import numpy as np  # noqa: F401

from backtorun.pose import _mediapipe  # noqa: F401  - loaded once in the fork server
from backtorun.pose.segment import SegmentRun, default_estimator, run_segment as _run

#: Frames a worker analyses between two progress messages to the parent.
PROGRESS_EVERY = 8

_queue: Any = None
_cancel: Any = None


def context() -> mp.context.BaseContext:
    """The forkserver context with this module preloaded (spawn where forkserver is unavailable)."""
    try:
        ctx = mp.get_context("forkserver")
    except ValueError:  # pragma: no cover - not on POSIX
        return mp.get_context("spawn")
    ctx.set_forkserver_preload([__name__])
    return ctx


def init_worker(queue: Any, cancel: Any) -> None:
    """Pool initializer: keep the progress queue and the stop event of this run."""
    global _queue, _cancel
    _queue, _cancel = queue, cancel
    os.environ.setdefault("GLOG_minloglevel", "2")


class _QueueProgress:
    """``tick()`` like the thread version's progress, batched into queue messages (frames done since last)."""

    def __init__(self) -> None:
        self.pending = 0

    def tick(self) -> None:
        if _queue is None:
            return
        self.pending += 1
        if self.pending >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if _queue is not None and self.pending:
            _queue.put(self.pending)
            self.pending = 0


def run_segment(run: SegmentRun, seg: Any, track_runner: bool, model_complexity: int = 1) -> tuple[Any, str]:
    """Analyse one segment of ``run`` (its preview dropped: no frame sink crosses into a process) in this worker
    process with BlazePose of ``model_complexity``; returns (rows, estimator name)."""
    est = default_estimator(track_runner=track_runner, model_complexity=model_complexity)
    progress = _QueueProgress()
    run = dataclasses.replace(run, preview_side=None)
    try:
        rows = _run(run, seg, est, progress, cancel=_cancel)
    finally:
        progress.flush()
        est.close()
    return rows, str(getattr(est, "name", "unknown"))
