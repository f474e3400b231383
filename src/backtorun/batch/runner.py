"""Run a batch: one Dask task per video, finished videos skipped, failures recorded, a summary CSV at the end."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from backtorun.batch.manifest import JobDefaults, VideoJob, load_jobs
from backtorun.batch.outputs import (
    ERROR_FILE, ERROR_SCHEMA, SUMMARY_FILE, batch_lock, finished_marker, new_work_dir, params_for, publish,
    remove_leftovers, seal,
)
from backtorun.batch.summary import summary_row, write_summary_csv
from backtorun.batch.worker import AnalyzeFn, analyze_job, error_record
from backtorun.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: ``progress(done, total, row)`` after each video of this run (``row`` as in the summary CSV).
ProgressFn = Callable[[int, int, Mapping[str, Any]], None]
#: Dask settings of the local cluster, tried by :func:`dask_client` (tests and benchmarks may change them).
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    # a worker holds only the video it is analysing (no queue of its own): if its process dies, no other video
    # is charged with the death, and a worker that joins late gets work at once
    "distributed.scheduler.worker-saturation": 1.0,
}
#: Seconds to wait for a remote scheduler to answer before giving up.
SCHEDULER_CONNECT_TIMEOUT_S = 15


@dataclass(frozen=True)
class BatchReport:
    """What a batch run did: one summary row per video, where the summary is, how long it took."""

    out_dir: Path
    summary_csv: Path
    rows: tuple[Mapping[str, Any], ...]
    elapsed_s: float
    n_workers: int

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)

    @property
    def n_ok(self) -> int:
        return self.count("ok")

    @property
    def n_skipped(self) -> int:
        return self.count("skipped")

    @property
    def n_failed(self) -> int:
        return self.count("failed")

    @property
    def failures(self) -> list[Mapping[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]


def default_worker_count(n_videos: int) -> int:
    """One single-threaded worker per CPU core, never more than there are videos."""
    return max(1, min(n_videos, os.cpu_count() or 1))


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None, n_videos: int = 1) -> Iterator[Any]:
    """A Dask client: on an existing scheduler (``scheduler``) or on a LocalCluster of single-threaded processes.

    MediaPipe keeps per-process state and uses its own threads, so local workers are processes with one thread each.
    """
    import dask
    from distributed import Client, LocalCluster

    with _quiet_dask_logs():
        if scheduler:
            try:
                client = Client(scheduler, timeout=f"{SCHEDULER_CONNECT_TIMEOUT_S}s", set_as_default=False)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                                  hint="start it with `dask scheduler` and check the address (tcp://HOST:8786)"
                                  ) from exc
            with client:
                yield client
            return
        n = workers or default_worker_count(n_videos)
        # (the HTTP endpoint goes to a free port so it never collides with another cluster on 8787)
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR)
        with cluster, Client(cluster, set_as_default=False) as client:
            yield client


@contextlib.contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Dask logs cluster start/stop at INFO; show those only when the application itself logs at INFO (-v)."""
    dask_logger = logging.getLogger("distributed")
    saved = dask_logger.level
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        dask_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        dask_logger.setLevel(saved)


def _record_failure(out: Path, job: VideoJob, exc: BaseException, settings: Any) -> dict[str, Any]:
    """A task that did not return (its worker died, the disk is full…): record it like any failed video."""
    record = {"schema": ERROR_SCHEMA, "id": job.id, "video": str(job.video), "status": "failed",
              "params": params_for(job, settings), **error_record(exc)}
    try:
        work = new_work_dir(out, job.id)
        seal(work, ERROR_FILE, record)
        publish(work, out / job.id)
    except (OSError, InputError) as write_exc:
        log.error("%s: could not write %s: %s", job.id, ERROR_FILE, write_exc)
    return record


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs (the CLI's options, one parameter object): on ``workers`` local processes (default: one
    per core) or an existing Dask ``scheduler``; ``force`` re-analyses finished videos; ``settings`` (an
    ``AnalysisSettings``, None = defaults) and ``annotate`` go to every video's analysis."""

    workers: int | None = None
    scheduler: str | None = None
    force: bool = False
    settings: Any = None
    annotate: bool = True


