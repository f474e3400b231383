"""Page 1 of the clinician's report: impression, the three treadmill causes, ranked problems, what looks typical,
differentials to consider and the red-flag line with any clinician clearance.

Everything here is laid out from the Evaluation and ``synthesis.yaml`` (wording, grouping, citations); the
decisions themselves (findings, patterns, red flags) are made upstream and only read here.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from backtorun.evaluation import Evaluation, EvaluationParts
from backtorun.report.format import Refs, fmt_number, fmt_pairs, fmt_quantity, label_of, report_yaml
from backtorun.report.sections import dynamics_means
from backtorun.types import Finding

if TYPE_CHECKING:
    from backtorun.intake import Intake
    from backtorun.plan import Plan

STATUS_WORDS = {"detected": "Detected", "not_detected": "Not detected", "not_judged": "Not assessable"}
SIDE_WORDS = {"L": "left", "R": "right", "left": "left", "right": "right", "both": "both sides"}
LEVEL_WORDS = {"emergency": "EMERGENCY — same-day emergency referral", "urgent": "URGENT — medical review",
               "non_urgent": "NON-URGENT — medical or physiotherapy review before running",
               "consider": "CONSIDER — no referral needed; weigh in clinical reasoning", "none": "no red flags"}


@lru_cache(maxsize=1)
def load_synthesis_config() -> dict[str, Any]:
    """``synthesis.yaml`` shipped with the report package."""
    return report_yaml("synthesis.yaml")


def _side(f: Finding) -> str:
    return f" ({SIDE_WORDS.get(str(f.side), str(f.side))})" if f.side else ""


def _brief(f: Finding, ranges: Mapping[str, Any], limit: int = 2) -> str:
    """"Single-run load spike: distance 18.0 km; longest run, previous 30 days 12.0 km" — first numbers only."""
    return f"{f.title}{_side(f)}" + (f": {v}" if (v := _brief_values(f.values, ranges, limit=limit)) else "")


def _brief_values(values: Mapping[str, Any] | None, ranges: Mapping[str, Any], *, limit: int = 2,
                  thresholds: Mapping[str, Any] | None = None) -> str:
    """The first ``limit`` values (those with a threshold first); nested summaries ("worst") are opened, lists and
    the belt speed skipped."""
    flat: dict[str, Any] = {}
    for k, v in (values or {}).items():
        if k == "speed_mps" or isinstance(v, (list, tuple)):
            continue
        if isinstance(v, Mapping):
            flat.update({sk: sv for sk, sv in v.items() if isinstance(sv, (int, float)) and not isinstance(sv, bool)})
        else:
            flat[k] = v
    keys = sorted(flat, key=lambda k: 0 if thresholds and k in thresholds else 1)
    thresholds = thresholds or {}
    out: list[str] = []
    done: set[str] = set()
    for k in keys:
        if k in done:
            continue
        if len(out) >= limit:
            break
        base = k[:-4] if k.endswith(" (L)") or k.endswith(" (R)") else None
        pair = (f"{base} (L)", f"{base} (R)") if base else None
        if pair and all(p in flat for p in pair) and thresholds.get(pair[0]) == thresholds.get(pair[1]):
            # one metric per side: "Hip extension, 2D-corrected L 16.4°, R 15.6° (threshold < 10°)"
            text = (f"{label_of(base, ranges)} L {fmt_quantity(base, flat[pair[0]], ranges)}, "
                    f"R {fmt_quantity(base, flat[pair[1]], ranges)}")
            if thresholds.get(pair[0]) is not None:
                text += f" (threshold {fmt_quantity(base, thresholds[pair[0]], ranges)})"
            out.append(text)
            done.update(pair)
        else:
            out.extend(fmt_pairs({k: flat[k]}, ranges, thresholds))
            done.add(k)
    return "; ".join(out)


def _dig(obj: Any, path: str) -> Any:
    """The attribute at a dotted path of a typed part ("timing.surfaces"); None where a step is missing."""
    cur: Any = obj
    for part in path.split("."):
        if cur is None:
            return None
        cur = getattr(cur, part, None)
    return cur


# ---------------------------------------------------------------------------------------------------------
# The three causes
# ---------------------------------------------------------------------------------------------------------


def _watch_line(parts: EvaluationParts, metrics: Sequence[str], ranges: Mapping[str, Any]) -> str | None:
    mean = dynamics_means(parts.training)
    parts = [f"{label_of(m, ranges).lower()} {fmt_quantity(m, mean[m], ranges)}" for m in metrics
             if isinstance(mean.get(m), (int, float)) and math.isfinite(float(mean[m]))]
    return ("Watch, logged runs: " + ", ".join(parts)) if parts else None


def causes_view(e: Evaluation, parts: EvaluationParts, findings: Sequence[Finding], ranges: Mapping[str, Any],
                refs: Refs, cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per configured cause: detected / not detected / not assessable, with the evidence behind it."""
    patterns = {p.code: p for p in (parts.findings.patterns if parts.findings is not None else ())}
    by_code = {f.code: f for f in findings}
    rows = []
    for c in cfg.get("causes", []):
        p = patterns.get(str(c.get("pattern")))
        view_ok = getattr(e, str(c.get("needs_view", "side")), None) is not None
        status = p.status if p is not None else "not_judged"
        if not view_ok and status != "detected":
            status = "not_judged"
        evidence: list[str] = []
        for ev in p.evidence if p is not None else ():
            if ev.get("title") or ev.get("code"):
                vals = _brief_values(ev.get("values"), ranges, limit=1, thresholds=ev.get("threshold") or {})
                word = STATUS_WORDS.get(str(ev.get("status")), "").lower()
                evidence.append(f"{ev.get('title') or ev.get('code')}: {word}" + (f" — {vals}" if vals else ""))
        if not view_ok:
            evidence.insert(0, f"No {c.get('needs_view', 'side')}-view recording: cannot be judged from video.")
        elif p is None:
            evidence.insert(0, "Not judged by the findings rules (no result for this pattern).")
        for code in c.get("related_findings", []) or []:
            f = by_code.get(code)
            if f is not None and f.status == "detected":
                evidence.append(f"Related: {_brief(f, ranges)}")
        watch = _watch_line(parts, c.get("watch_metrics", []) or [], ranges)
        if watch:
            evidence.append(watch)
        lbp = " ".join(str(c.get("lbp", "")).split())
        conflict = " ".join(str(c.get("conflict", "")).split()) or None
        refs.note_text(lbp + " " + (conflict or ""))
        rows.append({"label": c.get("label") or (p.title if p is not None else ""), "status": status,
                     "status_label": STATUS_WORDS.get(status, status), "evidence": evidence, "lbp": lbp,
                     "conflict": conflict, "sources": []})
    return rows


