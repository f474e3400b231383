"""Helpers of the account routes: password policy from the settings, one-time passwords, session cookies and the
signed "password accepted, second factor due" cookie between the two login steps."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import User
from backtorun.web.deps import SESSION_COOKIE, now
from backtorun.web.login_guard import DEVICE_COOKIE, Device, issue_device_cookie, secret_key
from backtorun.web.passwords import PasswordPolicy, password_problem
from backtorun.web.settings import WebSettings

MFA_COOKIE = "btr_mfa"
MFA_SALT = "backtorun.mfa-pending/1"
ENROL_SALT = "backtorun.totp-enrol/1"
# one-time passwords: lower-case letters and digits without look-alikes (0/o, 1/l/i)
OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def secure_cookies(request: Request) -> bool:
    """Secure flag: always, never, or (auto) when the request came over HTTPS."""
    mode = request.app.state.settings.cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def policy(request: Request) -> PasswordPolicy:
    return PasswordPolicy.of(request.app.state.settings)


def check_new_password(request: Request, password: str, confirm: str | None, *, email: str,
                       clinic_name: str) -> str | None:
    """Why a new password is refused (policy, or the confirmation differs), else None."""
    problem = password_problem(password, policy(request), context=(email, clinic_name))
    if problem is None and confirm is not None and confirm != password:
        problem = "The two new passwords differ. Type the same password twice."
    return problem


def one_time_password(settings: WebSettings) -> str:
    """A random one-time password for a reset: ``reset_password_chars`` characters from a 31-symbol alphabet in
    groups of four (16 characters ≈ 79 bits), which passes the password policy."""
    while True:
        raw = "".join(secrets.choice(OTP_ALPHABET) for _ in range(settings.reset_password_chars))
        value = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
        if password_problem(value, PasswordPolicy.of(settings)) is None:
            return value


def start_session(request: Request, db: Session, user: User, response: Response,
                  device: Device | None = None) -> str:
    """Create a server-side session for ``user``, set its cookie (and the remembered-device cookie) on
    ``response``; returns the token."""
    settings = request.app.state.settings
    repo.purge_expired_sessions(db, now=now(request))
    token, _ws = repo.create_web_session(db, user, max_age_s=settings.session_max_age_s, now=now(request))
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_max_age_s, httponly=True, samesite="lax",
                        secure=secure_cookies(request), path="/")
    response.set_cookie(DEVICE_COOKIE, issue_device_cookie(settings, user.id, device),
                        max_age=settings.remembered_device_days * 86400, httponly=True, samesite="strict",
                        secure=secure_cookies(request), path="/login")
    return token


# ------------------------------------------------------------------------------------------ second factor due


@dataclass(frozen=True)
class PendingLogin:
    """A login whose password was accepted and whose TOTP code is due."""

    user_id: int
    next_url: str


def _password_tag(user: User) -> str:
    """Binds the pending login to the current password: a reset or change in between voids it."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _mfa_serializer(settings: WebSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings), salt=MFA_SALT)


def set_pending_login(request: Request, response: Response, user: User, next_url: str) -> None:
    settings = request.app.state.settings
    value = _mfa_serializer(settings).dumps({"u": user.id, "h": _password_tag(user), "n": next_url})
    response.set_cookie(MFA_COOKIE, value, max_age=settings.mfa_pending_s, httponly=True, samesite="strict",
                        secure=secure_cookies(request), path="/login")


def read_pending_login(request: Request, db: Session) -> tuple[PendingLogin, User] | None:
    """The pending login of a valid, unexpired cookie whose account is active with the same password."""
    settings = request.app.state.settings
    value = request.cookies.get(MFA_COOKIE)
    if not value:
        return None
    try:
        data = _mfa_serializer(settings).loads(value, max_age=settings.mfa_pending_s)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.get(User, data["u"])
    if user is None or not user.active or not user.totp_secret or data.get("h") != _password_tag(user):
        return None
    return PendingLogin(user_id=user.id, next_url=str(data.get("n") or "/patients")), user


def clear_pending_login(response: Response) -> None:
    response.delete_cookie(MFA_COOKIE, path="/login")


# ------------------------------------------------------------------------------------------ TOTP enrolment


def sign_enrolment(settings: WebSettings, user_id: int, secret: str) -> str:
    """The new secret, signed for the confirmation form (the server keeps nothing until the code checks out)."""
    return URLSafeTimedSerializer(secret_key(settings), salt=ENROL_SALT).dumps({"u": user_id, "s": secret})


def read_enrolment(settings: WebSettings, user_id: int, value: str, max_age_s: int) -> str | None:
    try:
        data = URLSafeTimedSerializer(secret_key(settings), salt=ENROL_SALT).loads(value, max_age=max_age_s)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or not isinstance(data.get("s"), str):
        return None
    return data["s"]
