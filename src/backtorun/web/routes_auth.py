"""Login and logout. The only routes reachable without a session (besides static files)."""

from __future__ import annotations

import datetime as dt
import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import utcnow
from backtorun.web.app import render
from backtorun.web.deps import SESSION_COOKIE, Clinician, csrf_form, current_clinician, get_db

router = APIRouter()

LOGIN_CSRF_COOKIE = "btr_login_csrf"


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/patients"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    import secrets

    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = render(request, "login.html", {"next": _safe_next(next), "login_csrf": token, "error": None})
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                    secure=_secure(request))
    return resp


def _secure(request: Request) -> bool:
    mode = request.app.state.settings.cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


@router.post("/login")
async def login(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await request.form(max_files=0, max_fields=20)
    email = str(form.get("email") or "").strip().lower()
    password = str(form.get("password") or "")
    next_url = _safe_next(str(form.get("next") or ""))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form_token = str(form.get("csrf_token") or "")
    settings = request.app.state.settings

    def page(error: str, status: int) -> Response:
        return render(request, "login.html", {"next": next_url, "login_csrf": cookie_token or form_token,
                                              "error": error, "email": email}, status_code=status)

    if not cookie_token or not hmac.compare_digest(cookie_token, form_token):
        return page("The login form has expired. Please try again.", 403)
    keys = [f"email:{email}", f"ip:{_client_ip(request)}"]
    since = utcnow() - dt.timedelta(seconds=settings.login_window_s)

    def attempt() -> tuple[str, object]:
        limits = (settings.login_max_failures, settings.login_max_failures_per_address)
        if any(repo.failed_logins_since(db, k, since) >= n for k, n in zip(keys, limits)):
            return "limited", None
        user = repo.authenticate(db, email, password)
        if user is None:
            repo.record_failed_login(db, keys)
            repo.audit(db, None, "login_failed", "user", None, f"email={email} ip={_client_ip(request)}")
            db.commit()
            return "bad", None
        repo.clear_failed_logins(db, keys[0])
        token, _ws = repo.create_web_session(db, user, max_age_s=settings.session_max_age_s)
        repo.audit(db, user, "login", "user", user.id, f"ip={_client_ip(request)}")
        db.commit()
        return "ok", token

    outcome, token = await run_in_threadpool(attempt)
    if outcome == "limited":
        return page(f"Too many failed logins. Wait {settings.login_window_s // 60} minutes and try again.", 429)
    if outcome == "bad":
        return page("Wrong e-mail or password.", 401)
    resp = RedirectResponse(next_url, status_code=303)
    resp.set_cookie(SESSION_COOKIE, str(token), max_age=settings.session_max_age_s, httponly=True,
                    samesite="lax", secure=_secure(request), path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, form: dict = Depends(csrf_form), clinician: Clinician = Depends(current_clinician),
           db: Session = Depends(get_db, scope="function")) -> Response:
    repo.delete_web_session(db, request.cookies.get(SESSION_COOKIE, ""))
    repo.audit(db, clinician.user, "logout", "user", clinician.user.id)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
