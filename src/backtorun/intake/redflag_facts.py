"""Facts the red-flag rules test (domain.md §7.3): every intake answer by its dotted path, plus a few derived facts.

Derived facts (``None`` when the intake cannot tell):

- ``back_or_leg_pain``: any pain score > 0 or any body-chart location ticked.
- ``pain_fields_empty``: no pain score given and no body-chart location ticked (§7.3: "or no pain fields filled").
- ``low_back_pain``: central or one-sided low back pain ticked, or a pain score > 0 with no location ticked.
- ``episode_days``: days from ``timing.onset_date`` to the assessment (``today``, else ``assessment_date``, else
  the current date).
- ``back_pain_onset_age_years``: ``red_flags.ibp_age_at_onset_years`` when given; else age minus the whole years
  since ``timing.onset_date``; else the current age (an upper bound: the pain began at or before today).
- ``years_since_back_pain_onset``: ``age_years - red_flags.ibp_age_at_onset_years`` (``None`` when not given).
"""

from __future__ import annotations

import typing
from datetime import date
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from backtorun.intake.model import Intake

DERIVED_FACTS: tuple[str, ...] = ("back_or_leg_pain", "pain_fields_empty", "low_back_pain", "episode_days",
                                  "back_pain_onset_age_years", "years_since_back_pain_onset")
_DAYS_PER_YEAR = 365.25  # calendar average, for whole years between two dates


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        inner = args[0] if len(args) == 1 and typing.get_origin(ann) is not tuple else ann
        if _is_model(inner):
            out.extend(_leaf_paths(inner, f"{prefix}{name}."))
        else:
            out.append(f"{prefix}{name}")
    return out


@lru_cache(maxsize=1)
def known_facts() -> frozenset[str]:
    """Every fact name a rule may test: the intake's leaf fields (dotted paths) and the derived facts."""
    return frozenset(_leaf_paths(Intake)) | frozenset(DERIVED_FACTS)


def _flatten(data: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _flatten(value, f"{prefix}{key}.", out)
        else:
            out[f"{prefix}{key}"] = value


def intake_facts(intake: Intake, *, today: date | None = None) -> dict[str, Any]:
    """The facts of one intake (see the module docstring for the derived ones)."""
    facts: dict[str, Any] = {}
    _flatten(intake.model_dump(mode="python"), "", facts)
    p, loc = intake.pain, intake.location
    scores = [v for v in (p.now, p.worst_24h, p.during_run, p.after_run_24h) if v is not None]
    any_location = loc.any_back_or_leg_pain
    facts["back_or_leg_pain"] = intake.has_back_or_leg_pain
    facts["pain_fields_empty"] = not scores and not any_location
    facts["low_back_pain"] = bool(loc.central_lumbar or loc.unilateral_side is not None
                                  or (not any_location and any(s > 0 for s in scores)))
    days = intake.episode_age_days(today)
    facts["episode_days"] = days
    onset_age = intake.red_flags.ibp_age_at_onset_years
    if onset_age is not None:
        facts["back_pain_onset_age_years"] = onset_age
        facts["years_since_back_pain_onset"] = intake.age_years - onset_age
    else:
        whole_years = int(days // _DAYS_PER_YEAR) if days is not None and days > 0 else 0
        facts["back_pain_onset_age_years"] = intake.age_years - whole_years
        facts["years_since_back_pain_onset"] = None
    return facts
