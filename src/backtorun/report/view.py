"""View model: turns an :class:`~backtorun.evaluation.Evaluation` into plain, pre-formatted data for the templates.

Templates only lay out what this module prepares; every number is formatted here with its unit. Missing parts
(no rear video, no tests, no logs …) become sections that say "not assessed" instead of failing. Formatting
helpers live in :mod:`backtorun.report.format`; the tests, training and plan sections in
:mod:`backtorun.report.sections`.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from backtorun.evaluation import Evaluation, EvaluationParts
from backtorun.report.format import (Refs, cited_ids, fmt_number, fmt_pairs, fmt_quantity, humanise, label_of,
                                     load_ranges, load_references, readable, unit_of)
from backtorun.report import recorded_settings as recorded
from backtorun.report.runner import runner_view
from backtorun.report.sections import plan_view, tests_view, training_view
from backtorun.report.synthesis import add_cause_conflicts, build_synthesis, cause_conflict
from backtorun.types import Finding, GaitAnalysis

if TYPE_CHECKING:
    from backtorun.findings.result import FindingsResult, PatternResult
    from backtorun.intake import Intake


STATUS_LABELS = {"detected": "Detected", "not_detected": "Not detected", "not_judged": "Could not be judged"}


DOMAIN_LABELS = {"gait": "Running technique (video)", "test": "Strength and flexibility tests",
                 "load": "Training load", "intake": "Intake", "red_flag": "Red flags"}


SEVERITY_ORDER = {"referral": 0, "marked": 1, "moderate": 2, "mild": 3, "info": 4}


LEVEL_LABELS = {"emergency": "Emergency — same day", "urgent": "Urgent medical review",
                "non_urgent": "Medical or physiotherapy review before running",
                "consider": "Consider — noted for clinical reasoning, no referral", "none": "No red flags"}


DISCLAIMER = ("Findings show where measurements differ from typical values and may add load; they are not a "
              "diagnosis and support the clinician's judgement.")


def _finding_view(f: Finding, ranges: Mapping[str, Any], refs: Refs) -> dict[str, Any]:
    return {
        "code": f.code, "title": f.title, "text": f.text, "plain": f.plain_text or f.text,
        "domain": f.domain, "severity": f.severity, "status": f.status,
        "status_label": STATUS_LABELS.get(f.status, f.status), "side": f.side,
        "values": fmt_pairs(f.values, ranges), "threshold": [f"{label_of(k, ranges)} {fmt_quantity(k, v, ranges)}"
                                                             for k, v in (f.threshold or {}).items()],
        "grade": f.evidence_grade, "sources": refs.cite(f.sources),
        "confidence_pct": None if f.confidence is None else round(100 * float(f.confidence)),
        "confidence_note": readable(f.confidence_note, ranges) if f.confidence_note else None,
        "conflict": f.conflicting_evidence, "experimental": f.experimental,
        "recommendations": list(f.recommendations),
    }


def _new_reasons(reasons: Iterable[Any], ranges: Mapping[str, Any] | None = None,
                 titles: Mapping[str, str] | None = None) -> list[str]:
    """Reasons that add something to the values shown ("x = 3 does not meet > 5" repeats them), made readable."""
    return [readable(str(r), ranges, titles) for r in reasons or ()
            if " does not meet " not in str(r) and " meets " not in str(r) and not _DEPENDENCY.fullmatch(str(r))]


#: "HIGH_VO not detected": a reason that only repeats another rule's result (shown in its own row).
_DEPENDENCY = re.compile(r"[A-Z][A-Z0-9_]+ (?:not detected|detected|could not be judged)")


def _evidence_line(e: Mapping[str, Any], ranges: Mapping[str, Any], titles: Mapping[str, str] | None = None) -> str:
    """One rule's evidence for a pattern: "Title: detected — value (threshold …); reason"."""
    head = e.get("title") or humanise(e.get("code", ""))
    status = STATUS_LABELS.get(str(e.get("status")), str(e.get("status", "")))
    parts = [f"{head}: {status.lower()}"] if status else [head]
    vals = fmt_pairs(e.get("values") or {}, ranges, e.get("threshold") or {})
    if vals:
        parts.append("; ".join(vals))
    reasons = _new_reasons(e.get("reasons") or (), ranges, titles)
    if reasons:
        parts.append("; ".join(reasons))
    return " — ".join(parts)


