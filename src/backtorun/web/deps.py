"""Request-scoped dependencies: database session, the logged-in clinician, CSRF check."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import User, WebSession

SESSION_COOKIE = "btr_session"


class NotAuthenticated(Exception):
    """No valid login session: pages redirect to /login, API calls answer 401."""


class CsrfFailed(Exception):
    """A form without the session's CSRF token (or with a wrong one)."""


class NotFound(Exception):
    """A record that does not exist or belongs to another clinic (answered 404 in both cases)."""


class Forbidden(Exception):
    """The clinician may not do this (e.g. admin pages)."""


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@dataclass
class Clinician:
    """The logged-in user (ORM row, for this request's session) and plain copies of what pages show.

    The plain fields stay readable after the request's database session has closed (error pages).
    """

    user: User
    user_id: int
    email: str
    is_admin: bool
    clinic_id: int
    clinic_name: str
    csrf_token: str

    @classmethod
    def of(cls, ws: WebSession) -> "Clinician":
        u = ws.user
        return cls(user=u, user_id=u.id, email=u.email, is_admin=u.is_admin, clinic_id=u.clinic_id,
                   clinic_name=u.clinic.name, csrf_token=ws.csrf_token)


def current_clinician(request: Request, db: Session = Depends(get_db, scope="function")) -> Clinician:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated()
    ws = repo.get_web_session(db, token)
    if ws is None:
        raise NotAuthenticated()
    request.state.clinician = Clinician.of(ws)
    return request.state.clinician


def require_admin(clinician: Clinician = Depends(current_clinician)) -> Clinician:
    if not clinician.is_admin:
        raise Forbidden()
    return clinician


async def csrf_form(request: Request, clinician: Clinician = Depends(current_clinician)) -> dict[str, str]:
    """The submitted form fields, after checking its CSRF token against the session's."""
    form = await request.form(max_files=0, max_fields=2000)  # files only through the streaming upload routes
    token = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    if not token or not hmac.compare_digest(token, clinician.csrf_token):
        raise CsrfFailed()
    return {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
