"""Training-load rules TR1–TR9 (domain.md §8) on an imported :class:`TrainingHistory`.

Days and weeks use each session's local date (start_time in its own time zone); weeks are ISO weeks
(Monday–Sunday). ``today`` defaults to the date of the latest session so that older logs are judged as of
their end; pass ``today`` to judge as of a given day (sessions after it are ignored).
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field

from backtorun.config_files import load_validated
from backtorun.errors import InputError
from backtorun.records import from_plain
from backtorun.training.model import RunningDynamics, Session, TrainingHistory
from backtorun.types import Finding, json_safe


class LoadRules(BaseModel):
    """Thresholds of TR1–TR9; defaults in ``training/load_rules.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spike_ratio_above: float = Field(1.10, gt=0)
    spike_window_days: int = Field(30, ge=1)
    spike_moderate_above: float = Field(1.30, gt=0)
    spike_marked_above: float = Field(2.00, gt=0)
    weekly_progression_above_pct: float = Field(30.0, ge=0)
    weekly_min_base_km: float = Field(5.0, ge=0)
    report_window_days: int = Field(56, ge=7)
    acwr_acute_days: int = Field(7, ge=1)
    acwr_chronic_weeks: int = Field(4, ge=1)
    novice_first_week_km_above: float = Field(3.0, ge=0)
    novice_bmi_above: float = Field(30.0, gt=0)
    treadmill_window_days: int = Field(28, ge=1)
    treadmill_share_above_pct: float = Field(50.0, ge=0, le=100)
    rest_window_days: int = Field(14, ge=1)


def load_load_rules(path: str | Path | None = None) -> LoadRules:
    """Rules from the packaged ``load_rules.yaml``, overridden by the keys of an optional YAML file."""
    return load_validated(LoadRules, what="load rule", packaged=("backtorun.training", "load_rules.yaml"), path=path)

@dataclass(frozen=True)
class WeekVolume:
    """One ISO week (Monday start): running and walking distance, treadmill share, runs, longest run, sRPE load."""

    week_start: date
    run_km: float
    walk_km: float
    treadmill_km: float
    n_runs: int
    longest_run_km: float
    run_time_min: float
    srpe_load_au: float | None = None
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["week_start"] = self.week_start.isoformat()
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "WeekVolume":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


@dataclass(frozen=True)
class TrainingAssessment:
    """Weekly volumes, load metrics (TR1–TR9) and findings of a training history."""

    today: date
    weeks: tuple[WeekVolume, ...]
    findings: list[Finding]
    metrics: dict[str, Any]
    history: TrainingHistory = field(repr=False, default_factory=TrainingHistory)
    #: the summary as stored in evaluation.json, when read back by :meth:`from_dict` (the sessions are not stored)
    stored_dynamics: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    def running_dynamics_summary(self) -> dict[str, Any]:
        """Watch/pod running dynamics of the runs that have them (for display beside the video analysis)."""
        if self.stored_dynamics is not None:
            return dict(self.stored_dynamics)
        return running_dynamics_summary(self.history)

    def to_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "weeks": [w.to_dict() for w in self.weeks],
                "findings": [f.to_dict() for f in self.findings], "metrics": json_safe(self.metrics),
                "running_dynamics": self.running_dynamics_summary(),
                "refused": [r.to_dict() for r in self.history.refused],
                "duplicates": [d.to_dict() for d in self.history.duplicates],
                "skipped": [r.to_dict() for r in self.history.skipped]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainingAssessment":
        """The inverse of :meth:`to_dict`: the history keeps its refused, duplicate and skipped files (the
        sessions are not stored), and the running-dynamics summary is the stored one."""
        history = from_plain(TrainingHistory, {k: d.get(k, []) for k in ("refused", "duplicates", "skipped")})
        return cls(today=date.fromisoformat(d["today"]) if "today" in d else _missing("today"),
                   weeks=tuple(WeekVolume.from_dict(w) for w in d.get("weeks", [])),
                   findings=[Finding.from_dict(f) for f in d.get("findings", [])],
                   metrics=dict(d.get("metrics") or {}), history=history,
                   stored_dynamics=d.get("running_dynamics"))


def _missing(name: str) -> Any:
    raise InputError(f"TrainingAssessment: field '{name}' is missing",
                     hint="the evaluation.json was written by another version; re-run the evaluation")


