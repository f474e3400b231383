"""A stand-in for the per-video analysis: the test seam of the batch (no MediaPipe, seconds instead of minutes).

It reads the container with the real decoder (so a corrupt file fails exactly like in the real analysis), can wait
a while (to interrupt a batch mid-run) and appends one line per call to a log file (to count how often each video
was analysed). Its "metrics" are derived from the container metadata; they are not gait measurements.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from backtorun.conventions import CADENCE_SPM, CONTACT_TIME_MS
from backtorun.pose.video import read_video_info
from backtorun.types import GaitAnalysis, GaitEvents, MetricSummary, QualityFlag


def fake_analyze(
    video: str | Path,
    out_dir: str | Path,
    *,
    progress: Any = None,
    delay_s: float = 0.0,
    calls_log: str | None = None,
    crash_on: str | None = None,
    **options: Any,
) -> GaitAnalysis:
    """Container metadata dressed up as a GaitAnalysis; raises VideoUnreadable like the real analysis.

    ``options`` are the analysis options every :data:`~backtorun.batch.worker.AnalyzeFn` receives (``view``,
    ``height_cm``, ``speed_mps``, ``settings``, ``annotate``); the fake echoes view, height and speed and ignores
    the rest.
    ``crash_on``: a file name for which the whole worker process dies (like a native crash or an out-of-memory kill).
    """
    if calls_log is not None:
        with open(calls_log, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(f"{Path(video).name}\n")
    if crash_on is not None and Path(video).name == crash_on:
        os._exit(70)
    info = read_video_info(video)
    if progress is not None:
        progress(0, info.n_frames)
    if delay_s > 0:
        time.sleep(delay_s)
    if progress is not None:
        progress(info.n_frames, info.n_frames)
    (Path(out_dir) / "fake_output.txt").write_text(f"{info.n_frames} frames\n", encoding="utf-8")
    summary = {
        CADENCE_SPM: MetricSummary(CADENCE_SPM, mean=float(info.n_frames), sd=0.0, cv_pct=0.0, n=1),
        CONTACT_TIME_MS: MetricSummary(CONTACT_TIME_MS, mean=1000.0 / info.fps, sd=0.0, cv_pct=0.0, n=1),
    }
    view = options.get("view") or "auto"
    return GaitAnalysis(
        video=info, view="side" if view == "auto" else view, events=GaitEvents(()), strides=pd.DataFrame(),
        summary=summary, quality_flags=(QualityFlag("fake_analysis", "metadata only, not a gait analysis", "info"),),
        speed_mps=options.get("speed_mps"), height_cm=options.get("height_cm"),
    )
