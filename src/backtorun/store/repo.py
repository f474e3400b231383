"""Repository functions. Each takes the SQLAlchemy session explicitly; none commits except where noted.

Clinic isolation: every read of a patient-owned record takes ``clinic_id`` and returns ``None`` for another
clinic's record, exactly as for a missing one (the web layer answers 404 in both cases).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from backtorun.store.models import (
    AuditEntry, Clinic, Evaluation, Job, LoginAttempt, Patient, Upload, User, WebSession, utcnow,
)

_hasher = PasswordHasher()


# ----------------------------------------------------------------------------------------------- accounts


def hash_password(password: str) -> str:
    """Argon2id hash (argon2-cffi defaults, RFC 9106 low-memory profile)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_or_create_clinic(session: Session, name: str) -> Clinic:
    clinic = session.scalar(select(Clinic).where(Clinic.name == name))
    if clinic is None:
        clinic = Clinic(name=name)
        session.add(clinic)
        session.flush()
    return clinic


def create_user(session: Session, *, email: str, password: str, clinic: Clinic, is_admin: bool = False) -> User:
    user = User(email=email.strip().lower(), password_hash=hash_password(password), clinic_id=clinic.id,
                is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(session: Session, clinic_id: int) -> Sequence[User]:
    return session.scalars(select(User).where(User.clinic_id == clinic_id).order_by(User.email)).all()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None. Hashes even for unknown users (timing)."""
    user = get_user_by_email(session, email)
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(t: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def create_web_session(session: Session, user: User, *, max_age_s: int,
                       now: dt.datetime | None = None) -> tuple[str, WebSession]:
    """A new login session ending ``max_age_s`` after ``now`` at the latest; returns the cookie token (only its
    hash is stored) and the row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = WebSession(token_sha256=_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     created_at=now, last_seen_at=now, expires_at=now + dt.timedelta(seconds=max_age_s))
    session.add(row)
    session.flush()
    return token, row


def get_web_session(session: Session, token: str, *, now: dt.datetime | None = None,
                    idle_timeout_s: float | None = None, touch_after_s: float = 0.0) -> WebSession | None:
    """The live session of ``token``, else None. A session past its absolute end (``expires_at``), unused for
    ``idle_timeout_s`` or of a disabled account is deleted. Last activity is written when older than
    ``touch_after_s`` (fewer writes; the idle timeout is then accurate to that)."""
    if not token:
        return None
    row = session.get(WebSession, _sha256(token))
    if row is None:
        return None
    now = now or utcnow()
    last = _aware(row.last_seen_at or row.created_at)
    idle = idle_timeout_s is not None and (now - last).total_seconds() > idle_timeout_s
    if _aware(row.expires_at) <= now or idle or not row.user.active:
        session.delete(row)
        session.flush()
        return None
    if (now - last).total_seconds() >= touch_after_s:
        row.last_seen_at = now
    return row


def delete_web_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == _sha256(token)))


def end_sessions(session: Session, user_id: int, *, except_token: str | None = None) -> int:
    """Revoke every login session of a user at once (all but ``except_token``'s); returns how many ended."""
    session.flush()
    q = delete(WebSession).where(WebSession.user_id == user_id)
    if except_token:
        q = q.where(WebSession.token_sha256 != _sha256(except_token))
    return int(session.execute(q).rowcount or 0)


def count_sessions(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id))
               or 0)


def purge_expired_sessions(session: Session, *, now: dt.datetime | None = None) -> None:
    """Delete sessions past their absolute end (idle ones go when next presented)."""
    session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))


# ----------------------------------------------------------------------------------------------- lifecycle


def get_user(session: Session, clinic_id: int, user_id: int) -> User | None:
    """A user of this clinic (None for another clinic's, as for a missing one)."""
    if not valid_id(user_id):
        return None
    return session.scalar(select(User).where(User.id == user_id, User.clinic_id == clinic_id))


