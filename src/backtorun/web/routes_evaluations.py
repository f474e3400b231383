"""Evaluations: uploads (videos, training logs), intake with red-flag screen, tests, analysis jobs, report, and
removal of an evaluation or of one upload (confirmed on a page of its own, audited, files removed)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from backtorun.errors import BacktorunError, InputError
from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN
from backtorun.store import job_queue as jobstore
from backtorun.store import repo
from backtorun.store.models import Evaluation, Patient
from backtorun.web.pages import render
from backtorun.web.deps import Clinician, NotFound, csrf_form, current_clinician, get_db
from backtorun.web.forms import build_form, error_lines, parse_form
from backtorun.web.prefill import intake_prefill, tests_prefill
from backtorun.web.report import ensure_pdf, report_summary
from backtorun.web.storage import dask_scratch_dir, evaluation_results_dir, remove_inside, upload_dir
from backtorun.web.uploads import UploadRejected, receive_upload

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(current_clinician)])

VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/x-msvideo", "video/webm", "video/x-matroska", "video/mpeg",
               "video/3gpp", "video/x-m4v"}
VIDEO_EXTS = {".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv", ".mpg", ".mpeg", ".3gp"}
LOG_EXTS = {".fit", ".tcx", ".gpx", ".csv"}
#: Upload kinds of a video: one side view, the two side views (camera on the runner's left / right), the rear view.
VIDEO_KINDS = ("side", "side_left", "side_right", "rear")


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


def _log_skipped(uploads: list[Any]) -> dict[int, tuple[str, ...]]:
    """Per training-log upload: the rows its import skipped and why (impossible values, future dates…)."""
    from backtorun.services.training import skipped_rows

    return {u.id: skipped_rows(u.stored_path, shown_name=u.original_name) for u in uploads if u.kind == "log"}


def _page(request: Request, db: Session, clinician: Clinician, ev: Evaluation, patient: Patient,
          status_code: int = 200, **extra: Any) -> Response:
    job = jobstore.latest_job(db, ev.id)
    uploads = repo.list_uploads(db, ev.id)
    ctx = {"ev": ev, "patient": patient, "job": job, "job_info": _job_dict(job, ev),
           **{k: [u for u in uploads if u.kind == k][-1:] for k in VIDEO_KINDS},
           "older_videos": [u for k in VIDEO_KINDS for u in [u for u in uploads if u.kind == k][:-1]],
           "logs": [u for u in uploads if u.kind == "log"], "log_skipped": _log_skipped(uploads),
           "has_result": ev.completed_at is not None,
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
    if height_cm is not None and not HEIGHT_CM_MIN <= height_cm <= HEIGHT_CM_MAX:
        errors.append(f"Height must be between {HEIGHT_CM_MIN:g} and {HEIGHT_CM_MAX:g} cm.")
    if errors:
        return _page(request, db, clinician, ev, patient, 400, notice="; ".join(errors))
    ev.label = form.get("label", ev.label)[:200]
    ev.speed_mps = speed_kmh / 3.6 if speed_kmh is not None else None
    ev.height_cm = height_cm
    repo.audit(db, clinician.user, "update", "evaluation", ev.id, "session details")
    return RedirectResponse(f"/evaluations/{ev.id}", status_code=303)


# ------------------------------------------------------------------------------------------------ uploads


def _upload_dir(request: Request, ev: Evaluation) -> Path:
    return upload_dir(request.app.state.settings.data_dir, ev.clinic_id, ev.id)


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
    if kind not in VIDEO_KINDS:
        rec.discard()
        return await fail("Choose whether the video is a side view (one side, from the runner's left, or from the "
                          "runner's right) or a rear view.", 400)
    if rec.content_type not in VIDEO_TYPES and not (
            rec.content_type in ("", "application/octet-stream") and ext in VIDEO_EXTS):
        rec.discard()
        return await fail(f"'{rec.filename}' is not a video ({rec.content_type or 'unknown type'}); "
                          "upload an MP4 or MOV file.", 415)
    from backtorun.services.analysis import video_info

    try:
        info = await run_in_threadpool(video_info, rec.path)
    except BacktorunError as exc:
        rec.discard()
        log.info("video upload refused for evaluation %s: %s", ev.id, exc)
        return await fail(f"'{rec.filename}' could not be read as a video. Check that it plays on this computer, "
                          "or export it again as MP4 or MOV.", 400)
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


def _public_reason(text: str, *paths: Path | None) -> str:
    """An error message without server paths or stored file names (replaced by "the file")."""
    for p in paths:
        if p is None:
            continue
        for variant in sorted({str(p), str(Path(p).resolve()), Path(p).name}, key=len, reverse=True):
            if variant:
                text = text.replace(variant, "the file")
    if "/" in text or "\\" in text:  # some other path: say nothing specific
        return "the file is not a FIT, TCX, GPX or CSV training export this program can read"
    return text


def _check_log(path: Path) -> int:
    """Import the log once to refuse a file that the training area cannot read; returns the session count."""
    from backtorun.services.training import check_log_file

    return check_log_file(path)


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
        log.info("training log refused for evaluation %s: %s", ev.id, exc)
        return await fail(f"'{rec.filename}' could not be imported: "
                          f"{_public_reason(exc.message, settings.data_dir, rec.path, final)}", 400)

    def save() -> None:
        up = repo.add_upload(db, ev, kind="log", original_name=rec.filename or final.name, stored_path=str(final),
                             content_type=rec.content_type, size_bytes=rec.size_bytes, sha256=rec.sha256)
        repo.audit(db, clinician.user, "update", "evaluation", ev.id, f"uploaded training log #{up.id} ({n_sessions} sessions)")
        db.commit()

    await run_in_threadpool(save)
    return RedirectResponse(f"/evaluations/{ev.id}#logs", status_code=303)


# ------------------------------------------------------------------------------------------------ intake, tests


def _intake_model() -> Any:
    from backtorun.services.intake import Intake

    return Intake


def _tests_model() -> Any:
    from backtorun.services.intake import TestResults

    return TestResults


TESTS_TITLE = "Strength and flexibility tests"


FORM_TITLES = {"intake": "Intake", "tests": TESTS_TITLE}


def _form_page(request: Request, ev: Any, patient: Any, form: Any, part: str, *,
               errors: list[str] | None = None, prefill_note: str = "") -> Response:
    """The intake or test-results form (``part``) of an evaluation; with errors, re-shown with status 400."""
    return render(request, "form.html", {"ev": ev, "patient": patient, "title": FORM_TITLES[part], "form": form,
                                         "errors": errors or [], "action": f"/evaluations/{ev.id}/{part}",
                                         "prefill_note": prefill_note},
                  status_code=400 if errors else 200)


def _previous(db: Session, ev: Evaluation, attribute: str) -> tuple[dict[str, Any] | None, dt.date | None]:
    """The newest earlier evaluation's ``intake`` or ``tests`` of the same patient, with its date."""
    earlier = [e for e in repo.list_evaluations(db, ev.clinic_id, ev.patient_id)
               if getattr(e, attribute) and (e.created_at, e.id) < (ev.created_at, ev.id)]
    if not earlier:
        return None, None
    return getattr(earlier[-1], attribute), earlier[-1].created_at.date()


