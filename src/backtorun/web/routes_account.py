"""The logged-in clinician's own account: change password, log out everywhere, TOTP second factor (administrators).

Changing the password ends every session of the account, this one included, and opens a new one for this browser
(ASVS 3.3.3); "log out everywhere" ends all of them. Both need no other confirmation than the CSRF token, except
that a password change needs the current password (ASVS 2.1.6), which is throttled like a login.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.web import totp
from backtorun.web.accounts import check_new_password, read_enrolment, sign_enrolment, start_session
from backtorun.web.deps import SESSION_COOKIE, Clinician, csrf_form, current_clinician, get_db, now, require_admin
from backtorun.web.login_guard import throttle
from backtorun.web.pages import render

router = APIRouter(dependencies=[Depends(current_clinician)])

def _account_page(request: Request, clinician: Clinician, db: Session, *, errors: list[str] | None = None,
                  message: str | None = None, status_code: int = 200) -> Response:
    return render(request, "account.html", {"errors": errors or [], "message": message,
                                            "sessions": repo.count_sessions(db, clinician.user_id),
                                            "idle_min": request.app.state.settings.session_idle_timeout_s // 60},
                  status_code=status_code)


def _check_current_password(request: Request, db: Session, clinician: Clinician,
                            given: str) -> tuple[str, int] | None:
    """(message, status) when the current password is wrong or its back-off is running, else None. Failures
    count in the same back-off as logins (``login_backoff_*``), so a left-open session cannot be used to guess."""
    settings = request.app.state.settings
    key = f"reauth:{clinician.user_id}"
    wait_s = throttle(db, key, free=settings.login_max_failures, settings=settings).wait_s
    if wait_s > 0:
        return f"Too many wrong passwords. Wait {int(wait_s) + 1} seconds and try again.", 429
    if not repo.verify_password(clinician.user.password_hash, given):
        repo.record_failed_login(db, [key])
        repo.audit(db, clinician.user, "reauth_failed", "user", clinician.user_id, "wrong current password")
        db.commit()
        return "The current password is wrong.", 400
    repo.clear_failed_logins(db, key)
    return None


@router.get("/account")
def account(request: Request, clinician: Clinician = Depends(current_clinician),
            db: Session = Depends(get_db, scope="function")) -> Response:
    return _account_page(request, clinician, db, message=request.query_params.get("done") and "Saved.")


@router.get("/account/password")
def password_page(request: Request, clinician: Clinician = Depends(current_clinician)) -> Response:
    return render(request, "password.html", {"errors": []})


@router.post("/account/password")
def change_password(request: Request, form: dict = Depends(csrf_form),
                    clinician: Clinician = Depends(current_clinician),
                    db: Session = Depends(get_db, scope="function")) -> Response:
    user = clinician.user

    def page(error: str, status: int) -> Response:
        return render(request, "password.html", {"errors": [error]}, status_code=status)

    refused = _check_current_password(request, db, clinician, form.get("current_password", ""))
    if refused:
        return page(*refused)
    new = form.get("new_password", "")
    problem = check_new_password(request, new, form.get("confirm_password", ""), email=user.email,
                                 clinic_name=clinician.clinic_name)
    if problem is None and repo.verify_password(user.password_hash, new):
        problem = "The new password must differ from the current one."
    if problem:
        return page(problem, 400)
    repo.set_password(db, user, new, now=now(request))  # ends every session of the account
    resp = RedirectResponse("/account?done=password", status_code=303)
    start_session(request, db, user, resp)
    repo.audit(db, user, "password_change", "user", user.id, "other sessions ended")
    return resp


@router.post("/account/logout-all")
def logout_everywhere(request: Request, form: dict = Depends(csrf_form),
                      clinician: Clinician = Depends(current_clinician),
                      db: Session = Depends(get_db, scope="function")) -> Response:
    """End every session of this account, on every computer, this one included."""
    n = repo.end_sessions(db, clinician.user_id)
    repo.audit(db, clinician.user, "logout_all", "user", clinician.user_id, f"{n} session(s) ended")
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# ------------------------------------------------------------------------------------------ TOTP (admins)


@router.get("/account/totp")
def totp_page(request: Request, clinician: Clinician = Depends(require_admin)) -> Response:
    """Enrolment: a new secret to add to an authenticator app, confirmed by one of its codes."""
    settings = request.app.state.settings
    secret = totp.new_secret()
    return _enrol_page(request, clinician, secret, sign_enrolment(settings, clinician.user_id, secret), [])


def _enrol_page(request: Request, clinician: Clinician, secret: str, enrolment: str, errors: list[str],
                status_code: int = 200) -> Response:
    uri = totp.provisioning_uri(secret, account=clinician.email, issuer=request.app.state.settings.totp_issuer)
    return render(request, "totp.html", {"secret": secret, "uri": uri, "qr_svg": totp.qr_svg(uri),
                                         "enrolment": enrolment, "errors": errors}, status_code=status_code)


@router.post("/account/totp")
def totp_enrol(request: Request, form: dict = Depends(csrf_form), clinician: Clinician = Depends(require_admin),
               db: Session = Depends(get_db, scope="function")) -> Response:
    settings = request.app.state.settings
    secret = read_enrolment(settings, clinician.user_id, form.get("enrolment", ""),
                            settings.totp_enrol_valid_s)
    if secret is None:
        return _account_page(request, clinician, db, errors=["The set-up has expired. Start it again."],
                             status_code=400)
    step = totp.verify(secret, form.get("code", ""), now=now(request), valid_window=settings.totp_valid_window,
                       last_step=None)
    if step is None:
        return _enrol_page(request, clinician, secret, form.get("enrolment", ""),
                           ["The code does not match. Check the phone's clock and enter the code shown now."], 400)
    repo.set_totp(db, clinician.user, secret, step=step)
    repo.audit(db, clinician.user, "totp_enrol", "user", clinician.user_id)
    return RedirectResponse("/account?done=totp", status_code=303)


@router.post("/account/totp/remove")
def totp_remove(request: Request, form: dict = Depends(csrf_form), clinician: Clinician = Depends(current_clinician),
                db: Session = Depends(get_db, scope="function")) -> Response:
    """Remove the second factor (needs the current password)."""
    user = clinician.user
    refused = _check_current_password(request, db, clinician, form.get("current_password", ""))
    if refused:
        return _account_page(request, clinician, db, errors=[refused[0]], status_code=refused[1])
    repo.set_totp(db, user, None)
    repo.audit(db, user, "totp_remove", "user", user.id)
    return RedirectResponse("/account?done=totp", status_code=303)
