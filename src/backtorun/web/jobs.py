"""Background analysis jobs: a ``JobRunner`` interface, an in-process pool, and a Dask hook.

The web process only enqueues (a database row) and hands the job id to a runner. ``execute_job`` runs in a
worker process, claims the row, calls the pipeline with a progress callback that writes to the row, and stores
the result. All state is in the database; ``recover_jobs`` at startup handles jobs of a process that died.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import json
import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtorun.errors import BacktorunError, ConfigError
from backtorun.store import jobs as jobstore
from backtorun.store import repo
from backtorun.store.db import make_engine, session_factory
from backtorun.store.models import Evaluation, Job, Patient, utcnow

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


class JobCancelled(Exception):
    """The job row is no longer owned by this worker (another server took it over)."""


class JobRunner(Protocol):
    def submit(self, job_id: int) -> None: ...

    def shutdown(self) -> None: ...


# --------------------------------------------------------------------------------------- worker side


def _worker_init(nice: int, parent_pid: int) -> None:
    """Runs once in each worker process: lower priority, exit when the server is gone (kill -9 included)."""
    try:
        os.nice(nice)
    except OSError:
        log.debug("could not lower worker priority")
    # No PR_SET_PDEATHSIG: it fires when the *thread* that started the worker exits, and the pool starts
    # workers from short-lived request threads. A watchdog thread notices the parent's death within a second.
    def watchdog() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(70)
            time.sleep(1.0)

    threading.Thread(target=watchdog, daemon=True, name="parent-watchdog").start()
    if os.getppid() != parent_pid:
        os._exit(70)


_engines: dict[str, Engine] = {}


def _sessions(db_url: str) -> sessionmaker[Session]:
    if db_url not in _engines:
        _engines[db_url] = make_engine(db_url, pool_size=2)
    return session_factory(_engines[db_url])


def load_pipeline(spec: str) -> Callable[..., dict[str, Any]]:
    module_name, _, func = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), func)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load analysis pipeline {spec!r}: {exc}") from exc


def execute_job(db_url: str, data_dir: str, job_id: int, owner: str, pipeline_spec: str) -> str:
    """Claim and run one job (in a worker). Returns the final status: done, failed or skipped."""
    Sessions = _sessions(db_url)
    with Sessions.begin() as s:
        if not jobstore.claim_job(s, job_id, owner):
            return "skipped"
    with Sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None
        ev = s.get(Evaluation, job.evaluation_id)
        patient = s.get(Patient, ev.patient_id) if ev else None
        if ev is None or patient is None:
            with Sessions.begin() as s2:
                jobstore.fail_job(s2, job_id, "the evaluation was deleted", owner)
            return "failed"
        inputs = _inputs(s, ev, patient, job, Path(data_dir))
    last = [0.0, ""]

    def progress(stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == last[1] and now - last[0] < 0.5 and fraction < 1.0:
            return
        last[0], last[1] = now, stage
        with Sessions.begin() as s3:
            if not jobstore.report_progress(s3, job_id, owner, stage, fraction):
                raise JobCancelled(f"job {job_id} is no longer owned by {owner}")

    try:
        progress("starting analysis", 0.01)
        result = load_pipeline(pipeline_spec)(progress=progress, **inputs)
    except JobCancelled:
        log.warning("job %s cancelled: taken over by another worker", job_id)
        return "cancelled"
    except BacktorunError as exc:
        with Sessions.begin() as s:
            jobstore.fail_job(s, job_id, str(exc), owner)
        return "failed"
    except Exception as exc:  # noqa: BLE001 — a worker must record any failure on the job row
        log.exception("analysis job %s failed", job_id)
        with Sessions.begin() as s:
            jobstore.fail_job(s, job_id, f"internal error ({exc.__class__.__name__}: {exc}); "
                                         "please report it with the server log", owner)
        return "failed"
    with Sessions.begin() as s:
        ev = s.get(Evaluation, inputs["evaluation_id"])
        if ev is not None:
            ev.result = result
            ev.result_dir = str(inputs["out_dir"])
            ev.completed_at = utcnow()
        jobstore.finish_job(s, job_id, owner)
    return "done"


def _inputs(s: Session, ev: Evaluation, patient: Patient, job: Job, data_dir: Path) -> dict[str, Any]:
    """Everything the pipeline needs, as plain values (paths, numbers, dicts)."""
    side = repo.latest_upload(s, ev.id, "side")
    rear = repo.latest_upload(s, ev.id, "rear")
    logs = [Path(u.stored_path) for u in repo.list_uploads(s, ev.id, "log")]
    out_dir = (data_dir / "results" / f"clinic-{ev.clinic_id}" / f"evaluation-{ev.id}"
               / f"job-{job.id}-attempt-{job.attempts}")
    return {
        "evaluation_id": ev.id,
        "side_video": Path(side.stored_path) if side else None,
        "rear_video": Path(rear.stored_path) if rear else None,
        "intake": ev.intake, "tests": ev.tests, "logs": logs,
        "out_dir": out_dir,
        "height_cm": ev.height_cm if ev.height_cm is not None else patient.height_cm,
        "speed_mps": ev.speed_mps,
        "patient": {"id": patient.id, "name": patient.name, "birth_year": patient.birth_year, "sex": patient.sex,
                    "height_cm": patient.height_cm},
    }


def run_pipeline(*, evaluation_id: int, side_video: Path | None, rear_video: Path | None,
                 intake: dict[str, Any] | None, tests: dict[str, Any] | None, logs: list[Path], out_dir: Path,
                 height_cm: float | None, speed_mps: float | None, patient: dict[str, Any],
                 progress: Progress) -> dict[str, Any]:
    """The real analysis: ``services.evaluation.run_evaluation`` (falls back to the video analysis alone)."""
    import yaml

    out_dir.mkdir(parents=True, exist_ok=True)
    if side_video is None and rear_video is None:
        raise BacktorunError("no video uploaded", hint="upload a side-view (and optionally a rear-view) video first")
    try:
        from backtorun.services.evaluation import run_evaluation
    except ImportError:
        run_evaluation = None  # type: ignore[assignment]
    if run_evaluation is not None:
        intake_path = tests_path = None
        if intake:
            intake_path = out_dir / "intake.yaml"
            intake_path.write_text(yaml.safe_dump(intake, sort_keys=False), encoding="utf-8")
        if tests:
            tests_path = out_dir / "tests.yaml"
            tests_path.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
        evaluation = run_evaluation(side_video=side_video, rear_video=rear_video, intake=intake_path,
                                    tests=tests_path, logs=tuple(logs), out_dir=out_dir, height_cm=height_cm,
                                    speed_mps=speed_mps, patient=patient, progress=progress)
        return evaluation.to_json_dict()
    from backtorun.services.analysis import analyze_video_file

    result: dict[str, Any] = {"schema": "backtorun.web-analysis/1", "side": None, "rear": None}
    videos = [(v, p) for v, p in (("side", side_video), ("rear", rear_video)) if p is not None]
    for i, (view, path) in enumerate(videos):
        def frames(done: int, total: int, _i: int = i, _view: str = view) -> None:
            progress(f"{_view} video: pose estimation", (_i + (done / total if total else 0.0)) / len(videos))

        analysis = analyze_video_file(path, out_dir / view, view=view, height_cm=height_cm, speed_mps=speed_mps,
                                      progress=frames)
        result[view] = analysis.to_json_dict()
    (out_dir / "evaluation.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


# --------------------------------------------------------------------------------------- server side


class InProcessJobRunner:
    """Runs jobs in a pool of worker processes started by (and dying with) this server."""

    def __init__(self, *, db_url: str, data_dir: Path, pipeline: str, workers: int = 1, nice: int = 10) -> None:
        self._db_url = db_url
        self._data_dir = str(data_dir)
        self._pipeline = pipeline
        self._owner = jobstore.process_identity()
        self._workers = workers
        self._nice = nice
        self._pool = self._new_pool()
        self._lock = threading.Lock()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return cf.ProcessPoolExecutor(max_workers=self._workers, mp_context=ctx, initializer=_worker_init,
                                      initargs=(self._nice, os.getpid()))

    @property
    def owner(self) -> str:
        return self._owner

    def submit(self, job_id: int) -> None:
        with self._lock:
            try:
                fut = self._pool.submit(execute_job, self._db_url, self._data_dir, job_id, self._owner, self._pipeline)
            except cf.process.BrokenProcessPool:  # a worker died earlier: start a fresh pool
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                fut = self._pool.submit(execute_job, self._db_url, self._data_dir, job_id, self._owner, self._pipeline)
        fut.add_done_callback(lambda f, j=job_id: self._done(j, f))

    def _done(self, job_id: int, fut: "cf.Future[str]") -> None:
        if fut.cancelled():  # server shutting down: the row stays queued/running and is recovered on restart
            return
        exc = fut.exception()
        if exc is not None:  # the worker process crashed (e.g. out of memory): record it on the row
            log.error("worker for job %s crashed: %r", job_id, exc)
            with _sessions(self._db_url).begin() as s:
                jobstore.fail_job(s, job_id, f"the analysis worker stopped unexpectedly ({exc.__class__.__name__}); "
                                             "press 'Start analysis' to try again")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _dask_task(video: Path, out_dir: Path, *, progress: Any = None, db_url: str, data_dir: str, job_id: int,
               owner: str, pipeline: str) -> str:
    """Runs on a Dask worker (``analyze`` hook of ``backtorun.batch.dask_submit``): the whole job, reporting to
    the database directly (the cluster must reach the database and share the data directory)."""
    return execute_job(db_url, data_dir, job_id, owner, pipeline)


class DaskJobRunner:
    """Submits jobs to a Dask cluster through ``backtorun.batch.dask_submit`` (the batch area's client).

    The task is :func:`execute_job` itself, so job state, progress and results go to the same database rows as
    with the in-process runner. A job whose Dask task is lost is recovered by heartbeat age (``recover_jobs``).
    """

    def __init__(self, *, db_url: str, data_dir: Path, pipeline: str, scheduler: str | None) -> None:
        try:
            from backtorun.batch import dask_submit
        except ImportError as exc:
            raise ConfigError("jobs_backend 'dask' needs backtorun.batch.dask_submit",
                              hint="use jobs_backend 'inprocess' or install the batch area") from exc
        if not scheduler:
            raise ConfigError("jobs_backend 'dask' needs a scheduler address",
                              hint="pass --dask-scheduler tcp://host:8786 or use the in-process backend")
        self._submit = dask_submit
        self._db_url = db_url
        self._data_dir = str(data_dir)
        self._pipeline = pipeline
        self._scheduler = scheduler
        self._owner = f"dask/{scheduler.replace('/', '_')}/0"
        self._futures: dict[int, Any] = {}

    @property
    def owner(self) -> str:
        return self._owner

    def submit(self, job_id: int) -> None:
        with _sessions(self._db_url).begin() as s:
            job = s.get(Job, job_id)
            ups = repo.list_uploads(s, job.evaluation_id) if job else []
            video = next((u.stored_path for u in ups if u.kind in ("side", "rear")), None)
        if video is None:
            return
        out_dir = Path(self._data_dir) / "results" / "dask-scratch" / f"job-{job_id}"
        fut = self._submit(self._scheduler, video, out_dir, analyze=_dask_task, db_url=self._db_url,
                           data_dir=self._data_dir, job_id=job_id, owner=self._owner, pipeline=self._pipeline)
        self._futures[job_id] = fut
        fut.add_done_callback(lambda f, j=job_id: self._done(j, f))

    def _done(self, job_id: int, fut: Any) -> None:
        self._futures.pop(job_id, None)
        exc = fut.exception() if not fut.cancelled() else None
        if exc is not None or fut.cancelled():
            with _sessions(self._db_url).begin() as s:
                jobstore.fail_job(s, job_id, f"the Dask task stopped ({exc!r}); press 'Start analysis' to try again")

    def shutdown(self) -> None:
        for fut in list(self._futures.values()):
            fut.release()


def make_runner(*, backend: str, db_url: str, data_dir: Path, pipeline: str, workers: int, nice: int,
                dask_scheduler: str | None) -> InProcessJobRunner | DaskJobRunner:
    if backend == "dask":
        return DaskJobRunner(db_url=db_url, data_dir=data_dir, pipeline=pipeline, scheduler=dask_scheduler)
    return InProcessJobRunner(db_url=db_url, data_dir=data_dir, pipeline=pipeline, workers=workers, nice=nice)