def set_password(session: Session, user: User, password: str, *, now: dt.datetime | None = None,
                 must_change: bool = False, valid_s: float | None = None) -> None:
    """Store a new password hash and end every session of the user. ``must_change`` marks a one-time password
    (an administrator's reset) that lapses ``valid_s`` after ``now`` and must be replaced at the next login."""
    now = now or utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.must_change_password = must_change
    user.reset_expires_at = now + dt.timedelta(seconds=valid_s) if must_change and valid_s else None
    end_sessions(session, user.id)
    session.flush()


def reset_lapsed(user: User, *, now: dt.datetime | None = None) -> bool:
    """Whether the user's one-time password from a reset has lapsed (login refused until a new reset)."""
    return bool(user.must_change_password and user.reset_expires_at is not None
                and _aware(user.reset_expires_at) <= (now or utcnow()))


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable (sessions end at once; login refused) or re-enable an account."""
    user.active = active
    if not active:
        end_sessions(session, user.id)
    session.flush()


def delete_user(session: Session, user: User) -> None:
    """Remove an account: its sessions go with it; records it created keep no link to it (``SET NULL``); audit
    rows keep its e-mail."""
    user_id = user.id
    end_sessions(session, user_id)
    session.execute(update(Patient).where(Patient.created_by == user_id).values(created_by=None))
    session.execute(update(Evaluation).where(Evaluation.created_by == user_id).values(created_by=None))
    session.execute(delete(User).where(User.id == user_id))


def active_admins(session: Session, clinic_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(User).where(
        User.clinic_id == clinic_id, User.is_admin.is_(True), User.active.is_(True))) or 0)


def set_totp(session: Session, user: User, secret: str | None, *, step: int | None = None) -> None:
    """Enrol (``secret``) or remove (None) the user's TOTP second factor."""
    user.totp_secret = secret
    user.totp_last_step = step
    session.flush()


def record_failed_login(session: Session, keys: Sequence[str]) -> None:
    for key in keys:
        session.add(LoginAttempt(key=key))


def failed_logins_since(session: Session, key: str, since: dt.datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(LoginAttempt)
                              .where(LoginAttempt.key == key, LoginAttempt.at >= since)) or 0)


def clear_failed_logins(session: Session, key: str) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))


# ----------------------------------------------------------------------------------------------- audit


def audit(session: Session, user: User | None, action: str, entity: str, entity_id: int | None = None,
          detail: str = "", *, clinic_id: int | None = None) -> None:
    """Record who did what to which record (action: view, create, update, delete, export, login, …)."""
    session.add(AuditEntry(clinic_id=clinic_id if clinic_id is not None else (user.clinic_id if user else None),
                           user_id=user.id if user else None, user_email=user.email if user else "",
                           action=action, entity=entity, entity_id=entity_id, detail=detail[:2000]))


def list_audit(session: Session, clinic_id: int, *, limit: int = 200, entity: str | None = None,
               entity_id: int | None = None) -> Sequence[AuditEntry]:
    q = select(AuditEntry).where(AuditEntry.clinic_id == clinic_id)
    if entity is not None:
        q = q.where(AuditEntry.entity == entity)
    if entity_id is not None:
        q = q.where(AuditEntry.entity_id == entity_id)
    return session.scalars(q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).all()


# ----------------------------------------------------------------------------------------------- patients


def create_patient(session: Session, *, clinic_id: int, name: str, created_by: int | None = None,
                   **fields: Any) -> Patient:
    patient = Patient(clinic_id=clinic_id, name=name, created_by=created_by, **fields)
    session.add(patient)
    session.flush()
    return patient


def list_patients(session: Session, clinic_id: int, *, search: str | None = None,
                  archived: bool = False) -> Sequence[Patient]:
    """The clinic's patients (archived ones only with ``archived=True``, and then only those)."""
    q = select(Patient).where(Patient.clinic_id == clinic_id,
                              Patient.archived_at.is_not(None) if archived else Patient.archived_at.is_(None))
    if search:
        q = q.where(Patient.name.ilike(f"%{search}%"))
    return session.scalars(q.order_by(Patient.name, Patient.id)).all()


