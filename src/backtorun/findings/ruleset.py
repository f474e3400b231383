"""Load the finding rules: the packaged ``rules.yaml`` with an optional clinic file merged over it.

Mappings merge key by key (so a clinic file may change a single threshold); lists, scalars and ``when``
conditions are replaced whole.
The merged document is validated strictly: any unknown key, unknown metric, bad operator, non-numeric
threshold or reference to an unknown rule raises :class:`~backtorun.errors.ConfigError` naming the place.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from backtorun.errors import ConfigError
from backtorun.findings.symptom_match import SymptomMatchConfig, parse_symptom_match
from backtorun.findings.conditions import Calibration, MetricCond, Node, QualityConfig, VIEWS, parse_condition

SEVERITIES = ("info", "mild", "moderate", "marked")
RECOMMENDATION_CODES = ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8")
_RULE_KEYS = {"title", "domain", "view", "thresholds", "treadmill_offsets", "when", "severity", "escalate",
              "evidence_grade", "sources", "recommendations", "text", "plain_text", "conflicting_evidence",
              "experimental"}
_PATTERN_KEYS = {"title", "when", "evidence_from", "text", "plain_text"}
_TOP_KEYS = {"version", "quality", "calibrations", "symptom_match", "rules", "merged", "red_flags", "patterns"}


@dataclass(frozen=True)
class Escalation:
    severity: str
    when: Node


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    domain: str
    view: str
    thresholds: Mapping[str, float | None]
    treadmill_offsets: Mapping[str, float]
    when: Node
    severity: str
    escalate: tuple[Escalation, ...]
    evidence_grade: str
    sources: tuple[str, ...]
    recommendations: tuple[str, ...]
    text: str
    plain_text: str
    conflicting_evidence: str | None
    experimental: bool


@dataclass(frozen=True)
class MergedRule:
    code: str
    require_any_finding: tuple[str, ...]
    recommendations: tuple[str, ...]


@dataclass(frozen=True)
class PatternRule:
    code: str
    title: str
    when: Node
    evidence_from: tuple[str, ...]
    text: str
    plain_text: str


@dataclass(frozen=True)
class RuleSet:
    version: str
    quality: QualityConfig
    rules: tuple[Rule, ...]  # in evaluation order (dependencies first)
    merged: Mapping[str, MergedRule]
    red_flag_titles: Mapping[str, str]
    yellow_flag_title: str
    yellow_flag_sources: tuple[str, ...]
    patterns: tuple[PatternRule, ...]
    sources: tuple[str, ...]  # files the rule set came from
    declared_order: tuple[str, ...] = ()  # rule codes in the order written in the file (for display)
    calibrations: Mapping[str, Calibration] = dataclasses.field(default_factory=dict)
    symptom_match: SymptomMatchConfig | None = None

    def rule(self, code: str) -> Rule:
        for r in self.rules:
            if r.code == code:
                return r
        raise KeyError(code)

    def problem_directions(self) -> dict[str, str]:
        """Metric → which side of typical the gait rules treat as a problem: "low", "high" or "both".

        From every metric condition on a value (not a side difference): ``<``/``<=`` → low, ``>``/``>=`` → high.
        A value on the other side is favourable and must not be shown as a problem (issue #13); a metric absent
        here is judged by no rule.
        """
        out: dict[str, str] = {}
        for r in self.rules:
            for node in _metric_nodes(r.when) + [n for e in r.escalate for n in _metric_nodes(e.when)]:
                if node.stat in ("side_diff", "asymmetry"):
                    continue
                d = "low" if node.op in ("<", "<=") else "high"
                out[node.metric] = d if out.get(node.metric, d) == d else "both"
        return out


def _metric_nodes(node: Node) -> list[MetricCond]:
    if isinstance(node, MetricCond):
        return [node]
    children = getattr(node, "children", None)
    if children is not None:
        return [m for c in children for m in _metric_nodes(c)]
    child = getattr(node, "child", None)
    return _metric_nodes(child) if child is not None else []


def default_rules_text() -> str:
    """The packaged default rules as YAML text."""
    return resources.files("backtorun.findings").joinpath("rules.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _default_document() -> dict[str, Any]:
    doc = yaml.safe_load(default_rules_text())
    if not isinstance(doc, dict):  # pragma: no cover - packaged file
        raise ConfigError("packaged rules.yaml is not a mapping")
    return doc


#: Keys whose value is one expression: a clinic file replaces it whole instead of merging into it.
ATOMIC_KEYS = frozenset({"when"})


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged over ``base``: mappings recursively (except conditions), everything else replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key not in ATOMIC_KEYS:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The default rules, with the clinic file at ``path`` merged over them when given."""
    doc = copy.deepcopy(_default_document())
    sources = ["backtorun/findings/rules.yaml"]
    if path is not None:
        path = Path(path)
        try:
            override = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read rules file {path}: {exc.strerror or exc}",
                              hint="check the path given for the clinic rules") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"rules file {path} is not valid YAML{at}", hint="fix the YAML syntax") from exc
        if override is None:
            override = {}
        if not isinstance(override, Mapping):
            raise ConfigError(f"rules file {path} must contain a mapping (e.g. 'rules:'), not {type(override).__name__}")
        doc = deep_merge(doc, override)
        sources.append(str(path))
    try:
        return parse_ruleset(doc, sources=tuple(sources))
    except ConfigError as exc:
        where = f" (after merging {path})" if path is not None else ""
        raise ConfigError(f"invalid rules{where}: {exc.message}", hint=exc.hint) from exc


