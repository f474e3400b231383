"""Repository functions. Each takes the SQLAlchemy session explicitly; none commits except where noted.

Clinic isolation: every read of a patient-owned record takes ``clinic_id`` and returns ``None`` for another
clinic's record, exactly as for a missing one (the web layer answers 404 in both cases).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
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


def create_web_session(session: Session, user: User, *, max_age_s: int) -> tuple[str, WebSession]:
    """A new login session; returns the cookie token (only its hash is stored) and the row."""
    token = secrets.token_urlsafe(32)
    row = WebSession(token_sha256=_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     expires_at=utcnow() + dt.timedelta(seconds=max_age_s))
    session.add(row)
    session.flush()
    return token, row


def get_web_session(session: Session, token: str) -> WebSession | None:
    row = session.get(WebSession, _sha256(token))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.timezone.utc)
    if expires < utcnow() or not row.user.active:
        return None
    return row


def delete_web_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == _sha256(token)))


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


def list_patients(session: Session, clinic_id: int, *, search: str | None = None) -> Sequence[Patient]:
    q = select(Patient).where(Patient.clinic_id == clinic_id)
    if search:
        q = q.where(Patient.name.ilike(f"%{search}%"))
    return session.scalars(q.order_by(Patient.name, Patient.id)).all()


def get_patient(session: Session, clinic_id: int, patient_id: int) -> Patient | None:
    return session.scalar(select(Patient).where(Patient.id == patient_id, Patient.clinic_id == clinic_id))


def delete_patient(session: Session, patient: Patient) -> list[str]:
    """Delete a patient and all their evaluations, uploads and jobs; returns the stored file paths to remove."""
    paths = [u.stored_path for u in session.scalars(
        select(Upload).join(Evaluation, Upload.evaluation_id == Evaluation.id)
        .where(Evaluation.patient_id == patient.id)).all()]
    paths += [e.result_dir for e in list_evaluations(session, patient.clinic_id, patient.id) if e.result_dir]
    eval_ids = select(Evaluation.id).where(Evaluation.patient_id == patient.id)
    session.execute(delete(Job).where(Job.evaluation_id.in_(eval_ids)))
    session.execute(delete(Upload).where(Upload.evaluation_id.in_(eval_ids)))
    session.execute(delete(Evaluation).where(Evaluation.patient_id == patient.id))
    session.delete(patient)
    session.flush()
    return paths


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
