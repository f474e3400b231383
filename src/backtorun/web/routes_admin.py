"""Clinic administration: clinician accounts and the audit log (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import Clinic
from backtorun.web.app import render
from backtorun.web.deps import Clinician, csrf_form, current_clinician, get_db, require_admin

router = APIRouter(dependencies=[Depends(current_clinician)])

MIN_PASSWORD_CHARS = 10


@router.get("/audit")
def audit_log(request: Request, clinician: Clinician = Depends(require_admin), db: Session = Depends(get_db, scope="function")) -> Response:
    entries = repo.list_audit(db, clinician.clinic_id, limit=500)
    return render(request, "audit.html", {"entries": entries})


@router.get("/users")
def users(request: Request, clinician: Clinician = Depends(require_admin), db: Session = Depends(get_db, scope="function")) -> Response:
    return render(request, "users.html", {"users": repo.list_users(db, clinician.clinic_id), "errors": []})


@router.post("/users")
def create_user(request: Request, form: dict = Depends(csrf_form), clinician: Clinician = Depends(require_admin),
                db: Session = Depends(get_db, scope="function")) -> Response:
    email = form.get("email", "").strip().lower()
    password = form.get("password", "")
    errors = []
    if "@" not in email:
        errors.append("Enter an e-mail address.")
    if len(password) < MIN_PASSWORD_CHARS:
        errors.append(f"The password needs at least {MIN_PASSWORD_CHARS} characters.")
    if repo.get_user_by_email(db, email) is not None:
        errors.append("A clinician with this e-mail already exists.")
    if errors:
        return render(request, "users.html", {"users": repo.list_users(db, clinician.clinic_id), "errors": errors},
                      status_code=400)
    clinic = db.get(Clinic, clinician.clinic_id)
    assert clinic is not None
    user = repo.create_user(db, email=email, password=password, clinic=clinic, is_admin=form.get("is_admin") == "on")
    repo.audit(db, clinician.user, "create", "user", user.id, email)
    return RedirectResponse("/users", status_code=303)
