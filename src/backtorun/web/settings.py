"""Settings of the clinic web app, parsed once (CLI options, environment ``BACKTORUN_WEB_<NAME>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backtorun.store.db import default_data_dir, default_db_url


class WebSettings(BaseSettings):
    """Web app settings. Defaults suit one clinic on one machine (SQLite in the user's data directory)."""

    model_config = SettingsConfigDict(env_prefix="BACKTORUN_WEB_", frozen=True, extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir, description="Uploads, results and the SQLite file.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; None = SQLite file in data_dir.")
    run_migrations: bool = Field(True, description="Upgrade the schema on startup.")
    # sessions and login
    session_max_age_s: int = Field(8 * 3600, ge=60, le=30 * 86400, description="Login lifetime (D).")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto", description="Secure flag on the session cookie; auto = when the request came over HTTPS.")
    login_max_failures: int = Field(5, ge=1, le=100, description="Failed logins per e-mail in the window (D).")
    login_max_failures_per_address: int = Field(30, ge=1, le=10000,
                                                description="Failed logins per client address in the window (D).")
    login_window_s: int = Field(900, ge=10, le=86400, description="Rate-limit window for failed logins (D).")
    # uploads
    max_video_mb: float = Field(500.0, gt=0, le=20000, description="Largest accepted video upload.")
    max_log_mb: float = Field(20.0, gt=0, le=1000, description="Largest accepted training-log upload.")
    # jobs
    jobs_backend: Literal["inprocess", "dask"] = "inprocess"
    dask_scheduler: str | None = Field(None, description="Dask scheduler address for jobs_backend='dask'.")
    job_workers: int = Field(1, ge=1, le=16, description="Analyses run at the same time (in-process backend).")
    job_max_attempts: int = Field(2, ge=1, le=10, description="Runs of a job interrupted by a crash before it fails.")
    job_stale_after_s: float = Field(300.0, gt=0, description="Heartbeat age after which another host's job is dead.")
    worker_nice: int = Field(10, ge=0, le=19, description="Lower CPU priority of analysis workers (keeps pages fast).")
    pipeline: str = Field("backtorun.web.jobs:run_pipeline",
                          description="'module:function' that runs one analysis (a test seam).")

    def resolved_database_url(self) -> str:
        return self.database_url or default_db_url(self.data_dir)