def _pattern_view(p: PatternResult, ranges: Mapping[str, Any], refs: Refs,
                  titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    lines = [_evidence_line(e, ranges, titles) if "code" in e or "title" in e else "; ".join(fmt_pairs(e, ranges))
             for e in p.evidence]
    # reasons repeat the evidence lines for patterns built by the findings engine; keep only new ones
    reasons = "; ".join(r for r in _new_reasons(p.reasons, ranges, titles)
                        if not any(r.split(": ", 1)[-1] in ln for ln in lines))
    return {
        "code": p.code, "title": p.title or humanise(p.code or "pattern"),
        "status": p.status, "status_label": STATUS_LABELS.get(p.status, p.status),
        "summary": p.text, "plain": p.plain_text or p.text,
        "reason": reasons or None,
        "evidence": lines, "findings": [],
        "sources": [],
    }


def rule_titles(findings: FindingsResult | None) -> dict[str, str]:
    """Rule code → title, from the engine's rule outcomes and findings."""
    titles: dict[str, str] = {}
    if findings is None:
        return titles
    for o in (*findings.outcomes, *findings.findings):
        if o.code and o.title:
            titles.setdefault(o.code, o.title)
    return titles


def _outcome_views(findings: FindingsResult | None, ranges: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rules that were checked but not detected, or could not be judged (from the engine's rule outcomes)."""
    titles = rule_titles(findings)
    out = []
    for o in findings.outcomes if findings is not None else ():
        if o.status == "detected":
            continue
        out.append({"title": o.title or humanise(o.code), "status": o.status,
                    "status_label": STATUS_LABELS.get(o.status, o.status),
                    "values": fmt_pairs(o.values, ranges, o.threshold),
                    "confidence_note": "; ".join(_new_reasons(o.reasons, ranges, titles))})
    return out


def _capture_view(name: str, a: GaitAnalysis, ranges: Mapping[str, Any]) -> dict[str, Any]:
    n_valid = None
    if a.strides is not None and not a.strides.empty:
        n_valid = int(a.strides["valid"].fillna(False).astype(bool).sum()) if "valid" in a.strides else len(a.strides)
    rows = [
        ("Recording", Path(a.video.path).name if a.video.path else "—"),
        ("Frame rate", f"{fmt_number(a.video.fps, 1)} fps"),
        ("Duration", f"{fmt_number(a.video.duration_s, 1)} s ({a.video.n_frames} frames)"),
        ("Resolution", f"{a.video.width} × {a.video.height} px"),
        ("View", a.view), ("Running direction", a.running_direction),
        ("Near side", {"L": "left", "R": "right"}.get(a.near_side or "", "—")),
        ("On treadmill", "yes" if a.on_treadmill else "no"),
        ("Belt speed", f"{fmt_number(a.speed_mps, 2)} m/s ({fmt_number(a.speed_mps * 3.6, 1)} km/h)"
         if a.speed_mps else "not given"),
        ("Scale (pixels → metres)", f"{a.scale.method}" + (" (estimated)" if a.scale.estimated and
                                                           a.scale.metres_per_px else "")),
        ("Gait events", f"{len(a.events)} (steps analysed: {n_valid if n_valid is not None else '—'})"),
    ]
    if a.software.get("pose") or a.software.get("pose_model"):
        rows.append(("Pose model", a.software.get("pose") or a.software.get("pose_model")))
    metrics = []
    for metric, s in a.summary.items():
        info = ranges.get(metric, {})
        band = _band_text(metric, info, ranges)
        out_of_band = _outside(s.mean, info)
        metrics.append({
            "name": metric, "label": label_of(metric, ranges), "unit": unit_of(metric, ranges),
            "mean": fmt_quantity(metric, s.mean, ranges), "sd": fmt_number(s.sd), "cv": fmt_number(s.cv_pct, 1),
            "n": s.n, "left": fmt_quantity(metric, s.by_side["L"].mean, ranges) if "L" in s.by_side else "—",
            "right": fmt_quantity(metric, s.by_side["R"].mean, ranges) if "R" in s.by_side else "—",
            "asym": fmt_number(s.asymmetry, 1) if s.asymmetry is not None else "—",
            "uncertainty": f"± {fmt_quantity(metric, s.uncertainty, ranges)}" if s.uncertainty else "—",
            "band": band, "outside": out_of_band,
        })
    return {
        "name": name, "title": "Side view" if name == "side" else "Rear view", "rows": rows,
        "flags": [{"code": f.code, "message": f.message, "severity": f.severity} for f in a.quality_flags],
        "metrics": metrics,
    }


def _band_text(metric: str, info: Mapping[str, Any], ranges: Mapping[str, Any]) -> str:
    low, high = info.get("low"), info.get("high")
    if low is not None and high is not None:
        return f"{fmt_number(low)}–{fmt_quantity(metric, high, ranges)}"
    if low is not None:
        return f"≥ {fmt_quantity(metric, low, ranges)}"
    if high is not None:
        return f"≤ {fmt_quantity(metric, high, ranges)}"
    return str(info.get("note") or "—")


def _outside(value: Any, info: Mapping[str, Any]) -> bool:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    if not math.isfinite(v):
        return False
    favourable = info.get("favourable")  # "low" / "high": values beyond the band on that side are not a problem
    low = info.get("low") is not None and v < info["low"] and favourable != "low"
    high = info.get("high") is not None and v > info["high"] and favourable != "high"
    return bool(low or high)


def _referral_view(e: Evaluation, parts: EvaluationParts, refs: Refs) -> dict[str, Any] | None:
    if not e.refer or e.red_flags is None:
        return None
    hits = []
    for h in e.red_flags.hits:
        clearance = getattr(h, "clearance", None)
        hits.append({"code": h.code, "title": getattr(h, "title", "") or h.code,
                     "level": LEVEL_LABELS.get(h.level, h.level), "reason": h.reason, "action": h.action,
                     "grade": h.evidence_grade, "sources": refs.cite(h.sources),
                     "clearance": clearance.describe() if hasattr(clearance, "describe") else None})
    letter = parts.plan.referral.letter if parts.plan is not None and parts.plan.referral is not None else None
    level = getattr(e.red_flags, "referral_level", e.red_flags.level)
    return {"level": level, "level_label": LEVEL_LABELS.get(level, level), "hits": hits, "letter": letter}


def _intake_rows(intake: Intake | None) -> list[tuple[str, str]]:
    if intake is None:
        return []
    rows: list[tuple[str, str]] = []
    pain = intake.pain
    rows.append(("Pain (0–10): now / worst 24 h / during run / 24 h after",
                 " / ".join(fmt_number(v) for v in (pain.now, pain.worst_24h, pain.during_run, pain.after_run_24h))))
    loc = intake.location
    where = [w for w, on in (("central lumbar", loc.central_lumbar), ("buttock", loc.buttock),
                             ("below knee", loc.below_knee)) if on]
    if loc.unilateral_side:
        where.append(f"{loc.unilateral_side} side")
    if loc.referred_leg_pain:
        where.append(f"referred leg pain ({loc.referred_leg_side or 'side not given'})")
    if where:
        rows.append(("Pain location", ", ".join(where)))
    timing = intake.timing
    parts = []
    if timing.surfaces != "unknown":
        parts.append(timing.surfaces.replace("_", " "))
    if timing.onset_minutes_into_run is not None:
        parts.append(f"starts after {fmt_number(timing.onset_minutes_into_run)} min")
    if timing.treadmill_speed_kmh_at_onset is not None:
        parts.append(f"at {fmt_number(timing.treadmill_speed_kmh_at_onset, 1)} km/h")
    if timing.onset_date:
        parts.append(f"episode since {timing.onset_date.isoformat()}")
    if parts:
        rows.append(("When it hurts", ", ".join(parts)))
    mod = intake.modifiers
    if mod.aggravating:
        rows.append(("Aggravating", ", ".join(mod.aggravating)))
    if mod.easing:
        rows.append(("Easing", ", ".join(mod.easing)))
    if mod.directional_preference != "unknown":
        rows.append(("Directional preference", mod.directional_preference.replace("_", " ")))
    inst = intake.instruments
    scores = []
    if inst.odi_percent is not None:
        scores.append(f"Oswestry {fmt_number(inst.odi_percent)} %")
    if inst.rmdq_score is not None:
        scores.append(f"Roland-Morris {inst.rmdq_score}/24")
    if inst.startback_total is not None:
        scores.append(f"STarT Back {inst.startback_total}/9 (psychosocial {fmt_number(inst.startback_psychosocial)}/5)")
    if scores:
        rows.append(("Questionnaire scores", "; ".join(scores)))
    for a in inst.psfs:
        rows.append((f"Function: {a.activity}", f"{fmt_number(a.score)}/10"))
    hist = intake.history
    if hist.previous_episodes or hist.prior_running_injuries:
        rows.append(("History", f"{hist.previous_episodes} previous episode(s)"
                     + (f"; injuries: {', '.join(hist.prior_running_injuries)}" if hist.prior_running_injuries else "")))
    if intake.medications:
        rows.append(("Medication", ", ".join(intake.medications)))
    return rows


def _patient_rows(e: Evaluation, intake: Intake | None) -> list[tuple[str, str]]:
    p = dict(e.patient)
    rows: list[tuple[str, str]] = []
    name = p.get("name")
    if name:
        rows.append(("Name", str(name)))
    rid = p.get("id") or p.get("runner_id") or (intake.runner_id if intake else None)
    if rid:
        rows.append(("Runner ID", str(rid)))
    age = p.get("age_years") or (intake.age_years if intake else None)
    if age is not None:
        rows.append(("Age", f"{age} years"))
    sex = p.get("sex") or (intake.sex if intake else None)
    if sex:
        rows.append(("Sex", str(sex)))
    height = p.get("height_cm") or (intake.height_cm if intake else None)
    if height:
        rows.append(("Height", f"{fmt_number(height)} cm"))
    weight = p.get("weight_kg") or (intake.weight_kg if intake else None)
    if weight:
        rows.append(("Weight", f"{fmt_number(weight)} kg"))
    for k, v in p.items():
        if k not in {"name", "id", "runner_id", "age_years", "sex", "height_cm", "weight_kg"} and v not in (None, ""):
            rows.append((humanise(k), str(v)))
    return rows


def _session_rows(e: Evaluation, intake: Intake | None) -> list[tuple[str, str]]:
    s = dict(e.session)
    rows: list[tuple[str, str]] = [("Evaluation ID", e.evaluation_id[:12]), ("Created", e.created_at.replace("T", " "))]
    date = s.pop("date", None) or (intake.assessment_date.isoformat() if intake and intake.assessment_date else None)
    if date:
        rows.insert(0, ("Session date", str(date)))
    for k, v in s.items():
        if v in (None, ""):
            continue
        if k == "speed_mps":
            rows.append(("Belt speed", f"{fmt_number(v, 2)} m/s ({fmt_number(float(v) * 3.6, 1)} km/h)"))
        else:
            rows.append((humanise(k), fmt_quantity(k, v)))
    return rows


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def keyframe_paths(e: Evaluation, asset_dir: Path) -> list[tuple[str, Path]]:
    """(view, path) of each key-frame image of the evaluation that exists on disk."""
    found: list[tuple[str, Path]] = []
    for view in ("side", "rear"):
        listed = e.artefacts.get(f"{view}_keyframes")
        paths = [asset_dir / p for p in listed] if isinstance(listed, (list, tuple)) else sorted(
            (asset_dir / view / "keyframes").glob("*.png"))
        found.extend((view, p) for p in paths if p.is_file())
    return found


def build_view(e: Evaluation, *, out_dir: Path, asset_dir: Path, plots: Mapping[str, Path | None],
               ranges_path: str | None = None, parts: EvaluationParts | None = None) -> dict[str, Any]:
    """Everything the clinician and runner templates show, pre-formatted.

    out_dir: where the HTML is written (image links are relative to it); asset_dir: folder of the
    evaluation's own artefacts (key frames); plots: name → PNG written for this report (or None);
    parts: the evaluation's typed parts (default ``e.parts()``; a part its producer cannot read is refused).
    """
    parts = parts if parts is not None else e.parts()
    ranges_all = load_ranges(ranges_path)
    ranges = ranges_all["metrics"]
    refs = Refs(load_references())
    findings = sorted(e.finding_list(), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.domain, f.code))
    detected = [_finding_view(f, ranges, refs) for f in findings if f.status == "detected" and f.domain != "red_flag"]
    add_cause_conflicts(detected, refs)
    others = [_finding_view(f, ranges, refs) for f in findings if f.status != "detected" and f.domain != "red_flag"]
    others += _outcome_views(parts.findings, ranges)
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for f in detected:
        by_domain.setdefault(f["domain"], []).append(f)
    titles_by_rule = rule_titles(parts.findings)
    patterns = [_pattern_view(p, ranges, refs, titles_by_rule)
                for p in (parts.findings.patterns if parts.findings is not None else ())]
    captures = [_capture_view(n, a, ranges) for n, a in (("side", e.side), ("rear", e.rear)) if a is not None]
    leg_sources = (e.side_merge or {}).get("provenance_text")
    if leg_sources and captures and captures[0]["name"] == "side":  # which clip each leg's numbers came from
        captures[0]["rows"].insert(1, ("Leg sources", leg_sources))
    referral = _referral_view(e, parts, refs)
    titles = {f.code: f.title for f in findings}
    plan = plan_view(parts.plan, e.refer, refs, titles)
    if plan is not None and e.artefacts.get("metronome"):
        wav = asset_dir / str(e.artefacts["metronome"])
        plan["metronome"] = {"src": _relative(wav, out_dir), "name": wav.name} if wav.is_file() else None
    plot_list = [{"name": k, "src": _relative(p, out_dir), "caption": PLOT_CAPTIONS.get(k, humanise(k))}
                 for k, p in plots.items() if p is not None]
    keyframes = [{"view": v, "src": _relative(p, out_dir), "caption": f"{v.capitalize()} view: {_frame_name(p.stem)}"}
                 for v, p in keyframe_paths(e, asset_dir)]
    quality = [dict(f, view=c["title"], headline=flag_headline(f["message"])) for c in captures for f in c["flags"]]
    synthesis = build_synthesis(e, parts, findings, ranges, refs)
    emergency = bool(e.refer and e.red_flags is not None and getattr(
        e.red_flags, "stop_evaluation", e.red_flags.level == "emergency"))
    return {
        "title": "Back To Running Evaluation — report of findings",
        "disclaimer": DISCLAIMER,
        "patient": _patient_rows(e, parts.intake),
        "session": _session_rows(e, parts.intake),
        "intake": _intake_rows(parts.intake),
        "yellow_flags": list(e.red_flags.yellow_flags) if e.red_flags else [],
        "red_flag_screen": None if e.red_flags is None else LEVEL_LABELS.get(e.red_flags.level, e.red_flags.level),
        "referral": referral,
        "captures": captures,
        "quality": quality,
        "findings_by_domain": [{"domain": d, "title": DOMAIN_LABELS.get(d, humanise(d)), "items": items}
                               for d, items in sorted(by_domain.items(), key=lambda kv: list(DOMAIN_LABELS).index(kv[0])
                                                      if kv[0] in DOMAIN_LABELS else 99)],
        "findings_detected": detected,
        "findings_other": others,
        "findings_assessed": parts.findings is not None or bool(detected or others),
        "patterns": patterns,
        "tests": tests_view(parts.tests, refs, titles_by_rule),
        "training": training_view(parts.training, e),
        "bounce_conflict": cause_conflict("VERTICAL_BOUNCING"),
        "plan": plan,
        "plots": plot_list,
        "plot": {p["name"]: p for p in plot_list},
        "keyframes": keyframes,
        "references": refs.listing(),
        "refs_obj": refs,
        "synthesis": synthesis,
        "emergency": emergency,
        "attribution": list(e.attribution),
        "inputs": [i.to_dict() for i in e.inputs],
        "software": sorted(e.software.items()),
        "settings": _settings_rows(e),
        "runner": runner_view(e, parts, synthesis, plan, detected),
    }


def flag_headline(message: str) -> str:
    """The first clause of a capture-quality message (up to its first ":" or ";"), for page 1; the full message
    is in the appendix. "left/right asymmetry not assessable: the foot contacts …" → "left/right asymmetry not
    assessable"."""
    head = re.split(r"[:;]\s", str(message), maxsplit=1)[0].strip()
    return head.rstrip(".") or str(message)


def finalize_references(view: dict[str, Any], html: str) -> bool:
    """Add every id cited inline in the rendered report (finding texts, caveats, conflicts …) to its reference list.

    Returns True when the list changed (the report must then be rendered again so that the list is complete).
    """
    refs: Refs = view["refs_obj"]
    body = re.sub(r'<section id="references".*?</section>', " ", html, flags=re.DOTALL)
    before = set(refs.used)
    for k in cited_ids(re.sub(r"<[^>]+>", " ", body)):
        if k in refs.table:
            refs.used.add(k)
    if refs.used == before:
        return False
    view["references"] = refs.listing()
    return True


_EVENT_NAMES = {"IC": "initial contact", "TO": "toe-off", "MS": "midstance"}


def _frame_name(stem: str) -> str:
    """"IC_L" → "initial contact, left"; other names are humanised."""
    m = re.match(r"^(IC|TO|MS)_([LR])$", stem)
    if m:
        return f"{_EVENT_NAMES[m.group(1)]}, {'left' if m.group(2) == 'L' else 'right'}"
    return humanise(stem)


def _settings_rows(e: Evaluation) -> list[tuple[str, str]]:
    """The settings that shape the numbers, in words (full settings are in evaluation.json)."""
    st = e.settings
    rows: list[tuple[str, str]] = []
    version = recorded.rules_version(st)
    if version:
        clinic = recorded.rules_clinic_file(st)
        rows.append(("Findings rules", f"version {version}" + (f", clinic file {clinic}" if clinic
                                                                else ", packaged defaults")))
    parts = []
    if (cutoff := recorded.lowpass_cutoff_hz(st)) is not None:
        parts.append(f"angle low-pass {fmt_number(cutoff)} Hz")
    if (visibility := recorded.min_visibility(st)) is not None:
        parts.append(f"landmark visibility ≥ {fmt_number(visibility)}")
    if method := recorded.scale_method(st):
        parts.append(f"scale from {method}")
    if source := recorded.pose_source(st):
        parts.append(f"pose {source}")
    if parts:
        rows.append(("Analysis", "; ".join(parts)))
    height, speed = recorded.runner_height_cm(st), recorded.runner_speed_mps(st)
    used = [f"height {fmt_number(height)} cm" if height else "height not given",
            f"belt speed {fmt_number(speed, 2)} m/s" if speed else "belt speed not given"]
    rows.append(("Runner inputs", "; ".join(used)))
    return rows


PLOT_CAPTIONS = {
    "side_strides": ("Side view: each step's value (dots) and the mean ± SD per side (squares, right of the dotted "
                     "line) against the typical range (shaded)"),
    "rear_strides": ("Rear view: each step's value (dots) and the mean ± SD per side (squares, right of the dotted "
                     "line) against the typical range (shaded)"),
    "curves": "Joint angles over the gait cycle: mean ± SD per side",
    "rear_curves": "Rear view angles over the gait cycle: mean ± SD per side",
    "sides": "Mean ± SD per side against the typical range (shaded)",
    "weekly_volume": "Weekly running distance from the imported logs",
}
