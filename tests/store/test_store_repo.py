"""Repository functions on SQLite and PostgreSQL: migrations, accounts, sessions, isolation, deletion, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select

from backtorun.store import make_engine, repo, upgrade
from backtorun.store.migrate import current_revision, head_revision
from backtorun.store.models import AuditEntry, Evaluation, Job, Upload, utcnow
from backtorun.store import job_queue as jobstore


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    assert upgrade(engine) == head_revision()  # second run is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"clinics", "users", "web_sessions", "login_attempts", "patients", "evaluations", "uploads", "jobs",
            "audit_log", "alembic_version"} <= tables
    engine.dispose()


def test_passwords_are_argon2_and_checked(sessions) -> None:
    with sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "North")
        user = repo.create_user(s, email=" Ana@Clinic.TEST ", password="s3cret-password", clinic=clinic)
        assert user.email == "ana@clinic.test"
        assert user.password_hash.startswith("$argon2id$") and "s3cret" not in user.password_hash
    with sessions() as s:
        assert repo.authenticate(s, "ana@clinic.test", "s3cret-password") is not None
        assert repo.authenticate(s, "ANA@clinic.test", "s3cret-password") is not None
        assert repo.authenticate(s, "ana@clinic.test", "wrong") is None
        assert repo.authenticate(s, "nobody@clinic.test", "s3cret-password") is None


def test_web_sessions_store_only_a_hash_and_expire(sessions) -> None:
    with sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "North")
        user = repo.create_user(s, email="a@x.test", password="pw-123456789", clinic=clinic)
        token, row = repo.create_web_session(s, user, max_age_s=3600)
        assert token not in row.token_sha256 and len(row.csrf_token) >= 32
        short, short_row = repo.create_web_session(s, user, max_age_s=3600)
        short_row.expires_at = utcnow() - dt.timedelta(seconds=1)
    with sessions.begin() as s:
        assert repo.get_web_session(s, token) is not None
        assert repo.get_web_session(s, short) is None  # expired
        assert repo.get_web_session(s, "forged-token") is None
        repo.delete_web_session(s, token)
    with sessions() as s:
        assert repo.get_web_session(s, token) is None


def test_failed_logins_are_counted_per_key_within_the_window(sessions) -> None:
    with sessions.begin() as s:
        repo.record_failed_login(s, ["email:a@x.test", "ip:1.2.3.4"])
        repo.record_failed_login(s, ["email:a@x.test", "ip:1.2.3.4"])
    since = utcnow() - dt.timedelta(minutes=15)
    with sessions.begin() as s:
        assert repo.failed_logins_since(s, "email:a@x.test", since) == 2
        assert repo.failed_logins_since(s, "email:b@x.test", since) == 0
        assert repo.failed_logins_since(s, "email:a@x.test", utcnow() + dt.timedelta(seconds=5)) == 0
        repo.clear_failed_logins(s, "email:a@x.test")
        assert repo.failed_logins_since(s, "email:a@x.test", since) == 0
        assert repo.failed_logins_since(s, "ip:1.2.3.4", since) == 2


def test_patient_reads_are_scoped_to_the_clinic(sessions) -> None:
    with sessions.begin() as s:
        a = repo.get_or_create_clinic(s, "A")
        b = repo.get_or_create_clinic(s, "B")
        pa = repo.create_patient(s, clinic_id=a.id, name="Alice")
        pb = repo.create_patient(s, clinic_id=b.id, name="Bob")
        ev = repo.create_evaluation(s, pa, label="initial")
        ids = (a.id, b.id, pa.id, pb.id, ev.id)
    a_id, b_id, pa_id, pb_id, ev_id = ids
    with sessions() as s:
        assert [p.name for p in repo.list_patients(s, a_id)] == ["Alice"]
        assert repo.get_patient(s, a_id, pa_id) is not None
        assert repo.get_patient(s, b_id, pa_id) is None
        assert repo.get_evaluation(s, b_id, ev_id) is None
        assert repo.get_evaluation(s, a_id, ev_id) is not None
        assert repo.list_evaluations(s, b_id, pa_id) == []
        assert [p.name for p in repo.list_patients(s, a_id, search="ali")] == ["Alice"]


def test_delete_patient_removes_records_and_keeps_one_audit_entry(sessions, tmp_path) -> None:
    video = tmp_path / "side.mp4"
    video.write_bytes(b"x")
    with sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "A")
        user = repo.create_user(s, email="a@x.test", password="pw-123456789", clinic=clinic)
        p = repo.create_patient(s, clinic_id=clinic.id, name="Alice")
        ev = repo.create_evaluation(s, p)
        ev.result_dir = str(tmp_path / "results")
        repo.add_upload(s, ev, kind="side", original_name="side.mp4", stored_path=str(video),
                        content_type="video/mp4", size_bytes=1, sha256="0" * 64)
        job = jobstore.enqueue_job(s, ev)
        repo.audit(s, user, "view", "patient", p.id)
        repo.audit(s, user, "export", "patient", p.id, "zip")
        repo.audit(s, user, "update", "evaluation", ev.id, "intake saved; red-flag level emergency")
        pid, eid, jid = p.id, ev.id, job.id
    with sessions.begin() as s:
        p = repo.get_patient(s, clinic.id, pid)
        erasure = repo.delete_patient(s, p, by=user)
    assert str(video) in erasure.paths and str(tmp_path / "results") in erasure.paths
    assert erasure.evaluation_ids == (eid,) and erasure.job_ids == (jid,)
    with sessions() as s:
        assert s.scalars(select(Evaluation)).all() == []
        assert s.scalars(select(Upload)).all() == []
        assert s.scalars(select(Job)).all() == []
        trail = s.scalars(select(AuditEntry)).all()
        assert [(a.action, a.entity, a.entity_id) for a in trail] == [("delete", "patient", pid)]
        assert "Alice" not in trail[0].detail and "red-flag" not in trail[0].detail
        assert "export×1 (by a@x.test)" in trail[0].detail and trail[0].user_email == "a@x.test"


def test_ids_are_never_reused_after_a_delete(sessions) -> None:
    """Deleting the newest patient (and evaluation) must not hand its id to the next one (SQLite AUTOINCREMENT)."""
    with sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "A")
        p = repo.create_patient(s, clinic_id=clinic.id, name="Old")
        old_pid, old_eid = p.id, repo.create_evaluation(s, p).id
    with sessions.begin() as s:
        repo.delete_patient(s, repo.get_patient(s, clinic.id, old_pid))
    with sessions.begin() as s:
        p = repo.create_patient(s, clinic_id=clinic.id, name="New")
        assert p.id > old_pid and repo.create_evaluation(s, p).id > old_eid


def test_archived_patients_leave_the_list_but_keep_their_records(sessions) -> None:
    with sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "A")
        p = repo.create_patient(s, clinic_id=clinic.id, name="Kept")
        repo.create_evaluation(s, p)
        repo.archive_patient(s, p)
        assert repo.list_patients(s, clinic.id) == [] and [x.name for x in repo.list_patients(s, clinic.id, archived=True)] == ["Kept"]
        assert len(repo.list_evaluations(s, clinic.id, p.id)) == 1
        repo.archive_patient(s, p, archived=False)
        assert [x.name for x in repo.list_patients(s, clinic.id)] == ["Kept"]


def test_out_of_range_ids_are_missing_records(sessions) -> None:
    with sessions() as s:
        for bad in (0, -1, 2**31, 10**23):
            assert repo.get_patient(s, 1, bad) is None and repo.get_evaluation(s, 1, bad) is None


def test_migrations_match_the_models(db_url: str) -> None:
    """The shipped migrations produce exactly the schema the models describe (no missing migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backtorun.store.models import Base

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
