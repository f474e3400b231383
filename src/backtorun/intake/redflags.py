"""Red-flag screen (domain.md §7.3): emergency / urgent / non-urgent referral, each with the reason shown.

Single red flags have poor diagnostic accuracy; they raise suspicion within clinical reasoning rather than decide
alone (IFOMPT framework [61]). The screen therefore lists every rule that fired with the answers that fired it,
and the highest level decides whether the running programme stops (any level other than "none").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from backtorun.config_files import load_validated
from backtorun.intake.model import Intake
from backtorun.types import RedFlagHit, RedFlagLevel, RedFlagScreen

_LEVEL_ORDER: dict[str, int] = {"none": 0, "non_urgent": 1, "urgent": 2, "emergency": 3}


class RedFlagRules(BaseModel):
    """Thresholds of the screen; defaults in ``intake/redflags.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ces_recent_days: int = Field(14, ge=1, le=365)
    fracture_age_men_over: int = Field(65, ge=18, le=110)
    fracture_age_women_over: int = Field(75, ge=18, le=110)
    malignancy_weak_age_over: int = Field(50, ge=18, le=110)
    new_pain_max_days: int = Field(42, ge=1, le=3650)
    pars_caution_enabled: bool = True
    pars_caution_age_under: int = Field(25, ge=10, le=60)
    startback_psychosocial_high: int = Field(4, ge=0, le=5)


def load_red_flag_rules(path: str | Path | None = None) -> RedFlagRules:
    """Rules from the packaged ``redflags.yaml``, overridden by the keys of an optional YAML file."""
    return load_validated(RedFlagRules, what="red-flag rule", packaged=("backtorun.intake", "redflags.yaml"), path=path)


def _ces(intake: Intake, rules: RedFlagRules) -> RedFlagHit | None:
    """RF-CES: back and/or leg pain AND any recent-onset (< 14 d) or worsening CES symptom → emergency [64] (C).

    Symptoms with unknown onset are treated as recent (safer)."""
    rf = intake.red_flags
    symptoms = rf.ces_symptoms()
    if not symptoms or not intake.has_back_or_leg_pain:
        return None
    onset = rf.ces_symptoms_onset_days
    recent = onset is None or onset < rules.ces_recent_days
    if not (recent or rf.ces_symptoms_worsening):
        return None
    when = "onset unknown (treated as recent)" if onset is None else f"began {onset} d ago"
    if rf.ces_symptoms_worsening:
        when += " and worsening"
    return RedFlagHit(
        code="RF-CES", level="emergency",
        reason=f"back/leg pain with {', '.join(symptoms)}; {when} (rule: recent < {rules.ces_recent_days} d or worsening)",
        action="stop the evaluation; same-day emergency department (MRI within hours per UK pathway)",
        evidence_grade="C", sources=("64",))


def _fracture(intake: Intake, rules: RedFlagRules) -> RedFlagHit | None:
    """RF-FRACTURE: significant trauma OR prolonged corticosteroids OR older age (men > 65, women > 75) OR
    contusion/abrasion → urgent medical review [62] (A). Sex other/unspecified uses the lower (men's) age."""
    rf = intake.red_flags
    reasons = []
    if rf.significant_trauma:
        reasons.append("significant trauma")
    if rf.prolonged_corticosteroids:
        reasons.append("prolonged corticosteroid use")
    if rf.contusion_or_abrasion:
        reasons.append("contusion/abrasion")
    limit = rules.fracture_age_women_over if intake.sex == "female" else rules.fracture_age_men_over
    if intake.age_years > limit:
        reasons.append(f"age {intake.age_years} > {limit}")
    if not reasons:
        return None
    n = len(reasons)
    return RedFlagHit(
        code="RF-FRACTURE", level="urgent",
        reason="; ".join(reasons) + (f" ({n} flags: probability rises with multiple flags)" if n > 1 else ""),
        action="urgent medical review; no running programme until cleared",
        evidence_grade="A", sources=("62",))


