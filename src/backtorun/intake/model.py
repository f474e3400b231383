"""Intake data model (domain.md §7.1, §7.2): pain, location, timing, modifiers, history, red-flag items,
training context and scores of instruments administered elsewhere.

No licensed questionnaire text is embedded: the Oswestry index (ODI), Roland-Morris (RMDQ) and STarT Back are
recorded as *scores* only; the patient-specific functional scale style (activities rated 0–10) is supported.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Side = Literal["left", "right", "both"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PainScores(_Strict):
    """Pain on the 0–10 numeric rating scale (NRS). MIC = 2 points or 30 % [69]; "recovered" = 0 [70]."""

    now: int | None = Field(None, ge=0, le=10, description="Pain now (NRS 0–10).")
    worst_24h: int | None = Field(None, ge=0, le=10, description="Worst pain in the last 24 h (NRS 0–10).")
    during_run: int | None = Field(None, ge=0, le=10, description="Pain during running (NRS 0–10).")
    after_run_24h: int | None = Field(None, ge=0, le=10, description="Pain in the 24 h after running (NRS 0–10).")

    def max_reported(self) -> int | None:
        vals = [v for v in (self.now, self.worst_24h, self.during_run, self.after_run_24h) if v is not None]
        return max(vals) if vals else None


class PainLocation(_Strict):
    """Body-chart location (domain.md §7.1)."""

    central_lumbar: bool = False
    unilateral_side: Literal["left", "right"] | None = None
    buttock: bool = False
    below_knee: bool = False
    referred_leg_pain: bool = False
    referred_leg_side: Side | None = None

    @model_validator(mode="after")
    def _leg_side(self) -> "PainLocation":
        if self.referred_leg_side is not None and not self.referred_leg_pain:
            raise ValueError("referred_leg_side is given but referred_leg_pain is false: set referred_leg_pain: true")
        return self

    @property
    def any_back_or_leg_pain(self) -> bool:
        return bool(self.central_lumbar or self.unilateral_side or self.buttock or self.below_knee
                    or self.referred_leg_pain)


class PainTiming(_Strict):
    """Onset and timing of the pain."""

    onset_date: date | None = Field(None, description="Date this episode started.")
    surfaces: Literal["treadmill_only", "treadmill_and_outside", "outside_only", "unknown"] = "unknown"
    onset_minutes_into_run: float | None = Field(None, ge=0, le=600)
    onset_km_into_run: float | None = Field(None, ge=0, le=100)
    treadmill_speed_kmh_at_onset: float | None = Field(None, gt=0, le=30)
    treadmill_incline_pct_at_onset: float | None = Field(None, ge=-10, le=40)
    morning_stiffness_min: float | None = Field(None, ge=0, le=1440)


class Modifiers(_Strict):
    """Aggravating and easing factors and directional preference."""

    aggravating: tuple[str, ...] = ()
    easing: tuple[str, ...] = ()
    directional_preference: Literal["extension_sensitive", "flexion_sensitive", "none", "unknown"] = "unknown"


class History(_Strict):
    """Previous episodes and injuries."""

    previous_episodes: int = Field(0, ge=0, le=1000)
    prior_running_injuries: tuple[str, ...] = ()
    notes: str | None = None


class RedFlagItems(_Strict):
    """Answers used by the red-flag screen (domain.md §7.3). All default to "no"."""

    # cauda equina (RF-CES)
    bilateral_leg_symptoms: bool = Field(False, description="Pain, numbness or weakness in both legs.")
    saddle_numbness: bool = Field(False, description="Saddle, perineal or genital numbness.")
    altered_sensation_wiping: bool = False
    urinary_difficulty_new: bool = Field(False, description="New difficulty starting or stopping urine.")
    bladder_bowel_loss: bool = Field(False, description="Loss of bladder or bowel sensation or control.")
    sexual_dysfunction_new: bool = False
    ces_symptoms_onset_days: int | None = Field(
        None, ge=0, le=36500, description="Days since the cauda-equina symptoms above began (unknown = treated as recent).")
    ces_symptoms_worsening: bool = False
    # fracture (RF-FRACTURE)
    significant_trauma: bool = False
    prolonged_corticosteroids: bool = False
    contusion_or_abrasion: bool = False
    # malignancy (RF-MALIGNANCY)
    cancer_history: bool = False
    unexplained_weight_loss: bool = False
    night_pain_not_eased_by_position: bool = False
    # infection (RF-INFECTION)
    fever_or_systemically_unwell: bool = False
    immunosuppression: bool = False
    diabetes: bool = False
    iv_drug_use: bool = False
    recent_invasive_procedure_or_infection: bool = False
    # neurological (RF-NEURO)
    progressive_unilateral_weakness: bool = False
    dermatomal_numbness: bool = False

    def ces_symptoms(self) -> list[str]:
        names = {
            "bilateral_leg_symptoms": "bilateral leg pain/numbness/weakness",
            "saddle_numbness": "saddle/perineal/genital numbness",
            "altered_sensation_wiping": "altered sensation when wiping",
            "urinary_difficulty_new": "new difficulty starting/stopping urine",
            "bladder_bowel_loss": "loss of bladder/bowel sensation or control",
            "sexual_dysfunction_new": "new sexual dysfunction",
        }
        return [text for name, text in names.items() if getattr(self, name)]


class PsfsActivity(_Strict):
    """One patient-chosen activity of the patient-specific functional scale style: 0 = unable, 10 = as before."""

    activity: str = Field(min_length=1, max_length=120)
    score: float = Field(ge=0, le=10)


class Instruments(_Strict):
    """Scores of instruments administered elsewhere (no questionnaire text here; see domain.md §7.2 licensing)."""

    odi_percent: float | None = Field(None, ge=0, le=100, description="Oswestry index score, 0–100 % (licensed; score only).")
    rmdq_score: int | None = Field(None, ge=0, le=24, description="Roland-Morris score, 0–24.")
    startback_total: int | None = Field(None, ge=0, le=9, description="Keele STarT Back total, 0–9.")
    startback_psychosocial: int | None = Field(None, ge=0, le=5, description="STarT Back psychosocial subscale (items 5–9), 0–5.")
    psfs: tuple[PsfsActivity, ...] = Field((), max_length=5)

    @model_validator(mode="after")
    def _subscale(self) -> "Instruments":
        if (self.startback_total is not None and self.startback_psychosocial is not None
                and self.startback_psychosocial > self.startback_total):
            raise ValueError("startback_psychosocial cannot exceed startback_total: check both scores")
        return self

    @property
    def psfs_mean(self) -> float | None:
        """PSFS score = mean of the activity scores [68]."""
        return sum(a.score for a in self.psfs) / len(self.psfs) if self.psfs else None


class TrainingContext(_Strict):
    """Self-reported training context (the imported logs are the better source when given)."""

    weekly_volume_km: float | None = Field(None, ge=0, le=400)
    longest_run_30d_km: float | None = Field(None, ge=0, le=250)
    treadmill_share_pct: float | None = Field(None, ge=0, le=100)
    runs_per_week: float | None = Field(None, ge=0, le=21)
    shoes: str | None = None
    recent_changes: str | None = None
    novice: bool = False


class Intake(_Strict):
    """Complete intake (domain.md §7.1). Validate a web form with ``Intake.model_validate(dict)``."""

    runner_id: str | None = Field(None, max_length=100)
    assessment_date: date | None = None
    age_years: int = Field(ge=10, le=110)
    sex: Literal["female", "male", "other", "unspecified"] = "unspecified"
    height_cm: float | None = Field(None, ge=100, le=230)
    weight_kg: float | None = Field(None, ge=25, le=250)
    pain: PainScores = PainScores()
    location: PainLocation = PainLocation()
    timing: PainTiming = PainTiming()
    modifiers: Modifiers = Modifiers()
    history: History = History()
    medications: tuple[str, ...] = ()
    red_flags: RedFlagItems = RedFlagItems()
    instruments: Instruments = Instruments()
    training: TrainingContext = TrainingContext()
    notes: str | None = Field(None, max_length=5000)

    @property
    def bmi(self) -> float | None:
        """Body-mass index = weight_kg / (height_cm / 100)²."""
        if self.height_cm is None or self.weight_kg is None:
            return None
        return self.weight_kg / (self.height_cm / 100.0) ** 2

    @property
    def has_back_or_leg_pain(self) -> bool:
        m = self.pain.max_reported()
        return bool((m is not None and m > 0) or self.location.any_back_or_leg_pain)

    def episode_age_days(self, today: date | None = None) -> int | None:
        if self.timing.onset_date is None:
            return None
        ref = today or self.assessment_date or date.today()
        return (ref - self.timing.onset_date).days

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")