@router.get("/evaluations/{evaluation_id}/intake")
def intake_form(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    note = ""
    if ev.intake:
        values = ev.intake
    else:
        previous, previous_on = _previous(db, ev, "intake")
        start = intake_prefill(patient, previous, previous_on, dt.date.today())
        values, note = start.values, start.note
    repo.audit(db, clinician.user, "view", "evaluation", ev.id, "intake")
    return _form_page(request, ev, patient, build_form(_intake_model(), values), "intake",
                      prefill_note=note)


@router.post("/evaluations/{evaluation_id}/intake")
def save_intake(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
                clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    from backtorun.services.intake import check_intake_data

    ev, patient = _evaluation(db, clinician, evaluation_id)
    model = _intake_model()
    data = parse_form(model, form)
    try:
        checked = check_intake_data(data, source="intake form")
    except InputError as exc:
        return _form_page(request, ev, patient, build_form(model, data), "intake", errors=error_lines(exc))
    intake, screen = checked.intake, checked.screen
    ev.intake = intake.model_dump(mode="json")
    ev.red_flags = screen.to_dict()
    cleared = "".join(f"; red flag {h.code} {h.clearance.describe()}" for h in screen.cleared_hits if h.clearance)
    repo.audit(db, clinician.user, "update", "evaluation", ev.id,
               f"intake saved; red-flag level {screen.level}{cleared}")
    return RedirectResponse(f"/evaluations/{ev.id}#intake", status_code=303)


@router.get("/evaluations/{evaluation_id}/tests")
def tests_form(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
               db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    note = ""
    if ev.tests:
        values = ev.tests
    else:
        previous, previous_on = _previous(db, ev, "tests")
        start = tests_prefill(patient, ev.intake, previous, previous_on, dt.date.today())
        values, note = start.values, start.note
    repo.audit(db, clinician.user, "view", "evaluation", ev.id, "tests")
    return _form_page(request, ev, patient, build_form(_tests_model(), values), "tests",
                      prefill_note=note)


@router.post("/evaluations/{evaluation_id}/tests")
def save_tests(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
               clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    from backtorun.services.intake import parse_tests

    ev, patient = _evaluation(db, clinician, evaluation_id)
    model = _tests_model()
    data = parse_form(model, form)
    try:
        results = parse_tests(data, source="test form")
    except InputError as exc:
        return _form_page(request, ev, patient, build_form(model, data), "tests", errors=error_lines(exc))
    ev.tests = results.model_dump(mode="json", exclude_none=True)
    repo.audit(db, clinician.user, "update", "evaluation", ev.id, "test results saved")
    return RedirectResponse(f"/evaluations/{ev.id}#tests", status_code=303)


# ------------------------------------------------------------------------------------------------ analysis


@router.post("/evaluations/{evaluation_id}/analyze")
def start_analysis(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
                   clinician: Clinician = Depends(current_clinician), db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    if not any(repo.list_uploads(db, ev.id, k) for k in VIDEO_KINDS):
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


def _result_dir(ev: Evaluation, *files: str) -> Path:
    """The evaluation's result folder; ``files`` (relative paths) must belong to its complete run (run.json, as
    the CLI's ``report`` checks): a folder without its manifest, or a file of another run, is never shown."""
    if not ev.result_dir or ev.completed_at is None:
        raise NotFound()
    out = Path(ev.result_dir)
    if files:
        from backtorun.services.run_folder import IncompleteRun, check_run_files

        try:
            check_run_files(out, files)
        except IncompleteRun as exc:
            log.warning("evaluation %s: result folder refused: %s", ev.id, exc)
            raise StarletteHTTPException(409, "This evaluation's result files are incomplete or mix two runs "
                                              "(no complete run.json); start the analysis again.") from None
    return out


@router.get("/evaluations/{evaluation_id}/report")
def report_page(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    if ev.completed_at is None:
        return RedirectResponse(f"/evaluations/{ev.id}", status_code=303)
    out = _result_dir(ev, "evaluation.json")
    repo.audit(db, clinician.user, "view", "evaluation", ev.id, "report")
    artefacts = (ev.result or {}).get("artefacts") or {}
    videos = [(view, artefacts[f"{view}_annotated_mp4"]) for view in VIDEO_KINDS
              if isinstance(artefacts.get(f"{view}_annotated_mp4"), str) and (out / artefacts[f"{view}_annotated_mp4"]).is_file()]
    return render(request, "report.html", {"ev": ev, "patient": patient, "summary": report_summary(ev.result or {}),
                                           "videos": videos,
                                           "has_html": (out / "report.html").is_file(),
                                           "has_runner": (out / "runner.pdf").is_file()})


@router.get("/evaluations/{evaluation_id}/report.pdf")
def report_pdf(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
               db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    out = _result_dir(ev, "evaluation.json", *(["report.pdf"] if (Path(ev.result_dir or "") / "report.pdf").is_file()
                                               else []))
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
    _result_dir(ev, target.relative_to(root).as_posix())  # a file of this run only
    if target.suffix.lower() in (".html", ".pdf", ".json", ".mp4"):
        repo.audit(db, clinician.user, "view", "evaluation", ev.id, f"file {file_path}")
    return FileResponse(target)


# ------------------------------------------------------------------------------------------------ removal


@dataclass(frozen=True)
class Removal:
    """What a confirmation page asks about: the thing (in words), what goes with it, where to post, where to go
    back, and why it cannot be removed now ("" when it can)."""

    what: str
    details: list[str]
    action: str
    cancel: str
    refused: str = ""


def _confirm_page(request: Request, ev: Evaluation, patient: Patient, removal: Removal,
                  status_code: int = 200) -> Response:
    return render(request, "confirm_delete.html", {"ev": ev, "patient": patient, "what": removal.what,
                                                   "details": removal.details, "action": removal.action,
                                                   "cancel": removal.cancel, "refused": removal.refused},
                  status_code=status_code)


def _busy(db: Session, ev: Evaluation) -> str:
    """Why the evaluation's files cannot be removed now ("" when they can): an analysis is queued or running."""
    if jobstore.active_job(db, ev.id) is not None:
        return "An analysis of this evaluation is queued or running; wait until it has finished, then remove."
    return ""


def _may_remove_evaluation(clinician: Clinician, ev: Evaluation) -> str:
    """Any clinician may remove an evaluation without a finished analysis (a draft or a mistake); one with a
    report is a clinical record, removed by an administrator only. Returns the refusal, or ""."""
    if ev.completed_at is not None and not clinician.is_admin:
        return "This evaluation has a report; only a clinic administrator can remove it."
    return ""


@router.get("/evaluations/{evaluation_id}/delete")
def confirm_delete_evaluation(request: Request, evaluation_id: int, clinician: Clinician = Depends(current_clinician),
                              db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    uploads = repo.list_uploads(db, ev.id)
    details = [f"{u.kind} {'video' if u.kind != 'log' else 'training log'}: {u.original_name}" for u in uploads]
    details += [x for x, present in (("the intake and red-flag screen", ev.intake), ("the test results", ev.tests),
                                     ("the analysis results and report", ev.result_dir)) if present]
    refused = _may_remove_evaluation(clinician, ev) or _busy(db, ev)
    return _confirm_page(request, ev, patient, Removal(
        what=f"the evaluation of {ev.created_at:%Y-%m-%d}" + (f" ({ev.label})" if ev.label else ""), details=details,
        action=f"/evaluations/{ev.id}/delete", cancel=f"/evaluations/{ev.id}", refused=refused))


@router.post("/evaluations/{evaluation_id}/delete")
def delete_evaluation(request: Request, evaluation_id: int, form: dict = Depends(csrf_form),
                      clinician: Clinician = Depends(current_clinician),
                      db: Session = Depends(get_db, scope="function")) -> Response:
    """Remove one evaluation: its rows (uploads, jobs) and every file (uploads, all analysis runs, scratch)."""
    ev, patient = _evaluation(db, clinician, evaluation_id)
    refused = _may_remove_evaluation(clinician, ev) or _busy(db, ev)
    if refused or form.get("confirm") != "yes":
        return _confirm_page(request, ev, patient, Removal(
            what=f"the evaluation of {ev.created_at:%Y-%m-%d}", details=[], action=f"/evaluations/{ev.id}/delete",
            cancel=f"/evaluations/{ev.id}", refused=refused or "Confirm the removal with the button below."),
            status_code=409 if refused else 400)
    when = f"{ev.created_at:%Y-%m-%d}"
    erasure = repo.delete_evaluation(db, ev)
    repo.audit(db, clinician.user, "delete", "evaluation", erasure.evaluation_id,
               f"evaluation of {when} of patient {patient.id} removed with {len(erasure.paths)} stored file(s) "
               f"and {len(erasure.job_ids)} analysis run(s)")
    db.commit()
    data_dir = request.app.state.settings.data_dir
    remove_inside(data_dir, [upload_dir(data_dir, erasure.clinic_id, erasure.evaluation_id),
                             evaluation_results_dir(data_dir, erasure.clinic_id, erasure.evaluation_id),
                             *[dask_scratch_dir(data_dir, j) for j in erasure.job_ids],
                             *[Path(p) for p in erasure.paths]])
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


def _upload(db: Session, clinician: Clinician, ev: Evaluation, upload_id: int) -> Any:
    up = repo.get_upload(db, clinician.clinic_id, ev.id, upload_id)
    if up is None:
        raise NotFound()
    return up


def _upload_words(up: Any) -> str:
    return f"the {up.kind}-view video {up.original_name}" if up.kind != "log" else f"the training log {up.original_name}"


@router.get("/evaluations/{evaluation_id}/uploads/{upload_id}/delete")
def confirm_delete_upload(request: Request, evaluation_id: int, upload_id: int,
                          clinician: Clinician = Depends(current_clinician),
                          db: Session = Depends(get_db, scope="function")) -> Response:
    ev, patient = _evaluation(db, clinician, evaluation_id)
    up = _upload(db, clinician, ev, upload_id)
    details = [f"{up.original_name} ({up.size_bytes / 1e6:.1f} MB, uploaded {up.created_at:%Y-%m-%d %H:%M})"]
    if ev.completed_at is not None:
        details.append("The existing report is kept; run the analysis again to leave this file out of it.")
    return _confirm_page(request, ev, patient, Removal(
        what=_upload_words(up), details=details, action=f"/evaluations/{ev.id}/uploads/{up.id}/delete",
        cancel=f"/evaluations/{ev.id}#{'logs' if up.kind == 'log' else 'videos'}", refused=_busy(db, ev)))


@router.post("/evaluations/{evaluation_id}/uploads/{upload_id}/delete")
def delete_upload(request: Request, evaluation_id: int, upload_id: int, form: dict = Depends(csrf_form),
                  clinician: Clinician = Depends(current_clinician),
                  db: Session = Depends(get_db, scope="function")) -> Response:
    """Remove one video or training log: its row and its file."""
    ev, patient = _evaluation(db, clinician, evaluation_id)
    up = _upload(db, clinician, ev, upload_id)
    refused = _busy(db, ev)
    if refused or form.get("confirm") != "yes":
        return _confirm_page(request, ev, patient, Removal(
            what=_upload_words(up), details=[], action=f"/evaluations/{ev.id}/uploads/{up.id}/delete",
            cancel=f"/evaluations/{ev.id}", refused=refused or "Confirm the removal with the button below."),
            status_code=409 if refused else 400)
    kind, upload_no = up.kind, up.id
    path = repo.delete_upload(db, up)
    repo.audit(db, clinician.user, "update", "evaluation", ev.id,
               f"removed {'training log' if kind == 'log' else kind + ' video'} #{upload_no}")
    db.commit()
    if path is not None:
        remove_inside(request.app.state.settings.data_dir, [Path(path)])
    return RedirectResponse(f"/evaluations/{ev.id}#{'logs' if kind == 'log' else 'videos'}", status_code=303)
