"""Clinic administration (administrators only): the audit log and clinician accounts — create, reset the
password, disable or re-enable, change the role (admin or clinician), remove. Every change to an account ends its
sessions at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import Clinic, User
from backtorun.web.accounts import check_new_password, one_time_password, policy
from backtorun.web.pages import render
from backtorun.web.deps import NotFound, Clinician, csrf_form, current_clinician, get_db, now, require_admin

router = APIRouter(dependencies=[Depends(current_clinician)])


@router.get("/audit")
def audit_log(request: Request, clinician: Clinician = Depends(require_admin), db: Session = Depends(get_db, scope="function")) -> Response:
    from backtorun.web.audit_filter import audit_page_context

    return render(request, "audit.html", audit_page_context(db, clinician.clinic_id, request.query_params))


def _users_page(request: Request, clinician: Clinician, db: Session, *, errors: list[str] | None = None,
                one_time: dict | None = None, status_code: int = 200) -> Response:
    return render(request, "users.html", {"users": repo.list_users(db, clinician.clinic_id), "errors": errors or [],
                                          "one_time": one_time, "policy": policy(request)}, status_code=status_code)


@router.get("/users")
def users(request: Request, clinician: Clinician = Depends(require_admin), db: Session = Depends(get_db, scope="function")) -> Response:
    return _users_page(request, clinician, db)


@router.post("/users")
def create_user(request: Request, form: dict = Depends(csrf_form), clinician: Clinician = Depends(require_admin),
                db: Session = Depends(get_db, scope="function")) -> Response:
    """A new account. Without a password typed in, a one-time password is generated and shown once, which the
    clinician must replace at the first login and which lapses after ``reset_valid_s`` (ASVS 2.3.1)."""
    email = form.get("email", "").strip().lower()
    password = form.get("password", "")
    errors = []
    if "@" not in email:
        errors.append("Enter an e-mail address.")
    if password:
        problem = check_new_password(request, password, None, email=email, clinic_name=clinician.clinic_name)
        if problem:
            errors.append(problem)
    if repo.get_user_by_email(db, email) is not None:
        errors.append("A clinician with this e-mail already exists.")
    if errors:
        return _users_page(request, clinician, db, errors=errors, status_code=400)
    clinic = db.get(Clinic, clinician.clinic_id)
    assert clinic is not None
    generated = not password
    password = password or one_time_password(request.app.state.settings)
    user = repo.create_user(db, email=email, password=password, clinic=clinic, is_admin=form.get("role") == "admin"
                            or form.get("is_admin") == "on")
    repo.audit(db, clinician.user, "create", "user", user.id, f"{email} ({user.role})")
    if generated:
        repo.set_password(db, user, password, now=now(request), must_change=True,
                          valid_s=request.app.state.settings.reset_valid_s)
        return _users_page(request, clinician, db, one_time={"email": email, "password": password})
    return RedirectResponse("/users", status_code=303)


def _target(db: Session, clinician: Clinician, user_id: int) -> User:
    user = repo.get_user(db, clinician.clinic_id, user_id)
    if user is None:
        raise NotFound()
    return user


def _guard_last_admin(db: Session, clinician: Clinician, user: User, *, removing_admin: bool) -> str | None:
    """Why the change is refused: an administrator cannot lock themself out, and a clinic keeps an active
    administrator."""
    if user.id == clinician.user_id:
        return "You cannot do this to your own account (ask another administrator)."
    if removing_admin and user.is_admin and user.active and repo.active_admins(db, clinician.clinic_id) <= 1:
        return "The clinic needs at least one active administrator."
    return None


@router.post("/users/{user_id}/reset")
def reset_password(request: Request, user_id: int, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(require_admin),
                   db: Session = Depends(get_db, scope="function")) -> Response:
    """Administrator's reset: a one-time password, shown once, that must be replaced at the next login and lapses
    after ``reset_valid_s``; the account's sessions and second factor end (a lost phone is the usual reason)."""
    user = _target(db, clinician, user_id)
    if user.id == clinician.user_id:
        return _users_page(request, clinician, db, errors=["Change your own password under Account."],
                           status_code=400)
    settings = request.app.state.settings
    password = form.get("password", "")
    if password:
        problem = check_new_password(request, password, None, email=user.email, clinic_name=clinician.clinic_name)
        if problem:
            return _users_page(request, clinician, db, errors=[problem], status_code=400)
    password = password or one_time_password(settings)
    repo.set_password(db, user, password, now=now(request), must_change=True, valid_s=settings.reset_valid_s)
    repo.set_totp(db, user, None)
    repo.audit(db, clinician.user, "password_reset", "user", user.id, f"{user.email}; sessions and second factor ended")
    return _users_page(request, clinician, db, one_time={"email": user.email, "password": password})


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: int, form: dict = Depends(csrf_form),
               clinician: Clinician = Depends(require_admin),
               db: Session = Depends(get_db, scope="function")) -> Response:
    """Disable (``active=0``: sessions end at once, login refused) or re-enable (``active=1``) an account."""
    user = _target(db, clinician, user_id)
    active = form.get("active") == "1"
    refused = None if active else _guard_last_admin(db, clinician, user, removing_admin=True)
    if refused:
        return _users_page(request, clinician, db, errors=[refused], status_code=400)
    repo.set_active(db, user, active)
    repo.audit(db, clinician.user, "enable" if active else "disable", "user", user.id, user.email)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/role")
def set_role(request: Request, user_id: int, form: dict = Depends(csrf_form),
             clinician: Clinician = Depends(require_admin),
             db: Session = Depends(get_db, scope="function")) -> Response:
    """Make an account an administrator (``role=admin``) or a clinician (``role=clinician``)."""
    user = _target(db, clinician, user_id)
    role = form.get("role", "")
    if role not in ("admin", "clinician"):
        return _users_page(request, clinician, db, errors=["Choose administrator or clinician."], status_code=400)
    refused = _guard_last_admin(db, clinician, user, removing_admin=role == "clinician")
    if refused:
        return _users_page(request, clinician, db, errors=[refused], status_code=400)
    user.is_admin = role == "admin"
    if not user.is_admin:
        repo.set_totp(db, user, None)
    repo.end_sessions(db, user.id)  # the new role applies from the next login
    repo.audit(db, clinician.user, "role", "user", user.id, f"{user.email} → {role}")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/delete")
def delete_user(request: Request, user_id: int, form: dict = Depends(csrf_form),
                clinician: Clinician = Depends(require_admin),
                db: Session = Depends(get_db, scope="function")) -> Response:
    """Remove an account for good (confirm by typing its e-mail). Its sessions end; audit rows keep the e-mail."""
    user = _target(db, clinician, user_id)
    refused = _guard_last_admin(db, clinician, user, removing_admin=True)
    if refused is None and form.get("confirm_email", "").strip().lower() != user.email:
        refused = "Type the clinician's e-mail exactly to confirm removal."
    if refused:
        return _users_page(request, clinician, db, errors=[refused], status_code=400)
    email = user.email
    repo.delete_user(db, user)
    repo.audit(db, clinician.user, "delete", "user", user_id, email)
    return RedirectResponse("/users", status_code=303)
