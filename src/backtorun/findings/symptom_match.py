"""Speed and symptoms matched (issue #13 item 3): is the video filmed where the pain happens?

The intake says at which belt speed, incline and minute of a run the pain starts (domain.md §7.1 "Timing"); the
analysis knows the belt speed given with ``--speed`` (and, when recorded, the incline and the minute of the run at
which the clip was filmed). When they differ beyond the tolerances in ``rules.yaml`` (``symptom_match``), a warning
finding says so and advises filming again at the painful speed and incline, after the onset time. Every norm is
speed-dependent (domain.md §1.3, §3), so a clip at another speed may miss what happens when it hurts.

Watch running dynamics (training logs) at the runner's usual pace are summarised here too (cadence, vertical
oscillation); they are torso-sensor values and are shown beside, never mixed with, video pelvis values [33].
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from backtorun.errors import ConfigError
from backtorun.types import Finding, GaitAnalysis
from backtorun.units import KMH_PER_MPS


@dataclass(frozen=True)
class SymptomMatchConfig:
    """Tolerances and wording of the speed/symptom match check (rules.yaml ``symptom_match``)."""

    speed_tolerance_kmh: float
    incline_tolerance_pct: float
    film_after_onset_min: float
    watch_speed_tolerance_kmh: float
    watch_applies_to: tuple[str, ...]
    code: str
    title: str
    text: str
    plain_text: str
    severity: str
    evidence_grade: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class SymptomMatch:
    """Result of the comparison: the finding (None when matched or nothing to compare), values and reasons."""

    status: str  # detected | not_detected | not_judged
    finding: Finding | None
    values: Mapping[str, Any]
    reasons: tuple[str, ...]


def parse_symptom_match(raw: Any) -> SymptomMatchConfig | None:
    """Validate the ``symptom_match`` section (None when absent)."""
    if raw is None:
        return None
    where = "symptom_match"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    keys = {"speed_tolerance_kmh", "incline_tolerance_pct", "film_after_onset_min", "watch_speed_tolerance_kmh",
            "watch_applies_to", "code", "title", "text", "plain_text", "severity", "evidence_grade", "sources"}
    extra = set(raw) - keys
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(map(str, extra))}", hint=f"allowed: {', '.join(sorted(keys))}")

    def num(k: str, hi: float) -> float:
        v = raw.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= float(v) <= hi:
            raise ConfigError(f"{where}.{k}: must be a number between 0 and {hi:g}")
        return float(v)

    def text(k: str) -> str:
        v = raw.get(k)
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{where}.{k}: must be non-empty text")
        return v.strip()

    def strings(k: str) -> tuple[str, ...]:
        v = raw.get(k, [])
        if not isinstance(v, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
            raise ConfigError(f"{where}.{k}: must be a list of text items")
        return tuple(str(x) for x in v)

    severity = raw.get("severity", "info")
    if severity not in ("info", "mild", "moderate", "marked"):
        raise ConfigError(f"{where}.severity: must be info, mild, moderate or marked")
    return SymptomMatchConfig(
        speed_tolerance_kmh=num("speed_tolerance_kmh", 10), incline_tolerance_pct=num("incline_tolerance_pct", 20),
        film_after_onset_min=num("film_after_onset_min", 60),
        watch_speed_tolerance_kmh=num("watch_speed_tolerance_kmh", 10), watch_applies_to=strings("watch_applies_to"),
        code=text("code"), title=text("title"), text=text("text"), plain_text=text("plain_text"), severity=severity,
        evidence_grade=str(raw.get("evidence_grade", "D")), sources=strings("sources"),
    )


# ---------------------------------------------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class PainOnset:
    """Where the pain starts, from the intake (domain.md §7.1): belt speed, incline, minutes into the run."""

    speed_kmh: float | None = None
    incline_pct: float | None = None
    minutes_into_run: float | None = None

    @property
    def known(self) -> bool:
        return any(v is not None for v in (self.speed_kmh, self.incline_pct, self.minutes_into_run))


def pain_onset(intake: Any) -> PainOnset:
    """The pain-onset facts of an ``Intake`` (or a mapping shaped like one); missing → None."""
    timing = _get(intake, "timing")
    return PainOnset(speed_kmh=_num(_get(timing, "treadmill_speed_kmh_at_onset")),
                     incline_pct=_num(_get(timing, "treadmill_incline_pct_at_onset")),
                     minutes_into_run=_num(_get(timing, "onset_minutes_into_run")))


def watch_dynamics_at_speed(dynamics: Mapping[str, Any] | None, speed_mps: float | None, tolerance_kmh: float
                            ) -> dict[str, Any] | None:
    """Mean watch cadence (steps/min) and vertical oscillation (cm) of the logged runs near ``speed_mps``.

    ``dynamics`` is ``training.rules.running_dynamics_summary`` output (``runs``: cadence_spm, speed_mps,
    vertical_oscillation_cm, …). Runs within ±``tolerance_kmh`` of the speed are used; with no speed, or none
    near it, the runs at the runner's usual pace (the median speed of the logged runs, same tolerance). None
    when no run has watch cadence or vertical oscillation.
    """
    runs = [r for r in (dynamics or {}).get("runs", []) or [] if isinstance(r, Mapping)]
    runs = [r for r in runs if _num(r.get("cadence_spm")) or _num(r.get("vertical_oscillation_cm"))]
    if not runs:
        return None
    speeds = [_num(r.get("speed_mps")) for r in runs]
    known = [s for s in speeds if s]
    basis = "usual pace"
    centre = statistics.median(known) if known else None
    if speed_mps and known and any(abs(s - speed_mps) * KMH_PER_MPS <= tolerance_kmh for s in known):
        centre, basis = float(speed_mps), "the prescribed speed"
    near = [r for r, s in zip(runs, speeds) if centre is None or (s and abs(s - centre) * KMH_PER_MPS <= tolerance_kmh)]
    near = near or runs

    def mean(k: str) -> float | None:
        vals = [v for v in (_num(r.get(k)) for r in near) if v]
        return round(statistics.fmean(vals), 2) if vals else None

    run_speeds = [s for s in (_num(r.get("speed_mps")) for r in near) if s]
    return {"watch_cadence_spm": mean("cadence_spm"), "watch_vertical_oscillation_cm": mean("vertical_oscillation_cm"),
            "watch_speed_kmh": round(statistics.fmean(run_speeds) * KMH_PER_MPS, 1) if run_speeds else None,
            "watch_runs": len(near), "basis": basis}


def check_symptom_match(analysis: GaitAnalysis | None, intake: Any, config: SymptomMatchConfig,
                        watch: Mapping[str, Any] | None = None) -> SymptomMatch:
    """Compare the filmed speed, incline and minute of the run with where the pain starts.

    Detected when |filmed − onset speed| > ``speed_tolerance_kmh``, |filmed − onset incline| >
    ``incline_tolerance_pct`` (a filmed incline not recorded counts as 0 % only when the clinic says so — it is
    "unknown" here and reported only when the onset incline itself exceeds the tolerance), the clip was filmed
    before the onset minute, or the belt speed of the clip is unknown while the onset speed is known.
    """
    onset = pain_onset(intake)
    values: dict[str, Any] = {}
    if not onset.known:
        return SymptomMatch("not_judged", None, values,
                            ("the intake gives no pain-onset speed, incline or minute to compare with the video",))
    if analysis is None:
        return SymptomMatch("not_judged", None, values, ("no video analysis to compare with the pain onset",))
    settings = analysis.settings or {}
    filmed_kmh = analysis.speed_mps * KMH_PER_MPS if _num(analysis.speed_mps) else None
    filmed_incline = _num(settings.get("incline_pct"))
    filmed_minute = _num(settings.get("minutes_into_run"))
    reasons: list[str] = []
    advice: list[str] = []
    cfg = config

    if onset.speed_kmh is not None:
        values["pain_onset_speed_kmh"] = round(onset.speed_kmh, 1)
        advice.append(f"at {onset.speed_kmh:.1f} km/h")
        if filmed_kmh is None:
            reasons.append(f"the belt speed of the video is unknown (give it with --speed); the pain starts at "
                           f"{onset.speed_kmh:.1f} km/h")
        else:
            values["filmed_speed_kmh"] = round(filmed_kmh, 1)
            diff = filmed_kmh - onset.speed_kmh
            values["speed_difference_kmh"] = round(diff, 1)
            if abs(diff) > cfg.speed_tolerance_kmh:
                reasons.append(f"filmed at {filmed_kmh:.1f} km/h, {abs(diff):.1f} km/h "
                               f"{'faster' if diff > 0 else 'slower'} than the {onset.speed_kmh:.1f} km/h at which "
                               f"the pain starts (tolerance ±{cfg.speed_tolerance_kmh:g} km/h)")
    if onset.incline_pct is not None:
        values["pain_onset_incline_pct"] = round(onset.incline_pct, 1)
        if filmed_incline is not None:
            values["filmed_incline_pct"] = round(filmed_incline, 1)
            if abs(filmed_incline - onset.incline_pct) > cfg.incline_tolerance_pct:
                reasons.append(f"filmed at {filmed_incline:g} % incline; the pain starts at {onset.incline_pct:g} %")
        elif abs(onset.incline_pct) > cfg.incline_tolerance_pct:
            reasons.append(f"the incline of the video was not recorded; the pain starts at {onset.incline_pct:g} %")
        if abs(onset.incline_pct) > cfg.incline_tolerance_pct or filmed_incline is not None:
            advice.append(f"{onset.incline_pct:g} % incline")
    if onset.minutes_into_run is not None:
        values["pain_onset_min"] = round(onset.minutes_into_run, 1)
        film_from = onset.minutes_into_run + cfg.film_after_onset_min
        if onset.minutes_into_run > 0:
            advice.append(f"after minute {film_from:g} of the run, once the symptoms have started")
        if filmed_minute is not None:
            values["filmed_at_min"] = round(filmed_minute, 1)
            if filmed_minute < onset.minutes_into_run:
                reasons.append(f"filmed at minute {filmed_minute:g} of the run, before the pain starts "
                               f"(minute {onset.minutes_into_run:g})")
    if watch:
        values.update({k: v for k, v in watch.items() if k.startswith("watch_") and v is not None})

    if not reasons:
        why = ("the filmed speed, incline and time match the pain onset within the tolerances",)
        return SymptomMatch("not_detected", None, values, why)
    text = (f"{cfg.text} Here: {'; '.join(reasons)}. Film again {', '.join(advice)}." if advice
            else f"{cfg.text} Here: {'; '.join(reasons)}.")
    threshold: dict[str, str] = {}
    if "speed_difference_kmh" in values:
        threshold["speed_difference_kmh"] = f"> ±{cfg.speed_tolerance_kmh:g} km/h"
    if "filmed_incline_pct" in values:
        threshold["filmed_incline_pct"] = f"differs by > {cfg.incline_tolerance_pct:g} % from the onset incline"
    if "filmed_at_min" in values:
        threshold["filmed_at_min"] = f"< {onset.minutes_into_run:g} min (pain onset)"
    finding = Finding(
        code=cfg.code, title=cfg.title, text=text, domain="intake", severity=cfg.severity,  # type: ignore[arg-type]
        values=dict(values), threshold=threshold,
        evidence_grade=cfg.evidence_grade, sources=cfg.sources,
        plain_text=cfg.plain_text + (f" Next time: run {', '.join(advice)}." if advice else ""),
        confidence_note="watch running dynamics at the usual pace are shown for comparison (torso sensor, not "
                        "video pelvis values)" if watch else None,
    )
    return SymptomMatch("detected", finding, values, tuple(reasons))


def with_watch_values(findings: Sequence[Finding], watch: Mapping[str, Any] | None,
                      codes: Sequence[str]) -> list[Finding]:
    """Add the watch cadence / vertical oscillation at the usual pace to the bouncing and cadence findings."""
    if not watch:
        return list(findings)
    extra = {k: v for k, v in watch.items() if k.startswith("watch_") and v is not None}
    if not extra:
        return list(findings)
    out = []
    for f in findings:
        if f.code in codes:
            note = (f"watch at the usual pace ({watch.get('basis', 'usual pace')}): torso-sensor values, compare "
                    f"with the video pelvis values with care [33]")
            f = dataclasses.replace(f, values={**dict(f.values), **extra},
                                    confidence_note="; ".join(x for x in (f.confidence_note, note) if x))
        out.append(f)
    return out
