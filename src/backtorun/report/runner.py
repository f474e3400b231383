"""The runner's summary (one to two pages, plain words): good news first, what we found, your week, when to pause,
and the safety net. Wording comes from ``runner.yaml``; the plan's numbers come from the Evaluation's typed plan
(:meth:`~backtorun.evaluation.Evaluation.parts`) and the plan as laid out for the clinician's report."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Mapping, Sequence

from backtorun.evaluation import Evaluation, EvaluationParts
from backtorun.report.format import fmt_number, load_ranges, report_yaml

_CITES = re.compile(r"\s*\[(?:\d+[a-z]?|[A-Z])(?:\s*[,;]\s*\d+[a-z]?)*\]")


@lru_cache(maxsize=1)
def load_runner_config() -> dict[str, Any]:
    """``runner.yaml`` shipped with the report package."""
    return report_yaml("runner.yaml")


def plain(text: Any) -> str:
    """Text for the runner: citation marks such as "[72]" or "[U]" removed, whitespace tidied."""
    return " ".join(_CITES.sub("", str(text or "")).split())


def _when(dose: str, cfg: Mapping[str, Any]) -> tuple[str, str]:
    """("2-3 times a week", the dose without the frequency) from a dose such as "3 × 8-15 reps, 2-3 sessions/week"."""
    for item in cfg.get("frequency_patterns", []) or []:
        m = re.search(str(item["pattern"]), dose, flags=re.IGNORECASE)
        if m:
            when = str(item["when"]).format(*(g.replace(" ", "") for g in m.groups() if g)) if m.groups() else str(
                item["when"])
            rest = (dose[:m.start()] + dose[m.end():]).strip(" ,;")
            return when, re.sub(r"\s*,\s*,", ",", rest)
    return "As planned", dose


def _words(text: str, cfg: Mapping[str, Any]) -> str:
    for short, words in (cfg.get("plain_words") or {}).items():
        text = text.replace(str(short), str(words))
    return text


def good_news(e: Evaluation, parts: EvaluationParts, cfg: Mapping[str, Any]) -> list[str]:
    """Plain sentences about what is typical: causes not detected, gait values in their typical range, no red flags."""
    gn = cfg.get("good_news", {})
    out: list[str] = []
    if e.red_flags is not None and not e.red_flags.hits:
        out.append(str(gn.get("no_red_flags", "")))
    status = {p.code: p.status for p in (parts.findings.patterns if parts.findings is not None else ())}
    for code, sentence in (gn.get("causes") or {}).items():
        if status.get(code) == "not_detected":
            out.append(str(sentence))
    ranges = load_ranges()["metrics"]
    seen: set[str] = set()
    typical = []
    for a in (e.side, e.rear):
        if a is None:
            continue
        for metric, words in (gn.get("metrics") or {}).items():
            s = a.summary.get(metric)
            info = ranges.get(metric, {})
            if s is None or s.mean is None or not math.isfinite(float(s.mean)) or words in seen:
                continue
            low, high = info.get("low"), info.get("high")
            if (low is not None or high is not None) and (low is None or s.mean >= low) and (
                    high is None or s.mean <= high):
                seen.add(words)
                typical.append(str(words))
    if typical:
        out.append("These are in the usual range for runners: " + ", ".join(typical[:4]) + ".")
    return [s for s in out if s][: int(gn.get("max_items", 5))]


def week_rows(plan: Mapping[str, Any] | None, parts: EvaluationParts, cfg: Mapping[str, Any]) -> list[dict[str, str]]:
    """"Your week": when (how often), what, how much — from the load pathway, cadence targets and exercises
    (``plan``: the plan as laid out by :func:`~backtorun.report.sections.plan_view`)."""
    if not plan:
        return []
    rows: list[dict[str, str]] = []
    lp = parts.plan.load_pathway if parts.plan is not None else None
    if lp is not None:
        if lp.weeks:
            w = lp.weeks[0]
            much = [f"about {fmt_number(w.weekly_km, 0)} km in the week"]
            if w.long_run_km:
                much.append(f"longest run {fmt_number(w.long_run_km, 0)} km")
            if w.treadmill_cap_min:
                much.append(f"treadmill runs at most {fmt_number(w.treadmill_cap_min, 0)} min at "
                            f"{fmt_number(w.treadmill_incline_pct)} % incline")
            rows.append({"when": "Your usual running days", "what": plain(lp.title or "Running"),
                         "much": "; ".join(much)})
        elif lp.code == "walk_run":
            rows.append({"when": "Every other day", "what": plain(lp.title or "Walk–run sessions"),
                         "much": "Start at phase 1 of the walk–run table your clinician gives you"})
    rtr = plan.get("rtr")
    if rtr and not (lp is not None and lp.weeks) and rtr.get("phases"):
        ph = rtr["phases"][0]
        rows.append({"when": f"Every other day ({rtr.get('rest_days') or 1} rest day between)",
                     "what": "Walk–run", "much": f"Phase 1: walk {ph['walk']}, run {ph['run']}, {ph['km']} km in all"})
    cad = plan.get("cadence")
    if cad and cad.get("targets"):
        t = cad["targets"][0]
        rows.append({"when": "Every easy run", "what": "Run to the metronome",
                     "much": f"{cad.get('minutes')} min at {t['spm']} steps a minute".replace(".0 min", " min")})
    for r in plan.get("recommendations") or ():
        if r.get("code") == "R1":
            continue  # the metronome row above
        for x in r.get("exercises") or ():
            when, much = _when(plain(x.get("dose")), cfg)
            rows.append({"when": when, "what": plain(x.get("name")), "much": _words(much, cfg)})
    for key in ("incline", "cross"):
        r = plan.get(key)
        if r and r.get("exercises"):
            x = r["exercises"][0]
            when, much = _when(plain(x.get("dose")), cfg)
            rows.append({"when": when, "what": plain(x.get("name")) + " (option)", "much": _words(much, cfg)})
    return rows


def pause_rules(plan: Mapping[str, Any] | None, parts: EvaluationParts) -> list[str]:
    """The same pause and step-back rules as the clinician's plan, without citations."""
    if not plan:
        return []
    out: list[str] = []
    if plan.get("pain"):
        out.append(plain(plan["pain"]["text"]))
    lp = parts.plan.load_pathway if parts.plan is not None else None
    if lp is not None and lp.pain_trend_rule:
        out.append(plain(lp.pain_trend_rule))
    rtr = plan.get("rtr")
    if rtr:
        for name, text in rtr.get("rules") or ():
            out.append(f"{name}: {plain(text)}")
    return out


