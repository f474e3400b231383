"""Login (password, then the TOTP code for accounts that have one) and logout. The only routes reachable without
a session (besides static files)."""

from __future__ import annotations

import hmac
import math

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.web.pages import render
from backtorun.web import totp
from backtorun.web.accounts import (
    clear_pending_login, read_pending_login, secure_cookies, set_pending_login, start_session,
)
from backtorun.web.deps import SESSION_COOKIE, Clinician, csrf_form, current_clinician, get_db, now
from backtorun.web.login_guard import DEVICE_COOKIE, read_device_cookie, throttle

router = APIRouter()

LOGIN_CSRF_COOKIE = "btr_login_csrf"


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/patients"


def _client_ip(request: Request) -> str:
    """The peer address; X-Forwarded-For counts only when the server trusts the proxy (serve
    --forwarded-allow-ips), in which case the server has already put the client's address here."""
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
    return secure_cookies(request)


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
    ip = _client_ip(request)
    device = read_device_cookie(settings, request.cookies.get(DEVICE_COOKIE))

    def attempt() -> tuple[str, object, float]:
        user_row = repo.get_user_by_email(db, email)
        known = device is not None and user_row is not None and device.user_id == user_row.id
        if known:  # the clinician's own browser: only its own failures slow it down
            checks = [(device.key, settings.login_max_failures)]  # type: ignore[union-attr]
        else:
            checks = [(f"email:{email}", settings.login_max_failures),
                      (f"ip:{ip}", settings.login_max_failures_per_address)]
        waits = [throttle(db, key, free=free, settings=settings).wait_s for key, free in checks]
        if max(waits) > 0:
            return "limited", None, max(waits)
        user = repo.authenticate(db, email, password)
        if user is None:
            repo.record_failed_login(db, [key for key, _ in checks])
            repo.audit(db, None, "login_failed", "user", None,
                       f"email={email} ip={ip}" + (" (remembered device)" if known else ""))
            db.commit()
            return "bad", None, 0.0
        repo.clear_failed_logins(db, checks[0][0])
        if repo.reset_lapsed(user, now=now(request)):
            repo.audit(db, user, "login_failed", "user", user.id, f"one-time password lapsed; ip={ip}")
            db.commit()
            return "lapsed", None, 0.0
        if user.totp_secret:  # password accepted; the second factor is due (no session yet)
            resp = RedirectResponse("/login/totp", status_code=303)
            set_pending_login(request, resp, user, next_url)
            db.commit()
            return "mfa", resp, 0.0
        resp = RedirectResponse("/account/password" if user.must_change_password else next_url, status_code=303)
        start_session(request, db, user, resp, device)
        repo.audit(db, user, "login", "user", user.id, f"ip={ip}")
        db.commit()
        return "ok", resp, 0.0

    outcome, value, wait_s = await run_in_threadpool(attempt)
    if outcome == "limited":
        return page(f"Too many failed logins. Wait {_duration(wait_s)} and try again, or log in from a computer "
                    "you have used before.", 429)
    if outcome == "bad":
        return page("Wrong e-mail or password.", 401)
    if outcome == "lapsed":
        return page("This one-time password has lapsed. Ask your clinic's administrator for a new reset.", 401)
    resp = value  # type: ignore[assignment]
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.get("/login/totp")
def login_totp_page(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    """Second login step of an account with TOTP: the code from the authenticator app."""
    if read_pending_login(request, db) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_totp.html", {"error": None})


@router.post("/login/totp")
async def login_totp(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    """Check the TOTP code of a pending login (cookie SameSite=Strict, so no cross-site post carries it); counted
    in the account's back-off like a wrong password; a code is accepted once only."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form(max_files=0, max_fields=5)
    code = str(form.get("code") or "")
    settings = request.app.state.settings
    ip = _client_ip(request)
    device = read_device_cookie(settings, request.cookies.get(DEVICE_COOKIE))

    def attempt() -> tuple[str, object, float]:
        pending = read_pending_login(request, db)
        if pending is None:
            return "expired", None, 0.0
        info, user = pending
        key = f"totp:{user.id}"
        wait_s = throttle(db, key, free=settings.login_max_failures, settings=settings).wait_s
        if wait_s > 0:
            return "limited", None, wait_s
        step = totp.verify(user.totp_secret or "", code, now=now(request), valid_window=settings.totp_valid_window,
                           last_step=user.totp_last_step)
        if step is None:
            repo.record_failed_login(db, [key])
            repo.audit(db, user, "login_failed", "user", user.id, f"wrong second-factor code; ip={ip}")
            db.commit()
            return "bad", None, 0.0
        user.totp_last_step = step
        repo.clear_failed_logins(db, key)
        resp = RedirectResponse("/account/password" if user.must_change_password else _safe_next(info.next_url),
                                status_code=303)
        start_session(request, db, user, resp, device)
        clear_pending_login(resp)
        repo.audit(db, user, "login", "user", user.id, f"ip={ip} (password and authenticator code)")
        db.commit()
        return "ok", resp, 0.0

    outcome, value, wait_s = await run_in_threadpool(attempt)
    if outcome == "expired":
        resp = render(request, "login_totp.html", {"error": "The login has expired. Log in again with your password.",
                                                   "expired": True}, status_code=401)
        clear_pending_login(resp)
        return resp
    if outcome == "limited":
        return render(request, "login_totp.html", {"error": f"Too many wrong codes. Wait {_duration(wait_s)} and "
                                                            "try again."}, status_code=429)
    if outcome == "bad":
        return render(request, "login_totp.html", {"error": "Wrong or already used code. Enter the code your "
                                                            "authenticator app shows now."}, status_code=401)
    return value  # type: ignore[return-value]


def _duration(seconds: float) -> str:
    s = max(1, int(math.ceil(seconds)))
    return f"{s} seconds" if s < 120 else f"{int(math.ceil(s / 60))} minutes"


@router.post("/logout")
def logout(request: Request, form: dict = Depends(csrf_form), clinician: Clinician = Depends(current_clinician),
           db: Session = Depends(get_db, scope="function")) -> Response:
    repo.delete_web_session(db, request.cookies.get(SESSION_COOKIE, ""))
    repo.audit(db, clinician.user, "logout", "user", clinician.user.id)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
