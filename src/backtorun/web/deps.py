"""Request-scoped dependencies: database session, the logged-in clinician, CSRF check."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import User, WebSession, utcnow

SESSION_COOKIE = "btr_session"


class NotAuthenticated(Exception):
    """No valid login session: pages redirect to /login, API calls answer 401."""


class CsrfFailed(Exception):
    """A form without the session's CSRF token (or with a wrong one)."""


class NotFound(Exception):
    """A record that does not exist or belongs to another clinic (answered 404 in both cases)."""


class Forbidden(Exception):
    """The clinician may not do this (e.g. admin pages)."""


class PasswordChangeRequired(Exception):
    """The account logged in with a one-time password from an administrator's reset: only the password change
    page (and logout) is open until a new password is chosen."""


# paths open to a session whose password must be changed first
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/logout"})


def now(request: Request) -> dt.datetime:
    """The current UTC time: ``app.state.clock()`` when set (tests control session timeouts), else the clock."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else utcnow()


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
    must_change_password: bool = False
    has_totp: bool = False

    @property
    def role(self) -> str:
        """'admin' or 'clinician'."""
        return "admin" if self.is_admin else "clinician"

    @classmethod
    def of(cls, ws: WebSession) -> "Clinician":
        u = ws.user
        return cls(user=u, user_id=u.id, email=u.email, is_admin=u.is_admin, clinic_id=u.clinic_id,
                   clinic_name=u.clinic.name, csrf_token=ws.csrf_token,
                   must_change_password=bool(u.must_change_password), has_totp=bool(u.totp_secret))


def current_clinician(request: Request, db: Session = Depends(get_db, scope="function")) -> Clinician:
    """The session's clinician. The session is checked on the server at every request: revoked (logout,
    "log out everywhere", password change, disabled account), past its absolute end (``session_max_age_s``) or
    idle for ``session_idle_timeout_s`` means a new login."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated()
    settings = request.app.state.settings
    ws = repo.get_web_session(db, token, now=now(request), idle_timeout_s=settings.session_idle_timeout_s,
                              touch_after_s=settings.session_activity_resolution_s)
    if ws is None:
        db.commit()  # an expired session's row is deleted even though the request fails
        raise NotAuthenticated()
    request.state.clinician = Clinician.of(ws)
    if ws.user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired()
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