MAX_ID = 2**31 - 1  # largest value of an INTEGER key column on PostgreSQL (SQLite allows more)


def valid_id(value: int) -> bool:
    """Whether ``value`` can be a record id (an out-of-range id is a missing record, not a database error)."""
    return 0 < value <= MAX_ID


def get_patient(session: Session, clinic_id: int, patient_id: int) -> Patient | None:
    if not valid_id(patient_id):
        return None
    return session.scalar(select(Patient).where(Patient.id == patient_id, Patient.clinic_id == clinic_id))


@dataclass(frozen=True)
class PatientErasure:
    """What a patient's deletion removed from the database, and the stored files the caller must remove."""

    clinic_id: int
    patient_id: int
    evaluation_ids: tuple[int, ...]
    job_ids: tuple[int, ...]
    paths: tuple[str, ...]  # upload files and result folders recorded in the rows


def delete_patient(session: Session, patient: Patient, *, by: User | None = None) -> PatientErasure:
    """Delete a patient with every evaluation, upload, job and audit row about them (all runs, interrupted ones
    included), then record one audit entry without health data: counts, and who had exported the record.

    Returns what the caller needs to remove the stored files (``PatientErasure``).
    """
    evaluations = session.scalars(select(Evaluation).where(Evaluation.patient_id == patient.id)).all()
    eval_ids = tuple(e.id for e in evaluations)
    uploads = session.scalars(select(Upload).where(Upload.evaluation_id.in_(eval_ids))).all() if eval_ids else []
    jobs = session.scalars(select(Job).where(Job.evaluation_id.in_(eval_ids))).all() if eval_ids else []
    paths = tuple([u.stored_path for u in uploads] + [e.result_dir for e in evaluations if e.result_dir])
    trail = _patient_audit(session, patient.clinic_id, patient.id, eval_ids)
    summary = _trail_summary(trail)
    if trail:
        session.execute(delete(AuditEntry).where(AuditEntry.id.in_([a.id for a in trail])))
    if eval_ids:
        session.execute(delete(Job).where(Job.evaluation_id.in_(eval_ids)))
        session.execute(delete(Upload).where(Upload.evaluation_id.in_(eval_ids)))
        session.execute(delete(Evaluation).where(Evaluation.id.in_(eval_ids)))
    erasure = PatientErasure(clinic_id=patient.clinic_id, patient_id=patient.id, evaluation_ids=eval_ids,
                             job_ids=tuple(j.id for j in jobs), paths=paths)
    session.delete(patient)
    audit(session, by, "delete", "patient", erasure.patient_id,
          f"patient record erased with {len(eval_ids)} evaluation(s) and {len(uploads)} upload(s)"
          + (f"; earlier activity: {summary}" if summary else ""), clinic_id=erasure.clinic_id)
    session.flush()
    return erasure


def _patient_audit(session: Session, clinic_id: int, patient_id: int,
                   eval_ids: Sequence[int]) -> Sequence[AuditEntry]:
    about = (AuditEntry.entity == "patient") & (AuditEntry.entity_id == patient_id)
    if eval_ids:
        about = about | ((AuditEntry.entity == "evaluation") & AuditEntry.entity_id.in_(eval_ids))
    return session.scalars(select(AuditEntry).where(AuditEntry.clinic_id == clinic_id, about)).all()


def _trail_summary(trail: Sequence[AuditEntry]) -> str:
    """Action counts and the accounts that exported, e.g. ``create×1, export×2 (by a@x), view×5`` (no details)."""
    counts: dict[str, int] = {}
    exporters: set[str] = set()
    for a in trail:
        counts[a.action] = counts.get(a.action, 0) + 1
        if a.action == "export" and a.user_email:
            exporters.add(a.user_email)
    return ", ".join(f"{k}×{n}" + (f" (by {', '.join(sorted(exporters))})" if k == "export" and exporters else "")
                     for k, n in sorted(counts.items()))


