"""The task that runs on a Dask worker: analyse one video into its own output folder, atomically.

The work folder gets the video's record (``done.json``) and then its ``run.json`` manifest last before it is
renamed into place (:func:`backtorun.batch.outputs.seal`). A video that fails (unreadable, no runner, too few
strides, or an unexpected bug) is recorded in ``error.json``;
the task itself returns normally so the batch goes on. Only infrastructure failures (a worker that dies, a full
disk) surface as task errors, which the runner records the same way.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import logging
import os
import resource
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

from backtorun.batch.manifest import VideoJob
from backtorun.batch.outputs import (
    ANALYSIS_FILE, DONE_FILE, DONE_SCHEMA, ERROR_FILE, ERROR_SCHEMA, file_stat, finished_marker, new_work_dir,
    params_for, publish, seal, sha256_of, write_json_atomic,
)
from backtorun.errors import BacktorunError
from backtorun.types import GaitAnalysis, json_safe

log = logging.getLogger(__name__)

#: ``analyze(video, out_dir, *, view, height_cm, speed_mps, settings, progress, annotate) -> GaitAnalysis``
AnalyzeFn = Callable[..., GaitAnalysis]


def default_analyze() -> AnalyzeFn:
    """The real per-video analysis (imported on the worker, where MediaPipe is loaded once per process), called
    like every :data:`AnalyzeFn`: the keyword options become one ``services.analysis.AnalysisOptions``."""
    from backtorun.services.analysis import AnalysisOptions, analyze_video_file

    def analyze(video: Any, out_dir: Any, *, progress: Any = None, annotate: bool = True,
                **options: Any) -> GaitAnalysis:
        return analyze_video_file(video, out_dir, AnalysisOptions(**options), progress=progress, annotate=annotate)

    return analyze


def worker_identity() -> str:
    """The Dask worker's name (or host:pid outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ``ru_maxrss`` is in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _software() -> dict[str, str]:
    try:
        version = importlib.metadata.version("backtorun")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {"backtorun": version}


def _record_of(analysis: GaitAnalysis) -> dict[str, Any]:
    return {
        "view": analysis.view,
        "metrics": json_safe(analysis.summary_values()),
        "quality_flags": [{"code": f.code, "severity": f.severity} for f in analysis.quality_flags],
    }


def error_record(exc: BaseException) -> dict[str, Any]:
    """The error as stored in ``error.json`` and the summary: type, one-line message, hint; traceback for bugs."""
    rec: dict[str, Any] = {"error_type": type(exc).__name__, "error": " ".join(str(exc).split()) or repr(exc)}
    if not isinstance(exc, BacktorunError):
        rec["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-8000:]
    return rec


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while MediaPipe/TFLite run (their C++ logs ignore Python logging).

    Safe in a batch worker, which runs one task at a time in its own process; Python errors are still captured
    in the video's record.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def analyze_job(
    job: VideoJob,
    out_dir: str,
    *,
    analyze: AnalyzeFn | None = None,
    settings: Any = None,
    annotate: bool = True,
    quiet_native_logs: bool = False,
    reuse_since: float | None = None,
) -> dict[str, Any]:
    """Analyse ``job.video`` into ``out_dir/<job.id>`` and return its record (also saved as done/error JSON).

    ``quiet_native_logs`` hides MediaPipe's C++ log lines (they would scribble over the batch's progress bar).
    ``reuse_since`` (Unix time, 0 for any): when a matching finished marker at least this recent exists, it is
    returned instead of analysing again — Dask re-runs a task whose result was lost with a dying worker, and the
    video's folder then already holds the finished work.
    """
    out = Path(out_dir)
    if reuse_since is not None:
        marker = finished_marker(out / job.id, job, settings=settings)
        if marker is not None and float(marker.get("finished_unix_s", 0.0)) >= reuse_since:
            log.info("%s: already finished at %s; not analysed again", job.id, marker.get("finished_at"))
            return marker
    started, cpu_started = time.perf_counter(), cpu_seconds()
    fn = analyze if analyze is not None else default_analyze()
    stat = file_stat(job.video)
    record: dict[str, Any] = {
        "schema": DONE_SCHEMA,
        "id": job.id,
        "video": str(job.video),
        "sha256": sha256_of(job.video),
        **stat,
        "params": params_for(job, settings),
        "worker": worker_identity(),
        "software": _software(),
    }
    work = new_work_dir(out, job.id)
    try:
        with native_stderr_silenced(quiet_native_logs):
            analysis = fn(job.video, work, view=job.view, height_cm=job.height_cm, speed_mps=job.speed_mps,
                          settings=settings, progress=None, annotate=annotate)
        if not (work / ANALYSIS_FILE).exists():
            write_json_atomic(work / ANALYSIS_FILE, analysis.to_json_dict())
        record.update(status="ok", **_record_of(analysis))
        marker = DONE_FILE
    except BacktorunError as exc:
        log.info("%s: %s", job.id, exc)  # reported by the batch runner; logging here would duplicate it
        record.update(schema=ERROR_SCHEMA, status="failed", **error_record(exc))
        marker = ERROR_FILE
    except Exception as exc:  # noqa: BLE001 — a bug on one video must not stop the batch; it is recorded in full
        log.exception("%s: unexpected error", job.id)
        record.update(schema=ERROR_SCHEMA, status="failed", **error_record(exc))
        marker = ERROR_FILE
    record.update(elapsed_s=round(time.perf_counter() - started, 2), cpu_s=round(cpu_seconds() - cpu_started, 2),
                  worker_peak_rss_mb=peak_rss_mb(), finished_at=utc_now(), finished_unix_s=time.time())
    seal(work, marker, record)  # the record, then run.json last: only now is the folder complete
    publish(work, out / job.id)
    return record
