"""TOTP second factor (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) through pyotp, with replay protection.

A code is accepted for the current step or ``valid_window`` steps either side (clock drift, RFC 6238 §5.2) and only
for a step later than the last one accepted for the account, so an observed code cannot be used again (ASVS 2.8.4).
"""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp

STEP_S = 30  # RFC 6238 default time step, what authenticator apps use
DIGITS = 6


def new_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226 §4 recommends 160)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI an authenticator app takes (typed in or as a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (vector paths only, no text), for the phone's camera."""
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = img.to_string(encoding="unicode")
    return svg[svg.index("<svg"):]


def code_at(secret: str, when: dt.datetime) -> str:
    """The code for the time step containing ``when`` (tests, and showing drift)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).at(when)


def step_of(when: dt.datetime) -> int:
    """RFC 6238 time step T = floor(unix time / 30)."""
    return int(when.timestamp()) // STEP_S


def verify(secret: str, code: str, *, now: dt.datetime, valid_window: int, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to when it is valid at ``now`` and newer than ``last_step``, else None."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = step_of(now)
    for step in range(current - valid_window, current + valid_window + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
