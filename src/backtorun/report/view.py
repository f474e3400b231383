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
from typing import Any, Iterable, Mapping, Sequence

from backtorun.evaluation import Evaluation
from backtorun.report.format import (Refs, fmt_number, fmt_pairs, fmt_quantity, humanise, label_of, load_ranges,
                                     load_references, readable, unit_of)
from backtorun.report.sections import plan_view, tests_view, training_view
from backtorun.types import Finding, GaitAnalysis


STATUS_LABELS = {"detected": "Detected", "not_detected": "Not detected", "not_judged": "Could not be judged"}


DOMAIN_LABELS = {"gait": "Running technique (video)", "test": "Strength and flexibility tests",
                 "load": "Training load", "intake": "Intake", "red_flag": "Red flags"}


SEVERITY_ORDER = {"referral": 0, "marked": 1, "moderate": 2, "mild": 3, "info": 4}


LEVEL_LABELS = {"emergency": "Emergency — same day", "urgent": "Urgent medical review",
                "non_urgent": "Medical or physiotherapy review before running", "none": "No red flags"}


DISCLAIMER = ("Findings describe how this runner's measurements differ from typical values and where that may add "
              "load. They are not a diagnosis and support, not replace, the clinician's judgement.")


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
            if " does not meet " not in str(r) and " meets " not in str(r)]


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


