"""Unit conversions used at the edges (CLI, forms, logs)."""

from __future__ import annotations

from backtorun.errors import InputError

KMH_PER_MPS = 3.6
MPH_PER_MPS = 2.2369362920544
METRES_PER_MILE = 1609.344


def speed_to_mps(value: float, unit: str) -> float:
    """Belt speed in m/s from km/h, mph, m/s, min/km or min/mi (pace)."""
    u = unit.strip().lower().replace(" ", "")
    if value is None or not value > 0:
        raise InputError(f"belt speed must be positive, got {value!r}", hint="e.g. --speed 10 km/h")
    if u in ("kmh", "km/h", "kph"):
        return value / KMH_PER_MPS
    if u == "mph":
        return value / MPH_PER_MPS
    if u in ("mps", "m/s", "ms"):
        return float(value)
    if u in ("min/km", "minkm", "minperkm"):
        return 1000.0 / (value * 60.0)
    if u in ("min/mi", "min/mile", "minmi"):
        return METRES_PER_MILE / (value * 60.0)
    raise InputError(f"unknown speed unit {unit!r}", hint="use km/h, mph, m/s, min/km or min/mi")


def parse_pace(text: str) -> float:
    """'5:30' → 5.5 minutes."""
    if ":" in text:
        m, s = text.split(":", 1)
        return int(m) + int(s) / 60.0
    return float(text)
