"""Intake data model (domain.md §7.1, §7.2): pain, location, timing, modifiers, history, red-flag items,
training context and scores of instruments administered elsewhere.

No licensed questionnaire text is embedded: the Oswestry index (ODI), Roland-Morris (RMDQ) and STarT Back are
recorded as *scores* only; the patient-specific functional scale style (activities rated 0–10) is supported.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN

Side = Literal["left", "right", "both"]
_RULE_CODE = re.compile(r"RF-[A-Z]+(?:-[A-Z]+)*")


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
    outdoor_runs_pain_free: bool | None = Field(
        None, description="Runs outside are pain-free (None = not asked; surfaces 'treadmill_only' implies yes).")
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
    """Answers used by the red-flag screen (domain.md §7.3). All default to "no" / not given, so older intake files
    load unchanged; the rules that use them live in ``intake/redflags.yaml``."""

    # cauda equina (RF-CES, RF-CES-STABLE)
    bilateral_leg_symptoms: bool = Field(False, description="Pain, numbness or weakness in both legs.")
    saddle_numbness: bool = Field(False, description="Saddle, perineal or genital numbness.")
    altered_sensation_wiping: bool = Field(False, description="Altered sensation when wiping after the toilet.")
    urinary_difficulty_new: bool = Field(False, description="New difficulty starting or stopping urine.")
    bladder_bowel_loss: bool = Field(False, description="Loss of bladder or bowel sensation or control.")
    sexual_dysfunction_new: bool = Field(False, description="New sexual dysfunction.")
    ces_symptoms_onset_days: int | None = Field(
        None, ge=0, le=36500, description="Days since the cauda-equina symptoms above began (unknown = treated as recent).")
    ces_symptoms_worsening: bool = Field(False, description="The cauda-equina symptoms above are getting worse.")
    # fracture (RF-FRACTURE)
    significant_trauma: bool = False
    prolonged_corticosteroids: bool = Field(False, description="Prolonged (long-term) corticosteroid use.")
    contusion_or_abrasion: bool = False
    osteoporosis_or_low_bone_density: bool = Field(False, description="Known osteoporosis or low bone density.")
    minor_trauma_or_fall: bool = Field(False, description="Minor trauma or a fall before the pain began.")
    pain_eased_lying_down: bool = Field(False, description="Sudden severe back pain that eases when lying down.")
    # malignancy (RF-MALIGNANCY)
    cancer_history: bool = False
    unexplained_weight_loss: bool = False
    night_pain_not_eased_by_position: bool = False
    failure_to_improve_weeks: int | None = Field(
        None, ge=0, le=520, description="Weeks of care without improvement (not given = not known).")
    constant_non_mechanical_pain: bool = Field(
        False, description="Constant pain not changed by movement, position or rest.")
    # infection (RF-INFECTION)
    fever_or_systemically_unwell: bool = False
    immunosuppression: bool = False
    diabetes: bool = False
    iv_drug_use: bool = False
    recent_invasive_procedure_or_infection: bool = Field(
        False, description="Recent invasive spinal procedure or recent infection.")
    # neurological (RF-NEURO)
    progressive_weakness: bool = Field(False, description="Progressive leg weakness, one or both sides.")
    progressive_unilateral_weakness: bool = Field(False, description="Progressive weakness of one leg.")
    dermatomal_numbness: bool = Field(False, description="New numbness in a dermatomal pattern.")
    stable_documented_neuro_deficit: bool = Field(
        False, description="An old neurological deficit, documented and unchanged.")
    # inflammatory back pain (RF-INFLAMMATORY, ASAS criteria)
    ibp_age_at_onset_years: int | None = Field(None, ge=0, le=110, description="Age when the back pain began (years).")
    ibp_insidious_onset: bool = Field(False, description="The back pain began gradually (insidious onset).")
    ibp_better_with_exercise: bool = Field(False, description="The back pain improves with exercise.")
    ibp_not_better_with_rest: bool = Field(False, description="The back pain does not improve with rest.")
    ibp_night_pain_better_on_rising: bool = Field(False, description="Pain at night that improves on getting up.")
    # bone stress / relative energy deficiency in sport (RF-BONE-STRESS)
    previous_bone_stress_injury: bool = Field(False, description="A bone-stress injury or stress fracture before.")
    recent_sharp_load_increase: bool = Field(False, description="A recent sharp rise in running load.")
    menstrual_dysfunction: bool = Field(False, description="Missed, irregular or stopped periods.")
    low_energy_availability_signs: bool = Field(
        False, description="Signs of low energy availability (weight loss, restricted eating, fatigue).")

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
    weekly_volume_km_max: float | None = Field(
        None, ge=0, le=400, description="Upper end when the weekly volume varies (e.g. 30–46 km: 30 and 46).")
    usual_easy_speed_kmh: float | None = Field(None, gt=0, le=30, description="Usual easy running speed (km/h).")
    shoes: str | None = None
    recent_changes: str | None = None
    novice: bool = False


class Clearance(_Strict):
    """A clinician's clearance of blocking red flags (domain.md §7.3): who, when, why and which flags (rule codes).

    It lifts the named EMERGENCY/URGENT/NON_URGENT hits so the running plan can be issued; the screen carries it so
    the report can print it. Audit of who recorded it belongs to the web app."""

    flags: tuple[str, ...] = Field(min_length=1, max_length=20, description="Rule codes cleared, e.g. RF-MALIGNANCY.")
    who: str = Field(min_length=2, max_length=200, description="Clinician who cleared the flag(s).")
    when: date = Field(description="Date of the clearance.")
    why: str = Field(min_length=3, max_length=2000, description="Reason for the clearance.")

    @field_validator("flags")
    @classmethod
    def _codes(cls, flags: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(f.strip().upper() for f in flags)
        bad = [f for f in out if not _RULE_CODE.fullmatch(f)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a red-flag rule code: use codes such as RF-MALIGNANCY")
        return out


class Intake(_Strict):
    """Complete intake (domain.md §7.1). Validate a web form with ``Intake.model_validate(dict)``."""

    runner_id: str | None = Field(None, max_length=100)
    assessment_date: date | None = None
    age_years: int = Field(ge=10, le=110)
    sex: Literal["female", "male", "other", "unspecified"] = "unspecified"
    height_cm: float | None = Field(None, ge=HEIGHT_CM_MIN, le=HEIGHT_CM_MAX)
    weight_kg: float | None = Field(None, ge=25, le=250)
    pain: PainScores = PainScores()
    location: PainLocation = PainLocation()
    timing: PainTiming = PainTiming()
    modifiers: Modifiers = Modifiers()
    history: History = History()
    medications: tuple[str, ...] = ()
    red_flags: RedFlagItems = RedFlagItems()
    clearance: tuple[Clearance, ...] = Field((), max_length=20, description="Clinician clearance of red flags.")
    instruments: Instruments = Instruments()
    training: TrainingContext = TrainingContext()
    notes: str | None = Field(None, max_length=5000)

    @model_validator(mode="after")
    def _onset_age(self) -> "Intake":
        onset = self.red_flags.ibp_age_at_onset_years
        if onset is not None and onset > self.age_years:
            raise ValueError(f"red_flags.ibp_age_at_onset_years ({onset}) cannot exceed age_years ({self.age_years})")
        return self

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

    @classmethod
    def from_dict(cls, d: dict) -> "Intake":
        """The inverse of :meth:`to_dict`: validated again (pydantic ValidationError when a field is wrong)."""
        return cls.model_validate(d)
