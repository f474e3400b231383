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
    session_max_age_s: int = Field(8 * 3600, ge=60, le=30 * 86400,
                                   description="Absolute login lifetime, however active the session (D).")
    session_idle_timeout_s: int = Field(30 * 60, ge=60, le=86400,
                                        description="A session unused this long ends (ASVS 3.3.2) (D).")
    session_activity_resolution_s: int = Field(60, ge=1, le=600, description="Last-activity time is written at most "
                                               "this often per session (fewer writes; idle timeout is ± this).")
    # passwords (ASVS 2.1): length only, no composition rules, refused if common or derived from the account
    password_min_chars: int = Field(12, ge=8, le=64, description="Shortest accepted password (ASVS 2.1.1).")
    password_max_chars: int = Field(128, ge=64, le=4096, description="Longest accepted password (ASVS 2.1.2: "
                                    "at least 64 allowed).")
    password_min_distinct_chars: int = Field(4, ge=1, le=20, description="Fewer distinct characters than this "
                                             "(e.g. '000000000000') is refused as trivially guessable.")
    reset_valid_s: int = Field(72 * 3600, ge=600, le=30 * 86400, description="Lifetime of the one-time password "
                               "an administrator's reset issues; the account must choose a new one with it.")
    reset_password_chars: int = Field(16, ge=12, le=64, description="Length of a generated one-time password.")
    # second factor (RFC 6238 TOTP, optional, administrators)
    totp_issuer: str = Field("backtorun clinic", min_length=1, max_length=60,
                             description="Issuer shown in the authenticator app.")
    totp_valid_window: int = Field(1, ge=0, le=2, description="Accepted clock drift in 30-second steps either "
                                   "side (RFC 6238 §5.2).")
    mfa_pending_s: int = Field(300, ge=30, le=3600, description="Time to enter the code after the password.")
    totp_enrol_valid_s: int = Field(900, ge=60, le=3600, description="Time to add the key to the app and confirm.")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto", description="Secure flag on the session cookie; auto = when the request came over HTTPS.")
    # Login back-off (ASVS 2.2.1): after the free failures, each further attempt must wait
    # min(base · 2^(failures − free), max) seconds after the last failure. Counted per account, per client address
    # and per remembered device; a remembered device of the account is exempt from the account and address
    # back-off, so nobody can lock a clinician out of their own computer. With the defaults, at most about
    # 21 guesses an hour reach one account from unknown devices (ASVS 2.2.1: fewer than 100).
    login_max_failures: int = Field(5, ge=1, le=100, description="Free failed logins per account in the window (D).")
    login_max_failures_per_address: int = Field(30, ge=1, le=10000,
                                                description="Free failed logins per client address in the window (D).")
    login_window_s: int = Field(3600, ge=10, le=86400, description="Window in which failed logins count (D).")
    login_backoff_base_s: float = Field(5.0, gt=0, le=3600, description="First back-off delay after the free "
                                                                        "failures; doubles with each failure (D).")
    login_backoff_max_s: float = Field(300.0, gt=0, le=86400, description="Longest back-off delay (D).")
    remembered_device_days: int = Field(90, ge=1, le=400, description="Lifetime of the remembered-device cookie.")
    secret_key: str | None = Field(None, min_length=32, description="Key that signs remembered-device cookies; None "
                                   "= a random key kept in data_dir/secret_key (set it when several servers share "
                                   "one database).")
    # proxies and transport
    forwarded_allow_ips: tuple[str, ...] = Field((), description="Proxy addresses whose X-Forwarded-For/-Proto are "
                                                 "trusted (serve --forwarded-allow-ips); empty = trust none.")
    hsts_max_age_s: int = Field(31536000, ge=0, le=63072000,
                                description="Strict-Transport-Security max-age, sent on HTTPS responses (1 year).")
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
