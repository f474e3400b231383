"""Login throttling without denial of service (ASVS 2.2.1) and the remembered-device cookie.

Failed logins are counted per account, per client address and per remembered device. After ``free`` failures in
the window, an attempt must wait ``min(base · 2^(failures − free), max)`` seconds after the last failure; an
attempt during the wait is answered 429 without checking the password. A browser holding a valid
remembered-device cookie for the account (signed, set after a successful login) is exempt from the account and
address back-off and is throttled only by its own failures, so an attacker who knows a clinician's e-mail
cannot lock the clinician out of the computer they use (OWASP "device cookies").
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backtorun.store.models import LoginAttempt, utcnow
from backtorun.web.settings import WebSettings
from backtorun.web.storage import FILE_MODE

log = logging.getLogger(__name__)

DEVICE_COOKIE = "btr_device"
DEVICE_SALT = "backtorun.remembered-device/1"
SECRET_FILE = "secret_key"


def backoff_s(failures: int, *, free: int, base_s: float, max_s: float) -> float:
    """Seconds an attempt must wait after the last failure: 0 up to ``free`` failures, then
    ``min(base_s · 2^(failures − free), max_s)``."""
    if failures < free:
        return 0.0
    return float(min(base_s * 2.0 ** min(failures - free, 62), max_s))


@dataclass(frozen=True)
class Throttle:
    """The wait still due for one key (0 = the attempt may go ahead)."""

    key: str
    wait_s: float


def throttle(db: Session, key: str, *, free: int, settings: WebSettings) -> Throttle:
    """The remaining back-off of ``key`` from its failures within the window."""
    since = utcnow() - dt.timedelta(seconds=settings.login_window_s)
    n, last = db.execute(select(func.count(), func.max(LoginAttempt.at))
                         .where(LoginAttempt.key == key, LoginAttempt.at >= since)).one()
    delay = backoff_s(int(n or 0), free=free, base_s=settings.login_backoff_base_s,
                      max_s=settings.login_backoff_max_s)
    if delay <= 0 or last is None:
        return Throttle(key, 0.0)
    last = last if last.tzinfo else last.replace(tzinfo=dt.timezone.utc)
    remaining = (last + dt.timedelta(seconds=delay) - utcnow()).total_seconds()
    return Throttle(key, max(0.0, remaining))


# ------------------------------------------------------------------------------------------ remembered device


def secret_key(settings: WebSettings) -> str:
    """The configured signing key, else one kept in ``data_dir/secret_key`` (created 0600 on first use)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class Device:
    """A remembered device: the account it logged into and its random id (the key of its own back-off)."""

    user_id: int
    device_id: str

    @property
    def key(self) -> str:
        return f"device:{self.device_id}"


def _serializer(settings: WebSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings), salt=DEVICE_SALT)


def issue_device_cookie(settings: WebSettings, user_id: int, device: Device | None = None) -> str:
    """A signed cookie value naming the account and the device (a new random id unless one is given)."""
    device_id = device.device_id if device and device.user_id == user_id else secrets.token_urlsafe(16)
    return _serializer(settings).dumps({"u": int(user_id), "d": device_id})


def read_device_cookie(settings: WebSettings, value: str | None) -> Device | None:
    """The device named by a valid, unexpired cookie, else None (forged, expired or malformed)."""
    if not value:
        return None
    try:
        data = _serializer(settings).loads(value, max_age=settings.remembered_device_days * 86400)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("d"), str):
        return None
    return Device(user_id=data["u"], device_id=data["d"])
