"""Background analysis jobs: a ``JobRunner`` interface, an in-process pool, and a Dask hook.

The web process only enqueues (a database row) and hands the job id to a runner. ``execute_job`` runs in a
worker process, claims the row, calls the pipeline with a progress callback that writes to the row, and stores
the result. All state is in the database; ``recover_jobs`` at startup handles jobs of a process that died.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import logging
import multiprocessing
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtorun.errors import BacktorunError, ConfigError
from backtorun.store import job_queue as jobstore
from backtorun.store import repo
from backtorun.store.db import make_engine, session_factory
from backtorun.store.models import Evaluation, Job, Patient, utcnow
from backtorun.web.storage import dask_scratch_dir, private_dir, private_tree, restrict_process_umask, run_dir

if TYPE_CHECKING:
    from backtorun.services.evaluation import EvaluationInputs

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
    restrict_process_umask()  # results (videos, reports, key frames) are readable by this account only
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
        try:  # a stored intake or clinic settings file that no longer validates fails the job with its reason
            analysis_job = _inputs(s, ev, patient, job, Path(data_dir))
        except BacktorunError as exc:
            with Sessions.begin() as s2:
                jobstore.fail_job(s2, job_id, str(exc), owner)
            return "failed"
    evaluation_id, out_dir = analysis_job.evaluation_id, analysis_job.out_dir
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
        result = load_pipeline(pipeline_spec)(analysis_job, progress)
    except JobCancelled:
        log.warning("job %s cancelled: taken over by another worker, or its evaluation was deleted", job_id)
        _discard_if_deleted(Sessions, evaluation_id, out_dir)
        return "cancelled"
    except BacktorunError as exc:
        with Sessions.begin() as s:
            jobstore.fail_job(s, job_id, str(exc), owner)
        _discard_if_deleted(Sessions, evaluation_id, out_dir)
        return "failed"
    except Exception as exc:  # noqa: BLE001 — a worker must record any failure on the job row
        log.exception("analysis job %s failed", job_id)
        with Sessions.begin() as s:
            jobstore.fail_job(s, job_id, f"internal error ({exc.__class__.__name__}: {exc}); "
                                         "please report it with the server log", owner)
        _discard_if_deleted(Sessions, evaluation_id, out_dir)
        return "failed"
    private_tree(out_dir)  # results readable by this account only, whatever modes the stages wrote them with
    with Sessions.begin() as s:
        ev = s.get(Evaluation, evaluation_id)
        if ev is not None:
            ev.result = result
            ev.result_dir = str(out_dir)
            ev.completed_at = utcnow()
        jobstore.finish_job(s, job_id, owner)
    if _discard_if_deleted(Sessions, evaluation_id, out_dir):
        return "cancelled"
    return "done"


def _discard_if_deleted(Sessions: sessionmaker[Session], evaluation_id: int, out_dir: Path) -> bool:
    """Remove a run's output folder when its evaluation was deleted while it ran (nothing of it may stay)."""
    with Sessions() as s:
        if s.get(Evaluation, evaluation_id) is not None:
            return False
    # the run folder and its evaluation folder (recreated by this run after the deletion removed it)
    target = out_dir.parent if out_dir.parent.name == f"evaluation-{evaluation_id}" else out_dir
    shutil.rmtree(target, ignore_errors=True)
    log.info("removed the output of a run whose evaluation was deleted meanwhile")
    return True


def clinic_settings_file(data_dir: Path, clinic_id: int) -> Path:
    """The clinic's analysis settings (YAML/JSON tree of ``AnalysisSettings``), used by its jobs when present."""
    return Path(data_dir) / "settings" / f"clinic-{clinic_id}-analysis.yaml"


@dataclass(frozen=True)
class AnalysisJob:
    """One job's work: the store's evaluation row id, the run folder and the use case's inputs (built from the
    evaluation's rows by :func:`_inputs`). A pipeline (``WebSettings.pipeline``) is called as
    ``pipeline(job, progress)`` and returns the evaluation.json dictionary stored on the row."""

    evaluation_id: int
    out_dir: Path
    inputs: EvaluationInputs


