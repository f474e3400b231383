"""Physical plausibility of imported sessions: impossible values are refused per session with the reason.

A session is refused when a number is not finite, a distance or duration is negative (or zero for a run or walk
that has the other), a run's pace is outside ``run_pace_min_s_per_km``–``run_pace_max_s_per_km``, a run or walk
averages more than ``max_speed_kmh``, or it starts in the future. Bounds: ``training/session_bounds.yaml``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from backtorun.config_files import load_validated
from backtorun.training.model import Session


class SessionBounds(BaseModel):
    """Plausibility bounds of one session; defaults in ``training/session_bounds.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_pace_min_s_per_km: float = Field(90.0, gt=0)
    run_pace_max_s_per_km: float = Field(1800.0, gt=0)
    max_speed_kmh: float = Field(30.0, gt=0)
    max_duration_s: float = Field(172800.0, gt=0)
    max_distance_km: float = Field(1000.0, gt=0)
    future_tolerance_min: float = Field(10.0, ge=0)


def load_session_bounds(path: str | Path | None = None) -> SessionBounds:
    """Bounds from the packaged ``session_bounds.yaml``, overridden by the keys of an optional YAML file."""
    return load_validated(SessionBounds, what="session bound", packaged=("backtorun.training", "session_bounds.yaml"),
                          path=path)


def _mmss(s_per_km: float) -> str:
    return f"{int(s_per_km // 60)}:{int(round(s_per_km % 60)):02d}"


def implausible_reason(s: Session, bounds: SessionBounds, *, now: datetime) -> str | None:
    """Why session ``s`` cannot be real (one line, no file name), or None when it is plausible."""
    values = {"distance": s.distance_m, "duration": s.duration_s, "elapsed time": s.elapsed_s,
              "ascent": s.elevation_gain_m, "cadence": s.cadence_spm, "heart rate": s.avg_heart_rate_bpm}
    for name, v in values.items():
        if v is not None and not math.isfinite(v):
            return f"{name} is not a finite number ({v})"
    for name in ("distance", "duration", "elapsed time"):
        v = values[name]
        if v is not None and v < 0:
            return f"negative {name} ({v:g})"
    if s.start_time > now + timedelta(minutes=bounds.future_tolerance_min):
        return f"starts {s.start_time.isoformat()}, in the future: check the device clock"
    if s.duration_s is not None and s.duration_s > bounds.max_duration_s:
        return f"duration {s.duration_s / 3600:.1f} h is longer than {bounds.max_duration_s / 3600:g} h"
    if s.activity not in ("run", "walk"):
        return None
    dist, dur = s.distance_m, s.duration_s
    if dist is not None and dist / 1000.0 > bounds.max_distance_km:
        return f"distance {dist / 1000:.1f} km is longer than {bounds.max_distance_km:g} km"
    if dist == 0 and dur:
        return "zero distance with a recorded duration"
    if dur == 0 and dist:
        return "zero duration with a recorded distance"
    if not dist or not dur:
        return None
    kmh = dist / dur * 3.6
    if kmh > bounds.max_speed_kmh:
        return f"average speed {kmh:.1f} km/h is above {bounds.max_speed_kmh:g} km/h for a {s.activity}"
    pace = dur / (dist / 1000.0)
    if s.activity == "run" and not bounds.run_pace_min_s_per_km <= pace <= bounds.run_pace_max_s_per_km:
        return (f"pace {_mmss(pace)} min/km is outside {_mmss(bounds.run_pace_min_s_per_km)}–"
                f"{_mmss(bounds.run_pace_max_s_per_km)} min/km for running")
    return None
