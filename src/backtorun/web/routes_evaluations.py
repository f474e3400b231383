"""Evaluations: uploads (videos, training logs), intake with red-flag screen, tests, analysis jobs, report."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backtorun.errors import BacktorunError, InputError
from backtorun.store import jobs as jobstore
from backtorun.store import repo
from backtorun.store.models import Evaluation, Patient
from backtorun.web.app import render
from backtorun.web.deps import Clinician, NotFound, csrf_form, current_clinician, get_db
from backtorun.web.forms import build_form, error_lines, parse_form
from backtorun.web.report import ensure_pdf, report_summary
from backtorun.web.uploads import UploadRejected, receive_upload

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(current_clinician)])

VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/x-msvideo", "video/webm", "video/x-matroska", "video/mpeg",
               "video/3gpp", "video/x-m4v"}
VIDEO_EXTS = {".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv", ".mpg", ".mpeg", ".3gp"}
LOG_EXTS = {".fit", ".tcx", ".gpx", ".csv"}


def _evaluation(db: Session, clinician: Clinician, evaluation_id: int) -> tuple[Evaluation, Patient]:
    ev = repo.get_evaluation(db, clinician.clinic_id, evaluation_id)
    if ev is None:
        raise NotFound()
    patient = repo.get_patient(db, clinician.clinic_id, ev.patient_id)
    if patient is None:
        raise NotFound()
    return ev, patient


def _job_dict(job: Any, ev: Evaluation) -> dict[str, Any]:
    if job is None:
        return {"status": "none", "stage": "", "progress": 0.0, "error": None, "report_url": None}
    return {"status": job.status, "stage": job.stage, "progress": round(float(job.progress), 3),
            "error": job.error, "attempts": job.attempts,
            "report_url": f"/evaluations/{ev.id}/report" if job.status == "done" else None}


def _page(request: Request, db: Session, clinician: Clinician, ev: Evaluation, patient: Patient,
          status_code: int = 200, **extra: Any) -> Response:
    job = jobstore.latest_job(db, ev.id)
    uploads = repo.list_uploads(db, ev.id)
    ctx = {"ev": ev, "patient": patient, "job": job, "job_info": _job_dict(job, ev),
           "side": [u for u in uploads if u.kind == "side"][-1:], "rear": [u for u in uploads if u.kind == "rear"][-1:],
           "logs": [u for u in uploads if u.kind == "log"], "has_result": ev.completed_at is not None,
           "settings": request.app.state.settings, "upload_error": None, "log_error": None, "notice": None}
    ctx.update(extra)
    return render(request, "evaluation.html", ctx, status_code=status_code)


@router.post("/patients/{patient_id}/evaluations")
def create_evaluation(patient_id: int, form: dict = Depends(csrf_form),
                      clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    patient = repo.get_patient(db, clinician.clinic_id, patient_id)
    if patient is None:
        raise NotFound()
    ev = repo.create_evaluation(db, patient, created_by=clinician.user.id, label=form.get("label", "")[:200])
    repo.audit(db, clinician.user, "create", "evaluation", ev.id, f"patient {patient.id}")
    return RedirectResponse(f"/evaluations/{ev.id}", status_code=303)


@router.get("/evaluations/{evaluation_id}")
def view_evaluation(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                    db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    repo.audit(db, clinician.user, "view", "evaluation", ev.id)
    return _page(request, db, clinician, ev, patient)


@router.post("/evaluations/{evaluation_id}/settings")
def update_settings(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
                    clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    errors = []
    try:
        speed_kmh = float(form["speed_kmh"]) if form.get("speed_kmh") else None
        height_cm = float(form["height_cm"]) if form.get("height_cm") else None
    except ValueError:
        speed_kmh = height_cm = None
        errors.append("Speed and height must be numbers.")
    if speed_kmh is not None and not 3.0 <= speed_kmh <= 30.0:
        errors.append("Belt speed must be between 3 and 30 km/h.")
    if height_cm is not None and not 100 <= height_cm <= 230:
        errors.append("Height must be between 100 and 230 cm.")
    if errors:
        return _page(request, db, clinician, ev, patient, 400, notice="; ".join(errors))
    ev.label = form.get("label", ev.label)[:200]
    ev.speed_mps = speed_kmh / 3.6 if speed_kmh is not None else None
    ev.height_cm = height_cm
    repo.audit(db, clinician.user, "update", "evaluation", ev.id, "session details")
    return RedirectResponse(f"/evaluations/{ev.id}", status_code=303)


# ------------------------------------------------------------------------------------------------ uploads


def _upload_dir(request: Request, ev: Evaluation) -> Path:
    return request.app.state.settings.data_dir / "uploads" / f"clinic-{ev.clinic_id}" / f"evaluation-{ev.id}"


@router.post("/evaluations/{evaluation_id}/videos")
async def upload_video(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                       db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = await run_in_threadpool(_evaluation, db, clinician, evaluation_id)
    settings = request.app.state.settings
    dest = _upload_dir(request, ev)

    async def fail(message: str, status: int) -> Response:
        return await run_in_threadpool(_page, request, db, clinician, ev, patient, status, upload_error=message)

    try:
        rec = await receive_upload(request, tmp_dir=dest, max_bytes=int(settings.max_video_mb * 1e6),
                                   csrf_expected=clinician.csrf_token)
    except UploadRejected as exc:
        return await fail(exc.message, exc.status_code)
    kind = rec.fields.get("kind", "")
    ext = Path(rec.filename or "").suffix.lower()
    if kind not in ("side", "rear"):
        rec.discard()
        return await fail("Choose whether the video is a side view or a rear view.", 400)
    if rec.content_type not in VIDEO_TYPES and not (
            rec.content_type in ("", "application/octet-stream") and ext in VIDEO_EXTS):
        rec.discard()
        return await fail(f"'{rec.filename}' is not a video ({rec.content_type or 'unknown type'}); "
                          "upload an MP4 or MOV file.", 415)
    from backtorun.pose.video import read_video_info

    try:
        info = await run_in_threadpool(read_video_info, rec.path)
    except BacktorunError as exc:
        rec.discard()
        return await fail(f"'{rec.filename}' could not be read as a video: {exc.message}. "
                          f"{exc.hint or ''}".strip(), 400)
    assert rec.path is not None
    final = dest / f"{kind}-{rec.sha256[:16]}{ext if ext in VIDEO_EXTS else '.mp4'}"
    os.replace(rec.path, final)

    def save() -> None:
        up = repo.add_upload(db, ev, kind=kind, original_name=rec.filename or final.name, stored_path=str(final),
                             content_type=rec.content_type, size_bytes=rec.size_bytes, sha256=rec.sha256)
        repo.audit(db, clinician.user, "update", "evaluation", ev.id,
                   f"uploaded {kind} video #{up.id} ({info.width}x{info.height}, {info.fps:.1f} fps, "
                   f"{info.duration_s:.1f} s)")
        db.commit()

    await run_in_threadpool(save)
    return RedirectResponse(f"/evaluations/{ev.id}#videos", status_code=303)


def _check_log(path: Path) -> int:
    """Import the log once to refuse a file that the training area cannot read; returns the session count."""
    from backtorun.errors import BadLogFile
    from backtorun.training import import_logs

    history = import_logs([path])
    if history.refused:
        raise BadLogFile(history.refused[0].reason)
    if not history.sessions:
        raise BadLogFile("no training session found in the file", hint="export the activity again from the watch app")
    return len(history.sessions)


@router.post("/evaluations/{evaluation_id}/logs")
async def upload_log(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                     db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = await run_in_threadpool(_evaluation, db, clinician, evaluation_id)
    settings = request.app.state.settings
    dest = _upload_dir(request, ev) / "logs"

    async def fail(message: str, status: int) -> Response:
        return await run_in_threadpool(_page, request, db, clinician, ev, patient, status, log_error=message)

    try:
        rec = await receive_upload(request, tmp_dir=dest, max_bytes=int(settings.max_log_mb * 1e6),
                                   csrf_expected=clinician.csrf_token)
    except UploadRejected as exc:
        return await fail(exc.message, exc.status_code)
    ext = Path(rec.filename or "").suffix.lower()
    if ext not in LOG_EXTS:
        rec.discard()
        return await fail(f"'{rec.filename}' is not a training log; upload a FIT, TCX, GPX or CSV export.", 415)
    assert rec.path is not None
    final = dest / f"log-{rec.sha256[:16]}{ext}"
    os.replace(rec.path, final)
    try:
        n_sessions = await run_in_threadpool(_check_log, final)
    except InputError as exc:
        final.unlink(missing_ok=True)
        return await fail(f"'{rec.filename}' could not be imported: {exc}", 400)

    def save() -> None:
        up = repo.add_upload(db, ev, kind="log", original_name=rec.filename or final.name, stored_path=str(final),
                             content_type=rec.content_type, size_bytes=rec.size_bytes, sha256=rec.sha256)
        repo.audit(db, clinician.user, "update", "evaluation", ev.id, f"uploaded training log #{up.id} ({n_sessions} sessions)")
        db.commit()

    await run_in_threadpool(save)
    return RedirectResponse(f"/evaluations/{ev.id}#logs", status_code=303)


# ------------------------------------------------------------------------------------------------ intake, tests


def _intake_model() -> Any:
    from backtorun.intake import Intake

    return Intake


def _tests_model() -> Any:
    from backtorun.assessment import TestResults

    return TestResults


TESTS_TITLE = "Strength and flexibility tests"


def _form_page(request: Request, ev: Any, patient: Any, title: str, form: Any, part: str, *,
               errors: list[str] | None = None) -> Response:
    """The intake or test-results form of an evaluation; with errors, re-shown with status 400."""
    return render(request, "form.html", {"ev": ev, "patient": patient, "title": title, "form": form,
                                         "errors": errors or [], "action": f"/evaluations/{ev.id}/{part}"},
                  status_code=400 if errors else 200)


@router.get("/evaluations/{evaluation_id}/intake")
def intake_form(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    values = ev.intake or {"height_cm": patient.height_cm, "sex": patient.sex}
    repo.audit(db, clinician.user, "view", "evaluation", ev.id, "intake")
    return _form_page(request, ev, patient, "Intake", build_form(_intake_model(), values), "intake")


@router.post("/evaluations/{evaluation_id}/intake")
def save_intake(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
                clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    from backtorun.intake import parse_intake, screen_red_flags

    ev, patient = _evaluation(db, clinician, evaluation_id)
    model = _intake_model()
    data = parse_form(model, form)
    try:
        intake = parse_intake(data, source="intake form")
    except InputError as exc:
        return _form_page(request, ev, patient, "Intake", build_form(model, data), "intake", errors=error_lines(exc))
    screen = screen_red_flags(intake)
    ev.intake = intake.model_dump(mode="json")
    ev.red_flags = screen.to_dict()
    repo.audit(db, clinician.user, "update", "evaluation", ev.id, f"intake saved; red-flag level {screen.level}")
    return RedirectResponse(f"/evaluations/{ev.id}#intake", status_code=303)


@router.get("/evaluations/{evaluation_id}/tests")
def tests_form(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
               db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    repo.audit(db, clinician.user, "view", "evaluation", ev.id, "tests")
    return _form_page(request, ev, patient, TESTS_TITLE, build_form(_tests_model(), ev.tests or {}), "tests")


@router.post("/evaluations/{evaluation_id}/tests")
def save_tests(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
               clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    from backtorun.assessment import parse_test_results

    ev, patient = _evaluation(db, clinician, evaluation_id)
    model = _tests_model()
    data = parse_form(model, form)
    try:
        results = parse_test_results(data, source="test form")
    except InputError as exc:
        return _form_page(request, ev, patient, TESTS_TITLE, build_form(model, data), "tests", errors=error_lines(exc))
    ev.tests = results.model_dump(mode="json", exclude_none=True)
    repo.audit(db, clinician.user, "update", "evaluation", ev.id, "test results saved")
    return RedirectResponse(f"/evaluations/{ev.id}#tests", status_code=303)


# ------------------------------------------------------------------------------------------------ analysis


@router.post("/evaluations/{evaluation_id}/analyze")
def start_analysis(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    if not repo.list_uploads(db, ev.id, "side") and not repo.list_uploads(db, ev.id, "rear"):
        return _page(request, db, clinician, ev, patient, 400,
                     notice="Upload a side-view (or rear-view) video before starting the analysis.")
    existing = jobstore.active_job(db, ev.id)
    job = existing or jobstore.enqueue_job(db, ev)
    if existing is None:
        repo.audit(db, clinician.user, "update", "evaluation", ev.id, f"analysis job #{job.id} started")
        db.commit()
        request.app.state.runner.submit(job.id)
    return RedirectResponse(f"/evaluations/{ev.id}#analysis", status_code=303)


@router.get("/evaluations/{evaluation_id}/status")
def job_status(evaluation_id: int, clinician: Clinician = Depends(current_clinician),
               db: Session = Depends(get_db, scope="function")) -> Response:
    ev, _patient = _evaluation(db, clinician, evaluation_id)
    return JSONResponse(_job_dict(jobstore.latest_job(db, ev.id), ev))


# ------------------------------------------------------------------------------------------------ report


def _result_dir(ev: Evaluation) -> Path:
    if not ev.result_dir or ev.completed_at is None:
        raise NotFound()
    return Path(ev.result_dir)


@router.get("/evaluations/{evaluation_id}/report")
def report_page(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    if ev.completed_at is None:
        return RedirectResponse(f"/evaluations/{ev.id}", status_code=303)
    out = _result_dir(ev)
    repo.audit(db, clinician.user, "view", "evaluation", ev.id, "report")
    artefacts = (ev.result or {}).get("artefacts") or {}
    videos = [(view, artefacts[f"{view}_annotated_mp4"]) for view in ("side", "rear")
              if isinstance(artefacts.get(f"{view}_annotated_mp4"), str) and (out / artefacts[f"{view}_annotated_mp4"]).is_file()]
    return render(request, "report.html", {"ev": ev, "patient": patient, "summary": report_summary(ev.result or {}),
                                           "videos": videos,
                                           "has_html": (out / "report.html").is_file(),
                                           "has_runner": (out / "runner.pdf").is_file()})


@router.get("/evaluations/{evaluation_id}/report.pdf")
def report_pdf(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
               db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    out = _result_dir(ev)
    pdf = ensure_pdf(out, ev, patient, request.app.state.templates)
    repo.audit(db, clinician.user, "export", "evaluation", ev.id, "report PDF")
    return FileResponse(pdf, media_type="application/pdf",
                        filename=f"report-{patient.id}-{ev.created_at:%Y%m%d}-{ev.id}.pdf")


@router.get("/evaluations/{evaluation_id}/files/{file_path:path}")
def result_file(evaluation_id: int, file_path: str, clinician: Clinician = Depends(current_clinician),
                db: Session = Depends(get_db, scope="function")) -> Response:
    ev, _patient = _evaluation(db, clinician, evaluation_id)
    root = _result_dir(ev).resolve()
    target = (root / file_path).resolve()
    if root not in target.parents or not target.is_file():
        raise NotFound()
    if target.suffix.lower() in (".html", ".pdf", ".json", ".mp4"):
        repo.audit(db, clinician.user, "view", "evaluation", ev.id, f"file {file_path}")
    return FileResponse(target)
