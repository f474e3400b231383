"""View-model sections for the parts produced by other stages: test results, training load and the plan.

Each takes the producer's JSON dictionary (as stored in the Evaluation) and tolerates missing or unknown fields:
anything without a dedicated layout is shown through :func:`~backtorun.report.format.generic`.
"""

from __future__ import annotations

from typing import Any, Mapping

from backtorun.evaluation import Evaluation
from backtorun.report.format import (Refs, fmt_number, fmt_pairs, fmt_quantity, generic, humanise, label_of,
                                     load_ranges, scalar)


JUDGEMENT_LABELS = {"typical": "typical", "differs": "differs from typical", "not_judged": "could not be judged",
                    "not_a_finding_alone": "not a finding on its own"}


def tests_view(tests: Mapping[str, Any] | None, refs: Refs) -> dict[str, Any] | None:
    """Rows of the test table (name, side, values, norm, judgement with limb symmetry) from a test assessment."""
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
    return {"rows": rows, "other": generic(rest) if rest and not rows else None}


def _outcome_value(o: Mapping[str, Any]) -> str:
    for key in ("value", "measured"):
        if key in o:
            return scalar("", o[key]) + (f" {o['unit']}" if o.get("unit") else "")
    return "—"


TRAINING_METRIC_LABELS = {
    "weekly_km_last7": ("Distance in the last 7 days", "km"),
    "longest_run_30d_km": ("Longest run in the last 30 days", "km"),
    "treadmill_share_pct": ("Treadmill share of running distance (28 days)", "%"),
    "rest_days_window": ("Rest days in the last 14 days", ""),
    "long_run_share": ("Longest run ÷ weekly distance", ""),
    "novice_first_week_km": ("First-week distance (novice)", "km"),
}


def training_view(training: Mapping[str, Any] | None, e: Evaluation) -> dict[str, Any] | None:
    """Load metrics in words, a table of recent weeks, watch running dynamics beside the video, refused files."""
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
                "other": generic(rest) if rest else None}
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


def _rec_view(r: Mapping[str, Any] | None, titles: Mapping[str, str], refs: Refs) -> dict[str, Any] | None:
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


def plan_view(plan: Mapping[str, Any] | None, refer: bool, refs: Refs,
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
        "generic": generic(extra) if extra else None,
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