def running_dynamics_summary(history: TrainingHistory) -> dict[str, Any]:
    """Per-run dynamics and the mean over runs: vertical oscillation (cm), stance time (ms), vertical ratio (%),
    step length (m), cadence (steps/min). Watch VO is torso-based and differs from video pelvis VO [33]."""
    rows = []
    for s in history.runs:
        if s.dynamics is None:
            continue
        rows.append({"session_id": s.session_id, "start_time": s.start_time.isoformat(), "treadmill": s.treadmill,
                     "cadence_spm": s.cadence_spm, "speed_mps": s.speed_mps, **s.dynamics.to_dict()})
    keys = ("vertical_oscillation_cm", "stance_time_ms", "vertical_ratio_pct", "step_length_m", "cadence_spm")
    mean = {}
    for k in keys:
        vals = [r[k] for r in rows if r.get(k) is not None]
        mean[k] = statistics.fmean(vals) if vals else None
    return json_safe({"n_runs": len(rows), "runs": rows, "mean": mean,
                      "note": "watch/pod dynamics (torso sensor); compare with video pelvis values with care [33]"})


def _day(s: Session) -> date:
    return s.start_time.date()


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _f(**kw: Any) -> Finding:
    return Finding(domain="load", **kw)


def _spikes(runs: list[Session], r: LoadRules, since: date) -> list[dict[str, Any]]:
    """TR1: distance ÷ longest run in the previous ``spike_window_days`` (runs strictly before this one)."""
    out = []
    first = runs[0].start_time if runs else None
    for i, s in enumerate(runs):
        if _day(s) < since or not s.distance_m:
            continue
        window_start = s.start_time - timedelta(days=r.spike_window_days)
        if first is None or first.date() > window_start.date():
            continue  # history shorter than the look-back window: not judged
        prev = [p.distance_m for p in runs[:i] if p.distance_m and window_start <= p.start_time < s.start_time]
        if not prev:
            continue
        longest = max(prev)
        ratio = s.distance_m / longest
        out.append({"date": _day(s).isoformat(), "distance_km": s.distance_m / 1000, "longest_prev_km": longest / 1000,
                    "ratio": ratio, "session_id": s.session_id, "flag": ratio > r.spike_ratio_above + 1e-9})
    return out


