"""The findings engine: a small, pure evaluation of the rules in ``rules.yaml`` (domain.md §9.1).

Gait rules read the side-view and rear-view :class:`~backtorun.types.GaitAnalysis` summaries; each detected rule
becomes a :class:`~backtorun.types.Finding` with the values and thresholds used, severity, evidence grade,
citations, conflicting evidence (§10) and a confidence from data quality (capture flags, few strides, rule Q1,
unknown belt speed), with ``confidence_note`` saying why it is reduced. Test and load findings produced elsewhere
are merged in (and gated where §6 says so); red flags become referral findings.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Sequence

from backtorun.findings.conditions import SKIP, Context, Evidence, Result, Tri
from backtorun.findings.result import FindingsResult, PatternResult, RuleOutcome
from backtorun.findings.ruleset import Rule, RuleSet, load_rules
from backtorun.findings.symptom_match import check_symptom_match, watch_dynamics_at_speed, with_watch_values
from backtorun.types import Finding, GaitAnalysis, RedFlagScreen

log = logging.getLogger(__name__)

_SEVERITY_ORDER = {"referral": 0, "marked": 1, "moderate": 2, "mild": 3, "info": 4}
_DOMAIN_ORDER = {"red_flag": 0, "gait": 1, "test": 2, "load": 3, "intake": 4}
_STATUS = {True: "detected", False: "not_detected", None: "not_judged"}


def evaluate_findings(
    *,
    side: GaitAnalysis | None,
    rear: GaitAnalysis | None = None,
    red_flags: RedFlagScreen | None = None,
    other_findings: Sequence[Finding] = (),
    rules_path: Path | None = None,
    intake: Any = None,
    training: Any = None,
) -> FindingsResult:
    """Evaluate every rule and return the detected findings, the named patterns and all rule outcomes.

    ``rules_path`` is a clinic YAML file merged over the packaged defaults (ConfigError when invalid). With ``intake``, the
    pain-onset speed, incline and minute are compared with the video (``symptom_match``); with ``training`` (a
    TrainingAssessment or its ``running_dynamics_summary()`` mapping), watch cadence and vertical oscillation at
    the usual pace are added to the bouncing and cadence findings.
    """
    ruleset = load_rules(rules_path)
    views: dict[str, GaitAnalysis | None] = {"side": side, "rear": rear}
    primary = side if side is not None else rear
    speed = primary.speed_mps if primary is not None else None
    on_treadmill = primary.on_treadmill if primary is not None else None

    states: dict[str, Tri] = {}
    outcomes: list[RuleOutcome] = []
    gait_findings: list[Finding] = []
    for rule in ruleset.rules:
        thresholds = _thresholds(rule, on_treadmill)
        ctx = Context(views=views, thresholds=thresholds, finding_states=states, quality=ruleset.quality,
                      default_view=rule.view, speed_mps=speed, on_treadmill=on_treadmill,
                      calibrations=ruleset.calibrations)
        res = rule.when.evaluate(ctx)
        state: Tri = None if res.state == SKIP else res.state
        if res.state == SKIP:
            res.reasons.append("all conditions of this rule are switched off (null thresholds)")
        states[rule.code] = state
        values, thr = _values(res.evidence, only_true=state is True)
        outcomes.append(RuleOutcome(rule.code, rule.title, _STATUS[state], values, thr,
                                    tuple(dict.fromkeys(res.reasons)) if state is not True else ()))
        if state is True:
            gait_findings.append(_finding(rule, res, ctx, views, values, thr))

    match_cfg = ruleset.symptom_match
    watch = None
    if match_cfg is not None:
        watch = watch_dynamics_at_speed(_dynamics(training), None, match_cfg.watch_speed_tolerance_kmh)
        gait_findings = with_watch_values(gait_findings, watch, match_cfg.watch_applies_to)
    if match_cfg is not None and intake is not None:
        match = check_symptom_match(primary, intake, match_cfg, watch)
        outcomes.append(RuleOutcome(match_cfg.code, match_cfg.title, match.status, dict(match.values), {},
                                    match.reasons if match.status != "detected" else ()))
        if match.finding is not None:
            gait_findings.append(match.finding)
    merged = _merge_other(other_findings, ruleset, states, outcomes)
    flag_findings = _red_flag_findings(red_flags, ruleset)
    patterns = [_pattern(p, ruleset, states, outcomes) for p in ruleset.patterns]

    declared = {code: i for i, code in enumerate(ruleset.declared_order)}
    findings = sorted(flag_findings + gait_findings + merged,
                      key=lambda f: (_DOMAIN_ORDER.get(f.domain, 9), _SEVERITY_ORDER.get(f.severity, 9),
                                     declared.get(f.code, len(declared))))
    outcomes.sort(key=lambda o: declared.get(o.code, len(declared)))
    return FindingsResult(findings=findings, patterns=patterns, outcomes=outcomes, red_flags=red_flags,
                          rules_version=ruleset.version, rules_sources=ruleset.sources)


# ---------------------------------------------------------------------------------------------------------


def _dynamics(training: Any) -> Any:
    """Watch running dynamics of a TrainingAssessment (or an already summarised mapping); None without."""
    if training is None:
        return None
    if isinstance(training, dict):
        return training.get("running_dynamics", training)
    summary = getattr(training, "running_dynamics_summary", None)
    return summary() if callable(summary) else None


def _thresholds(rule: Rule, on_treadmill: bool | None) -> dict[str, float | None]:
    out = dict(rule.thresholds)
    if on_treadmill:
        for name, delta in rule.treadmill_offsets.items():
            if out.get(name) is not None:
                out[name] = float(out[name]) + delta  # type: ignore[arg-type]
    return out


def _values(evidence: list[Evidence], *, only_true: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {}
    thr: dict[str, Any] = {}
    for e in evidence:
        if only_true and e.state is False:
            continue
        values.setdefault(e.key, e.value)
        if e.threshold is not None:
            thr.setdefault(e.key, e.threshold)
    return values, thr


def _finding(rule: Rule, res: Result, ctx: Context, views: dict[str, GaitAnalysis | None],
             values: dict[str, Any], thr: dict[str, Any]) -> Finding:
    severity = rule.severity
    for esc in rule.escalate:
        r = esc.when.evaluate(ctx)
        if r.state is True:
            severity = esc.severity
            for e in r.evidence:
                if e.threshold is not None:
                    thr[f"{e.key} ({esc.severity})"] = e.threshold
            break
    if res.with_findings:
        values["with findings"] = list(dict.fromkeys(res.with_findings))
    speed = ctx.speed_mps
    if speed is not None and "speed_mps" not in values:
        values["speed_mps"] = round(float(speed), 3)

    confidence = 1.0
    notes: list[str] = []
    for text, factor in res.notes:
        confidence *= factor
        notes.append(text)
    for view_name in sorted(res.views):
        analysis = views.get(view_name)
        if analysis is None:
            continue
        for flag in analysis.quality_flags:
            factor = ctx.quality.flag_confidence_factor.get(flag.severity, 1.0)
            if factor < 1.0:
                confidence *= factor
                notes.append(f"{view_name}-view capture flagged ({flag.code}): {flag.message}")
    if rule.experimental:
        notes.append("experimental indicator (video proxy without published norms)")
    confidence = max(ctx.quality.min_confidence, round(confidence, 3))
    side = res.sides[0] if res.sides else None
    return Finding(
        code=rule.code, title=rule.title, text=rule.text, domain=rule.domain,  # type: ignore[arg-type]
        severity=severity, status="detected", side=side, values=values, threshold=thr,  # type: ignore[arg-type]
        evidence_grade=rule.evidence_grade, sources=rule.sources, confidence=confidence,
        confidence_note="; ".join(dict.fromkeys(notes)) or None, plain_text=rule.plain_text,
        recommendations=rule.recommendations, conflicting_evidence=rule.conflicting_evidence,
        experimental=rule.experimental,
    )


def _merge_other(others: Sequence[Finding], ruleset: RuleSet, states: dict[str, Tri],
                 outcomes: list[RuleOutcome]) -> list[Finding]:
    """Findings from tests and training load, gated and completed per ``merged:`` in rules.yaml."""
    out: list[Finding] = []
    for f in others:
        if f.status != "detected":
            outcomes.append(RuleOutcome(f.code, f.title, f.status, dict(f.values), dict(f.threshold)))
            continue
        spec = ruleset.merged.get(f.code)
        if spec is not None and spec.require_any_finding:
            req = [states.get(c) for c in spec.require_any_finding]
            if not any(s is True for s in req) and all(s is False for s in req):
                reason = f"{f.code} is reported only together with {' or '.join(spec.require_any_finding)}"
                outcomes.append(RuleOutcome(f.code, f.title, "not_detected", dict(f.values), dict(f.threshold),
                                            (reason,)))
                log.info("dropped %s: %s", f.code, reason)
                continue
            if not any(s is True for s in req):
                note = (f"could not be cross-checked with the gait findings "
                        f"{', '.join(spec.require_any_finding)} (not judged)")
                f = _replace(f, confidence_note="; ".join(x for x in (f.confidence_note, note) if x))
        if spec is not None and not f.recommendations and spec.recommendations:
            f = _replace(f, recommendations=spec.recommendations)
        outcomes.append(RuleOutcome(f.code, f.title, "detected", dict(f.values), dict(f.threshold)))
        out.append(f)
    return out


def _replace(f: Finding, **changes: Any) -> Finding:
    return dataclasses.replace(f, **changes)


def _red_flag_findings(screen: RedFlagScreen | None, ruleset: RuleSet) -> list[Finding]:
    if screen is None:
        return []
    out = []
    for hit in screen.hits:
        code = "RED_FLAG_" + hit.code.removeprefix("RF-").replace("-", "_").upper()
        title = hit.title or ruleset.red_flag_titles.get(hit.code) or f"Red flag {hit.code}"
        cleared = f" Clearance: {hit.clearance.describe()}." if hit.clearance is not None else ""
        out.append(Finding(
            code=code, title=title, text=f"{hit.reason.rstrip('.')}. Action: {hit.action.rstrip('.')}.{cleared}",
            domain="red_flag", severity="referral" if hit.withholds_plan else "info",
            values={"level": hit.level, "withholds_plan": hit.withholds_plan, "cleared": hit.clearance is not None},
            threshold={}, evidence_grade=hit.evidence_grade, sources=tuple(hit.sources),
            plain_text=(f"Some of your answers need a doctor's check before any running programme: {hit.action}."
                        if hit.withholds_plan else "Your clinician has looked at one of your answers and will "
                        "tell you if anything more is needed."),
            recommendations=(),
        ))
    if screen.yellow_flags:
        out.append(Finding(
            code="YELLOW_FLAG", title=ruleset.yellow_flag_title,
            text="; ".join(screen.yellow_flags) + ". Not a referral: use psychosocially informed care.",
            domain="intake", severity="info", evidence_grade="B", sources=ruleset.yellow_flag_sources,
            plain_text="How back pain affects your mood and worries matters; we will take that into account.",
        ))
    return out


def _pattern(p: Any, ruleset: RuleSet, states: dict[str, Tri], outcomes: list[RuleOutcome]) -> PatternResult:
    ctx = Context(views={}, thresholds={}, finding_states=states, quality=ruleset.quality, default_view="side",
                  speed_mps=None, on_treadmill=None)
    res = p.when.evaluate(ctx)
    state: Tri = None if res.state == SKIP else res.state
    by_code = {o.code: o for o in outcomes}
    evidence = []
    for code in p.evidence_from:
        o = by_code.get(code)
        if o is not None:
            evidence.append({"code": o.code, "title": o.title, "status": o.status, "values": dict(o.values),
                             "threshold": dict(o.threshold), "reasons": list(o.reasons)})
    reasons: list[str] = []
    if state is not True:
        for e in evidence:
            reasons.extend(f"{e['code']}: {r}" for r in e["reasons"])
        reasons = reasons or list(res.reasons)
    return PatternResult(code=p.code, title=p.title, status=_STATUS[state], text=p.text,  # type: ignore[arg-type]
                         plain_text=p.plain_text, evidence=tuple(evidence), reasons=tuple(dict.fromkeys(reasons)))
