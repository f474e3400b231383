"""The recommendation library (``library.yaml``, domain.md §9) loaded into validated, typed models."""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backtorun.config_files import read_override, validate

REC_CODES = ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PainRuleSpec(_Strict):
    safe_max: float = Field(ge=0, le=10)
    acceptable_max: float = Field(ge=0, le=10)
    repeat_delta: float = Field(gt=0, le=10)
    regress_delta: float = Field(gt=0, le=10)
    text: str
    evidence_grade: str
    sources: list[str]

    @model_validator(mode="after")
    def _order(self) -> "PainRuleSpec":
        if self.acceptable_max < self.safe_max:
            raise ValueError("acceptable_max must not be below safe_max")
        if self.regress_delta < self.repeat_delta:
            raise ValueError("regress_delta must not be below repeat_delta")
        return self


class SpeedRelationSpec(_Strict):
    """Cadence at another speed: c(v2) = c(v1) · (v2 / v1) ** exponent (a power law fitted to two speeds)."""

    exponent: float = Field(ge=0, le=1)
    max_ratio: float = Field(2.0, gt=1, le=5)  # speeds further apart than this ratio are not extrapolated
    evidence_grade: str
    source: str


SPEED_SOURCES = ("usual_easy_speed", "pain_onset_speed", "logs_usual_speed", "filmed_speed")


class CadenceSpec(_Strict):
    steps_pct: list[float] = Field(min_length=1)
    metronome_minutes: float = Field(gt=0, le=180)
    retest_weeks: int = Field(ge=1, le=52)
    retest_tolerance_pct: float = Field(gt=0, le=20)
    faded_feedback: list[str]
    evidence_grade: str
    sources: list[str]
    speed_relation: Optional[SpeedRelationSpec] = None
    watch_speed_tolerance_kmh: float = Field(1.0, gt=0, le=10)  # logged runs this near the speed give its cadence
    metronome_suffix: str = Field(".ogg", pattern=r"^\.(wav|ogg|opus|mp3)$")  # format of the metronome file names
    prescribe_at: list[str] = Field(default_factory=lambda: list(SPEED_SOURCES), min_length=1)

    @model_validator(mode="after")
    def _sources(self) -> "CadenceSpec":
        bad = [x for x in self.prescribe_at if x not in SPEED_SOURCES]
        if bad:
            raise ValueError(f"prescribe_at: {bad} not among {', '.join(SPEED_SOURCES)}")
        return self


class PathwayCriteriaSpec(_Strict):
    """When modified running is chosen instead of walk–run (every criterion must be known and met)."""

    min_weekly_km: float = Field(ge=0, le=400)
    max_pain_during_run: float = Field(ge=0, le=10)
    min_pain_free_minutes: float = Field(ge=0, le=600)
    walk_run_if_red_flags: list[str] = Field(default_factory=list)  # any (cleared or non-blocking) hit → walk–run


class ModifiedRunningSpec(_Strict):
    title: str
    summary: str
    treadmill_cap_fraction: float = Field(gt=0, le=1)  # treadmill time cap = fraction × pain-onset minutes
    treadmill_cap_margin_min: float = Field(ge=0, le=60)  # and at least this many minutes below the onset
    incline_pct: float = Field(ge=0, le=15)
    weekly_increase_pct: float = Field(gt=0, le=30)
    weeks: int = Field(ge=1, le=16)
    long_run_share_if_unknown: float = Field(gt=0, le=1)  # longest run ≈ share × weekly km when not reported
    long_run_max_share: float = Field(gt=0, le=1)  # the long run stays at most this share of the week's km
    load_flag_codes: list[str] = Field(default_factory=list)  # training-load findings that hold the first weeks
    hold_weeks_after_load_flags: int = Field(0, ge=0, le=8)
    elements: list[str]
    evidence_grade: str
    sources: list[str]


class PainTrendSpec(_Strict):
    """Weekly pain-trend rule: compare this week's worst running pain with last week's."""

    mic_points: float = Field(gt=0, le=10)
    text: str
    evidence_grade: str
    sources: list[str]


class LoadManagementSpec(_Strict):
    criteria: PathwayCriteriaSpec
    modified_running: ModifiedRunningSpec
    walk_run_title: str
    walk_run_summary: str
    pain_trend: PainTrendSpec
    retest_weeks: int = Field(ge=1, le=52)


class ExerciseSpec(_Strict):
    name: str
    sets: Optional[Union[int, str]] = None
    reps: Optional[Union[int, str]] = None
    hold_s: Optional[float] = Field(None, gt=0)
    per_side: bool = False
    frequency: str
    weeks: Optional[int] = Field(None, ge=1)
    duration_min: Optional[float] = Field(None, gt=0)
    intensity: Optional[str] = None
    speed_kmh: Optional[str] = None
    incline_pct: Optional[str] = None
    progression: str


class RecommendationSpec(_Strict):
    title: str
    summary: str
    exercises: list[ExerciseSpec]
    cues: list[str]
    cues_by_finding: dict[str, list[str]] = Field(default_factory=dict)
    caveats: str
    evidence_grade: str
    sources: list[str]


class PhaseSpec(_Strict):
    phase: int = Field(ge=1)
    rpe: float = Field(ge=0, le=10)
    walk_min: float = Field(ge=0)
    run_min: Optional[float] = Field(None, gt=0)  # None = continuous
    total_mi: float = Field(gt=0)


class ReturnToRunSpec(_Strict):
    entry_criteria: list[str]
    rest_days_between_runs: int = Field(ge=0)
    min_repeats_per_phase: int = Field(ge=1)
    phases: list[PhaseSpec] = Field(min_length=1)
    time_based_alternative: list[str]
    after_continuous: str
    evidence_grade: str
    sources: list[str]


class ReferralSpec(_Strict):
    actions: dict[str, str]


class Library(_Strict):
    version: str
    pain_rule: PainRuleSpec
    cadence: CadenceSpec
    recommendations: dict[str, RecommendationSpec]
    return_to_run: ReturnToRunSpec
    running_outside: str
    referral: ReferralSpec
    load_management: Optional[LoadManagementSpec] = None

    @model_validator(mode="after")
    def _codes(self) -> "Library":
        missing = [c for c in REC_CODES if c not in self.recommendations]
        if missing:
            raise ValueError(f"recommendations missing {missing}")
        return self


@lru_cache(maxsize=1)
def _default_doc() -> dict[str, Any]:
    return yaml.safe_load(resources.files("backtorun.plan").joinpath("library.yaml").read_text(encoding="utf-8"))


def load_library(path: str | Path | None = None) -> Library:
    """The packaged library, with a clinic YAML file merged over it when ``path`` is given."""
    from backtorun.findings.ruleset import deep_merge

    doc = copy.deepcopy(_default_doc())
    if path is not None:
        doc = deep_merge(doc, read_override(path, "recommendation library"))
    return validate(Library, doc, "recommendation library entry")


@lru_cache(maxsize=1)
def default_library() -> Library:
    return load_library(None)