def archive_patient(session: Session, patient: Patient, *, archived: bool = True) -> None:
    """Soft delete: hide the patient from the list (records and files are kept); ``archived=False`` restores."""
    patient.archived_at = utcnow() if archived else None
    session.flush()


# ----------------------------------------------------------------------------------------------- evaluations


def create_evaluation(session: Session, patient: Patient, *, created_by: int | None = None, label: str = "",
                      speed_mps: float | None = None, height_cm: float | None = None) -> Evaluation:
    ev = Evaluation(clinic_id=patient.clinic_id, patient_id=patient.id, created_by=created_by, label=label,
                    speed_mps=speed_mps, height_cm=height_cm if height_cm is not None else patient.height_cm)
    session.add(ev)
    session.flush()
    return ev


def list_evaluations(session: Session, clinic_id: int, patient_id: int) -> Sequence[Evaluation]:
    return session.scalars(select(Evaluation).where(Evaluation.clinic_id == clinic_id,
                                                    Evaluation.patient_id == patient_id)
                           .order_by(Evaluation.created_at, Evaluation.id)).all()


def get_evaluation(session: Session, clinic_id: int, evaluation_id: int) -> Evaluation | None:
    if not valid_id(evaluation_id):
        return None
    return session.scalar(select(Evaluation).where(Evaluation.id == evaluation_id,
                                                   Evaluation.clinic_id == clinic_id))


def add_upload(session: Session, evaluation: Evaluation, *, kind: str, original_name: str, stored_path: str,
               content_type: str, size_bytes: int, sha256: str) -> Upload:
    up = Upload(clinic_id=evaluation.clinic_id, evaluation_id=evaluation.id, kind=kind,
                original_name=original_name[:300], stored_path=stored_path, content_type=content_type[:100],
                size_bytes=size_bytes, sha256=sha256)
    session.add(up)
    session.flush()
    return up


def list_uploads(session: Session, evaluation_id: int, kind: str | None = None) -> Sequence[Upload]:
    q = select(Upload).where(Upload.evaluation_id == evaluation_id)
    if kind is not None:
        q = q.where(Upload.kind == kind)
    return session.scalars(q.order_by(Upload.created_at, Upload.id)).all()


def latest_upload(session: Session, evaluation_id: int, kind: str) -> Upload | None:
    ups = list_uploads(session, evaluation_id, kind)
    return ups[-1] if ups else None


# ----------------------------------------------------------------------------------------------- clinic workflow


PATIENT_FIELDS = ("name", "birth_year", "sex", "height_cm", "notes")


def update_patient(session: Session, patient: Patient, **fields: Any) -> list[str]:
    """Set the given patient fields (``PATIENT_FIELDS``); returns the names of those that changed."""
    changed = []
    for name, value in fields.items():
        if name not in PATIENT_FIELDS:
            raise ValueError(f"{name} is not an editable patient field")
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    session.flush()
    return changed


@dataclass(frozen=True)
class EvaluationErasure:
    """What an evaluation's deletion removed from the database, and the stored files the caller must remove."""

    clinic_id: int
    evaluation_id: int
    job_ids: tuple[int, ...]
    paths: tuple[str, ...]  # upload files and the result folder recorded in the rows


def delete_evaluation(session: Session, evaluation: Evaluation) -> EvaluationErasure:
    """Delete one evaluation with its uploads and jobs (its audit entries stay: they record who did what)."""
    uploads = session.scalars(select(Upload).where(Upload.evaluation_id == evaluation.id)).all()
    job_ids = tuple(session.scalars(select(Job.id).where(Job.evaluation_id == evaluation.id)).all())
    paths = tuple([u.stored_path for u in uploads] + ([evaluation.result_dir] if evaluation.result_dir else []))
    erasure = EvaluationErasure(clinic_id=evaluation.clinic_id, evaluation_id=evaluation.id, job_ids=job_ids,
                                paths=paths)
    session.execute(delete(Job).where(Job.evaluation_id == evaluation.id))
    session.execute(delete(Upload).where(Upload.evaluation_id == evaluation.id))
    session.delete(evaluation)
    session.flush()
    return erasure


