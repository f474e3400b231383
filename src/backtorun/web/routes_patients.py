"""Patients: list, create, view, edit, compare evaluations over time, archive, export, delete. All scoped to the clinic.

Any clinician may archive (soft delete: hidden from the list, records and files kept) and restore a patient;
exporting and permanent deletion are for clinic administrators.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN
from backtorun.store import job_queue as jobstore
from backtorun.store import repo
from backtorun.store.db import flush_deleted_data
from backtorun.store.models import Patient
from backtorun.web.pages import render
from backtorun.web.compare import comparable_record, compare_evaluations
from backtorun.web.deps import Clinician, NotFound, csrf_form, current_clinician, get_db, require_admin
from backtorun.web.export import export_json, export_zip, iter_file
from backtorun.web.storage import patient_paths, remove_inside

router = APIRouter(dependencies=[Depends(current_clinician)])


def _patient(db: Session, clinician: Clinician, patient_id: int) -> Patient:
    patient = repo.get_patient(db, clinician.clinic_id, patient_id)
    if patient is None:
        raise NotFound()
    return patient


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


SEXES = ("female", "male", "other")


def _patient_fields(form: dict) -> tuple[dict, list[str]]:
    """The patient fields of a create/edit form, and one clear line per invalid entry."""
    name = form.get("name", "").strip()
    errors = []
    if not name:
        errors.append("Enter the patient's name or an identifier.")
    height = _float(form.get("height_cm"))
    if height is not None and not HEIGHT_CM_MIN <= height <= HEIGHT_CM_MAX:
        errors.append(f"Height must be between {HEIGHT_CM_MIN:g} and {HEIGHT_CM_MAX:g} cm.")
    birth_year = _int(form.get("birth_year"))
    if birth_year is not None and not 1900 <= birth_year <= 2100:
        errors.append("Birth year must be a four-digit year.")
    sex = form.get("sex") or None
    if sex is not None and sex not in SEXES:
        errors.append("Choose female, male or other for sex, or leave it empty.")
    return {"name": name[:200], "birth_year": birth_year, "sex": sex, "height_cm": height,
            "notes": form.get("notes", "")[:5000]}, errors


def _patient_page(request: Request, db: Session, clinician: Clinician, patient: Patient, status_code: int = 200,
                  **extra: object) -> Response:
    evaluations = repo.list_evaluations(db, clinician.clinic_id, patient.id)
    jobs = {ev.id: jobstore.latest_job(db, ev.id) for ev in evaluations}
    screened = [ev for ev in evaluations if ev.red_flags]
    ctx = {"patient": patient, "evaluations": evaluations, "jobs": jobs,
           "screen": screened[-1].red_flags if screened else None, "screen_ev": screened[-1] if screened else None,
           "edit_errors": [], "edit_form": None}
    ctx.update(extra)
    return render(request, "patient.html", ctx, status_code=status_code)


@router.get("/patients")
def list_patients(request: Request, q: str | None = None, archived: bool = False,
                  clinician: Clinician = Depends(current_clinician),
                  db: Session = Depends(get_db, scope="function")) -> Response:
    patients = repo.list_patients(db, clinician.clinic_id, search=q, archived=archived)
    screens = repo.latest_screens(db, clinician.clinic_id, [p.id for p in patients])
    return render(request, "patients.html", {"patients": patients, "q": q or "", "errors": [], "archived": archived,
                                             "screens": screens})


@router.post("/patients")
def create_patient(request: Request, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    fields, errors = _patient_fields(form)
    if errors:
        patients = repo.list_patients(db, clinician.clinic_id)
        return render(request, "patients.html", {"patients": patients, "q": "", "errors": errors, "form": form,
                                                 "archived": False,
                                                 "screens": repo.latest_screens(db, clinician.clinic_id,
                                                                                [p.id for p in patients])},
                      status_code=400)
    patient = repo.create_patient(db, clinic_id=clinician.clinic_id, created_by=clinician.user.id, **fields)
    repo.audit(db, clinician.user, "create", "patient", patient.id)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/{patient_id}")
def view_patient(request: Request, patient_id: int, clinician: Clinician = Depends(current_clinician),
                 db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    repo.audit(db, clinician.user, "view", "patient", patient.id)
    return _patient_page(request, db, clinician, patient)


@router.post("/patients/{patient_id}/edit")
def edit_patient(request: Request, patient_id: int, form: dict = Depends(csrf_form),
                 clinician: Clinician = Depends(current_clinician),
                 db: Session = Depends(get_db, scope="function")) -> Response:
    """Correct the patient's details; the audit entry names the fields changed (not their values)."""
    patient = _patient(db, clinician, patient_id)
    fields, errors = _patient_fields(form)
    if errors:
        return _patient_page(request, db, clinician, patient, 400, edit_errors=errors, edit_form=form)
    changed = repo.update_patient(db, patient, **fields)
    if changed:
        repo.audit(db, clinician.user, "update", "patient", patient.id, f"details edited: {', '.join(changed)}")
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/{patient_id}/compare")
def compare(request: Request, patient_id: int, clinician: Clinician = Depends(current_clinician),
            db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    evaluations = [ev for ev in repo.list_evaluations(db, clinician.clinic_id, patient.id)
                   if ev.result or ev.tests or ev.intake]
    table = compare_evaluations([(ev.id, ev.created_at, ev.label, comparable_record(ev.result, ev.intake, ev.tests))
                                 for ev in evaluations])
    repo.audit(db, clinician.user, "view", "patient", patient.id, "re-assessment comparison")
    return render(request, "compare.html", {"patient": patient, "table": table})


@router.get("/patients/{patient_id}/export.json")
def export_patient_json(patient_id: int, clinician: Clinician = Depends(require_admin),
                        db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    data = export_json(db, patient)
    repo.audit(db, clinician.user, "export", "patient", patient.id, "json")
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="patient-{patient.id}.json"'})


@router.get("/patients/{patient_id}/export.zip")
def export_patient_zip(patient_id: int, clinician: Clinician = Depends(require_admin),
                       db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    buf = export_zip(db, patient)
    repo.audit(db, clinician.user, "export", "patient", patient.id, "zip")
    return StreamingResponse(iter_file(buf), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="patient-{patient.id}.zip"'})


@router.post("/patients/{patient_id}/archive")
def archive_patient(patient_id: int, form: dict = Depends(csrf_form), clinician: Clinician = Depends(current_clinician),
                    db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    restore = form.get("restore") == "1"
    repo.archive_patient(db, patient, archived=not restore)
    repo.audit(db, clinician.user, "restore" if restore else "archive", "patient", patient.id)
    return RedirectResponse(f"/patients/{patient.id}" if restore else "/patients", status_code=303)


@router.post("/patients/{patient_id}/delete")
def delete_patient(request: Request, patient_id: int, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(require_admin),
                   db: Session = Depends(get_db, scope="function")) -> Response:
    """Permanent deletion (administrators): every row and every file of the patient; one audit entry remains."""
    patient = _patient(db, clinician, patient_id)
    if form.get("confirm_name", "").strip() != patient.name:
        return _patient_page(request, db, clinician, patient, 400,
                             delete_error="Type the patient's name exactly to confirm deletion.")
    erasure = repo.delete_patient(db, patient, by=clinician.user)
    db.commit()
    data_dir = request.app.state.settings.data_dir
    remove_inside(data_dir, patient_paths(data_dir, erasure))
    db.close()  # release this request's connection so that the log can be truncated
    flush_deleted_data(request.app.state.engine)
    return RedirectResponse("/patients", status_code=303)
