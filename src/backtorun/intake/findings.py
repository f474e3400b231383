"""Findings drawn from the intake itself (domain "intake"): treadmill-only pain pattern, pain level during running
(pain-monitoring model [88]), pain not settling within 24 h, psychosocial risk (STarT Back [67]).

Worded as observations for the clinician, never as a diagnosis.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backtorun.config_files import load_validated
from backtorun.intake.model import Intake
from backtorun.types import Finding


class IntakeFindingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pain_safe_max: int = Field(3, ge=0, le=10)
    pain_stop_above: int = Field(5, ge=0, le=10)
    settle_margin: int = Field(1, ge=1, le=10)
    startback_psychosocial_high: int = Field(4, ge=0, le=5)
    odi_bands: tuple[float, float, float, float] = (20, 40, 60, 80)


def load_intake_finding_rules(**overrides: Any) -> IntakeFindingRules:
    """Intake finding rules from the packaged ``findings.yaml``, with keyword overrides."""
    return load_validated(IntakeFindingRules, what="intake finding rule", packaged=("backtorun.intake", "findings.yaml"),
                          overrides=overrides)


def odi_band(score: float, bands: tuple[float, ...] = (20, 40, 60, 80)) -> str:
    """ODI interpretation [65]: 0–20 minimal, 20–40 moderate, 40–60 severe, 60–80 crippled, 80–100 bed-bound."""
    names = ("minimal", "moderate", "severe", "crippled", "bed-bound or exaggerating")
    for limit, name in zip(bands, names):
        if score <= limit:
            return name
    return names[-1]


def intake_findings(intake: Intake, *, rules: IntakeFindingRules | None = None) -> list[Finding]:
    """Findings from the intake answers (domain "intake")."""
    r = rules or load_intake_finding_rules()
    out: list[Finding] = []
    p = intake.pain
    if intake.timing.surfaces == "treadmill_only" and (p.during_run or 0) > 0:
        ext = intake.modifiers.directional_preference == "extension_sensitive"
        out.append(Finding(
            code="INTAKE_TREADMILL_PAIN", domain="intake", title="Pain only when running on the treadmill",
            text=("Back pain appears on the treadmill but not outside"
                  + (" and is extension-sensitive" if ext else "")
                  + (f", starting about {intake.timing.onset_minutes_into_run:g} min into the run"
                     if intake.timing.onset_minutes_into_run is not None else "")
                  + ": the repeated, unchanging treadmill load may matter."),
            severity="mild", values={"during_run": p.during_run, "surfaces": intake.timing.surfaces,
                                     "directional_preference": intake.modifiers.directional_preference},
            evidence_grade="D", sources=(), plain_text="Your back hurts on the treadmill but not outside.",
            recommendations=("R5", "R7") if ext else ("R7",)))
    if p.during_run is not None and p.during_run > r.pain_safe_max:
        stop = p.during_run > r.pain_stop_above
        out.append(Finding(
            code="PAIN_DURING_RUN", domain="intake", title="Pain level during running",
            text=(f"Pain during running {p.during_run}/10: "
                  + (f"above {r.pain_stop_above}/10, the pain-monitoring model says stop and load differently."
                     if stop else f"{r.pain_safe_max + 1}–{r.pain_stop_above}/10 is 'acceptable' in the pain-monitoring "
                     "model if it settles by the next morning.")),
            severity="moderate" if stop else "mild", values={"during_run": p.during_run},
            threshold={"safe_max": r.pain_safe_max, "stop_above": r.pain_stop_above}, evidence_grade="C",
            sources=("88",), plain_text="Running hurts more than the comfortable limit." if stop else
            "Running hurts a little; that is acceptable if it settles by the next morning.",
            recommendations=("R7", "R8") if stop else ("R8",)))
    if p.after_run_24h is not None and p.now is not None and p.after_run_24h >= p.now + r.settle_margin:
        out.append(Finding(
            code="PAIN_NOT_SETTLING", domain="intake", title="Pain does not settle within 24 h",
            text=(f"Pain 24 h after running ({p.after_run_24h}/10) stays above the resting level ({p.now}/10): "
                  "the load of a run is not yet tolerated (pain-monitoring model: step back one level)."),
            severity="mild", values={"after_run_24h": p.after_run_24h, "now": p.now},
            threshold={"margin": r.settle_margin}, evidence_grade="C", sources=("88",),
            plain_text="Your back is still sore the day after running.", recommendations=("R8",)))
    sub = intake.instruments.startback_psychosocial
    if sub is not None and sub >= r.startback_psychosocial_high:
        out.append(Finding(
            code="STARTBACK_HIGH", domain="intake", title="High psychosocial risk (STarT Back)",
            text=f"STarT Back psychosocial subscale {sub}/5 (≥ {r.startback_psychosocial_high}): psychosocially "
                 "informed care is suggested; not a referral.",
            severity="moderate", values={"startback_psychosocial": sub, "startback_total":
                                         intake.instruments.startback_total},
            threshold={"psychosocial": f">= {r.startback_psychosocial_high}"}, evidence_grade="B", sources=("67",),
            plain_text="Worry and mood may be adding to your pain; we will take that into account."))
    return out
