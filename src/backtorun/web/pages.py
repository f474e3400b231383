"""Page rendering shared by the route modules (kept out of ``web.app`` so that routes never import the app)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse


def render(request: Request, template: str, context: dict, status_code: int = 200) -> HTMLResponse:
    """Render a page with the logged-in clinician (for the header and the CSRF token) in its context."""
    ctx = {"clinician": getattr(request.state, "clinician", None), **context}
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status_code)
