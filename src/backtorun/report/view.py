"""View model: turns an :class:`~backtorun.evaluation.Evaluation` into plain, pre-formatted data for the templates.

Templates only lay out what this module prepares; every number is formatted here with its unit. Missing parts
(no rear video, no tests, no logs …) become sections that say "not assessed" instead of failing.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from backtorun.errors import ConfigError
from backtorun.evaluation import Evaluation
from backtorun.types import Finding, GaitAnalysis

STATUS_LABELS = {"detected": "Detected", "not_detected": "Not detected", "not_judged": "Could not be judged"}
DOMAIN_LABELS = {"gait": "Running technique (video)", "test": "Strength and flexibility tests",
                 "load": "Training load", "intake": "Intake", "red_flag": "Red flags"}
SEVERITY_ORDER = {"referral": 0, "marked": 1, "moderate": 2, "mild": 3, "info": 4}
LEVEL_LABELS = {"emergency": "Emergency — same day", "urgent": "Urgent medical review",
                "non_urgent": "Medical or physiotherapy review before running", "none": "No red flags"}
DISCLAIMER = ("Findings describe how this runner's measurements differ from typical values and where that may add "
              "load. They are not a diagnosis and support, not replace, the clinician's judgement.")


# ---------------------------------------------------------------------------------------------------------
# Reference tables shipped with the package
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_ranges(path: str | None = None) -> dict[str, Any]:
    """Display bands and curve labels (``normal_ranges.yaml`` in the package, or a clinic's own file)."""
    try:
        text = Path(path).read_text(encoding="utf-8") if path else (
            resources.files("backtorun.report").joinpath("normal_ranges.yaml").read_text(encoding="utf-8"))
        data = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read normal-range file {path or 'normal_ranges.yaml'}: {exc}",
                          hint="check the path and YAML syntax") from exc
    if not isinstance(data.get("metrics", {}), dict):
        raise ConfigError("normal-range file must have a 'metrics' mapping")
    return {"metrics": data.get("metrics", {}), "curves": data.get("curves", {})}


@lru_cache(maxsize=1)
def load_references() -> dict[str, dict[str, Any]]:
    """The citation list (domain reference §11), keyed by citation id ("1" … "104")."""
    text = resources.files("backtorun.report").joinpath("references.yaml").read_text(encoding="utf-8")
    return {str(k): v for k, v in (yaml.safe_load(text) or {}).get("references", {}).items()}


def reference_key(source: Any) -> str | None:
    """Citation id as used in the list: "54b" → "54"; anything without a number → None."""
    m = re.match(r"\s*\[?(\d+)", str(source))
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------------------

_UNIT_SUFFIXES = {"_spm": "spm", "_ms": "ms", "_s": "s", "_cm": "cm", "_m": "m", "_deg": "°", "_pct": "%",
                  "_mps": "m/s", "_kmh": "km/h", "_km": "km", "_hz": "Hz", "_kg": "kg", "_min": "min", "_reps": "reps",
                  "_nm": "N·m", "_n": "N", "_bpm": "bpm"}


_KEY = re.compile(r"^([a-z][a-z0-9_]*)(.*)$")


def _split_key(name: str) -> tuple[str, str]:
    """"hip_extension_deg (L)" → ("hip_extension_deg", " (L)"); "with findings" → ("with findings", "")."""
    m = _KEY.match(name)
    if m and "_" in m.group(1):
        return m.group(1), m.group(2)
    return name, ""


def unit_of(name: str, ranges: Mapping[str, Any] | None = None) -> str:
    name, rest = _split_key(name)
    if "share" in rest:
        return "%"
    if ranges and name in ranges and ranges[name].get("unit") is not None:
        return str(ranges[name]["unit"])
    for suffix, unit in _UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return ""


def label_of(name: str, ranges: Mapping[str, Any] | None = None) -> str:
    """Readable label of a metric key; extra words after the metric name are kept ("… (L)", "… L–R difference")."""
    base_name, rest = _split_key(name)
    if ranges and base_name in ranges and ranges[base_name].get("label"):
        return str(ranges[base_name]["label"]) + rest
    base = base_name
    for suffix in sorted(_UNIT_SUFFIXES, key=len, reverse=True):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("_", " ").strip().capitalize() + rest


