"""A small, defensive adapter over the intake (``backtorun.intake.Intake`` or a plain mapping).

The plan reads only a few optional facts and never depends on the intake's exact field names: each fact is
looked up under a few candidate names (attributes or mapping keys, also one level down in ``pain``,
``timing``, ``modifiers``, ``history``, ``patient``, ``runner`` or ``training``); anything missing or of the
wrong type is ``None``.

Facts used:
    name            runner's name or id (referral letter)      name / full_name / patient_name / runner_id
    age_years       age (referral letter)                      age / age_years
    pain_baseline   usual pain now, 0–10                        pain_now / nrs_now / pain_at_rest / pain.now
    pain_during_run pain during a run, 0–10                     pain_during_run / nrs_during_run / pain.during_run
    treadmill_only  symptoms only on the treadmill              treadmill_only / symptoms_only_on_treadmill /
                                                               pain_only_on_treadmill /
                                                               timing.surfaces == "treadmill_only"
    weekly_km, weekly_km_max, longest_run_km, usual_speed_kmh      training context (weekly_volume_km, …)
    onset_minutes, onset_speed_kmh, onset_incline_pct              timing of the pain onset
    outdoor_pain_free  outdoor runs pain-free (outdoor_runs_pain_free, or surfaces == "treadmill_only")
    extension_sensitive  pain eased by flexion or provoked by extension / downhill
                                                               extension_sensitive / aggravated_by_extension /
                                                               modifiers.directional_preference ==
                                                               "extension_sensitive" (or preference "flexion") /
                                                               aggravating contains "extension" or "downhill"
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

_NESTED = ("pain", "timing", "modifiers", "history", "patient", "runner", "training", "symptoms",
           "aggravating_easing")


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _lookup(obj: Any, names: Iterable[str]) -> Any:
    names = tuple(names)
    for n in names:
        v = _get(obj, n)
        if v is not None:
            return v
    for sub in _NESTED:
        inner = _get(obj, sub)
        if inner is None or isinstance(inner, (str, bytes, int, float)):
            continue
        for n in names:
            v = _get(inner, n)
            if v is not None:
                return v
    return None


def _num(v: Any, lo: float, hi: float) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and lo <= f <= hi else None


def _flag(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("yes", "true", "y"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("no", "false", "n"):
        return False
    return None


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, Mapping):
        return " ".join(f"{k} {_text(x)}" for k, x in v.items()).lower()
    if isinstance(v, (list, tuple, set, frozenset)):
        return " ".join(_text(x) for x in v)
    return str(v).lower()


@dataclass(frozen=True)
class IntakeView:
    name: str | None = None
    age_years: float | None = None
    pain_baseline: float | None = None
    pain_during_run: float | None = None
    treadmill_only: bool | None = None
    extension_sensitive: bool | None = None
    weekly_km: float | None = None
    weekly_km_max: float | None = None
    longest_run_km: float | None = None
    onset_minutes: float | None = None
    onset_speed_kmh: float | None = None
    onset_incline_pct: float | None = None
    usual_speed_kmh: float | None = None
    outdoor_pain_free: bool | None = None
    assessment_date: str | None = None


def read_intake(intake: Any) -> IntakeView:
    """Pick the few facts the plan uses out of any intake-like object; never raises on odd input."""
    if intake is None:
        return IntakeView()
    name = _lookup(intake, ("name", "full_name", "patient_name", "runner_name", "runner_id"))
    ext = _flag(_lookup(intake, ("extension_sensitive", "aggravated_by_extension")))
    if ext is None:
        pref = _lookup(intake, ("directional_preference", "preference"))
        pref = pref.strip().lower() if isinstance(pref, str) else ""
        if pref.endswith("_sensitive"):  # "extension_sensitive" / "flexion_sensitive"
            ext = pref.startswith("extension")
        elif pref in ("flexion", "extension"):  # preference = the direction that eases pain
            ext = pref == "flexion"
    if ext is None:
        agg = _text(_lookup(intake, ("aggravating", "aggravating_factors", "aggravated_by")))
        if agg:
            ext = any(w in agg for w in ("extension", "downhill", "arching", "backward"))
    return IntakeView(
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        age_years=_num(_lookup(intake, ("age", "age_years")), 0, 120),
        pain_baseline=_num(_lookup(intake, ("pain_now", "nrs_now", "pain_at_rest", "now")), 0, 10),
        pain_during_run=_num(_lookup(intake, ("pain_during_run", "nrs_during_run", "during_run")), 0, 10),
        treadmill_only=_treadmill_only(intake),
        extension_sensitive=ext,
        weekly_km=_num(_lookup(intake, ("weekly_volume_km", "weekly_km")), 0, 400),
        weekly_km_max=_num(_lookup(intake, ("weekly_volume_km_max",)), 0, 400),
        longest_run_km=_num(_lookup(intake, ("longest_run_30d_km",)), 0, 250),
        onset_minutes=_num(_lookup(intake, ("onset_minutes_into_run",)), 0, 600),
        onset_speed_kmh=_num(_lookup(intake, ("treadmill_speed_kmh_at_onset",)), 0.1, 30),
        onset_incline_pct=_num(_lookup(intake, ("treadmill_incline_pct_at_onset",)), -10, 40),
        usual_speed_kmh=_num(_lookup(intake, ("usual_easy_speed_kmh",)), 0.1, 30),
        outdoor_pain_free=_outdoor_pain_free(intake),
        assessment_date=_date_text(_lookup(intake, ("assessment_date",))),
    )


def _outdoor_pain_free(intake: Any) -> bool | None:
    flag = _flag(_lookup(intake, ("outdoor_runs_pain_free",)))
    if flag is not None:
        return flag
    only = _treadmill_only(intake)
    return True if only else None


def _date_text(v: Any) -> str | None:
    if v is None:
        return None
    iso = getattr(v, "isoformat", None)
    return iso() if callable(iso) else (v if isinstance(v, str) else None)


def _treadmill_only(intake: Any) -> bool | None:
    flag = _flag(_lookup(intake, ("treadmill_only", "symptoms_only_on_treadmill", "pain_only_on_treadmill")))
    if flag is not None:
        return flag
    surfaces = _lookup(intake, ("surfaces", "symptom_surfaces"))
    if isinstance(surfaces, str) and surfaces.strip().lower() not in ("", "unknown"):
        return surfaces.strip().lower() == "treadmill_only"
    return None
