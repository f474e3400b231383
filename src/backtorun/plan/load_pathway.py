"""Individual load management (issue #13 item 4): choose modified running or walk–run, with a weekly pain-trend
rule and a re-test date, from the rules in ``library.yaml`` ``load_management``.

Modified running is chosen when every criterion is known and met: the runner runs at least ``min_weekly_km`` a
week now (intake or logs), running pain is at most ``max_pain_during_run`` (the pain rule's "acceptable" [88]) and
part of the running is pain-free (treadmill minutes before onset ≥ ``min_pain_free_minutes``, or pain-free
outdoor runs). Otherwise walk–run (``return_to_run``), with the reasons. Weekly plan of modified running:

    weekly km (week k)  = current weekly km × g ** max(0, k − 1 − hold),  g = 1 + weekly_increase_pct/100
    long run km (week k) = min(current longest run × g ** max(0, k − 1 − hold), long_run_max_share × weekly km)
    treadmill cap (min) = min(floor(fraction × onset minutes), onset minutes − margin), at ``incline_pct``

``hold`` = ``hold_weeks_after_load_flags`` when a training-load finding of ``load_flag_codes`` (single-run spike
[72], weekly build-up > 30 % [71]) is present, else 0; after a spike the long run restarts from the longest run
before it. Growth of 10 % a week keeps every long run within the 110 % single-run rule [72].

Weekly pain trend (worst running pain this week vs last, NRS points; MIC = 2 points [69]):
``progress`` when ≤ last week and ≤ safe_max; ``step_back`` when up by ≥ MIC or > acceptable_max; else ``hold``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from backtorun.errors import InputError
from backtorun.plan.intake_view import IntakeView
from backtorun.plan.library import Library, LoadManagementSpec, PainRuleSpec
from backtorun.records import from_plain
from backtorun.types import Finding, json_safe

PathwayCode = Literal["modified_running", "walk_run"]
TrendDecision = Literal["progress", "hold", "step_back"]


@dataclass(frozen=True)
class WeekLoad:
    week: int
    weekly_km: float
    long_run_km: float
    treadmill_cap_min: float | None
    treadmill_incline_pct: float


@dataclass(frozen=True)
class LoadPathway:
    """The chosen pathway, why, its weekly plan (modified running), the pain-trend rule and the re-test date."""

    code: PathwayCode
    title: str
    summary: str
    reasons: tuple[str, ...]
    elements: tuple[str, ...] = ()
    weeks: tuple[WeekLoad, ...] = ()
    pain_trend_rule: str = ""
    retest_date: str | None = None
    retest_weeks: int | None = None
    inputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    evidence_grade: str = "C/D"
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LoadPathway":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


def weekly_pain_trend(this_week_max: float, last_week_max: float, *, rule: PainRuleSpec, mic_points: float
                      ) -> TrendDecision:
    """Weekly decision from the worst running pain of this week and last week (NRS 0–10)."""
    for v in (this_week_max, last_week_max):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 10:
            raise InputError(f"weekly pain must be a number from 0 to 10, got {v!r}")
    change = this_week_max - last_week_max
    if this_week_max > rule.acceptable_max or change >= mic_points:
        return "step_back"
    if this_week_max <= rule.safe_max and change <= 0:
        return "progress"
    return "hold"


def choose_pathway(who: IntakeView, lib: Library, *, logs_weekly_km: float | None = None,
                   logs_longest_run_km: float | None = None, load_findings: Sequence[Finding] = (),
                   red_flag_codes: Sequence[str] = (), today: dt.date | None = None) -> LoadPathway | None:
    """The load-management pathway for this runner (None when the library has no ``load_management``).

    ``load_findings``: detected training-load findings (domain "load"); ``logs_*`` override the intake's figures;
    ``red_flag_codes``: red-flag hits that did not block the plan (cleared or below the referral level).
    """
    spec = lib.load_management
    if spec is None:
        return None
    crit = spec.criteria
    weekly = logs_weekly_km if logs_weekly_km is not None else who.weekly_km
    longest = logs_longest_run_km if logs_longest_run_km is not None else who.longest_run_km
    flags = [f for f in load_findings if f.code in spec.modified_running.load_flag_codes and f.status == "detected"]
    before_spike = _longest_before_spike(flags)
    if before_spike is not None and (longest is None or before_spike < longest):
        longest = before_spike
    inputs = {"weekly_km": weekly, "weekly_km_max": who.weekly_km_max, "longest_run_km": longest,
              "pain_during_run": who.pain_during_run, "onset_minutes": who.onset_minutes,
              "outdoor_pain_free": who.outdoor_pain_free, "weekly_km_source": "logs" if logs_weekly_km is not None
              else ("intake" if who.weekly_km is not None else None)}
    failed: list[str] = []
    met: list[str] = []
    if weekly is None:
        failed.append("current weekly running distance unknown")
    elif weekly < crit.min_weekly_km:
        failed.append(f"running {weekly:g} km a week, below {crit.min_weekly_km:g} km")
    else:
        met.append(f"running {weekly:g}{f'-{who.weekly_km_max:g}' if who.weekly_km_max else ''} km a week")
    if who.pain_during_run is not None and who.pain_during_run > crit.max_pain_during_run:
        failed.append(f"running pain {who.pain_during_run:g}/10, above {crit.max_pain_during_run:g}/10")
    elif who.pain_during_run is not None:
        met.append(f"running pain {who.pain_during_run:g}/10")
    pain_free_minutes = who.onset_minutes is not None and who.onset_minutes >= crit.min_pain_free_minutes
    if pain_free_minutes:
        met.append(f"pain-free for the first {who.onset_minutes:g} min of a treadmill run")
    if who.outdoor_pain_free:
        met.append("outdoor runs pain-free")
    if not (pain_free_minutes or who.outdoor_pain_free):
        if who.onset_minutes is not None:
            failed.append(f"pain starts after {who.onset_minutes:g} min, before {crit.min_pain_free_minutes:g} min")
        else:
            failed.append("no pain-free running reported (pain-onset minute or pain-free outdoor runs)")
    for code in red_flag_codes:
        if code in crit.walk_run_if_red_flags:
            failed.append(f"red flag {code} noted (cleared or below the referral level): restart with walk-run")
    retest = _retest(spec, who, today)
    trend = spec.pain_trend.text
    if failed:
        return LoadPathway(code="walk_run", title=spec.walk_run_title, summary=spec.walk_run_summary,
                           reasons=tuple(failed), pain_trend_rule=trend, retest_date=retest,
                           retest_weeks=spec.retest_weeks, inputs=inputs, evidence_grade="C",
                           sources=tuple(lib.return_to_run.sources))
    hold = spec.modified_running.hold_weeks_after_load_flags if flags else 0
    inputs["load_flags"] = [f.code for f in flags]
    inputs["longest_run_before_spike_km"] = before_spike
    if flags:
        met.append(f"recent load flag(s) {', '.join(f.title for f in flags)}: the first {hold} week(s) hold the "
                   f"load" + (" and the long run restarts from the longest run before the spike"
                              if before_spike is not None else ""))
    common = {"reasons": tuple(met), "pain_trend_rule": trend, "retest_date": retest,
              "retest_weeks": spec.retest_weeks, "inputs": inputs}
    return _modified(spec, who, weekly, longest, hold, common)  # type: ignore[arg-type]


def _longest_before_spike(flags: Sequence[Finding]) -> float | None:
    """The longest run of the 30 days before a flagged single-run spike (training rule TR1 values), if any."""
    for f in flags:
        worst = f.values.get("worst") if isinstance(f.values, Mapping) else None
        if isinstance(worst, Mapping) and isinstance(worst.get("longest_prev_km"), (int, float)):
            return float(worst["longest_prev_km"])
    return None


def _modified(spec: LoadManagementSpec, who: IntakeView, weekly: float, longest: float | None, hold: int,
              common: dict[str, Any]) -> LoadPathway:
    """The modified-running pathway; ``common`` = reasons, pain-trend rule, re-test date and weeks, inputs."""
    m = spec.modified_running
    growth = 1.0 + m.weekly_increase_pct / 100.0
    long0 = longest if longest is not None else weekly * m.long_run_share_if_unknown
    cap = None
    if who.onset_minutes is not None:
        cap = float(min(math.floor(m.treadmill_cap_fraction * who.onset_minutes), who.onset_minutes
                        - m.treadmill_cap_margin_min))
        cap = max(cap, 0.0)
    weeks = []
    for k in range(1, m.weeks + 1):
        factor = growth ** max(0, k - 1 - hold)
        week_km = weekly * factor
        weeks.append(WeekLoad(week=k, weekly_km=round(week_km, 1),
                              long_run_km=round(min(long0 * factor, m.long_run_max_share * week_km), 1),
                              treadmill_cap_min=cap, treadmill_incline_pct=m.incline_pct))
    elements = list(m.elements)
    if cap is not None:
        elements.insert(0, f"Treadmill runs: at most {cap:g} min (your symptoms start after {who.onset_minutes:g} "
                           f"min), at {m.incline_pct:g} % incline.")
    else:
        elements.insert(0, f"Treadmill runs at {m.incline_pct:g} % incline, stopping before symptoms start.")
    return LoadPathway(code="modified_running", title=m.title, summary=m.summary, elements=tuple(elements),
                       weeks=tuple(weeks), evidence_grade=m.evidence_grade, sources=tuple(m.sources), **common)


def _retest(spec: LoadManagementSpec, who: IntakeView, today: dt.date | None) -> str | None:
    start = today
    if start is None and who.assessment_date:
        try:
            start = dt.date.fromisoformat(who.assessment_date)
        except ValueError:
            start = None
    start = start or dt.date.today()
    return (start + dt.timedelta(weeks=spec.retest_weeks)).isoformat()