def parse_ruleset(doc: Mapping[str, Any], *, sources: tuple[str, ...] = ()) -> RuleSet:
    """Validate a merged rules document and build the :class:`RuleSet`."""
    _no_extra(doc, _TOP_KEYS, "top level")
    quality = _quality(doc.get("quality"))
    calibrations = _calibrations(doc.get("calibrations"))
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, Mapping) or not raw_rules:
        raise ConfigError("'rules' must be a non-empty mapping of rule code: rule")
    rules = [_rule(code, raw, calibrations) for code, raw in raw_rules.items() if raw is not None]
    codes = {r.code for r in rules}
    for r in rules:
        for ref in _refs(r):
            if ref not in codes:
                raise ConfigError(f"rules.{r.code}: refers to unknown rule {ref!r}")
    ordered = _topological(rules)

    merged: dict[str, MergedRule] = {}
    for code, raw in (doc.get("merged") or {}).items():
        if not isinstance(raw, Mapping):
            raise ConfigError(f"merged.{code}: must be a mapping")
        _no_extra(raw, {"require_any_finding", "recommendations"}, f"merged.{code}")
        req = tuple(_str_list(raw.get("require_any_finding", []), f"merged.{code}.require_any_finding"))
        for ref in req:
            if ref not in codes:
                raise ConfigError(f"merged.{code}.require_any_finding: unknown rule {ref!r}")
        merged[code] = MergedRule(code, req, _recs(raw.get("recommendations", []), f"merged.{code}"))

    rf = doc.get("red_flags") or {}
    if not isinstance(rf, Mapping):
        raise ConfigError("red_flags: must be a mapping")
    _no_extra(rf, {"titles", "yellow_flag_title", "yellow_flag_sources"}, "red_flags")
    titles = rf.get("titles") or {}
    if not isinstance(titles, Mapping) or not all(isinstance(v, str) for v in titles.values()):
        raise ConfigError("red_flags.titles: must map red-flag codes to titles")

    patterns = []
    for code, raw in (doc.get("patterns") or {}).items():
        where = f"patterns.{code}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        _no_extra(raw, _PATTERN_KEYS, where)
        node = parse_condition(raw.get("when"), where=f"{where}.when", thresholds={})
        ev = tuple(_str_list(raw.get("evidence_from", []), f"{where}.evidence_from"))
        for ref in node.refs() | set(ev):
            if ref not in codes:
                raise ConfigError(f"{where}: refers to unknown rule {ref!r}")
        patterns.append(PatternRule(code, _str(raw, "title", where), node, ev, _str(raw, "text", where),
                                    _str(raw, "plain_text", where)))

    return RuleSet(
        version=str(doc.get("version", "unversioned")),
        quality=quality,
        rules=tuple(ordered),
        merged=merged,
        red_flag_titles=dict(titles),
        yellow_flag_title=str(rf.get("yellow_flag_title", "Psychosocial risk factors (yellow flag)")),
        yellow_flag_sources=tuple(_str_list(rf.get("yellow_flag_sources", []), "red_flags.yellow_flag_sources")),
        patterns=tuple(patterns),
        sources=sources,
        declared_order=tuple(r.code for r in rules),
        calibrations=calibrations,
        symptom_match=parse_symptom_match(doc.get("symptom_match")),
    )


# ---------------------------------------------------------------------------------------------------------