def _inputs(s: Session, ev: Evaluation, patient: Patient, job: Job, data_dir: Path) -> AnalysisJob:
    """The job's inputs from the database: uploads as paths, the saved intake and test results parsed and
    validated again, and the clinic's analysis settings when it has a file (:func:`clinic_settings_file`)."""
    from backtorun.services.analysis import read_settings
    from backtorun.services.evaluation import EvaluationInputs
    from backtorun.services.intake import check_intake_data, parse_tests

    side = repo.latest_upload(s, ev.id, "side")
    rear = repo.latest_upload(s, ev.id, "rear")
    # two side videos (camera on the runner's left and right) take the place of a single side video
    side_left, side_right = repo.latest_upload(s, ev.id, "side_left"), repo.latest_upload(s, ev.id, "side_right")
    if side_left or side_right:
        side = None
    clinic_settings = clinic_settings_file(data_dir, ev.clinic_id)
    inputs = EvaluationInputs(
        side_video=Path(side.stored_path) if side else None,
        rear_video=Path(rear.stored_path) if rear else None,
        side_left=Path(side_left.stored_path) if side_left else None,
        side_right=Path(side_right.stored_path) if side_right else None,
        intake=check_intake_data(ev.intake, source="saved intake").intake if ev.intake else None,
        tests=parse_tests(ev.tests, source="saved test results") if ev.tests else None,
        logs=tuple(Path(u.stored_path) for u in repo.list_uploads(s, ev.id, "log")),
        height_cm=ev.height_cm if ev.height_cm is not None else patient.height_cm,
        speed_mps=ev.speed_mps,
        patient={"id": patient.id, "name": patient.name, "birth_year": patient.birth_year, "sex": patient.sex,
                 "height_cm": patient.height_cm},
        analysis_settings=read_settings(clinic_settings) if clinic_settings.is_file() else None,
    )
    return AnalysisJob(evaluation_id=ev.id, out_dir=run_dir(data_dir, ev.clinic_id, ev.id, job.id, job.attempts),
                       inputs=inputs)


def run_pipeline(job: AnalysisJob, progress: Progress) -> dict[str, Any]:
    """The real analysis: ``services.evaluation.run_evaluation`` of the job's inputs into its private run folder."""
    from backtorun.services.evaluation import run_evaluation

    if all(v is None for v in (job.inputs.side_video, job.inputs.rear_video, job.inputs.side_left,
                               job.inputs.side_right)):
        raise BacktorunError("no video uploaded", hint="upload a side-view (and optionally a rear-view) video first")
    private_dir(job.out_dir)
    return run_evaluation(job.inputs, job.out_dir, progress=progress).to_json_dict()


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


@dataclass(frozen=True)
class JobTicket:
    """What a Dask worker needs to run one job by itself: database, data directory, job row, owner, pipeline."""

    db_url: str
    data_dir: str
    job_id: int
    owner: str
    pipeline: str


def _dask_task(video: Path, out_dir: Path, *, progress: Any = None, ticket: JobTicket) -> str:
    """Runs on a Dask worker (``analyze`` hook of ``backtorun.batch.dask_submit``): the whole job, reporting to
    the database directly (the cluster must reach the database and share the data directory)."""
    return execute_job(ticket.db_url, ticket.data_dir, ticket.job_id, ticket.owner, ticket.pipeline)


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
            video = next((u.stored_path for u in ups if u.kind in ("side", "side_left", "side_right", "rear")), None)
        if video is None:
            return
        out_dir = dask_scratch_dir(Path(self._data_dir), job_id)
        ticket = JobTicket(db_url=self._db_url, data_dir=self._data_dir, job_id=job_id, owner=self._owner,
                           pipeline=self._pipeline)
        fut = self._submit(self._scheduler, video, out_dir, analyze=_dask_task, ticket=ticket)
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