def runner_view(e: Evaluation, parts: EvaluationParts, synthesis: Mapping[str, Any], plan: Mapping[str, Any] | None,
                detected: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Everything the runner's summary shows (no codes, grades or citations)."""
    cfg = load_runner_config()
    ranked_titles = [p["title"] for p in synthesis.get("problems", [])]
    points = [{"title": f["title"], "text": plain(f["plain"])} for f in detected
              if f["severity"] not in ("info",) and f["domain"] != "red_flag"]
    psych = bool(e.red_flags is not None and e.red_flags.yellow_flags)
    cad = (plan or {}).get("cadence")
    retest = None
    lp = parts.plan.load_pathway if parts.plan is not None else None
    if lp is not None and lp.retest_date:
        retest = f"Check-up and re-test on or after {lp.retest_date}."
    elif cad and cad.get("retest"):
        retest = plain(cad["retest"])
    return {
        "name": e.patient.get("name") or e.patient.get("id") or (parts.intake.runner_id if parts.intake else None) or "",
        "refer": e.refer,
        "good_news": good_news(e, parts, cfg),
        "problems": ranked_titles,
        "points": points[:5],
        "more_points": max(0, len(points) - 5),
        "has_plan": plan is not None,
        "week": week_rows(plan, parts, cfg),
        "pause": pause_rules(plan, parts),
        "retest": retest,
        "psychosocial": " ".join(str(cfg.get("psychosocial", "")).split()) if psych else None,
        "safety_net": [dict(s) for s in cfg.get("safety_net", []) or []],
    }