def _pattern_view(p: Mapping[str, Any], ranges: Mapping[str, Any], refs: Refs,
                  titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    evidence = p.get("evidence")
    if isinstance(evidence, Mapping):
        lines = fmt_pairs(evidence, ranges)
    elif isinstance(evidence, (list, tuple)):
        lines = [e if isinstance(e, str) else _evidence_line(e, ranges, titles) if isinstance(e, Mapping) and (
            "code" in e or "title" in e) else "; ".join(fmt_pairs(e, ranges)) if isinstance(e, Mapping) else str(e)
            for e in evidence]
    elif evidence:
        lines = [str(evidence)]
    else:
        lines = []
    status = str(p.get("status", "not_judged"))
    reasons = p.get("reasons") or p.get("reason") or p.get("note")
    if isinstance(reasons, (list, tuple)):
        # reasons repeat the evidence lines for patterns built by the findings engine; keep only new ones
        reasons = "; ".join(r for r in _new_reasons(reasons, ranges, titles)
                            if not any(r.split(": ", 1)[-1] in ln for ln in lines))
    return {
        "code": p.get("code", ""), "title": p.get("title") or humanise(p.get("code", "pattern")),
        "status": status, "status_label": STATUS_LABELS.get(status, status),
        "summary": p.get("text") or p.get("summary") or p.get("description") or "",
        "plain": p.get("plain_text") or p.get("text") or "",
        "reason": reasons or None,
        "evidence": lines, "findings": list(p.get("findings") or p.get("finding_codes") or []),
        "sources": refs.cite(p.get("sources") or ()),
    }


def rule_titles(findings: Mapping[str, Any] | None) -> dict[str, str]:
    """Rule code → title, from the engine's rule outcomes and findings."""
    titles: dict[str, str] = {}
    for key in ("outcomes", "findings"):
        for o in (findings or {}).get(key, []) or []:
            if isinstance(o, Mapping) and o.get("code") and o.get("title"):
                titles.setdefault(str(o["code"]), str(o["title"]))
    return titles


def _outcome_views(findings: Mapping[str, Any] | None, ranges: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rules that were checked but not detected, or could not be judged (from the engine's rule outcomes)."""
    titles = rule_titles(findings)
    out = []
    for o in (findings or {}).get("outcomes", []) or []:
        if not isinstance(o, Mapping) or o.get("status") == "detected":
            continue
        status = str(o.get("status", ""))
        out.append({"title": o.get("title") or humanise(o.get("code", "")), "status": status,
                    "status_label": STATUS_LABELS.get(status, status),
                    "values": fmt_pairs(o.get("values"), ranges, o.get("threshold") or {}),
                    "confidence_note": "; ".join(_new_reasons(o.get("reasons") or (), ranges, titles))})
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
    return info.get("note", "") and f"no band ({info.get('note')})" or "—"


def _outside(value: Any, info: Mapping[str, Any]) -> bool:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    if not math.isfinite(v):
        return False
    return bool((info.get("low") is not None and v < info["low"]) or (info.get("high") is not None and v > info["high"]))


def _referral_view(e: Evaluation, refs: Refs) -> dict[str, Any] | None:
    if not e.refer or e.red_flags is None:
        return None
    hits = [{"code": h.code, "level": LEVEL_LABELS.get(h.level, h.level), "reason": h.reason, "action": h.action,
             "grade": h.evidence_grade, "sources": refs.cite(h.sources)} for h in e.red_flags.hits]
    letter = None
    if e.plan:
        ref = e.plan.get("referral")
        letter = (ref.get("letter") if isinstance(ref, Mapping) else None) or e.plan.get("referral_letter")
    return {"level": e.red_flags.level, "level_label": LEVEL_LABELS.get(e.red_flags.level, e.red_flags.level),
            "hits": hits, "letter": letter}


def _intake_rows(intake: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not intake:
        return []
    rows: list[tuple[str, str]] = []
    pain = intake.get("pain") or {}
    if pain:
        rows.append(("Pain (0–10): now / worst 24 h / during run / 24 h after",
                     " / ".join(fmt_number(pain.get(k)) for k in ("now", "worst_24h", "during_run", "after_run_24h"))))
    loc = intake.get("location") or {}
    where = [w for w, on in (("central lumbar", loc.get("central_lumbar")), ("buttock", loc.get("buttock")),
                             ("below knee", loc.get("below_knee"))) if on]
    if loc.get("unilateral_side"):
        where.append(f"{loc['unilateral_side']} side")
    if loc.get("referred_leg_pain"):
        where.append(f"referred leg pain ({loc.get('referred_leg_side') or 'side not given'})")
    if where:
        rows.append(("Pain location", ", ".join(where)))
    timing = intake.get("timing") or {}
    if timing:
        parts = []
        if timing.get("surfaces") and timing["surfaces"] != "unknown":
            parts.append(str(timing["surfaces"]).replace("_", " "))
        if timing.get("onset_minutes_into_run") is not None:
            parts.append(f"starts after {fmt_number(timing['onset_minutes_into_run'])} min")
        if timing.get("treadmill_speed_kmh_at_onset") is not None:
            parts.append(f"at {fmt_number(timing['treadmill_speed_kmh_at_onset'], 1)} km/h")
        if timing.get("onset_date"):
            parts.append(f"episode since {timing['onset_date']}")
        if parts:
            rows.append(("When it hurts", ", ".join(parts)))
    mod = intake.get("modifiers") or {}
    if mod.get("aggravating"):
        rows.append(("Aggravating", ", ".join(mod["aggravating"])))
    if mod.get("easing"):
        rows.append(("Easing", ", ".join(mod["easing"])))
    if mod.get("directional_preference") and mod["directional_preference"] != "unknown":
        rows.append(("Directional preference", str(mod["directional_preference"]).replace("_", " ")))
    inst = intake.get("instruments") or {}
    scores = []
    if inst.get("odi_percent") is not None:
        scores.append(f"Oswestry {fmt_number(inst['odi_percent'])} %")
    if inst.get("rmdq_score") is not None:
        scores.append(f"Roland-Morris {inst['rmdq_score']}/24")
    if inst.get("startback_total") is not None:
        scores.append(f"STarT Back {inst['startback_total']}/9 (psychosocial {fmt_number(inst.get('startback_psychosocial'))}/5)")
    if scores:
        rows.append(("Questionnaire scores", "; ".join(scores)))
    for a in inst.get("psfs") or ():
        rows.append((f"Function: {a.get('activity')}", f"{fmt_number(a.get('score'))}/10"))
    hist = intake.get("history") or {}
    if hist.get("previous_episodes") or hist.get("prior_running_injuries"):
        rows.append(("History", f"{hist.get('previous_episodes', 0)} previous episode(s)"
                     + (f"; injuries: {', '.join(hist['prior_running_injuries'])}"
                        if hist.get("prior_running_injuries") else "")))
    if intake.get("medications"):
        rows.append(("Medication", ", ".join(intake["medications"])))
    return rows


def _patient_rows(e: Evaluation) -> list[tuple[str, str]]:
    p = dict(e.patient)
    intake = e.intake or {}
    rows: list[tuple[str, str]] = []
    name = p.get("name")
    if name:
        rows.append(("Name", str(name)))
    rid = p.get("id") or p.get("runner_id") or intake.get("runner_id")
    if rid:
        rows.append(("Runner ID", str(rid)))
    age = p.get("age_years") or intake.get("age_years")
    if age is not None:
        rows.append(("Age", f"{age} years"))
    sex = p.get("sex") or intake.get("sex")
    if sex:
        rows.append(("Sex", str(sex)))
    height = p.get("height_cm") or intake.get("height_cm")
    if height:
        rows.append(("Height", f"{fmt_number(height)} cm"))
    weight = p.get("weight_kg") or intake.get("weight_kg")
    if weight:
        rows.append(("Weight", f"{fmt_number(weight)} kg"))
    for k, v in p.items():
        if k not in {"name", "id", "runner_id", "age_years", "sex", "height_cm", "weight_kg"} and v not in (None, ""):
            rows.append((humanise(k), str(v)))
    return rows


def _session_rows(e: Evaluation) -> list[tuple[str, str]]:
    s = dict(e.session)
    rows: list[tuple[str, str]] = [("Evaluation ID", e.evaluation_id[:12]), ("Created", e.created_at.replace("T", " "))]
    date = s.pop("date", None) or (e.intake or {}).get("assessment_date")
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
               ranges_path: str | None = None) -> dict[str, Any]:
    """Everything the clinician and runner templates show, pre-formatted.

    out_dir: where the HTML is written (image links are relative to it); asset_dir: folder of the
    evaluation's own artefacts (key frames); plots: name → PNG written for this report (or None).
    """
    ranges_all = load_ranges(ranges_path)
    ranges = ranges_all["metrics"]
    refs = Refs(load_references())
    findings = sorted(e.finding_list(), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.domain, f.code))
    detected = [_finding_view(f, ranges, refs) for f in findings if f.status == "detected" and f.domain != "red_flag"]
    others = [_finding_view(f, ranges, refs) for f in findings if f.status != "detected" and f.domain != "red_flag"]
    others += _outcome_views(e.findings, ranges)
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for f in detected:
        by_domain.setdefault(f["domain"], []).append(f)
    patterns = [_pattern_view(p, ranges, refs, rule_titles(e.findings))
                for p in (e.findings or {}).get("patterns", []) if isinstance(p, Mapping)]
    captures = [_capture_view(n, a, ranges) for n, a in (("side", e.side), ("rear", e.rear)) if a is not None]
    referral = _referral_view(e, refs)
    titles = {f.code: f.title for f in findings}
    plan = plan_view(e.plan, e.refer, refs, titles)
    if plan is not None and e.artefacts.get("metronome"):
        wav = asset_dir / str(e.artefacts["metronome"])
        plan["metronome"] = {"src": _relative(wav, out_dir), "name": wav.name} if wav.is_file() else None
    plot_list = [{"name": k, "src": _relative(p, out_dir), "caption": PLOT_CAPTIONS.get(k, humanise(k))}
                 for k, p in plots.items() if p is not None]
    keyframes = [{"view": v, "src": _relative(p, out_dir), "caption": f"{v.capitalize()} view: {_frame_name(p.stem)}"}
                 for v, p in keyframe_paths(e, asset_dir)]
    quality = [dict(f, view=c["title"]) for c in captures for f in c["flags"]]
    return {
        "title": "Back To Running Evaluation — report of findings",
        "disclaimer": DISCLAIMER,
        "patient": _patient_rows(e),
        "session": _session_rows(e),
        "intake": _intake_rows(e.intake),
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
        "findings_assessed": e.findings is not None or bool(detected or others),
        "patterns": patterns,
        "tests": tests_view(e.tests, refs),
        "training": training_view(e.training, e),
        "plan": plan,
        "plots": plot_list,
        "plot": {p["name"]: p for p in plot_list},
        "keyframes": keyframes,
        "references": refs.listing(),
        "attribution": list(e.attribution),
        "inputs": [i.to_dict() for i in e.inputs],
        "software": sorted(e.software.items()),
        "settings": _settings_rows(e),
        "runner": _runner_view(e, detected, plan),
    }


_EVENT_NAMES = {"IC": "initial contact", "TO": "toe-off", "MS": "midstance"}


def _frame_name(stem: str) -> str:
    """"IC_L" → "initial contact, left"; other names are humanised."""
    m = re.match(r"^(IC|TO|MS)_([LR])$", stem)
    if m:
        return f"{_EVENT_NAMES[m.group(1)]}, {'left' if m.group(2) == 'L' else 'right'}"
    return humanise(stem)


def _settings_rows(e: Evaluation) -> list[tuple[str, str]]:
    """The settings that shape the numbers, in words (full settings are in evaluation.json)."""
    st = dict(e.settings)
    rows: list[tuple[str, str]] = []
    rules = st.get("rules") if isinstance(st.get("rules"), Mapping) else {}
    if rules.get("version"):
        rows.append(("Findings rules", f"version {rules['version']}" + (
            f", clinic file {rules['clinic_file']}" if rules.get("clinic_file") else ", packaged defaults")))
    analysis = st.get("analysis") if isinstance(st.get("analysis"), Mapping) else {}
    if analysis:
        parts = []
        if analysis.get("lowpass_cutoff_hz") is not None:
            parts.append(f"angle low-pass {fmt_number(analysis['lowpass_cutoff_hz'])} Hz")
        if analysis.get("min_visibility") is not None:
            parts.append(f"landmark visibility ≥ {fmt_number(analysis['min_visibility'])}")
        if analysis.get("scale_method"):
            parts.append(f"scale from {analysis['scale_method']}")
        if analysis.get("pose_source"):
            parts.append(f"pose {analysis['pose_source']}")
        if parts:
            rows.append(("Analysis", "; ".join(parts)))
    used = [f"height {fmt_number(st['height_cm'])} cm" if st.get("height_cm") else "height not given",
            f"belt speed {fmt_number(st['speed_mps'], 2)} m/s" if st.get("speed_mps") else "belt speed not given"]
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


def _runner_view(e: Evaluation, detected: Sequence[Mapping[str, Any]], plan: Mapping[str, Any] | None
                 ) -> dict[str, Any]:
    """Plain-language summary for the runner (no codes, no statistics)."""
    points = [{"title": f["title"], "text": f["plain"]} for f in detected if f["severity"] != "info"]
    return {
        "name": e.patient.get("name") or e.patient.get("id") or (e.intake or {}).get("runner_id") or "",
        "refer": e.refer,
        "points": points,
        "has_plan": plan is not None,
    }