# ---------------------------------------------------------------------------------------------------------
# Ranked problems: findings grouped by the recommendation that addresses them
# ---------------------------------------------------------------------------------------------------------


def problems_view(findings: Sequence[Finding], plan: Plan | None, ranges: Mapping[str, Any],
                  cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Up to ``problems.max`` problems, each linking video, test, load and symptom findings (greedy grouping)."""
    pc = cfg.get("problems", {})
    points = pc.get("severity_points", {})
    skip = set(pc.get("skip_codes", []) or [])
    titles = pc.get("titles", {}) or {}
    domain_labels = pc.get("domain_labels", {}) or {}
    pool = [f for f in findings if f.status == "detected" and f.domain != "red_flag" and f.code not in skip
            and points.get(f.severity, 0) > 0]
    rec_titles = {r.code: r.title or "" for r in (plan.recommendations if plan is not None else ()) if r.code}
    out: list[dict[str, Any]] = []
    while pool and len(out) < int(pc.get("max", 3)):
        groups: dict[str, list[Finding]] = {}
        for f in pool:
            for key in (f.recommendations or (f"domain:{f.domain}",)):
                groups.setdefault(str(key), []).append(f)

        def score(item: tuple[str, list[Finding]]) -> tuple[float, int, int]:
            fs = item[1]
            domains = {f.domain for f in fs}
            return (sum(points.get(f.severity, 0) for f in fs) + pc.get("domain_bonus", 1) * (len(domains) - 1),
                    len(domains), max(points.get(f.severity, 0) for f in fs))

        key, members = max(groups.items(), key=score)
        pool = [f for f in pool if f not in members]
        lines: dict[str, list[str]] = {}
        for f in members:
            lines.setdefault(domain_labels.get(f.domain, f.domain.capitalize()), []).append(_brief(f, ranges, limit=1))
        order = list(domain_labels.values())
        worst = max(members, key=lambda f: points.get(f.severity, 0))
        rec = None if key.startswith("domain:") else key
        out.append({"rank": len(out) + 1,
                    "title": titles.get(key) or (f"{domain_labels.get(key[7:], key[7:])} findings" if rec is None
                                                 else rec_titles.get(key, key)),
                    "severity": worst.severity,
                    "lines": sorted(lines.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99),
                    "plan": f"{rec} {rec_titles[rec]}" if rec and rec_titles.get(rec) else None})
    return out


# ---------------------------------------------------------------------------------------------------------
# What looks typical, differentials, context
# ---------------------------------------------------------------------------------------------------------


def normal_view(e: Evaluation, parts: EvaluationParts, ranges: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    """Gait metrics inside their typical band, and tests judged typical (good news, briefly)."""
    nc = cfg.get("normal", {})
    items: list[str] = []
    for a in (e.side, e.rear):
        if a is None:
            continue
        for m in nc.get("metrics", []) or []:
            s = a.summary.get(m)
            info = ranges.get(m, {})
            if s is None or s.mean is None or not math.isfinite(float(s.mean)):
                continue
            low, high = info.get("low"), info.get("high")
            if low is None and high is None:
                continue
            if (low is None or s.mean >= low) and (high is None or s.mean <= high):
                text = f"{label_of(m, ranges)} {fmt_quantity(m, s.mean, ranges)}"
                if text not in items and not any(t.startswith(label_of(m, ranges) + " ") for t in items):
                    items.append(text)
    for o in parts.tests.outcomes if parts.tests is not None else ():
        if o.judgement == "typical":
            side = SIDE_WORDS.get(str(o.side), "")
            items.append(f"{o.name or o.test_id}{f' ({side})' if side else ''}: typical")
    return items[: int(nc.get("max_items", 8))]


def _holds(when: Mapping[str, Any], intake: Intake | None, detected: set[str], hit_codes: set[str]) -> bool:
    if any(c in detected for c in when.get("findings", []) or []):
        return True
    if any(c in hit_codes for c in when.get("red_flag_codes", []) or []):
        return True
    for path, want in (when.get("intake") or {}).items():
        if _dig(intake, str(path)) == want:
            return True
    return False


def differentials_view(e: Evaluation, parts: EvaluationParts, findings: Sequence[Finding], refs: Refs,
                       cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    detected = {f.code for f in findings if f.status == "detected"}
    hit_codes = {h.code for h in (e.red_flags.hits if e.red_flags else ())}
    out = []
    for d in cfg.get("differentials", []) or []:
        if isinstance(d, Mapping) and _holds(d.get("when") or {}, parts.intake, detected, hit_codes):
            text = " ".join(str(d.get("text", "")).split())
            refs.note_text(text)
            out.append({"text": text})
    return out


def screen_view(e: Evaluation, refs: Refs) -> dict[str, Any] | None:
    """Red-flag line of page 1: level, each hit in a few words, and every clinician clearance."""
    rf = e.red_flags
    if rf is None:
        return None
    hits = []
    for h in rf.hits:
        clearance = getattr(h, "clearance", None)
        hits.append({"title": getattr(h, "title", "") or h.code, "level": LEVEL_WORDS.get(h.level, h.level),
                     "level_code": h.level, "reason": h.reason, "action": h.action,
                     "sources": refs.cite(h.sources),
                     "clearance": clearance.describe() if hasattr(clearance, "describe") else None})
    shown = {h["clearance"] for h in hits if h["clearance"]}
    clearances = [c.describe() for c in getattr(rf, "clearances", ()) or ()
                  if hasattr(c, "describe") and c.describe() not in shown]
    label = LEVEL_WORDS.get(rf.level, rf.level)
    if rf.level not in ("none", "consider") and not e.refer:
        label += " — cleared by a clinician, so the plan is given"
    return {"level": rf.level, "level_label": label, "hits": hits,
            "clearances": clearances, "notes": list(getattr(rf, "notes", ()) or ()),
            "withheld": e.refer}


def context_rows(e: Evaluation, intake: Intake | None, cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Symptoms and the filmed speed side by side (the cadence and bounce values belong to the filmed speed)."""
    rows: list[tuple[str, str]] = []
    onset_speed = intake.timing.treadmill_speed_kmh_at_onset if intake is not None else None
    filmed = e.session.get("speed_mps") or (e.side.speed_mps if e.side is not None else None)
    if intake is not None:
        timing, pain = intake.timing, intake.pain
        when = []
        if timing.surfaces != "unknown":
            when.append(timing.surfaces.replace("_", " "))
        if timing.onset_minutes_into_run is not None:
            when.append(f"after {fmt_number(timing.onset_minutes_into_run, 0)} min")
        if onset_speed is not None:
            when.append(f"at {fmt_number(onset_speed, 1)} km/h")
        text = (f"{fmt_number(pain.during_run)}/10 during running, {fmt_number(pain.after_run_24h)}/10 "
                f"24 h after, {fmt_number(pain.now)}/10 now")
        rows.append(("Pain", "; ".join(x for x in (text, ("starts " + ", ".join(when)) if when else "") if x)))
    if filmed:
        kmh = float(filmed) * 3.6
        text = f"{fmt_number(kmh, 1)} km/h ({fmt_number(filmed, 2)} m/s)"
        if onset_speed is not None and abs(kmh - float(onset_speed)) > float(cfg.get("speed_mismatch_kmh", 1.0)):
            text += f" — not the painful speed ({fmt_number(onset_speed, 1)} km/h); speed-dependent values may differ"
        rows.append(("Filmed at", text))
    return rows


SURFACE_WORDS = {"treadmill_only": "on the treadmill only", "treadmill_and_outside": "on the treadmill and outside",
                 "outside_only": "outdoors only"}


def impression(e: Evaluation, intake: Intake | None, causes: Sequence[Mapping[str, Any]],
               problems: Sequence[Mapping[str, Any]], findings: Sequence[Finding]) -> list[str]:
    """Two to four plain sentences built from the data (no diagnosis)."""
    out: list[str] = []
    if intake is not None:
        who = []
        age = e.patient.get("age_years") or intake.age_years
        if age:
            who.append(f"{age}-year-old")
        sex = e.patient.get("sex") or intake.sex
        if sex:
            who.append(str(sex))
        loc = intake.location
        where = "central" if loc.central_lumbar else (f"{loc.unilateral_side}-sided" if loc.unilateral_side else "")
        surf = SURFACE_WORDS.get(intake.timing.surfaces, "")
        pref = intake.modifiers.directional_preference
        sentence = " ".join(who + ["runner with"]) if who else "Runner with"
        sentence += f" {where + ' ' if where else ''}low back pain when running{' ' + surf if surf else ''}"
        if pref != "unknown":
            sentence += f", {pref.replace('_', ' ')}"
        out.append(sentence[0].upper() + sentence[1:] + ".")
    if causes:
        groups: dict[str, list[str]] = {}
        for c in causes:
            groups.setdefault(c["status"], []).append(str(c["label"]).lower())
        parts = [f"{STATUS_WORDS[s].lower()}: {', '.join(groups[s])}" for s in ("detected", "not_detected", "not_judged")
                 if groups.get(s)]
        out.append("Treadmill causes of back pain — " + "; ".join(parts) + "."
                   + (f" Main contributor: {str(problems[0]['title']).lower()}." if problems else ""))
    if not problems and findings and not any(f.status == "detected" for f in findings):
        out.append("No finding differs from typical values by the rules in use.")
    return out


def add_cause_conflicts(finding_views: Sequence[dict[str, Any]], refs: Refs) -> None:
    """Show each cause's conflicting evidence (e.g. treadmill versus overground bounce) with every finding that
    discusses that cause, unless the finding already states it."""
    for c in load_synthesis_config().get("causes", []):
        conflict = " ".join(str(c.get("conflict", "")).split())
        codes = set(c.get("conflict_codes", []) or [])
        if not conflict or not codes:
            continue
        for f in finding_views:
            if f.get("code") in codes and "overground" not in str(f.get("conflict") or ""):
                text = conflict[0].upper() + conflict[1:]
                f["conflict"] = f"{f['conflict']} {text}" if f.get("conflict") else text
                refs.note_text(text)


def cause_conflict(pattern: str) -> str | None:
    """The configured conflicting-evidence sentence of one cause (None when it has none)."""
    for c in load_synthesis_config().get("causes", []):
        if c.get("pattern") == pattern and c.get("conflict"):
            text = " ".join(str(c["conflict"]).split())
            return text[0].upper() + text[1:]
    return None


def build_synthesis(e: Evaluation, parts: EvaluationParts, findings: Sequence[Finding], ranges: Mapping[str, Any],
                    refs: Refs) -> dict[str, Any]:
    """Everything page 1 shows (``parts``: the evaluation's typed parts, :meth:`Evaluation.parts`)."""
    cfg = load_synthesis_config()
    has_patterns = parts.findings is not None and bool(parts.findings.patterns)
    causes = (causes_view(e, parts, findings, ranges, refs, cfg)
              if (e.side is not None or e.rear is not None or has_patterns) else [])
    problems = problems_view(findings, parts.plan, ranges, cfg)
    return {"impression": impression(e, parts.intake, causes, problems, findings),
            "context": context_rows(e, parts.intake, cfg), "causes": causes, "problems": problems,
            "normal": normal_view(e, parts, ranges, cfg),
            "differentials": differentials_view(e, parts, findings, refs, cfg), "screen": screen_view(e, refs)}


__all__ = ["add_cause_conflicts", "build_synthesis", "cause_conflict", "load_synthesis_config"]
