"""Patients: list, create, view, compare evaluations over time, export, delete. All scoped to the clinic."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from backtorun.store import jobs as jobstore
from backtorun.store import repo
from backtorun.store.models import Patient
from backtorun.web.app import render
from backtorun.web.compare import compare_evaluations
from backtorun.web.deps import Clinician, NotFound, csrf_form, current_clinician, get_db
from backtorun.web.export import export_json, export_zip, iter_file

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


@router.get("/patients")
def list_patients(request: Request, q: str | None = None, clinician: Clinician = Depends(current_clinician),
                  db: Session = Depends(get_db, scope="function")) -> Response:
    patients = repo.list_patients(db, clinician.clinic_id, search=q)
    return render(request, "patients.html", {"patients": patients, "q": q or "", "errors": []})


@router.post("/patients")
def create_patient(request: Request, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    name = form.get("name", "").strip()
    errors = []
    if not name:
        errors.append("Enter the patient's name or an identifier.")
    height = _float(form.get("height_cm"))
    if height is not None and not 100 <= height <= 230:
        errors.append("Height must be between 100 and 230 cm.")
    birth_year = _int(form.get("birth_year"))
    if birth_year is not None and not 1900 <= birth_year <= 2100:
        errors.append("Birth year must be a four-digit year.")
    if errors:
        patients = repo.list_patients(db, clinician.clinic_id)
        return render(request, "patients.html", {"patients": patients, "q": "", "errors": errors, "form": form},
                      status_code=400)
    patient = repo.create_patient(db, clinic_id=clinician.clinic_id, name=name[:200], created_by=clinician.user.id,
                                  birth_year=birth_year, sex=form.get("sex") or None, height_cm=height,
                                  notes=form.get("notes", "")[:5000])
    repo.audit(db, clinician.user, "create", "patient", patient.id)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/{patient_id}")
def view_patient(request: Request, patient_id: int, clinician: Clinician = Depends(current_clinician),
                 db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    evaluations = repo.list_evaluations(db, clinician.clinic_id, patient.id)
    jobs = {ev.id: jobstore.latest_job(db, ev.id) for ev in evaluations}
    repo.audit(db, clinician.user, "view", "patient", patient.id)
    return render(request, "patient.html", {"patient": patient, "evaluations": evaluations, "jobs": jobs})


@router.get("/patients/{patient_id}/compare")
def compare(request: Request, patient_id: int, clinician: Clinician = Depends(current_clinician),
            db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    evaluations = [ev for ev in repo.list_evaluations(db, clinician.clinic_id, patient.id) if ev.result]
    table = compare_evaluations([(ev.id, ev.created_at, ev.label, ev.result) for ev in evaluations])
    repo.audit(db, clinician.user, "view", "patient", patient.id, "re-assessment comparison")
    return render(request, "compare.html", {"patient": patient, "table": table})


@router.get("/patients/{patient_id}/export.json")
def export_patient_json(patient_id: int, clinician: Clinician = Depends(current_clinician),
                        db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    data = export_json(db, patient)
    repo.audit(db, clinician.user, "export", "patient", patient.id, "json")
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="patient-{patient.id}.json"'})


@router.get("/patients/{patient_id}/export.zip")
def export_patient_zip(patient_id: int, clinician: Clinician = Depends(current_clinician),
                       db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    buf = export_zip(db, patient)
    repo.audit(db, clinician.user, "export", "patient", patient.id, "zip")
    return StreamingResponse(iter_file(buf), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="patient-{patient.id}.zip"'})


@router.post("/patients/{patient_id}/delete")
def delete_patient(request: Request, patient_id: int, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    patient = _patient(db, clinician, patient_id)
    if form.get("confirm_name", "").strip() != patient.name:
        evaluations = repo.list_evaluations(db, clinician.clinic_id, patient.id)
        jobs = {ev.id: jobstore.latest_job(db, ev.id) for ev in evaluations}
        return render(request, "patient.html", {"patient": patient, "evaluations": evaluations, "jobs": jobs,
                                                "delete_error": "Type the patient's name exactly to confirm deletion."},
                      status_code=400)
    paths = repo.delete_patient(db, patient)
    repo.audit(db, clinician.user, "delete", "patient", patient_id, f"{len(paths)} stored files removed")
    db.commit()
    root = request.app.state.settings.data_dir.resolve()
    for p in paths:
        path = Path(p).resolve()
        if root in path.parents:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return RedirectResponse("/patients", status_code=303)



