"""One bounded set of argument types shared by every command: height, belt speed (or pace), frame rate, view.

Values arrive as text and are parsed inside the command's error handling, so a typo, ``nan``, ``inf``, a negative
or an absurd value all give the same one-line error naming the valid range. The bounds are configuration
(:class:`ArgumentBounds`, pydantic defaults). ``--speed`` takes one or two arguments (``--speed 10 km/h`` and
``--speed "10 km/h"``): :class:`SpeedCommand` joins a separate unit onto the value before click parses.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

import typer.core
from pydantic import BaseModel, ConfigDict, Field

from backtorun.errors import InputError
from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN


class ArgumentBounds(BaseModel):
    """Valid ranges of the shared command-line values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    height_cm_min: float = Field(HEIGHT_CM_MIN, description="Shortest runner height accepted (cm).")
    height_cm_max: float = Field(HEIGHT_CM_MAX, description="Tallest runner height accepted (cm).")
    speed_kmh_min: float = Field(1.0, description="Slowest belt speed accepted (km/h): slow walking.")
    speed_kmh_max: float = Field(30.0, description="Fastest belt speed accepted (km/h): fastest treadmills.")
    fps_min: float = Field(1.0, description="Lowest frame rate accepted (frames/s).")
    fps_max: float = Field(1000.0, description="Highest frame rate accepted (frames/s): high-speed slow motion.")


BOUNDS = ArgumentBounds()
#: The height range for help texts, from the one definition in :mod:`backtorun.settings`.
HEIGHT_RANGE_CM = f"{HEIGHT_CM_MIN:g}–{HEIGHT_CM_MAX:g}"
KMH_PER_MPS = 3.6
SPEED_UNITS = ("km/h", "kmh", "kph", "mph", "m/s", "mps", "min/km", "min/mi", "min/mile")
_SPEED_HINT = "e.g. --speed 10 km/h, --speed 6.2 mph or --speed 5:30 min/km"
_UNIT_RE = re.compile(r"^(" + "|".join(re.escape(u) for u in SPEED_UNITS) + r")$", re.IGNORECASE)


