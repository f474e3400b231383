"""Build the runner's plan from the findings (domain.md §9): dosed recommendations, cadence targets with a
metronome track, incline walking, running outside / cross-training, graded return to run and the pain rule.

A red flag replaces all of it with a referral letter: no running plan and no exercises.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from backtorun.errors import InputError
from backtorun.findings.result import FindingsResult
from backtorun.findings.symptom_match import watch_dynamics_at_speed
from backtorun.plan.cadence import CadencePlan, PrescribedCadence, build_cadence_plan, cadence_at_speed
from backtorun.plan.intake_view import IntakeView, read_intake
from backtorun.plan.load_pathway import LoadPathway, choose_pathway
from backtorun.plan.library import ExerciseSpec, Library, RecommendationSpec, default_library, load_library
from backtorun.plan.return_to_run import ReturnToRunPlan, build_return_to_run
from backtorun.records import from_plain
from backtorun.types import RED_FLAG_NON_BLOCKING, Finding, GaitAnalysis, RedFlagScreen, json_safe, red_flag_rank
from backtorun.units import KMH_PER_MPS

PLAN_SCHEMA = "backtorun.plan/1"


@dataclass(frozen=True)
class Exercise:
    name: str
    frequency: str
    progression: str
    sets: int | str | None = None
    reps: int | str | None = None
    hold_s: float | None = None
    per_side: bool = False
    weeks: int | None = None
    duration_min: float | None = None
    intensity: str | None = None
    speed_kmh: str | None = None
    incline_pct: str | None = None

    @property
    def dose(self) -> str:
        """One-line dosage, e.g. "3 × 30 s hold per side, once to twice daily, 10 weeks"."""
        parts = []
        if self.sets is not None:
            what = f"{self.reps} reps" if self.reps is not None else (f"{self.hold_s:g} s hold" if self.hold_s else "")
            parts.append(f"{self.sets} × {what}".strip(" ×") + (" per side" if self.per_side else ""))
        elif self.duration_min is not None:
            parts.append(f"{self.duration_min:g} min")
        for extra in (self.speed_kmh and f"{self.speed_kmh} km/h", self.incline_pct and f"{self.incline_pct} % incline",
                      self.intensity, self.frequency, self.weeks and f"{self.weeks} weeks"):
            if extra:
                parts.append(str(extra))
        return ", ".join(parts)


@dataclass(frozen=True)
class Recommendation:
    code: str
    title: str
    summary: str
    because: tuple[str, ...]  # finding codes that led here ("" tuple = offered to everyone)
    exercises: tuple[Exercise, ...]
    cues: tuple[str, ...]
    caveats: str
    evidence_grade: str
    sources: tuple[str, ...]
    indicated: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for e, src in zip(d["exercises"], self.exercises):
            e["dose"] = src.dose
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Recommendation":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


@dataclass(frozen=True)
class Referral:
    level: str
    reasons: tuple[str, ...]
    action: str
    letter: str
    codes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Referral":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


@dataclass(frozen=True)
class Plan:
    """The plan for one evaluation. With ``referral`` set, every other part is empty."""

    referral: Referral | None = None
    recommendations: tuple[Recommendation, ...] = ()
    cadence: CadencePlan | None = None
    incline_walking: Recommendation | None = None
    cross_training: Recommendation | None = None
    running_outside: str | None = None
    return_to_run: ReturnToRunPlan | None = None  # the walk–run table, only on the walk–run pathway
    pain_rule: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    library_version: str = ""
    created: str = field(default_factory=lambda: dt.date.today().isoformat())
    load_pathway: LoadPathway | None = None  # modified running or walk–run, with pain-trend rule and re-test date

    @property
    def has_running_plan(self) -> bool:
        return self.return_to_run is not None or self.load_pathway is not None

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.recommendations]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "schema": PLAN_SCHEMA,
            "library_version": self.library_version,
            "created": self.created,
            "referral": self.referral.to_dict() if self.referral else None,
            "has_running_plan": self.has_running_plan,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "cadence": self.cadence.to_dict() if self.cadence else None,
            "incline_walking": self.incline_walking.to_dict() if self.incline_walking else None,
            "cross_training": self.cross_training.to_dict() if self.cross_training else None,
            "running_outside": self.running_outside,
            "return_to_run": self.return_to_run.to_dict() if self.return_to_run else None,
            "load_pathway": self.load_pathway.to_dict() if self.load_pathway else None,
            "pain_rule": self.pain_rule,
            "notes": list(self.notes),
        })

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Plan":
        """The inverse of :meth:`to_dict` (schema ``backtorun.plan/1``; ``has_running_plan`` is derived)."""
        if d.get("schema", PLAN_SCHEMA) != PLAN_SCHEMA:
            raise InputError(f"plan schema {d.get('schema')!r} is not {PLAN_SCHEMA}",
                             hint="re-run the evaluation with this version")
        return from_plain(cls, d)


def build_plan(
    findings: FindingsResult,
    *,
    side: GaitAnalysis | None = None,
    red_flags: RedFlagScreen | None = None,
    intake: Any = None,
    library_path: Path | None = None,
    training: Any = None,
    today: dt.date | None = None,
) -> Plan:
    """The plan for these findings; a red flag (from ``red_flags`` or ``findings``) gives a referral only.

    ``training`` (a TrainingAssessment) supplies the current weekly distance, the longest run, the usual pace and
    watch cadence at that pace; ``today`` dates the referral letter (default: today) and the re-test (default: the
    intake's assessment date, else today).
    """
    lib = load_library(library_path) if library_path is not None else default_library()
    who = read_intake(intake)
    screen = red_flags if red_flags is not None else findings.red_flags
    if _plan_withheld(screen, findings):
        return Plan(referral=_referral(screen, findings, lib, who, today or dt.date.today()),
                    library_version=lib.version,
                    notes=("A red flag was found: no running plan or exercise programme is issued until a doctor "
                           "has reviewed the runner.",))

    because: dict[str, list[str]] = {}
    for f in findings.findings:
        if f.status != "detected":
            continue
        for code in f.recommendations:
            if code in ("R5", "R7", "R8") or code not in lib.recommendations:
                continue  # R5/R7/R8 are always offered as their own sections; other codes are not exercises
            because.setdefault(code, [])
            if f.code not in because[code]:
                because[code].append(f.code)
    recs = tuple(_recommendation(code, lib.recommendations[code], tuple(because[code]))
                 for code in sorted(because, key=lambda c: (len(c), c)))

    notes: list[str] = []
    codes = findings.codes
    review = [f.title for f in findings.findings if f.domain == "gait" and not f.recommendations]
    if review:
        notes.append("For clinician review (no exercise linked automatically): " + "; ".join(review) + ".")
    for f in findings.findings:
        if f.domain == "load":
            notes.append(f"Training load - {f.title}: {f.plain_text or f.text}")
    if "STIFF_KNEE" in codes and "R1" in because:
        notes.append("Raising step rate reduces knee flexion: review the stiff-knee finding before combining "
                     "cadence retraining with 'bend the knee more' cues [25].")
    if screen is not None and screen.yellow_flags:
        notes.append("Yellow flags present: use psychosocially informed care alongside this plan [67].")

    measured = _measured_cadence(side, findings)
    cadence = None
    if measured is not None:
        cadence = _cadence_plan(measured, side.speed_mps if side is not None else None, lib, who, training,
                                indicated="R1" in because, notes=notes)
    else:
        notes.append("Cadence was not measured, so no step-rate targets are given.")

    if who.pain_during_run is not None and who.pain_during_run > lib.pain_rule.acceptable_max:
        notes.append(f"Running pain is {who.pain_during_run:g}/10 (above {lib.pain_rule.acceptable_max:g}/10): keep "
                     "aerobic fitness with cross-training and walking, and start the walk-run plan only once its "
                     "entry criteria are met.")
    incline = _recommendation("R5", lib.recommendations["R5"], (), indicated=bool(who.extension_sensitive))
    cross = _recommendation("R7", lib.recommendations["R7"], (), indicated=True)
    outside = lib.running_outside
    if who.treadmill_only:
        outside = "Symptoms occur only on the treadmill. " + outside
    pain = lib.pain_rule.model_dump()
    if who.pain_baseline is not None:
        pain["baseline"] = who.pain_baseline
    logs = _logs_load(training)
    pathway = choose_pathway(who, lib, logs_weekly_km=logs.get("weekly_km"),
                             logs_longest_run_km=logs.get("longest_run_km"),
                             load_findings=[f for f in findings.findings if f.domain == "load"],
                             red_flag_codes=[h.code for h in screen.hits] if screen is not None else (), today=today)
    if screen is not None and screen.hits:
        notes.append("Red-flag items below the referral level were noted: the clinician confirms the pathway.")
    walk_run = pathway is None or pathway.code == "walk_run"
    return Plan(recommendations=recs, cadence=cadence, incline_walking=incline, cross_training=cross,
                running_outside=outside, return_to_run=build_return_to_run(lib) if walk_run else None,
                pain_rule=pain, notes=tuple(notes), library_version=lib.version, load_pathway=pathway)


# ---------------------------------------------------------------------------------------------------------


def _exercise(e: ExerciseSpec) -> Exercise:
    return Exercise(name=e.name, frequency=e.frequency, progression=e.progression, sets=e.sets, reps=e.reps,
                    hold_s=e.hold_s, per_side=e.per_side, weeks=e.weeks, duration_min=e.duration_min,
                    intensity=e.intensity, speed_kmh=e.speed_kmh, incline_pct=e.incline_pct)


def _recommendation(code: str, spec: RecommendationSpec, because: tuple[str, ...], *, indicated: bool = True
                    ) -> Recommendation:
    cues = list(spec.cues)
    if spec.cues_by_finding and because:
        picked = [c for f in because for c in spec.cues_by_finding.get(f, [])]
        cues = list(dict.fromkeys(picked)) or cues
    return Recommendation(code=code, title=spec.title, summary=spec.summary, because=because,
                          exercises=tuple(_exercise(e) for e in spec.exercises), cues=tuple(cues),
                          caveats=spec.caveats, evidence_grade=spec.evidence_grade, sources=tuple(spec.sources),
                          indicated=indicated)


def _logs_load(training: Any) -> dict[str, Any]:
    """Current weekly km (median of the last 4 complete weeks: one spike week does not set the base), 30-day
    longest run, usual run speed and watch dynamics of a TrainingAssessment; {} without one."""
    if training is None:
        return {}
    out: dict[str, Any] = {}
    weeks = [w for w in getattr(training, "weeks", ()) or () if not getattr(w, "partial", False)]
    if weeks:
        out["weekly_km"] = round(float(statistics.median(w.run_km for w in weeks[-4:])), 1)
    metrics = getattr(training, "metrics", {}) or {}
    if isinstance(metrics.get("longest_run_30d_km"), (int, float)):
        out["longest_run_km"] = float(metrics["longest_run_30d_km"])
    history = getattr(training, "history", None)
    speeds = [s.speed_mps for s in getattr(history, "runs", ()) or () if s.speed_mps]
    if speeds:
        out["usual_speed_mps"] = float(statistics.median(speeds))
    summary = getattr(training, "running_dynamics_summary", None)
    if callable(summary):
        out["dynamics"] = summary()
    return out


def _prescribed_speed(lib: Library, who: IntakeView, logs: dict[str, Any], filmed_mps: float | None
                      ) -> tuple[float | None, str | None]:
    """The speed at which the cadence targets are prescribed: the first known of ``cadence.prescribe_at``."""
    known = {"usual_easy_speed": who.usual_speed_kmh / KMH_PER_MPS if who.usual_speed_kmh else None,
             "pain_onset_speed": who.onset_speed_kmh / KMH_PER_MPS if who.onset_speed_kmh else None,
             "logs_usual_speed": logs.get("usual_speed_mps"), "filmed_speed": filmed_mps}
    for name in lib.cadence.prescribe_at:
        if known.get(name):
            return float(known[name]), name  # type: ignore[arg-type]
    return None, None


def _cadence_plan(measured: float, filmed_mps: float | None, lib: Library, who: IntakeView, training: Any, *,
                  indicated: bool, notes: list[str]) -> CadencePlan:
    c = lib.cadence
    logs = _logs_load(training)
    at, source = _prescribed_speed(lib, who, logs, filmed_mps)
    preferred, basis = measured, "filmed cadence (same speed)"
    watch = watch_dynamics_at_speed(logs.get("dynamics"), at, c.watch_speed_tolerance_kmh) if at else None
    if watch and watch.get("basis") == "the prescribed speed" and watch.get("watch_cadence_spm"):
        preferred = float(watch["watch_cadence_spm"])
        basis = f"watch cadence of {watch['watch_runs']} logged run(s) near {at * KMH_PER_MPS:.1f} km/h"  # type: ignore[operator]
    elif at and filmed_mps and abs(at - filmed_mps) > 1e-6 and c.speed_relation is not None:
        ratio = max(at, filmed_mps) / min(at, filmed_mps)
        if ratio <= c.speed_relation.max_ratio:
            preferred = cadence_at_speed(measured, filmed_mps, at, c.speed_relation.exponent)
            basis = (f"filmed cadence {measured:.1f} steps/min at {filmed_mps * KMH_PER_MPS:.1f} km/h scaled to "
                     f"{at * KMH_PER_MPS:.1f} km/h (cadence ∝ speed^{c.speed_relation.exponent:g}, {c.speed_relation.source})")
        else:
            notes.append(f"The filmed speed ({filmed_mps * KMH_PER_MPS:.1f} km/h) is too far from the prescribed speed "
                         f"({at * KMH_PER_MPS:.1f} km/h) to scale the step rate: targets use the filmed cadence.")
            at, source = filmed_mps, "filmed_speed"
    elif at and not filmed_mps:
        notes.append("The belt speed of the video is unknown: step-rate targets use the filmed cadence as if filmed "
                     "at the prescribed speed.")
    return build_cadence_plan(measured, c, indicated=indicated, speed_mps=filmed_mps,
                              prescribed=PrescribedCadence(preferred, at, source, basis))


def _measured_cadence(side: GaitAnalysis | None, findings: FindingsResult) -> float | None:
    if side is not None:
        ms = side.summary.get("cadence_spm")
        if ms is not None and ms.n > 0 and ms.mean is not None and math.isfinite(ms.mean):
            return float(ms.mean)
    for o in findings.outcomes:
        v = o.values.get("cadence_spm") if o.values else None
        if isinstance(v, (int, float)) and math.isfinite(v):
            return float(v)
    return None


def _withholds(f: Finding) -> bool:
    """A red-flag finding withholds the plan unless it says otherwise (CONSIDER, or cleared by a clinician)."""
    if "withholds_plan" in f.values:
        return bool(f.values["withholds_plan"])
    return str(f.values.get("level", "urgent")) not in RED_FLAG_NON_BLOCKING


def _plan_withheld(screen: RedFlagScreen | None, findings: FindingsResult) -> bool:
    """domain.md §7.3: an uncleared EMERGENCY/URGENT/NON_URGENT flag withholds the plan; CONSIDER never does."""
    return bool((screen is not None and screen.refer)
                or any(_withholds(f) for f in findings.findings if f.domain == "red_flag"))


def _referral(screen: RedFlagScreen | None, findings: FindingsResult, lib: Library, who: IntakeView,
              date: dt.date) -> Referral:
    flag_findings = [f for f in findings.findings if f.domain == "red_flag" and _withholds(f)]
    if screen is not None and screen.refer:
        level = screen.referral_level
        hits = sorted(screen.blocking_hits, key=lambda h: -red_flag_rank(h.level))
        reasons = tuple(f"{h.reason} ({h.code})" for h in hits) or ("red-flag screen positive",)
        action = hits[0].action if hits else lib.referral.actions.get(level, lib.referral.actions["urgent"])
        codes = tuple(h.code for h in hits)
    else:
        levels = [str(f.values.get("level", "urgent")) for f in flag_findings]
        level = max(levels, key=red_flag_rank) if levels else "urgent"
        reasons = tuple(f"{f.title}: {f.text}" for f in flag_findings)
        action = lib.referral.actions.get(level, lib.referral.actions["urgent"])
        codes = tuple(f.code for f in flag_findings)
    generic = lib.referral.actions.get(level, "")
    runner = who.name or "the runner"
    age = f", aged {who.age_years:g}," if who.age_years is not None else ""
    lines = [
        f"Date: {date.isoformat()}",
        "",
        "To: the runner's doctor" + (" / emergency department" if level == "emergency" else ""),
        f"Re: {runner}{age} seen for a Back To Running Evaluation",
        "",
        "Dear colleague,",
        "",
        f"During a Back To Running Evaluation, the screening for serious causes of back pain raised the following "
        f"concern{'s' if len(reasons) > 1 else ''}:",
        *[f"  - {r}" for r in reasons],
        "",
        f"Urgency: {level.replace('_', '-')}. Recommended action: {action}.",
    ]
    if generic and generic.rstrip(".") != action.rstrip("."):
        lines.append(generic)
    lines += [
        "",
        "These screening findings raise suspicion only; they are not a diagnosis. No running programme or "
        "exercise plan has been issued. We would be grateful for your assessment and will resume the running "
        "evaluation only once you have cleared the runner.",
        "",
        "Yours sincerely,",
        "",
        "Clinician: ______________________    Signature: ______________________",
    ]
    return Referral(level=level, reasons=reasons, action=action, letter="\n".join(lines), codes=codes)