def assess_training(history: TrainingHistory, *, today: date | None = None,
                    session_rpe: Mapping[str, float] | None = None, rules: LoadRules | None = None,
                    bmi: float | None = None, novice: bool = False,
                    symptoms_treadmill_only: bool | None = None) -> TrainingAssessment:
    """Apply TR1–TR9 to the runs of ``history``.

    session_rpe: CR-10 RPE per session, keyed by ``session_id`` or by local date ``YYYY-MM-DD`` (all runs of that
    day); session load (AU) = RPE × duration_min (TR4, Foster [75]). bmi/novice: TR6. symptoms_treadmill_only:
    from the intake (timing.surfaces == "treadmill_only"), steers the TR7 suggestion.
    """
    r = rules or load_load_rules()
    all_runs = sorted(history.runs, key=lambda s: s.start_time)
    if today is None:
        today = max((_day(s) for s in history.sessions), default=date.today())
    runs = [s for s in all_runs if _day(s) <= today]
    walks = [s for s in history.sessions if s.activity == "walk" and _day(s) <= today]
    since = today - timedelta(days=r.report_window_days - 1)
    findings: list[Finding] = []
    metrics: dict[str, Any] = {"n_runs": len(runs), "n_walks": len(walks), "rules": r.model_dump()}

    # TR4 session-RPE load
    rpe_by_session: dict[str, float] = {}
    for s in runs:
        val = None
        if session_rpe:
            val = session_rpe.get(s.session_id, session_rpe.get(_day(s).isoformat()))
        if val is None and s.rpe is not None:
            val = s.rpe
        if val is not None and s.duration_s:
            rpe_by_session[s.session_id] = float(val) * s.duration_s / 60.0

    # weekly volumes
    weeks: list[WeekVolume] = []
    if runs or walks:
        first = _week_start(min(_day(s) for s in runs + walks))
        w = first
        while w <= today:
            wr = [s for s in runs if w <= _day(s) < w + timedelta(days=7)]
            ww = [s for s in walks if w <= _day(s) < w + timedelta(days=7)]
            loads = [rpe_by_session[s.session_id] for s in wr if s.session_id in rpe_by_session]
            weeks.append(WeekVolume(
                week_start=w, run_km=sum(s.distance_km for s in wr), walk_km=sum(s.distance_km for s in ww),
                treadmill_km=sum(s.distance_km for s in wr if s.treadmill), n_runs=len(wr),
                longest_run_km=max((s.distance_km for s in wr), default=0.0),
                run_time_min=sum((s.duration_s or 0) for s in wr) / 60.0,
                srpe_load_au=sum(loads) if loads else None, partial=w + timedelta(days=6) > today))
            w += timedelta(days=7)
    metrics["weekly_run_km"] = {wk.week_start.isoformat(): wk.run_km for wk in weeks}

    # TR1 single-session spike
    spikes = _spikes(runs, r, since)
    flagged = [sp for sp in spikes if sp["flag"]]
    metrics["spikes"] = spikes
    if flagged:
        worst = max(flagged, key=lambda sp: (sp["ratio"], sp["date"]))
        pct = (worst["ratio"] - 1) * 100
        sev = "marked" if worst["ratio"] > r.spike_marked_above + 1e-9 else (
            "moderate" if worst["ratio"] > r.spike_moderate_above + 1e-9 else "mild")
        band = ("> 100 %: HRR 2.28" if sev == "marked" else "30–100 %: HRR 1.52" if sev == "moderate"
                else "10–30 %: HRR 1.64")
        findings.append(_f(
            code="LOAD_SPIKE", title="Single-run load spike",
            text=(f"{len(flagged)} run(s) in the last {r.report_window_days} days were longer than "
                  f"{r.spike_ratio_above * 100:.0f} % of the longest run in the previous {r.spike_window_days} days; the "
                  f"largest, on {worst['date']}, was {worst['distance_km']:.1f} km vs {worst['longest_prev_km']:.1f} km "
                  f"(+{pct:.0f} %, band {band} in 5205 runners [72]). Such spikes may add load."),
            severity=sev, values={"worst": worst, "spikes": flagged},
            threshold={"ratio": f"> {r.spike_ratio_above:g}", "window_days": r.spike_window_days},
            evidence_grade="B", sources=("72",), confidence=1.0,
            plain_text=f"On {worst['date']} you ran much further than your longest run of the month before.",
            recommendations=("R8",),
            conflicting_evidence="Single-session spikes matter more than weekly ratios [72] vs weekly 30 % rule [71]."))

    # TR2 weekly progression (week-to-week), complete weeks and the current one
    prog = []
    for prev, cur in zip(weeks, weeks[1:]):
        if cur.week_start < since - timedelta(days=6):
            continue
        if prev.run_km < r.weekly_min_base_km:
            prog.append({"week_start": cur.week_start.isoformat(), "run_km": cur.run_km, "prev_km": prev.run_km,
                         "change_pct": None, "flag": False, "note": f"previous week < {r.weekly_min_base_km:g} km"})
            continue
        ch = (cur.run_km - prev.run_km) / prev.run_km * 100
        prog.append({"week_start": cur.week_start.isoformat(), "run_km": cur.run_km, "prev_km": prev.run_km,
                     "change_pct": ch, "flag": ch > r.weekly_progression_above_pct + 1e-9, "partial": cur.partial})
    metrics["weekly_progression"] = prog
    wflag = [p for p in prog if p["flag"]]
    if wflag:
        worst = max(wflag, key=lambda p: p["change_pct"])
        findings.append(_f(
            code="WEEKLY_30", title="Rapid weekly build-up",
            text=(f"Weekly running distance rose by more than {r.weekly_progression_above_pct:g} % in {len(wflag)} "
                  f"week(s); the largest rise was week of {worst['week_start']}: {worst['prev_km']:.1f} → "
                  f"{worst['run_km']:.1f} km (+{worst['change_pct']:.0f} %). In novices this was linked to "
                  "distance-related injuries (HR 1.59, 95 % CI 0.96–2.66) [71]."),
            severity="mild", values={"worst": worst, "weeks": wflag},
            threshold={"change_pct": f"> {r.weekly_progression_above_pct:g}"}, evidence_grade="B", sources=("71",),
            confidence=0.8, confidence_note="association only for distance-related injuries; CI crosses 1 [71]",
            plain_text="Your weekly distance went up quickly.", recommendations=("R8",),
            conflicting_evidence="Frandsen: single-session spikes matter more than weekly ratios [72]."))

    # TR3 ACWR (display only)
    acute_start = today - timedelta(days=r.acwr_acute_days - 1)
    chronic_start = today - timedelta(days=7 * r.acwr_chronic_weeks - 1)
    acute = sum(s.distance_km for s in runs if acute_start <= _day(s) <= today)
    chronic = sum(s.distance_km for s in runs if chronic_start <= _day(s) <= today) / r.acwr_chronic_weeks
    metrics["acwr"] = {"acute_km": acute, "chronic_weekly_km": chronic, "ratio": acute / chronic if chronic else None,
                       "note": "display only: ACWR is contested and not a primary rule [74][72]"}

    # TR4/TR5 session-RPE, monotony and strain of the last 7 days
    if rpe_by_session:
        daily = []
        for k in range(7):
            d = today - timedelta(days=k)
            daily.append(sum(v for s in runs if _day(s) == d for v in [rpe_by_session.get(s.session_id, 0.0)]))
        sd = statistics.pstdev(daily)
        mean = statistics.fmean(daily)
        monotony = mean / sd if sd > 0 else None
        metrics["srpe"] = {"weekly_load_au": sum(daily), "monotony": monotony,
                           "strain": sum(daily) * monotony if monotony else None,
                           "note": "no validated injury cut-off; track trends [75]"}

    # TR6 novice first week
    if novice and bmi is not None and runs:
        w0 = _day(runs[0])
        first_week_km = sum(s.distance_km for s in runs if _day(s) < w0 + timedelta(days=7))
        metrics["novice_first_week_km"] = first_week_km
        if first_week_km > r.novice_first_week_km_above and bmi > r.novice_bmi_above:
            findings.append(_f(
                code="NOVICE_FIRST_WEEK", title="Large first week for a novice",
                text=(f"First-week distance {first_week_km:.1f} km > {r.novice_first_week_km_above:g} km with BMI "
                      f"{bmi:.1f} > {r.novice_bmi_above:g}: linked to more injuries in the first weeks [76]."),
                values={"first_week_km": first_week_km, "bmi": bmi},
                threshold={"first_week_km": f"> {r.novice_first_week_km_above:g}", "bmi": f"> {r.novice_bmi_above:g}"},
                evidence_grade="B", sources=("76",), plain_text="Your first running week was long for a beginner.",
                recommendations=("R8",)))

    # TR7 treadmill share
    t_start = today - timedelta(days=r.treadmill_window_days - 1)
    recent = [s for s in runs if t_start <= _day(s) <= today]
    total_km = sum(s.distance_km for s in recent)
    tm_km = sum(s.distance_km for s in recent if s.treadmill)
    share = tm_km / total_km * 100 if total_km > 0 else None
    metrics["treadmill_share_pct"] = share
    metrics["treadmill_km_window"] = tm_km
    if share is not None and share > r.treadmill_share_above_pct + 1e-9:
        only = symptoms_treadmill_only is True
        findings.append(_f(
            code="TREADMILL_SHARE", title="Most running on the treadmill",
            text=(f"{share:.0f} % of running distance in the last {r.treadmill_window_days} days was on a treadmill "
                  f"({tm_km:.1f} of {total_km:.1f} km)"
                  + ("; symptoms appear only on the treadmill, so mixing surfaces may reduce the repeated load."
                     if only else ". No evidence-based threshold exists; reported for context.")),
            severity="mild" if only else "info", values={"share_pct": share, "treadmill_km": tm_km, "total_km": total_km},
            threshold={"share_pct": f"> {r.treadmill_share_above_pct:g}"}, evidence_grade="D", sources=(),
            plain_text="Most of your running is on the treadmill.", recommendations=("R7",) if only else ()))

    # TR8 rest days
    r_start = today - timedelta(days=r.rest_window_days - 1)
    run_days = {_day(s) for s in runs if r_start <= _day(s) <= today}
    covered = bool(runs) and _day(runs[0]) <= r_start
    rest_days = r.rest_window_days - len(run_days)
    metrics["rest_days_window"] = rest_days if covered else None
    if covered and rest_days == 0:
        findings.append(_f(
            code="NO_REST_DAYS", title="No rest days",
            text=f"Running on all of the last {r.rest_window_days} days (0 rest days); recovery time may be short.",
            severity="mild", values={"rest_days": 0, "window_days": r.rest_window_days},
            threshold={"rest_days": f"0 in {r.rest_window_days} d"}, evidence_grade="D", sources=(),
            plain_text="You have not had a day off running for two weeks.", recommendations=("R8",)))

    # TR9 long-run share (display only; TR1 supersedes)
    last7 = [s for s in runs if today - timedelta(days=6) <= _day(s) <= today]
    wk = sum(s.distance_km for s in last7)
    metrics["long_run_share"] = (max(s.distance_km for s in last7) / wk) if wk > 0 else None
    metrics["weekly_km_last7"] = wk
    metrics["longest_run_30d_km"] = max((s.distance_km for s in runs if _day(s) > today - timedelta(days=30)),
                                        default=None)
    return TrainingAssessment(today=today, weeks=tuple(weeks), findings=findings, metrics=metrics, history=history)


__all__ = ["LoadRules", "RunningDynamics", "TrainingAssessment", "WeekVolume", "assess_training", "load_load_rules",
           "running_dynamics_summary"]
