"""Job state in the database: claim is exclusive, progress only from the owner, recovery after a crash."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from backtorun.store import job_queue as jobstore
from backtorun.store import repo
from backtorun.store.models import Evaluation, Job, utcnow


@pytest.fixture
def evaluation_id(sessions) -> int:
    with sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "A")
        p = repo.create_patient(s, clinic_id=clinic.id, name="Alice")
        return repo.create_evaluation(s, p).id


def _job(sessions, evaluation_id: int) -> int:
    with sessions.begin() as s:
        ev = s.get(Evaluation, evaluation_id)
        job = jobstore.enqueue_job(s, ev)
        again = jobstore.enqueue_job(s, ev)
        assert again.id == job.id  # one active job per evaluation
        return job.id


def test_claim_is_exclusive_and_progress_needs_ownership(sessions, evaluation_id) -> None:
    job_id = _job(sessions, evaluation_id)
    me = jobstore.process_identity()
    with sessions.begin() as s:
        assert jobstore.claim_job(s, job_id, me)
        assert not jobstore.claim_job(s, job_id, "otherhost/1/1.000")
        assert jobstore.report_progress(s, job_id, me, "pose", 0.4)
        assert not jobstore.report_progress(s, job_id, "otherhost/1/1.000", "pose", 0.9)
    with sessions.begin() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.stage, job.progress, job.attempts) == ("running", "pose", 0.4, 1)
        assert jobstore.finish_job(s, job_id, me)
    with sessions() as s:
        assert s.get(Job, job_id).status == "done"
        assert jobstore.active_job(s, evaluation_id) is None


def _dead_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    ident = jobstore.process_identity(proc.pid)
    proc.wait()
    return ident


def test_recovery_requeues_then_fails_jobs_of_a_dead_process(sessions, evaluation_id) -> None:
    job_id = _job(sessions, evaluation_id)
    dead = _dead_owner()
    assert jobstore.owner_alive(dead) is False
    assert jobstore.owner_alive(jobstore.process_identity()) is True
    with sessions.begin() as s:
        assert jobstore.claim_job(s, job_id, dead)
    with sessions.begin() as s:
        assert jobstore.recover_jobs(s, max_attempts=2, stale_after_s=60) == {job_id: "requeued"}
    with sessions.begin() as s:
        job = s.get(Job, job_id)
        assert job.status == "queued" and job.owner is None and "restart" in job.stage
        assert list(jobstore.queued_job_ids(s)) == [job_id]
        assert jobstore.claim_job(s, job_id, dead)  # second attempt, also killed
    with sessions.begin() as s:
        assert jobstore.recover_jobs(s, max_attempts=2, stale_after_s=60) == {job_id: "failed"}
    with sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and "uploaded videos are kept" in job.error and job.attempts == 2


def test_recovery_leaves_live_owners_and_fresh_remote_heartbeats_alone(sessions, evaluation_id) -> None:
    job_id = _job(sessions, evaluation_id)
    with sessions.begin() as s:
        assert jobstore.claim_job(s, job_id, jobstore.process_identity())
    with sessions.begin() as s:
        assert jobstore.recover_jobs(s, max_attempts=2, stale_after_s=60) == {}
        s.get(Job, job_id).owner = "some-other-host/123/1.000"
    with sessions.begin() as s:
        assert jobstore.recover_jobs(s, max_attempts=2, stale_after_s=60) == {}  # heartbeat is fresh
        s.get(Job, job_id).heartbeat_at = utcnow() - dt.timedelta(seconds=120)
    with sessions.begin() as s:
        assert jobstore.recover_jobs(s, max_attempts=2, stale_after_s=60) == {job_id: "requeued"}


def test_fail_job_records_the_reason(sessions, evaluation_id) -> None:
    job_id = _job(sessions, evaluation_id)
    with sessions.begin() as s:
        assert jobstore.fail_job(s, job_id, "no runner found — is the whole body in view?")
        assert not jobstore.fail_job(s, job_id, "again")  # already finished
    with sessions() as s:
        assert s.get(Job, job_id).error.startswith("no runner found")
