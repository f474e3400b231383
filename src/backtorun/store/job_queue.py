"""Background-job state in the database: enqueue, claim, progress, finish, and recovery after a crash.

A job row is the single source of truth. ``owner`` names the server process that runs it
(``host/pid/start-time``); on startup ``recover_jobs`` re-queues (or, after ``max_attempts``, fails with a
reason) every job whose owner process no longer exists, so a kill -9 never leaves a job "running" forever.
Uploads are files on disk referenced by ``uploads`` rows and are never touched by recovery.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Callable, Sequence

import psutil
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backtorun.store.models import Evaluation, Job, utcnow

ACTIVE = ("queued", "running")


def process_identity(pid: int | None = None) -> str:
    """``host/pid/create_time`` of a process: unique even when the OS reuses the pid."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{psutil.Process(pid).create_time():.3f}"


def owner_alive(owner: str | None) -> bool | None:
    """True/False for an owner on this host; None when it ran on another host (decide by heartbeat)."""
    if not owner:
        return False
    try:
        host, pid_s, created_s = owner.split("/")
    except ValueError:
        return False
    if host != socket.gethostname():
        return None
    try:
        return abs(psutil.Process(int(pid_s)).create_time() - float(created_s)) < 0.01
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def enqueue_job(session: Session, evaluation: Evaluation) -> Job:
    """A new queued job for the evaluation, or the one already queued/running."""
    existing = active_job(session, evaluation.id)
    if existing is not None:
        return existing
    job = Job(clinic_id=evaluation.clinic_id, evaluation_id=evaluation.id, status="queued", stage="queued")
    session.add(job)
    session.flush()
    return job


def active_job(session: Session, evaluation_id: int) -> Job | None:
    return session.scalar(select(Job).where(Job.evaluation_id == evaluation_id, Job.status.in_(ACTIVE))
                          .order_by(Job.id.desc()).limit(1))


def latest_job(session: Session, evaluation_id: int) -> Job | None:
    return session.scalar(select(Job).where(Job.evaluation_id == evaluation_id).order_by(Job.id.desc()).limit(1))


def claim_job(session: Session, job_id: int, owner: str) -> bool:
    """Atomically move a queued job to running under ``owner``; False if someone else has it."""
    now = utcnow()
    res = session.execute(update(Job).where(Job.id == job_id, Job.status == "queued")
                          .values(status="running", owner=owner, attempts=Job.attempts + 1, started_at=now,
                                  heartbeat_at=now, stage="starting", progress=0.0, error=None))
    return res.rowcount == 1


def report_progress(session: Session, job_id: int, owner: str, stage: str, progress: float) -> bool:
    """Store stage and progress (0..1) and refresh the heartbeat; False if the job is no longer ours."""
    res = session.execute(update(Job).where(Job.id == job_id, Job.owner == owner, Job.status == "running")
                          .values(stage=stage[:200], progress=max(0.0, min(1.0, float(progress))),
                                  heartbeat_at=utcnow()))
    return res.rowcount == 1


def finish_job(session: Session, job_id: int, owner: str) -> bool:
    res = session.execute(update(Job).where(Job.id == job_id, Job.owner == owner, Job.status == "running")
                          .values(status="done", stage="done", progress=1.0, finished_at=utcnow()))
    return res.rowcount == 1


def fail_job(session: Session, job_id: int, error: str, owner: str | None = None) -> bool:
    q = update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE))
    if owner is not None:
        q = q.where(Job.owner == owner)
    res = session.execute(q.values(status="failed", stage="failed", error=error[:4000], finished_at=utcnow()))
    return res.rowcount == 1


def queued_job_ids(session: Session) -> Sequence[int]:
    return session.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.id)).all()


def recover_jobs(session: Session, *, max_attempts: int, stale_after_s: float,
                 is_alive: Callable[[str | None], bool | None] = owner_alive) -> dict[int, str]:
    """Re-queue or fail "running" jobs whose owner is gone; returns {job_id: "requeued" | "failed"}.

    An owner on this host is gone when its process no longer exists; on another host, when its heartbeat is
    older than ``stale_after_s``.
    """
    outcome: dict[int, str] = {}
    now = utcnow()
    for job in session.scalars(select(Job).where(Job.status == "running")).all():
        alive = is_alive(job.owner)
        if alive is None:
            hb = job.heartbeat_at
            if hb is not None and hb.tzinfo is None:
                hb = hb.replace(tzinfo=dt.timezone.utc)
            alive = hb is not None and (now - hb).total_seconds() < stale_after_s
        if alive:
            continue
        if job.attempts < max_attempts:
            session.execute(update(Job).where(Job.id == job.id, Job.status == "running")
                            .values(status="queued", owner=None,
                                    stage=f"resuming after a server restart (attempt {job.attempts + 1} of {max_attempts})"))
            outcome[job.id] = "requeued"
        else:
            fail_job(session, job.id, f"the server stopped during the analysis {job.attempts} time(s); "
                                      "the uploaded videos are kept — press 'Start analysis' to try again")
            outcome[job.id] = "failed"
    return outcome