def _finite(text: str | float, option: str, hint: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise InputError(f"{option} {text!r} is not a number", hint=hint) from None
    if not math.isfinite(value):
        raise InputError(f"{option} {text!r} is not a finite number", hint=hint)
    return value


def _in_range(text: str | float, low: float, high: float, option: str, unit: str, example: str) -> float:
    """``text`` as a finite number within [low, high]; one wording for every bad value (typo, nan, inf, negative,
    absurd), naming the valid range."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(f"{option} {str(text)!r} is not in the valid range {low:g}–{high:g} {unit}",
                         hint=f"e.g. {option} {example}")
    return value


def parse_height_cm(text: str | float | None, *, option: str = "--height-cm",
                    bounds: ArgumentBounds = BOUNDS) -> float | None:
    """Runner height in cm within ``height_cm_min``–``height_cm_max``; None when not given."""
    if text is None:
        return None
    return _in_range(text, bounds.height_cm_min, bounds.height_cm_max, option, "cm", "178")


def parse_fps(text: str | float | None, *, option: str = "--fps", bounds: ArgumentBounds = BOUNDS) -> float | None:
    """A frame rate (frames/s) within ``fps_min``–``fps_max``; None when not given."""
    if text is None:
        return None
    return _in_range(text, bounds.fps_min, bounds.fps_max, option, "frames/s", "60")


def parse_view(text: str, *, option: str = "--view") -> str:
    """One of the camera views every command accepts (``pipeline.VIEWS``)."""
    from backtorun.services.analysis import VIEWS

    view = text.strip().lower()
    if view not in VIEWS:
        raise InputError(f"{option} {text!r} is not one of {', '.join(VIEWS)}", hint=f"e.g. {option} side")
    return view


def parse_pace_min(text: str, option: str = "--speed") -> float:
    """Minutes from ``M:SS`` (seconds 0–59) or a decimal number of minutes."""
    t = text.strip()
    if ":" in t:
        m = re.fullmatch(r"(\d{1,3}):([0-5]\d)(\.\d+)?", t)
        if not m:
            raise InputError(f"{option} pace {text!r} is not M:SS with seconds 00–59", hint=_SPEED_HINT)
        return int(m.group(1)) + float(m.group(2) + (m.group(3) or "")) / 60.0
    return _finite(t, option, _SPEED_HINT)


def parse_speed(values: str | Sequence[str] | None, *, option: str = "--speed",
                bounds: ArgumentBounds = BOUNDS) -> float | None:
    """Belt speed in m/s from ``"10 km/h"``, ``("10", "km/h")``, ``"6.2mph"`` or ``"5:30 min/km"``, within
    ``speed_kmh_min``–``speed_kmh_max``; None when not given."""
    from backtorun.units import speed_to_mps

    if values is None or (not isinstance(values, str) and not values):
        return None
    text = values if isinstance(values, str) else " ".join(str(v) for v in values if v is not None)
    m = re.fullmatch(r"\s*([0-9.:,eE+-]+|nan|inf|-?inf)\s*([A-Za-z/ ]+)?\s*", text, re.IGNORECASE)
    if not m or not m.group(2):
        raise InputError(f"{option} {text!r} needs a number and a unit (km/h, mph, m/s, min/km, min/mi)",
                         hint=_SPEED_HINT)
    number, unit = m.group(1).replace(",", "."), m.group(2).strip()  # "10,5 km/h" as written in much of Europe
    if not _UNIT_RE.match(unit.replace(" ", "")):
        raise InputError(f"{option}: unknown speed unit {unit!r}", hint="use km/h, mph, m/s, min/km or min/mi")
    lo, hi = bounds.speed_kmh_min, bounds.speed_kmh_max
    valid = f"the valid belt speed is {lo:g}–{hi:g} km/h (pace {_pace(hi)}–{_pace(lo)} min/km)"
    try:
        value = parse_pace_min(number, option) if unit.lower().startswith("min") else float(number)
    except InputError as exc:
        raise InputError(f"{exc.message}; {valid}", hint=_SPEED_HINT) from None
    except ValueError:
        value = math.nan
    kmh = speed_to_mps(value, unit) * KMH_PER_MPS if math.isfinite(value) and value > 0 else math.nan
    if not (math.isfinite(kmh) and lo <= kmh <= hi):
        raise InputError(f"{option} {text!r} is not a belt speed: {valid}", hint=_SPEED_HINT)
    return kmh / KMH_PER_MPS


def _pace(kmh: float) -> str:
    s = 3600.0 / kmh
    return f"{int(s // 60)}:{int(round(s % 60)):02d}"


def _looks_like_unit(value: str, token: str) -> bool:
    """True when ``token`` is the unit of a bare number ``value`` (a word such as km/h or furlongs, not a path)."""
    if _UNIT_RE.match(token.replace(" ", "")):
        return True
    bare = re.fullmatch(r"[-+0-9.:,eE]+|nan|inf", value.strip(), re.IGNORECASE) is not None
    return bare and re.fullmatch(r"[A-Za-z][A-Za-z/]{0,15}", token) is not None


def join_speed_unit(args: list[str], option: str = "--speed") -> list[str]:
    """``[…, '--speed', '10', 'km/h', …]`` → ``[…, '--speed', '10 km/h', …]`` (also after ``--speed=10``)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out.extend(args[i:])
            break
        if a == option and i + 1 < len(args):
            value = args[i + 1]
            if i + 2 < len(args) and _looks_like_unit(value, args[i + 2]):
                out.extend([a, f"{value} {args[i + 2]}"])
                i += 3
                continue
            out.extend([a, value])
            i += 2
            continue
        if a.startswith(option + "=") and i + 1 < len(args) and _looks_like_unit(a.split("=", 1)[1], args[i + 1]):
            out.append(f"{a} {args[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


class SpeedCommand(typer.core.TyperCommand):
    """A typer command whose ``--speed`` option takes one argument (``"10 km/h"``) or two (``10 km/h``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_speed_unit(list(args)))