def _malignancy(intake: Intake, rules: RedFlagRules, today: date | None) -> RedFlagHit | None:
    """RF-MALIGNANCY: history of cancer → urgent [62] (A). Weaker indicators (unexplained weight loss, night pain
    not eased by position, age > 50 with new pain) → non-urgent "consider" [U]."""
    rf = intake.red_flags
    if rf.cancer_history:
        return RedFlagHit(code="RF-MALIGNANCY", level="urgent", reason="history of cancer",
                          action="urgent medical review; no running programme until cleared",
                          evidence_grade="A", sources=("62",))
    weak = []
    if rf.unexplained_weight_loss:
        weak.append("unexplained weight loss")
    if rf.night_pain_not_eased_by_position:
        weak.append("night pain not eased by position")
    age_days = intake.episode_age_days(today)
    new_pain = (age_days is not None and age_days <= rules.new_pain_max_days and intake.history.previous_episodes == 0)
    if intake.age_years > rules.malignancy_weak_age_over and new_pain:
        weak.append(f"age {intake.age_years} > {rules.malignancy_weak_age_over} with new pain "
                    f"(first episode, {age_days} d)")
    if not weak:
        return None
    return RedFlagHit(code="RF-MALIGNANCY", level="non_urgent",
                      reason="weaker indicators: " + "; ".join(weak) + " (unverified figures [U])",
                      action="medical review before running progression (consider malignancy)",
                      evidence_grade="C", sources=("62",))


def _infection(intake: Intake) -> RedFlagHit | None:
    """RF-INFECTION: fever or systemic unwellness with spinal pain, OR immunosuppression, diabetes, IV drug use,
    recent invasive procedure/infection → urgent [63] (B)."""
    rf = intake.red_flags
    reasons = []
    if rf.fever_or_systemically_unwell and intake.has_back_or_leg_pain:
        reasons.append("fever or systemic unwellness with spinal pain")
    for name, text in (("immunosuppression", "immunosuppression"), ("diabetes", "diabetes"),
                       ("iv_drug_use", "intravenous drug use"),
                       ("recent_invasive_procedure_or_infection", "recent invasive procedure or infection")):
        if getattr(rf, name):
            reasons.append(text)
    if not reasons:
        return None
    return RedFlagHit(code="RF-INFECTION", level="urgent", reason="; ".join(reasons),
                      action="urgent medical review; no running programme until cleared",
                      evidence_grade="B", sources=("63",))


def _neuro(intake: Intake) -> RedFlagHit | None:
    """RF-NEURO: progressive unilateral weakness or dermatomal numbness → non-emergency review (D)."""
    rf = intake.red_flags
    reasons = [t for n, t in (("progressive_unilateral_weakness", "progressive unilateral weakness"),
                              ("dermatomal_numbness", "dermatomal numbness")) if getattr(rf, n)]
    if not reasons:
        return None
    return RedFlagHit(code="RF-NEURO", level="non_urgent", reason="; ".join(reasons),
                      action="medical/physiotherapy review before running", evidence_grade="D", sources=())


def _pars(intake: Intake, rules: RedFlagRules) -> RedFlagHit | None:
    """Runner-specific caution [U]: young runner with extension-provoked unilateral LBP → possible pars stress
    injury → medical assessment before running progression."""
    if not rules.pars_caution_enabled:
        return None
    if (intake.age_years < rules.pars_caution_age_under and intake.location.unilateral_side is not None
            and intake.modifiers.directional_preference == "extension_sensitive"):
        return RedFlagHit(code="RF-PARS", level="non_urgent",
                          reason=(f"age {intake.age_years} < {rules.pars_caution_age_under}, unilateral "
                                  f"({intake.location.unilateral_side}) extension-provoked low back pain "
                                  "(possible pars stress injury, unverified [U])"),
                          action="medical assessment before running progression", evidence_grade="C", sources=())
    return None


def screen_red_flags(intake: Intake, *, rules: RedFlagRules | None = None, today: date | None = None) -> RedFlagScreen:
    """Screen an intake for red flags (domain.md §7.3). Level = highest level of any hit; yellow flags listed."""
    rules = rules or load_red_flag_rules()
    hits = [h for h in (_ces(intake, rules), _fracture(intake, rules), _malignancy(intake, rules, today),
                        _infection(intake), _neuro(intake), _pars(intake, rules)) if h is not None]
    hits.sort(key=lambda h: -_LEVEL_ORDER[h.level])
    level: RedFlagLevel = hits[0].level if hits else "none"
    yellow = []
    sub = intake.instruments.startback_psychosocial
    if sub is not None and sub >= rules.startback_psychosocial_high:
        yellow.append(f"STarT Back psychosocial subscale {sub} ≥ {rules.startback_psychosocial_high}: high risk → "
                      "psychosocially informed care [67]")
    return RedFlagScreen(level=level, hits=tuple(hits), yellow_flags=tuple(yellow))