def _rule(code: Any, raw: Any, calibrations: Mapping[str, Calibration]) -> Rule:
    where = f"rules.{code}"
    if not isinstance(code, str) or not code.replace("_", "").isalnum():
        raise ConfigError(f"rule code {code!r} must be letters, digits and underscores")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    _no_extra(raw, _RULE_KEYS, where)
    thresholds_raw = raw.get("thresholds") or {}
    if not isinstance(thresholds_raw, Mapping):
        raise ConfigError(f"{where}.thresholds: must be a mapping of name: number")
    thresholds = {str(k): _number_or_null(v, f"{where}.thresholds.{k}") for k, v in thresholds_raw.items()}
    offsets_raw = raw.get("treadmill_offsets") or {}
    if not isinstance(offsets_raw, Mapping):
        raise ConfigError(f"{where}.treadmill_offsets: must be a mapping of threshold name: number")
    offsets: dict[str, float] = {}
    for k, v in offsets_raw.items():
        if k not in thresholds:
            raise ConfigError(f"{where}.treadmill_offsets.{k}: not a threshold of this rule")
        num = _number_or_null(v, f"{where}.treadmill_offsets.{k}")
        offsets[str(k)] = 0.0 if num is None else num
    if "when" not in raw:
        raise ConfigError(f"{where}: missing 'when' condition")
    when = parse_condition(raw["when"], where=f"{where}.when", thresholds=thresholds, calibrations=calibrations)
    severity = raw.get("severity", "mild")
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}.severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    escalate = []
    for i, e in enumerate(raw.get("escalate") or []):
        if not isinstance(e, Mapping):
            raise ConfigError(f"{where}.escalate[{i}]: must be a mapping with severity and when")
        _no_extra(e, {"severity", "when"}, f"{where}.escalate[{i}]")
        if e.get("severity") not in SEVERITIES:
            raise ConfigError(f"{where}.escalate[{i}].severity: must be one of {', '.join(SEVERITIES)}")
        escalate.append(Escalation(e["severity"], parse_condition(e.get("when"), where=f"{where}.escalate[{i}].when",
                                                                  thresholds=thresholds, calibrations=calibrations)))
    view = raw.get("view", "side")
    if view not in VIEWS:
        raise ConfigError(f"{where}.view: must be side or rear")
    domain = raw.get("domain", "gait")
    if domain not in ("gait", "test", "load", "intake"):
        raise ConfigError(f"{where}.domain: must be gait, test, load or intake")
    experimental = raw.get("experimental", False)
    if not isinstance(experimental, bool):
        raise ConfigError(f"{where}.experimental: must be true or false")
    conflicting = raw.get("conflicting_evidence")
    if conflicting is not None and not isinstance(conflicting, str):
        raise ConfigError(f"{where}.conflicting_evidence: must be text")
    return Rule(
        code=code, title=_str(raw, "title", where), domain=domain, view=view, thresholds=thresholds,
        treadmill_offsets=offsets, when=when, severity=severity, escalate=tuple(escalate),
        evidence_grade=str(raw.get("evidence_grade", "D")),
        sources=tuple(str(s) for s in _str_list(raw.get("sources", []), f"{where}.sources", allow_numbers=True)),
        recommendations=_recs(raw.get("recommendations", []), where),
        text=_str(raw, "text", where), plain_text=_str(raw, "plain_text", where),
        conflicting_evidence=conflicting, experimental=experimental,
    )


def _refs(rule: Rule) -> set[str]:
    refs = rule.when.refs()
    for e in rule.escalate:
        refs |= e.when.refs()
    return refs


