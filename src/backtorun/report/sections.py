"""View-model sections for the parts produced by other stages: test results, training load and the plan.

Each takes the producer's typed object (from :meth:`~backtorun.evaluation.Evaluation.parts`) and reads its
attributes, so that a field renamed in a producer fails here (and in the tests) instead of showing a blank.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from backtorun.evaluation import Evaluation
from backtorun.report.format import (Refs, fmt_number, fmt_pairs, fmt_quantity, humanise, label_of, load_ranges,
                                     readable)

if TYPE_CHECKING:
    from backtorun.assessment import TestAssessment
    from backtorun.plan import Plan
    from backtorun.plan.builder import Recommendation
    from backtorun.plan.cadence import CadencePlan
    from backtorun.plan.load_pathway import LoadPathway
    from backtorun.plan.return_to_run import ReturnToRunPlan
    from backtorun.training import TrainingAssessment


JUDGEMENT_LABELS = {"typical": "typical", "differs": "differs from typical", "not_judged": "could not be judged",
                    "not_a_finding_alone": "not a finding on its own"}


def tests_view(tests: TestAssessment | None, refs: Refs,
               titles: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Rows of the test table (name, side, values, norm, judgement with limb symmetry) from a test assessment."""
    if tests is None:
        return None
    rows = []
    for o in tests.outcomes:
        value = "; ".join(fmt_pairs(o.values, {})) if o.values else "—"
        status = JUDGEMENT_LABELS.get(o.judgement, o.judgement.replace("_", " "))
        if o.lsi_pct is not None:
            status += f"; limb symmetry {fmt_number(o.lsi_pct)} %"
        if o.note:
            status += f" ({readable(o.note, None, titles)})"
        rows.append({"test": o.name or humanise(o.test_id), "side": SIDE_WORDS.get(str(o.side), o.side or ""),
                     "value": value, "reference": o.norm, "status": status, "differs": o.judgement == "differs",
                     "sources": []})
    return {"rows": rows}


SIDE_WORDS = {"L": "left", "R": "right"}


TRAINING_METRIC_LABELS = {
    "weekly_km_last7": ("Distance in the last 7 days", "km"),
    "longest_run_30d_km": ("Longest run in the last 30 days", "km"),
    "treadmill_share_pct": ("Treadmill share of running distance (28 days)", "%"),
    "rest_days_window": ("Rest days in the last 14 days", ""),
    "long_run_share": ("Longest run ÷ weekly distance", ""),
    "novice_first_week_km": ("First-week distance (novice)", "km"),
}


def training_view(training: TrainingAssessment | None, e: Evaluation) -> dict[str, Any] | None:
    """Load metrics in words, a table of recent weeks, watch running dynamics beside the video, refused files."""
    if training is None:
        return None
    metrics = training.metrics
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
    weeks = [{"week": w.week_start.isoformat(), "run_km": fmt_number(w.run_km, 1),
              "treadmill_km": fmt_number(w.treadmill_km, 1), "runs": w.n_runs,
              "longest": fmt_number(w.longest_run_km, 1), "srpe": fmt_number(w.srpe_load_au), "partial": w.partial}
             for w in training.weeks]
    refused = [f"{r.path}: {r.reason}" for r in training.history.refused]
    dynamics = training.running_dynamics_summary()
    return {"summary": summary, "weeks": weeks[-12:], "dynamics": running_dynamics_comparison(training, e),
            "dynamics_note": dynamics.get("note") if (summary or weeks) else None,
            "refused": refused}


#: Watch running-dynamics field → video metric (domain §3: both describe the same quantity, sensors differ).


DYNAMICS_TO_VIDEO = {
    "cadence_spm": "cadence_spm", "avg_cadence_spm": "cadence_spm",
    "ground_contact_time_ms": "contact_time_ms", "stance_time_ms": "contact_time_ms", "contact_time_ms": "contact_time_ms",
    "vertical_oscillation_cm": "vertical_oscillation_cm", "vertical_ratio_pct": "vertical_ratio_pct",
    "step_length_m": "step_length_m",
}


def dynamics_means(training: TrainingAssessment | None) -> dict[str, Any]:
    """Mean watch running dynamics over the logged runs (metric → value; empty without training logs)."""
    if training is None:
        return {}
    mean = training.running_dynamics_summary().get("mean")
    return dict(mean) if isinstance(mean, Mapping) else {}


def running_dynamics_comparison(training: TrainingAssessment, e: Evaluation) -> list[dict[str, str]]:
    """Rows of watch running dynamics (mean over runs) beside the video value of the same metric."""
    if e.side is None:
        return []
    ranges = load_ranges()["metrics"]
    rows = []
    for key, value in dynamics_means(training).items():
        metric = DYNAMICS_TO_VIDEO.get(key)
        if metric is None or value is None or isinstance(value, (Mapping, list)):
            continue
        video = e.side.summary.get(metric)
        rows.append({"metric": label_of(metric, ranges), "watch": fmt_quantity(metric, value, ranges),
                     "video": fmt_quantity(metric, video.mean, ranges) if video else "not measured"})
    return rows