def run_batch(
    inputs: str | Path | Sequence[VideoJob],
    out_dir: str | Path,
    options: BatchOptions = BatchOptions(),
    *,
    defaults: JobDefaults = JobDefaults(),
    analyze: AnalyzeFn | None = None,
    progress: ProgressFn | None = None,
) -> BatchReport:
    """Analyse every video of ``inputs`` (a folder, a CSV manifest, or the jobs already read from one with
    :func:`load_jobs`; ``defaults`` fill a folder's or manifest's missing values) into ``out_dir`` on Dask.

    Videos whose finished marker matches their input are skipped unless ``options.force``; a failing video is
    recorded (summary + ``error.json``) and the others go on. ``analyze`` replaces the real per-video analysis
    (tests). The summary CSV is written at the end, and also when the run is interrupted (unfinished videos then
    have status ``pending``).
    """
    started = time.perf_counter()
    workers, scheduler, force, settings = options.workers, options.scheduler, options.force, options.settings
    job_list = (load_jobs(inputs, defaults, out_dir=out_dir) if isinstance(inputs, (str, Path)) else list(inputs))
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Mapping[str, Any]] = {}
    pending: list[VideoJob] = []
    n_workers = 0
    with batch_lock(out):
        remove_leftovers(out)
        for job in job_list:
            marker = finished_marker(out / job.id, job, settings=settings, force=force)
            if marker is not None:
                rows[job.id] = summary_row(job, marker, "skipped")
            else:
                rows[job.id] = summary_row(job, None, "pending")
                pending.append(job)
        log.info("%d video(s): %d to analyse, %d already finished", len(job_list), len(pending),
                 len(job_list) - len(pending))
        extra_columns = [k for j in job_list for k in j.extra]
        # written first too: after a kill -9 (no ``finally``) the summary shows the unfinished videos as pending,
        # never an earlier run's status for a folder being replaced
        write_summary_csv(out / SUMMARY_FILE, tuple(rows[j.id] for j in job_list), extra_columns)
        try:
            if pending:
                task = _Task(analyze=analyze, settings=settings, annotate=options.annotate,
                             reuse_since=time.time() if force else 0.0)
                n_workers = _run_pending(pending, out, rows, task, workers=workers, scheduler=scheduler,
                                         progress=progress)
        finally:
            ordered = tuple(rows[j.id] for j in job_list)
            summary = write_summary_csv(out / SUMMARY_FILE, ordered, extra_columns)
    return BatchReport(out, summary, ordered, round(time.perf_counter() - started, 2), n_workers)


@dataclass(frozen=True)
class _Task:
    """What every video's task gets (see :func:`analyze_job`): the analysis hook, settings, whether to annotate,
    and the time from which a finished marker is reused."""

    analyze: AnalyzeFn | None
    settings: Any
    annotate: bool
    reuse_since: float


def _run_pending(
    pending: list[VideoJob], out: Path, rows: dict[str, Mapping[str, Any]], task: _Task, *, workers: int | None,
    scheduler: str | None, progress: ProgressFn | None,
) -> int:
    from distributed import as_completed

    with dask_client(workers=workers, scheduler=scheduler, n_videos=len(pending)) as client:
        n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        if n_workers == 0:
            log.warning("the Dask scheduler has no workers yet; videos wait until one connects")
        run_tag = uuid.uuid4().hex[:8]
        # local workers share this terminal: hide MediaPipe's C++ logs unless the application logs at INFO (-v)
        quiet = scheduler is None and logging.getLogger().getEffectiveLevel() > logging.INFO
        # one graph update for all videos: Dask then queues them on the scheduler and hands each worker the next
        # video only when it is free (a worker's queue would be lost with it if its process died)
        submitted = client.map(analyze_job, pending, [str(out)] * len(pending), analyze=task.analyze,
                               settings=task.settings, annotate=task.annotate, quiet_native_logs=quiet,
                               reuse_since=task.reuse_since, pure=False,
                               key=[f"backtorun-analyze-{job.id}-{run_tag}" for job in pending])
        futures = dict(zip(submitted, pending))
        del submitted
        for done, fut in enumerate(as_completed(futures, loop=client.loop), start=1):
            job = futures[fut]
            try:
                record = fut.result()
            except Exception as exc:  # noqa: BLE001 — a dead worker or a write error fails one video, not the batch
                log.error("%s: task failed: %s", job.id, exc)
                record = _record_failure(out, job, exc, task.settings)
            fut.release()  # the record is saved: a worker lost later must not recompute this video
            rows[job.id] = summary_row(job, record, record.get("status", "failed"))
            if progress is not None:
                progress(done, len(pending), rows[job.id])
    return n_workers