def _topological(rules: list[Rule]) -> list[Rule]:
    by_code = {r.code: r for r in rules}
    order: list[Rule] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(code: str, chain: tuple[str, ...]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            raise ConfigError(f"rules refer to each other in a cycle: {' -> '.join(chain + (code,))}")
        state[code] = 1
        for ref in sorted(_refs(by_code[code])):
            visit(ref, chain + (code,))
        state[code] = 2
        order.append(by_code[code])

    for r in rules:
        visit(r.code, ())
    return order


def _quality(raw: Any) -> QualityConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError("'quality' must be a mapping")
    keys = {"q1_error_deg", "q1_confidence_factor", "flag_confidence_factor", "min_strides",
            "few_strides_confidence_factor", "speed_unknown_confidence_factor", "min_confidence"}
    _no_extra(raw, keys | {"q1_mode", "min_side_confidence"}, "quality")
    missing = keys - set(raw)
    if missing:
        raise ConfigError(f"quality: missing {sorted(missing)}")

    def num(k: str, lo: float = 0.0, hi: float = math.inf) -> float:
        v = _number_or_null(raw[k], f"quality.{k}")
        if v is None or not lo <= v <= hi:
            raise ConfigError(f"quality.{k}: must be a number between {lo:g} and {hi:g}")
        return v

    def mapping(k: str, hi: float) -> dict[str, float]:
        m = raw[k]
        if not isinstance(m, Mapping):
            raise ConfigError(f"quality.{k}: must be a mapping")
        out = {}
        for kk, vv in m.items():
            v = _number_or_null(vv, f"quality.{k}.{kk}")
            if v is None or not 0 <= v <= hi:
                raise ConfigError(f"quality.{k}.{kk}: must be a number between 0 and {hi:g}")
            out[str(kk)] = v
        return out

    return QualityConfig(
        q1_error_deg=mapping("q1_error_deg", 90.0),
        q1_confidence_factor=num("q1_confidence_factor", 0, 1),
        flag_confidence_factor=mapping("flag_confidence_factor", 1.0),
        min_strides=int(num("min_strides", 1, 1000)),
        few_strides_confidence_factor=num("few_strides_confidence_factor", 0, 1),
        speed_unknown_confidence_factor=num("speed_unknown_confidence_factor", 0, 1),
        min_confidence=num("min_confidence", 0, 1),
        q1_mode=_q1_mode(raw.get("q1_mode", "exclude")),
        min_side_confidence=num("min_side_confidence", 0, 1) if "min_side_confidence" in raw else 0.0,
    )


def _q1_mode(v: Any) -> str:
    if v not in ("exclude", "reduce_confidence"):
        raise ConfigError(f"quality.q1_mode: {v!r} is not one of exclude, reduce_confidence")
    return str(v)


def _calibrations(raw: Any) -> dict[str, Calibration]:
    """``calibrations:`` name → {label, output_name, offset_name, offset_by_speed: [[speed_mps, offset], …],
    speed_unknown: min|max|mean, source}."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("calibrations: must be a mapping of name: calibration")
    out: dict[str, Calibration] = {}
    for name, c in raw.items():
        where = f"calibrations.{name}"
        if not isinstance(c, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        _no_extra(c, {"label", "output_name", "offset_name", "offset_by_speed", "speed_unknown", "source"}, where)
        pts_raw = c.get("offset_by_speed")
        if not isinstance(pts_raw, list) or not pts_raw:
            raise ConfigError(f"{where}.offset_by_speed: must be a non-empty list of [speed_mps, offset] pairs")
        pts = []
        for i, pair in enumerate(pts_raw):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ConfigError(f"{where}.offset_by_speed[{i}]: must be a pair [speed_mps, offset]")
            v = _number_or_null(pair[0], f"{where}.offset_by_speed[{i}][0]")
            o = _number_or_null(pair[1], f"{where}.offset_by_speed[{i}][1]")
            if v is None or o is None or v <= 0:
                raise ConfigError(f"{where}.offset_by_speed[{i}]: speed must be > 0 and both numbers given")
            pts.append((v, o))
        pts.sort()
        if len({v for v, _ in pts}) != len(pts):
            raise ConfigError(f"{where}.offset_by_speed: each speed may appear only once")
        unknown = c.get("speed_unknown", "min")
        if unknown not in ("min", "max", "mean"):
            raise ConfigError(f"{where}.speed_unknown: must be min, max or mean")
        out[str(name)] = Calibration(name=str(name), label=_str(c, "label", where),
                                     output_name=_str(c, "output_name", where),
                                     offset_name=_str(c, "offset_name", where), offset_by_speed=tuple(pts),
                                     speed_unknown=unknown, source=_str(c, "source", where))
    return out


def _no_extra(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(raw) - allowed
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(map(str, extra))}",
                          hint=f"allowed: {', '.join(sorted(allowed))}")


def _number_or_null(v: Any, where: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ConfigError(f"{where}: must be a number or null, got {v!r}")
    return float(v)


def _str(raw: Mapping[str, Any], key: str, where: str) -> str:
    v = raw.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{where}.{key}: must be non-empty text")
    return v.strip()


def _str_list(v: Any, where: str, *, allow_numbers: bool = False) -> list[str]:
    ok = (str, int) if allow_numbers else (str,)
    if not isinstance(v, list) or not all(isinstance(x, ok) and not isinstance(x, bool) for x in v):
        raise ConfigError(f"{where}: must be a list of text items")
    return [str(x) for x in v]


def _recs(v: Any, where: str) -> tuple[str, ...]:
    recs = _str_list(v, f"{where}.recommendations")
    for r in recs:
        if r not in RECOMMENDATION_CODES:
            raise ConfigError(f"{where}.recommendations: {r!r} is not one of {', '.join(RECOMMENDATION_CODES)}")
    return tuple(recs)
