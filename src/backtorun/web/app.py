"""``create_app(settings)``: the FastAPI application factory (no engine or globals at import time)."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from backtorun.store import jobs as jobstore
from backtorun.store.db import make_engine, session_factory
from backtorun.store.migrate import upgrade
from backtorun.web.deps import CsrfFailed, Forbidden, NotAuthenticated, NotFound, current_clinician
from backtorun.web.jobs import make_runner
from backtorun.web.settings import WebSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "font-src 'self' data:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'self'; "
       "form-action 'self'; base-uri 'self'")


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


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the web app: database (migrated on startup), job runner, routes, templates and static files."""
    settings = settings or WebSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db_url = settings.resolved_database_url()
    engine = make_engine(db_url)

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

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

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

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error_page(request, 403, "Only a clinic administrator can open this page.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code, str(exc.detail))

    from backtorun.web import routes_admin, routes_auth, routes_evaluations, routes_patients

    app.include_router(routes_auth.router)
    app.include_router(routes_patients.router)
    app.include_router(routes_evaluations.router)
    app.include_router(routes_admin.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", include_in_schema=False, dependencies=[Depends(current_clinician)])
    def index() -> Response:
        return RedirectResponse("/patients", status_code=303)

    return app


def render(request: Request, template: str, context: dict, status_code: int = 200) -> HTMLResponse:
    """Render a page with the logged-in clinician (for the header and the CSRF token) in its context."""
    ctx = {"clinician": getattr(request.state, "clinician", None), **context}
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status_code)
