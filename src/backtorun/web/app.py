"""``create_app(settings)``: the FastAPI application factory (no engine or globals at import time)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN
from backtorun.store import job_queue as jobstore
from backtorun.store.db import make_engine, session_factory
from backtorun.store.migrate import upgrade
from backtorun.web.deps import (
    CsrfFailed, Forbidden, NotAuthenticated, NotFound, PasswordChangeRequired, current_clinician,
)
from backtorun.web.jobs import make_runner
from backtorun.web.login_guard import secret_key
from backtorun.web.settings import WebSettings
from backtorun.web.storage import FILE_MODE, private_dir

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "font-src 'self' data:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'self'; "
       "form-action 'self'; base-uri 'self'")
PERMISSIONS_POLICY = ("accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
                      "magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()")


def apply_security_headers(request: Request, response: Response, hsts_max_age_s: int) -> Response:
    """The headers every response carries (pages, files, redirects, errors): CSP, no sniffing, framing, referrer,
    permissions, no caching of records; HSTS when the request came over HTTPS."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "SAMEORIGIN")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if request.url.scheme == "https" and hsts_max_age_s > 0:
        h.setdefault("Strict-Transport-Security", f"max-age={hsts_max_age_s}; includeSubDomains")
    if not request.url.path.startswith("/static/"):
        h.setdefault("Cache-Control", "no-store")
    return response


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.endswith((".json", "/status"))


def _remove_stale_partial_uploads(root: Path, older_than_s: float = 3600.0) -> None:
    """Delete ``.upload-*.part`` files left by uploads cut off by a crash (finished uploads are never touched)."""
    if not root.is_dir():
        return
    cutoff = time.time() - older_than_s
    for part in root.rglob(".upload-*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
                log.info("removed the partial upload %s left by an interrupted request", part)
        except OSError as exc:
            log.warning("could not remove the partial upload %s: %s", part, exc)


def _private_sqlite_file(db_url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its -wal and -shm files copy the file's mode)."""
    if not db_url.startswith("sqlite") or "///" not in db_url:
        return
    path = db_url.split("///", 1)[1]
    if not path or path == ":memory:":
        return
    p = Path(path)
    if not p.parent.exists():
        private_dir(p.parent)
    os.close(os.open(p, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for f in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm"), p.with_name(p.name + "-journal")):
        if f.exists():
            os.chmod(f, FILE_MODE)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the web app: database (migrated on startup), job runner, routes, templates and static files."""
    settings = settings or WebSettings()
    private_dir(settings.data_dir)
    db_url = settings.resolved_database_url()
    _private_sqlite_file(db_url)
    engine = make_engine(db_url)
    secret_key(settings)  # created (0600) before the first request, not by two requests at once

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations:
            upgrade(engine)
        _remove_stale_partial_uploads(settings.data_dir / "uploads")
        runner = make_runner(backend=settings.jobs_backend, db_url=db_url, data_dir=settings.data_dir,
                             pipeline=settings.pipeline, workers=settings.job_workers, nice=settings.worker_nice,
                             dask_scheduler=settings.dask_scheduler)
        app.state.runner = runner
        with app.state.sessions.begin() as s:
            outcome = jobstore.recover_jobs(s, max_attempts=settings.job_max_attempts,
                                            stale_after_s=settings.job_stale_after_s)
        for job_id, what in outcome.items():
            log.warning("job %s was interrupted by a server stop: %s", job_id, what)
        with app.state.sessions() as s:
            queued = list(jobstore.queued_job_ids(s))
        for job_id in queued:
            runner.submit(job_id)
        try:
            yield
        finally:
            runner.shutdown()
            engine.dispose()

    app = FastAPI(title="backtorun clinic", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["app_name"] = "backtorun"
    # the one definition of the runner-height bound, for the forms' min/max (backtorun.settings)
    app.state.templates.env.globals.update(height_cm_min=HEIGHT_CM_MIN, height_cm_max=HEIGHT_CM_MAX)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        return apply_security_headers(request, response, settings.hsts_max_age_s)

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if request.method == "GET" and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": "log in first"}, status_code=401)

    def _error_page(request: Request, status: int, message: str) -> Response:
        if _wants_html(request):
            return app.state.templates.TemplateResponse(
                request, "error.html", {"status": status, "message": message,
                                        "clinician": getattr(request.state, "clinician", None)},
                status_code=status)
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _error_page(request, 403, "The form has expired or did not come from this site. Go back, reload the "
                                         "page and submit it again.")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error_page(request, 404, "No such record in your clinic.")

    @app.exception_handler(PasswordChangeRequired)
    async def _password_change(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.method == "GET" and _wants_html(request):
            return RedirectResponse("/account/password", status_code=303)
        return _error_page(request, 403, "Choose a new password first (Account → Change password).")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error_page(request, 403, "Only a clinic administrator can open this page.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # a malformed id or parameter: the record cannot exist (no validation details, which echo the input)
        return _error_page(request, 404 if request.method == "GET" else 400,
                           "No such record in your clinic." if request.method == "GET" else
                           "The request was malformed. Go back, reload the page and try again.")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        # Starlette's outermost error middleware sends this response itself, past the header middleware
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        response = JSONResponse({"detail": "internal error; the details are in the server log"}, status_code=500)
        if _wants_html(request):
            response = HTMLResponse("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error 500"
                                    "</title></head><body><h1>500</h1><p>Something went wrong on the server; the "
                                    "details are in its log. Go back and try again.</p></body></html>",
                                    status_code=500)
        return apply_security_headers(request, response, settings.hsts_max_age_s)

    from backtorun.web import routes_account, routes_admin, routes_auth, routes_evaluations, routes_patients

    app.include_router(routes_auth.router)
    app.include_router(routes_patients.router)
    app.include_router(routes_evaluations.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_account.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", include_in_schema=False, dependencies=[Depends(current_clinician)])
    def index() -> Response:
        return RedirectResponse("/patients", status_code=303)

    return app