def fmt_number(value: Any, digits: int | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return "—"
    if digits is None:
        a = abs(f)
        digits = 0 if a >= 100 else 1 if a >= 1 else 2
    return f"{f:.{digits}f}"


def fmt_quantity(name: str, value: Any, ranges: Mapping[str, Any] | None = None) -> str:
    """A value with its unit from the key's suffix; strings (e.g. thresholds "< 10°") are shown as given."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{label_of(str(k), ranges).lower()} {fmt_quantity(str(k), v, ranges)}"
                         for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        shown = [fmt_quantity(name, x, ranges) for x in value[:3]]
        more = f" (+{len(value) - 3} more)" if len(value) > 3 else ""
        return ("; " if any(isinstance(x, Mapping) for x in value) else ", ").join(shown) + more
    unit = unit_of(name, ranges)
    if unit == "%" and "share" in _split_key(name)[1] and isinstance(value, (int, float)):
        value = 100.0 * float(value)
    text = fmt_number(value)
    if text == "—" or not unit:
        return text
    return f"{text}{unit}" if unit in ("°", "%") else f"{text} {unit}"


def fmt_pairs(d: Mapping[str, Any] | None, ranges: Mapping[str, Any],
              thresholds: Mapping[str, Any] | None = None) -> list[str]:
    """{"cadence_spm": 158.2} → ["Cadence 158 spm"]; with thresholds: "Cadence 158 spm (threshold < 164 spm)"."""
    out = []
    for k, v in (d or {}).items():
        if isinstance(v, Mapping):
            inner = ", ".join(f"{sk} {fmt_quantity(k, sv, ranges)}" if sk in ("L", "R", "left", "right")
                              else f"{label_of(str(sk), ranges).lower()} {fmt_quantity(str(sk), sv, ranges)}"
                              for sk, sv in v.items() if sv is not None)
            text = f"{label_of(k, ranges)}: {inner}"
        else:
            text = f"{label_of(k, ranges)} {fmt_quantity(k, v, ranges)}"
        thr = (thresholds or {}).get(k)
        if thr is not None:
            text += f" (threshold {fmt_quantity(k, thr, ranges)})"
        out.append(text)
    return out


def humanise(key: str) -> str:
    return label_of(str(key))


# ---------------------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Refs:
    """Collects cited ids while the view is built, so the references list holds only what the report cites."""

    table: Mapping[str, Mapping[str, Any]]
    used: set[str] = field(default_factory=set)

    def cite(self, sources: Iterable[Any]) -> list[str]:
        keys = []
        for s in sources or ():
            k = reference_key(s)
            if k is not None and k in self.table:
                self.used.add(k)
                keys.append(k)
        return sorted(set(keys), key=int)

    def listing(self) -> list[dict[str, Any]]:
        return [{"id": k, "citation": self.table[k].get("citation", ""), "url": self.table[k].get("url")}
                for k in sorted(self.used, key=int)]


def _finding_view(f: Finding, ranges: Mapping[str, Any], refs: _Refs) -> dict[str, Any]:
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


_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def readable(text: str, ranges: Mapping[str, Any] | None = None, titles: Mapping[str, str] | None = None) -> str:
    """Replace metric keys and rule codes in a sentence by their labels ("HIGH_VO not detected" → title)."""
    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if titles and tok in titles:
            return f"“{titles[tok]}”"
        if ranges and tok in ranges:
            return label_of(tok, ranges).lower()
        return tok
    return _TOKEN.sub(sub, text)


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


def _pattern_view(p: Mapping[str, Any], ranges: Mapping[str, Any], refs: _Refs,
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
            "uncertainty": f"± {fmt_quantity(metric, s.uncertainty, ranges)}" if s.uncertainty else "",
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


def _referral_view(e: Evaluation, refs: _Refs) -> dict[str, Any] | None:
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


def _generic(obj: Any, depth: int = 0) -> Any:
    """Nested data made display-ready (keys humanised, numbers formatted) for sections without a dedicated layout."""
    if isinstance(obj, Mapping):
        return {"kind": "map", "items": [(humanise(k), _generic(v, depth + 1)) for k, v in obj.items()
                                         if v not in (None, "", [], {}) and k != "findings"]}
    if isinstance(obj, (list, tuple)):
        if obj and all(isinstance(x, Mapping) for x in obj):
            cols: list[str] = []
            for x in obj:
                for k, v in x.items():
                    if k not in cols and not isinstance(v, (Mapping, list, tuple)):
                        cols.append(k)
            return {"kind": "table", "cols": [humanise(c) for c in cols],
                    "rows": [[_scalar(c, x.get(c)) for c in cols] for x in obj]}
        return {"kind": "list", "items": [_generic(x, depth + 1) for x in obj]}
    return {"kind": "text", "text": _scalar("", obj)}


def _scalar(name: str, v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return fmt_quantity(name, v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


JUDGEMENT_LABELS = {"typical": "typical", "differs": "differs from typical", "not_judged": "could not be judged",
                    "not_a_finding_alone": "not a finding on its own"}


def _tests_view(tests: Mapping[str, Any] | None, refs: _Refs) -> dict[str, Any] | None:
    if not tests:
        return None
    outcomes = tests.get("outcomes")
    rows = []
    if isinstance(outcomes, (list, tuple)):
        for o in outcomes:
            if not isinstance(o, Mapping):
                continue
            values = o.get("values")
            value = "; ".join(fmt_pairs(values, {})) if isinstance(values, Mapping) else _outcome_value(o)
            judgement = str(o.get("judgement") or o.get("status") or "")
            status = JUDGEMENT_LABELS.get(judgement, judgement.replace("_", " "))
            if o.get("lsi_pct") is not None:
                status += f"; limb symmetry {fmt_number(o['lsi_pct'])} %"
            if o.get("note"):
                status += f" ({o['note']})"
            side = {"L": "left", "R": "right"}.get(str(o.get("side")), o.get("side") or "")
            rows.append({"test": o.get("name") or o.get("title") or humanise(o.get("test_id", o.get("test", "test"))),
                         "side": side, "value": value,
                         "reference": o.get("norm") or o.get("reference") or "",
                         "status": status, "differs": judgement == "differs",
                         "sources": refs.cite(o.get("sources") or ())})
    rest = {k: v for k, v in tests.items() if k not in {"outcomes", "findings", "norms"}}
    return {"rows": rows, "other": _generic(rest) if rest and not rows else None}


def _outcome_value(o: Mapping[str, Any]) -> str:
    for key in ("value", "measured"):
        if key in o:
            return _scalar("", o[key]) + (f" {o['unit']}" if o.get("unit") else "")
    return "—"


TRAINING_METRIC_LABELS = {
    "weekly_km_last7": ("Distance in the last 7 days", "km"),
    "longest_run_30d_km": ("Longest run in the last 30 days", "km"),
    "treadmill_share_pct": ("Treadmill share of running distance (28 days)", "%"),
    "rest_days_window": ("Rest days in the last 14 days", ""),
    "long_run_share": ("Longest run ÷ weekly distance", ""),
    "novice_first_week_km": ("First-week distance (novice)", "km"),
}


def _training_view(training: Mapping[str, Any] | None, e: Evaluation) -> dict[str, Any] | None:
    if not training:
        return None
    metrics = training.get("metrics") if isinstance(training.get("metrics"), Mapping) else {}
    summary: list[tuple[str, str]] = []
    for key, (label, unit) in TRAINING_METRIC_LABELS.items():
        v = metrics.get(key)
        if v is not None and not isinstance(v, (Mapping, list)):
            num = fmt_number(v, 2 if key == "long_run_share" else None)
            summary.append((label, f"{num}{unit}" if unit == "%" else f"{num} {unit}".strip()))
    acwr = metrics.get("acwr")
    if isinstance(acwr, Mapping) and acwr.get("ratio") is not None:
        summary.append(("Acute:chronic ratio (display only; contested)", fmt_number(acwr["ratio"], 2)))
    srpe = metrics.get("srpe")
    if isinstance(srpe, Mapping) and srpe.get("weekly_load_au") is not None:
        summary.append(("Session-RPE load, last week", f"{fmt_number(srpe['weekly_load_au'])} AU"
                        + (f" (monotony {fmt_number(srpe.get('monotony'), 2)})" if srpe.get("monotony") else "")))
    weeks = []
    for w in training.get("weeks") or ():
        if isinstance(w, Mapping):
            weeks.append({"week": w.get("week_start", ""), "run_km": fmt_number(w.get("run_km"), 1),
                          "treadmill_km": fmt_number(w.get("treadmill_km"), 1), "runs": w.get("n_runs", "—"),
                          "longest": fmt_number(w.get("longest_run_km"), 1),
                          "srpe": fmt_number(w.get("srpe_load_au")), "partial": bool(w.get("partial"))})
    refused = [f"{r.get('name') or r.get('path') or r.get('file', '')}: {r.get('reason', '')}"
               for r in training.get("refused") or () if isinstance(r, Mapping)]
    if not summary and not weeks:
        rest = {k: v for k, v in training.items() if k not in {"findings", "running_dynamics", "refused", "duplicates"}}
        return {"summary": [], "weeks": [], "dynamics": running_dynamics_comparison(training, e), "refused": refused,
                "other": _generic(rest) if rest else None}
    return {"summary": summary, "weeks": weeks[-12:], "dynamics": running_dynamics_comparison(training, e),
            "dynamics_note": (training.get("running_dynamics") or {}).get("note") if isinstance(
                training.get("running_dynamics"), Mapping) else None,
            "refused": refused, "other": None}


#: Watch running-dynamics field → video metric (domain §3: both describe the same quantity, sensors differ).
DYNAMICS_TO_VIDEO = {
    "cadence_spm": "cadence_spm", "avg_cadence_spm": "cadence_spm",
    "ground_contact_time_ms": "contact_time_ms", "stance_time_ms": "contact_time_ms", "contact_time_ms": "contact_time_ms",
    "vertical_oscillation_cm": "vertical_oscillation_cm", "vertical_ratio_pct": "vertical_ratio_pct",
    "step_length_m": "step_length_m",
}


def running_dynamics_comparison(training: Mapping[str, Any], e: Evaluation) -> list[dict[str, str]]:
    """Rows of watch running dynamics (mean over runs) beside the video value of the same metric."""
    dyn = training.get("running_dynamics")
    if not isinstance(dyn, Mapping) or e.side is None:
        return []
    if isinstance(dyn.get("mean"), Mapping):
        dyn = dyn["mean"]
    ranges = load_ranges()["metrics"]
    rows = []
    for key, value in dyn.items():
        metric = DYNAMICS_TO_VIDEO.get(key)
        if metric is None or value is None or isinstance(value, (Mapping, list)):
            continue
        video = e.side.summary.get(metric)
        rows.append({"metric": label_of(metric, ranges), "watch": fmt_quantity(metric, value, ranges),
                     "video": fmt_quantity(metric, video.mean, ranges) if video else "not measured"})
    return rows


def weekly_volumes(training: Mapping[str, Any] | None) -> list[tuple[str, float]]:
    """(week start, running km) pairs from the training assessment."""
    if not training:
        return []
    weeks = training.get("weeks") or training.get("weekly") or []
    out = []
    for w in weeks:
        if not isinstance(w, Mapping):
            continue
        label = w.get("week_start") or w.get("week")
        km = w.get("run_km", w.get("distance_km"))
        if label is not None and km is not None:
            out.append((str(label), float(km)))
    return out


def flagged_weeks(training: Mapping[str, Any] | None) -> list[str]:
    """Week starts that a weekly-progression rule flagged (highlighted in the plot)."""
    prog = ((training or {}).get("metrics") or {}).get("weekly_progression")
    out: list[str] = []
    if isinstance(prog, (list, tuple)):
        for p in prog:
            if isinstance(p, Mapping) and p.get("flag") and p.get("week_start"):
                out.append(str(p["week_start"]))
    return out


def _rec_view(r: Mapping[str, Any] | None, titles: Mapping[str, str], refs: _Refs) -> dict[str, Any] | None:
    if not isinstance(r, Mapping):
        return None
    exercises = []
    for x in r.get("exercises") or ():
        if isinstance(x, Mapping):
            exercises.append({"name": x.get("name", ""), "dose": x.get("dose") or x.get("frequency") or "",
                              "progression": x.get("progression") or ""})
    return {"code": r.get("code", ""), "title": r.get("title", ""), "summary": r.get("summary", ""),
            "because": [titles.get(c, c) for c in r.get("because") or ()], "exercises": exercises,
            "cues": list(r.get("cues") or ()), "caveats": r.get("caveats") or "",
            "grade": r.get("evidence_grade", ""), "sources": refs.cite(r.get("sources") or ()),
            "indicated": bool(r.get("indicated", True))}


def _plan_view(plan: Mapping[str, Any] | None, refer: bool, refs: _Refs,
               titles: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The plan laid out for the report; None with a referral (the referral replaces the plan)."""
    if not plan or refer or plan.get("referral"):
        return None
    titles = titles or {}
    known = {"schema", "library_version", "created", "referral", "has_running_plan", "recommendations", "cadence",
             "incline_walking", "cross_training", "running_outside", "return_to_run", "pain_rule", "notes"}
    cad = plan.get("cadence") if isinstance(plan.get("cadence"), Mapping) else None
    cadence = None
    if cad:
        cadence = {
            "measured": fmt_number(cad.get("measured_spm"), 0),
            "targets": [{"step": t.get("step"), "pct": fmt_number(t.get("increase_pct"), 0), "spm": t.get("spm"),
                         "file": t.get("metronome_file"), "command": t.get("metronome_command")}
                        for t in cad.get("targets") or () if isinstance(t, Mapping)],
            "minutes": fmt_number(cad.get("metronome_minutes")), "faded": list(cad.get("faded_feedback") or ()),
            "retest": cad.get("retest") or "", "indicated": bool(cad.get("indicated", True)),
            "grade": cad.get("evidence_grade", ""), "sources": refs.cite(cad.get("sources") or ()),
        }
    rtr_raw = plan.get("return_to_run") if isinstance(plan.get("return_to_run"), Mapping) else None
    rtr = None
    if rtr_raw:
        rules = rtr_raw.get("rules") or {}
        rtr = {
            "entry": list(rtr_raw.get("entry_criteria") or ()),
            "phases": [{"phase": ph.get("phase"), "rpe": fmt_number(ph.get("rpe")),
                        "walk": f"{fmt_number(ph.get('walk_min'))} min" if ph.get("walk_min") else "—",
                        "run": f"{fmt_number(ph.get('run_min'))} min" if ph.get("run_min") else "continuous",
                        "km": fmt_number(ph.get("total_km"), 1), "description": ph.get("description", "")}
                       for ph in rtr_raw.get("phases") or () if isinstance(ph, Mapping)],
            "rest_days": rtr_raw.get("rest_days_between_runs"), "repeats": rtr_raw.get("min_repeats_per_phase"),
            "rules": [(humanise(k), v) for k, v in rules.items()] if isinstance(rules, Mapping) else [],
            "alternative": list(rtr_raw.get("time_based_alternative") or ()),
            "after": rtr_raw.get("after_continuous") or "", "grade": rtr_raw.get("evidence_grade", ""),
            "sources": refs.cite(rtr_raw.get("sources") or ()),
        }
    pain = plan.get("pain_rule") if isinstance(plan.get("pain_rule"), Mapping) else None
    extra = {k: v for k, v in plan.items() if k not in known and v not in (None, "", [], {})}
    return {
        "notes": list(plan.get("notes") or ()),
        "recommendations": [v for v in (_rec_view(r, titles, refs) for r in plan.get("recommendations") or ()) if v],
        "cadence": cadence,
        "incline": _rec_view(plan.get("incline_walking"), titles, refs),
        "cross": _rec_view(plan.get("cross_training"), titles, refs),
        "outside": plan.get("running_outside") or "",
        "rtr": rtr,
        "pain": None if not pain else {"text": pain.get("text", ""), "grade": pain.get("evidence_grade", ""),
                                       "sources": refs.cite(pain.get("sources") or ())},
        "generic": _generic(extra) if extra else None,
        "metronome": None,
    }


def _collect_sources(obj: Any) -> list[str]:
    out: list[str] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if k in ("sources", "source_ids") and isinstance(v, (list, tuple)):
                out.extend(str(x) for x in v)
            else:
                out.extend(_collect_sources(v))
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            out.extend(_collect_sources(x))
    return out


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


# ---------------------------------------------------------------------------------------------------------
# Whole view
# ---------------------------------------------------------------------------------------------------------


def build_view(e: Evaluation, *, out_dir: Path, asset_dir: Path, plots: Mapping[str, Path | None],
               ranges_path: str | None = None) -> dict[str, Any]:
    """Everything the clinician and runner templates show, pre-formatted.

    out_dir: where the HTML is written (image links are relative to it); asset_dir: folder of the
    evaluation's own artefacts (key frames); plots: name → PNG written for this report (or None).
    """
    ranges_all = load_ranges(ranges_path)
    ranges = ranges_all["metrics"]
    refs = _Refs(load_references())
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
    plan = _plan_view(e.plan, e.refer, refs, titles)
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
        "tests": _tests_view(e.tests, refs),
        "training": _training_view(e.training, e),
        "plan": plan,
        "plots": plot_list,
        "plot": {p["name"]: p for p in plot_list},
        "keyframes": keyframes,
        "references": refs.listing(),
        "attribution": list(e.attribution),
        "inputs": [i.to_dict() for i in e.inputs],
        "software": sorted(e.software.items()),
        "settings": _generic(dict(e.settings)) if e.settings else None,
        "runner": _runner_view(e, detected, plan),
    }


_EVENT_NAMES = {"IC": "initial contact", "TO": "toe-off", "MS": "midstance"}


def _frame_name(stem: str) -> str:
    """"IC_L" → "initial contact, left"; other names are humanised."""
    m = re.match(r"^(IC|TO|MS)_([LR])$", stem)
    if m:
        return f"{_EVENT_NAMES[m.group(1)]}, {'left' if m.group(2) == 'L' else 'right'}"
    return humanise(stem)


PLOT_CAPTIONS = {
    "side_strides": "Side view: each step's value against the typical range (shaded)",
    "rear_strides": "Rear view: each step's value against the typical range (shaded)",
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
