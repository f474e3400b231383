"""Starting values for a new visit's intake and test forms: from the patient record and the previous visit.

What carries over is what a follow-up visit would otherwise ask again unchanged (demographics, history, red-flag
answers, training context, the PSFS activities chosen, the test protocol and the previous dynamometry values).
What the visit must measure afresh is left empty: pain and questionnaire scores, test results, notes. Clinician
clearances of red flags never carry over: a flag that still fires must be cleared again at this visit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

INTAKE_FRESH = ("assessment_date", "pain", "clearance", "notes", "runner_id")
"""Top-level intake entries not carried over from the previous visit (asked again or visit-specific)."""
INSTRUMENT_SCORES = ("odi_percent", "rmdq_score", "startback_total", "startback_psychosocial")
HHD_SETUP = ("muscle", "unit", "position", "device", "belt_stabilised")
SEXES = ("female", "male", "other", "unspecified")


@dataclass(frozen=True)
class Prefill:
    values: dict[str, Any]
    note: str  # what was filled in from where, for the clinician to check; "" when nothing was


def _age(birth_year: int | None, on: dt.date) -> int | None:
    """Age in whole years at ``on`` from a birth year alone (may be one year high before the birthday)."""
    return on.year - birth_year if birth_year else None


def intake_prefill(patient: Any, previous: Mapping[str, Any] | None, previous_on: dt.date | None,
                   today: dt.date) -> Prefill:
    """Starting values of a new intake form from ``patient`` (birth year, sex, height) and the ``previous`` intake."""
    values: dict[str, Any] = {}
    sources = []
    if previous:
        values = {k: v for k, v in previous.items() if k not in INTAKE_FRESH}
        inst = dict(previous.get("instruments") or {})
        for k in INSTRUMENT_SCORES:
            inst.pop(k, None)
        inst["psfs"] = [{"activity": a.get("activity")} for a in inst.get("psfs") or [] if a.get("activity")]
        values["instruments"] = inst
        sources.append(f"the intake of {previous_on:%Y-%m-%d}" if previous_on else "the previous intake")
    patient_values = {"age_years": _age(getattr(patient, "birth_year", None), today),
                      "sex": getattr(patient, "sex", None) if getattr(patient, "sex", None) in SEXES else None,
                      "height_cm": getattr(patient, "height_cm", None)}
    # the age from the birth year is newer than last visit's; sex and height only where last visit has none
    filled = {k: v for k, v in patient_values.items()
              if v is not None and (k == "age_years" or values.get(k) in (None, "", "unspecified"))}
    if filled:
        sources.insert(0, "the patient record")
    values.update(filled)
    values["assessment_date"] = today.isoformat()
    if not sources:
        return Prefill(values, "")
    note = f"Filled in from {' and '.join(sources)}: check every answer."
    if previous:
        note += (" Pain and questionnaire scores are left empty to be asked again; red-flag clearances are not "
                 "carried over.")
    return Prefill(values, note)


def tests_prefill(patient: Any, intake: Mapping[str, Any] | None, previous: Mapping[str, Any] | None,
                  previous_on: dt.date | None, today: dt.date) -> Prefill:
    """Starting values of a new test form: sex and weight from this visit's intake (or the patient), examiner and
    protocol from the ``previous`` tests, and each previous dynamometry row with its values as ``previous_*``."""
    intake = intake or {}
    values: dict[str, Any] = {"assessed_on": today.isoformat()}
    sex = intake.get("sex") if intake.get("sex") in SEXES and intake.get("sex") != "unspecified" else getattr(
        patient, "sex", None)
    if sex in SEXES:
        values["sex"] = sex
    if intake.get("weight_kg") is not None:
        values["weight_kg"] = intake["weight_kg"]
    sources = ["this visit's intake"] if intake else []
    if previous:
        for k in ("examiner",):
            if previous.get(k):
                values[k] = previous[k]
        if (previous.get("thomas") or {}).get("method"):
            values["thomas"] = {"method": previous["thomas"]["method"]}
        if (previous.get("prone_hip_extension") or {}).get("knee"):
            values["prone_hip_extension"] = {"knee": previous["prone_hip_extension"]["knee"]}
        rows = []
        for row in previous.get("hhd") or []:
            new = {k: row[k] for k in HHD_SETUP if row.get(k) is not None}
            new["previous_left"], new["previous_right"] = row.get("left"), row.get("right")
            rows.append(new)
        if rows:
            values["hhd"] = rows
        sources.append(f"the tests of {previous_on:%Y-%m-%d}" if previous_on else "the previous tests")
    if not sources:
        return Prefill(values, "")
    return Prefill(values, f"Filled in from {' and '.join(sources)} (protocol, examiner, previous dynamometry): "
                           "check them; this visit's measurements are left empty.")
