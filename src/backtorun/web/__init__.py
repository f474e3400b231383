"""Clinic web app: FastAPI + server-rendered Jinja2 pages. Start with ``backtorun serve``.

``create_app(settings)`` builds the app; nothing is created at import time.
"""

from backtorun.web.app import create_app
from backtorun.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