def get_upload(session: Session, clinic_id: int, evaluation_id: int, upload_id: int) -> Upload | None:
    if not valid_id(upload_id):
        return None
    return session.scalar(select(Upload).where(Upload.id == upload_id, Upload.evaluation_id == evaluation_id,
                                               Upload.clinic_id == clinic_id))


def delete_upload(session: Session, upload: Upload) -> str | None:
    """Delete one upload row; returns its stored path for the caller to remove the file, or None while another
    upload row (the same file uploaded twice) still refers to it."""
    path = upload.stored_path
    session.delete(upload)
    session.flush()
    others = session.scalar(select(func.count()).select_from(Upload).where(Upload.stored_path == path))
    return None if others else path


def latest_screens(session: Session, clinic_id: int,
                   patient_ids: Sequence[int]) -> dict[int, tuple[Evaluation, dict[str, Any]]]:
    """{patient id: (evaluation, red-flag screen dict)} of each patient's newest evaluation with a screen."""
    if not patient_ids:
        return {}
    rows = session.execute(select(Evaluation.id, Evaluation.patient_id, Evaluation.created_at, Evaluation.red_flags)
                           .where(Evaluation.clinic_id == clinic_id, Evaluation.patient_id.in_(list(patient_ids)),
                                  Evaluation.red_flags.is_not(None))
                           .order_by(Evaluation.created_at, Evaluation.id)).all()
    out: dict[int, tuple[Any, dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row.red_flags, dict):
            out[row.patient_id] = (row, row.red_flags)
    return out


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit log; None = any. Page views (action "view") are left out unless ``include_views`` or
    ``action="view"``. Time: ``since`` ≤ at < ``until`` (UTC)."""

    user_email: str | None = None
    action: str | None = None
    patient_id: int | None = None  # the patient's own entries and those of their evaluations
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    include_views: bool = False


def search_audit(session: Session, clinic_id: int, query: AuditQuery, *, limit: int = 500) -> Sequence[AuditEntry]:
    """The clinic's audit entries matching ``query``, newest first, at most ``limit``."""
    user_email, action, patient_id = query.user_email, query.action, query.patient_id
    since, until, include_views = query.since, query.until, query.include_views
    q = select(AuditEntry).where(AuditEntry.clinic_id == clinic_id)
    if user_email:
        q = q.where(AuditEntry.user_email == user_email.strip().lower())
    if action:
        q = q.where(AuditEntry.action == action)
    elif not include_views:
        q = q.where(AuditEntry.action != "view")
    if patient_id is not None:
        eval_ids = session.scalars(select(Evaluation.id).where(Evaluation.clinic_id == clinic_id,
                                                               Evaluation.patient_id == patient_id)).all()
        about = (AuditEntry.entity == "patient") & (AuditEntry.entity_id == patient_id)
        if eval_ids:
            about = about | ((AuditEntry.entity == "evaluation") & AuditEntry.entity_id.in_(list(eval_ids)))
        q = q.where(about)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    return session.scalars(q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).all()


def audit_choices(session: Session, clinic_id: int) -> tuple[list[str], list[str]]:
    """The accounts and actions that occur in the clinic's audit log (for the filter menus)."""
    emails = session.scalars(select(AuditEntry.user_email).where(AuditEntry.clinic_id == clinic_id,
                                                                 AuditEntry.user_email != "")
                             .distinct()).all()
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.clinic_id == clinic_id).distinct()).all()
    return sorted(emails), sorted(actions)