def weekly_volumes(training: TrainingAssessment | None) -> list[tuple[str, float]]:
    """(week start, running km) pairs from the training assessment."""
    if training is None:
        return []
    return [(w.week_start.isoformat(), float(w.run_km)) for w in training.weeks]


def flagged_weeks(training: TrainingAssessment | None) -> list[str]:
    """Week starts that a weekly-progression rule flagged (highlighted in the plot)."""
    prog = training.metrics.get("weekly_progression") if training is not None else None
    out: list[str] = []
    if isinstance(prog, (list, tuple)):
        for p in prog:
            if isinstance(p, Mapping) and p.get("flag") and p.get("week_start"):
                out.append(str(p["week_start"]))
    return out


def _rec_view(r: Recommendation | None, titles: Mapping[str, str], refs: Refs) -> dict[str, Any] | None:
    if r is None:
        return None
    exercises = [{"name": x.name, "dose": x.dose or x.frequency or "", "progression": x.progression or ""}
                 for x in r.exercises]
    return {"code": r.code, "title": r.title, "summary": r.summary,
            "because": [titles.get(c, c) for c in r.because], "exercises": exercises,
            "cues": list(r.cues), "caveats": r.caveats or "",
            "grade": r.evidence_grade, "sources": refs.cite(r.sources), "indicated": r.indicated}


def _cadence_view(cad: CadencePlan, refs: Refs) -> dict[str, Any]:
    return {
        "measured": fmt_number(cad.measured_spm, 0),
        "targets": [{"step": t.step, "pct": fmt_number(t.increase_pct, 0), "spm": t.spm, "file": t.metronome_file,
                     "command": t.metronome_command} for t in cad.targets],
        "minutes": fmt_number(cad.metronome_minutes), "faded": list(cad.faded_feedback),
        "retest": cad.retest or "", "indicated": cad.indicated,
        "grade": cad.evidence_grade, "sources": refs.cite(cad.sources),
    }


def _rtr_view(rtr: ReturnToRunPlan, refs: Refs) -> dict[str, Any]:
    return {
        "entry": list(rtr.entry_criteria),
        "phases": [{"phase": ph.phase, "rpe": fmt_number(ph.rpe),
                    "walk": f"{fmt_number(ph.walk_min)} min" if ph.walk_min else "—",
                    "run": f"{fmt_number(ph.run_min)} min" if ph.run_min else "continuous",
                    "km": fmt_number(ph.total_km, 1), "description": ph.description}
                   for ph in rtr.phases],
        "rest_days": rtr.rest_days_between_runs, "repeats": rtr.min_repeats_per_phase,
        "rules": [(humanise(k), v) for k, v in rtr.rules.items()],
        "alternative": list(rtr.time_based_alternative),
        "after": rtr.after_continuous or "", "grade": rtr.evidence_grade,
        "sources": refs.cite(rtr.sources),
    }


def plan_view(plan: Plan | None, refer: bool, refs: Refs,
              titles: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The plan laid out for the report; None with a referral (the referral replaces the plan)."""
    if plan is None or refer or plan.referral is not None:
        return None
    titles = titles or {}
    pain = plan.pain_rule
    return {
        "notes": list(plan.notes),
        "recommendations": [v for v in (_rec_view(r, titles, refs) for r in plan.recommendations) if v],
        "cadence": _cadence_view(plan.cadence, refs) if plan.cadence is not None else None,
        "incline": _rec_view(plan.incline_walking, titles, refs),
        "cross": _rec_view(plan.cross_training, titles, refs),
        "outside": plan.running_outside or "",
        "rtr": _rtr_view(plan.return_to_run, refs) if plan.return_to_run is not None else None,
        "pathway": pathway_view(plan.load_pathway, refs),
        "pain": None if not pain else {"text": pain.get("text", ""), "grade": pain.get("evidence_grade", ""),
                                       "sources": refs.cite(pain.get("sources") or ())},
        "metronome": None,
    }


def pathway_view(lp: LoadPathway | None, refs: Refs) -> dict[str, Any] | None:
    """The load-management pathway (modified running or walk–run) with its weekly table, pain-trend rule and
    re-test date; None when the plan has none."""
    if lp is None or not (lp.title or lp.code):
        return None
    refs.note_text(" ".join(str(x) for x in (lp.summary, lp.pain_trend_rule, *lp.elements)))
    weeks = [{"week": w.week, "km": f"{fmt_number(w.weekly_km, 0)} km", "long": f"{fmt_number(w.long_run_km, 1)} km",
              "cap": (f"{fmt_number(w.treadmill_cap_min, 0)} min at {fmt_number(w.treadmill_incline_pct)} % incline"
                      if w.treadmill_cap_min else "—")}
             for w in lp.weeks]
    return {"code": lp.code, "title": lp.title or humanise(str(lp.code)),
            "summary": lp.summary, "reasons": [str(r) for r in lp.reasons],
            "elements": [str(x) for x in lp.elements], "weeks": weeks,
            "trend": lp.pain_trend_rule or "", "retest": lp.retest_date,
            "retest_weeks": lp.retest_weeks, "grade": lp.evidence_grade,
            "sources": refs.cite(lp.sources)}
