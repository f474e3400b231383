"""A tiny structured condition language for finding rules, evaluated with three-valued logic.

Conditions are parsed from YAML mappings into frozen node objects (no code is ever evaluated). A condition is
``True`` (met), ``False`` (not met) or ``None`` ("could not be judged": metric missing, view missing, NaN).
``all`` is false if any child is false, unknown if any child is unknown, else true; ``any`` is true if any child
is true, unknown if any child is unknown, else false (Kleene logic). A condition whose threshold is ``null`` is
switched off and ignored by its parent.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

import pandas as pd

from backtorun.conventions import REAR_VIEW_METRICS, SIDE_VIEW_METRICS
from backtorun.errors import ConfigError
from backtorun.types import GaitAnalysis, MetricSummary

Tri = Union[bool, None]
SKIP = "skip"  # a condition switched off by a null threshold

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
STATS = ("mean", "side_min", "side_max", "side_diff", "asymmetry")
KNOWN_METRICS = frozenset(SIDE_VIEW_METRICS) | frozenset(REAR_VIEW_METRICS)
VIEWS = ("side", "rear")
Q1_KINDS = ("sagittal", "pelvic_drop")

_UNITS = (("si_pct", "%"), ("_spm", "spm"), ("_deg", "°"), ("_cm", "cm"), ("_ms", "ms"), ("_pct", "%"), ("_mps", "m/s"),
          ("_m", "m"))


def unit_of(name: str) -> str:
    """Display unit from a unit-suffixed name (conventions.py), '' when dimensionless."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def threshold_text(op: str, value: float, name: str) -> str:
    unit = unit_of(name)
    sep = "" if unit in ("°", "%") else " "
    return f"{op} {value:g}{sep}{unit}".rstrip()


# ---------------------------------------------------------------------------------------------------------
# Evaluation context and result
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityConfig:
    q1_error_deg: Mapping[str, float]
    q1_confidence_factor: float
    flag_confidence_factor: Mapping[str, float]
    min_strides: int
    few_strides_confidence_factor: float
    speed_unknown_confidence_factor: float
    min_confidence: float
    #: "exclude" (domain.md §1.6 as written: an effect smaller than the error is not emitted) or
    #: "reduce_confidence" (emit with ``q1_confidence_factor``; the behaviour before issue #13).
    q1_mode: str = "exclude"
    #: A left/right comparison (stat side_diff or asymmetry) needs both sides measured with at least this leg
    #: confidence (``SideSummary.confidence``, backtorun.metrics.symmetry); 0 switches the check off.
    min_side_confidence: float = 0.0


@dataclass(frozen=True)
class Calibration:
    """A validated offset between a 2D video quantity and the quantity a threshold was published for.

    calibrated = raw − offset(v), with offset(v) linearly interpolated in belt speed v between the validated points
    (held constant outside them); an unknown speed uses ``speed_unknown`` ("min", "max" or "mean" of the points).
    """

    name: str
    label: str
    output_name: str
    offset_name: str
    offset_by_speed: tuple[tuple[float, float], ...]  # (speed_mps, offset in the metric's unit), sorted by speed
    speed_unknown: str
    source: str

    def offset(self, speed_mps: float | None) -> tuple[float, bool]:
        """(offset, speed_was_known) at belt speed ``speed_mps``."""
        pts = self.offset_by_speed
        offsets = [o for _, o in pts]
        if speed_mps is None or not _finite(speed_mps):
            pick = {"min": min(offsets), "max": max(offsets), "mean": sum(offsets) / len(offsets)}
            return float(pick[self.speed_unknown]), False
        v = float(speed_mps)
        if v <= pts[0][0]:
            return float(pts[0][1]), True
        for (v0, o0), (v1, o1) in zip(pts, pts[1:]):
            if v <= v1:
                return float(o0 + (o1 - o0) * (v - v0) / (v1 - v0)), True
        return float(pts[-1][1]), True


@dataclass(frozen=True)
class Context:
    """Everything a condition may read: the views, the rule's thresholds, earlier rule results, quality config."""

    views: Mapping[str, GaitAnalysis | None]
    thresholds: Mapping[str, float | None]
    finding_states: Mapping[str, Tri]
    quality: QualityConfig
    default_view: str
    speed_mps: float | None
    on_treadmill: bool | None
    calibrations: Mapping[str, Calibration] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """One measured value compared with one threshold."""

    key: str
    value: Any
    threshold: str | None
    state: Tri
    side: str | None = None
    view: str | None = None


@dataclass
class Result:
    state: Any  # True / False / None / SKIP
    evidence: list[Evidence] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why not judged / not met
    notes: list[tuple[str, float]] = field(default_factory=list)  # confidence notes with multipliers
    sides: list[str] = field(default_factory=list)
    views: set[str] = field(default_factory=set)
    with_findings: list[str] = field(default_factory=list)


def _fmt(x: float) -> str:
    return f"{round(float(x), 3):g}"


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class All:
    children: tuple["Node", ...]

    def evaluate(self, ctx: Context) -> Result:
        results = [r for r in (c.evaluate(ctx) for c in self.children) if r.state != SKIP]
        if not results:
            return Result(SKIP)
        out = _merge(results)
        if any(r.state is False for r in results):
            out.state = False
        elif any(r.state is None for r in results):
            out.state = None
        else:
            out.state = True
        return out

    def refs(self) -> set[str]:
        return set().union(*(c.refs() for c in self.children))


@dataclass(frozen=True)
class AnyOf:
    children: tuple["Node", ...]

    def evaluate(self, ctx: Context) -> Result:
        results = [r for r in (c.evaluate(ctx) for c in self.children) if r.state != SKIP]
        if not results:
            return Result(SKIP)
        true = [r for r in results if r.state is True]
        if true:
            out = _merge(true)
            out.state = True
            return out
        out = _merge(results)
        out.state = None if any(r.state is None for r in results) else False
        return out

    def refs(self) -> set[str]:
        return set().union(*(c.refs() for c in self.children))


@dataclass(frozen=True)
class Not:
    child: "Node"

    def evaluate(self, ctx: Context) -> Result:
        r = self.child.evaluate(ctx)
        if r.state in (True, False):
            r.state = not r.state
        return r

    def refs(self) -> set[str]:
        return self.child.refs()


@dataclass(frozen=True)
class MetricCond:
    metric: str
    op: str
    threshold: str
    stat: str = "mean"
    view: str | None = None
    q1: str | None = None
    flag_side: str = "lower"
    calibration: str | None = None  # name of a Calibration (rules.yaml ``calibrations``)
    calibration_output: str | None = None  # name of the calibrated value, e.g. hip_extension_est_deg

    def evaluate(self, ctx: Context) -> Result:
        thr = ctx.thresholds.get(self.threshold)
        if thr is None:
            return Result(SKIP)
        view = self.view or ctx.default_view
        analysis = ctx.views.get(view)
        key = self._key(None)
        if analysis is None:
            return Result(None, reasons=[f"no {view}-view recording for {self.metric}"], views={view})
        ms = analysis.summary.get(self.metric)
        if ms is None or ms.n == 0:
            return Result(None, reasons=[f"{self.metric} was not measured in the {view} view"], views={view})
        cal = ctx.calibrations.get(self.calibration) if self.calibration else None
        if self.calibration and cal is None:
            return Result(None, reasons=[f"calibration {self.calibration} is not defined"], views={view})
        absolute = self.stat in ("mean", "side_min", "side_max")  # differences need no offset: it cancels
        offset, speed_known = cal.offset(ctx.speed_mps) if (cal is not None and absolute) else (0.0, True)
        value, side, why = _stat(ms, self.stat, self.metric, self.flag_side)
        if value is not None and self.stat in ("side_diff", "asymmetry"):
            why = _comparable(ms, ctx.quality.min_side_confidence)
            if why is not None:
                value = None
        if value is None:
            return Result(None, reasons=[why or f"{key} could not be computed"], views={view})
        value -= offset
        key = self._key(side)
        unit_name = self.metric if not (self.stat == "asymmetry" and not self.metric.endswith("_deg")) else "si_pct"
        text = threshold_text(self.op, thr, unit_name)
        state = OPS[self.op](value, thr)
        out = Result(state, views={view})
        if self.q1 is not None:
            err = ctx.quality.q1_error_deg.get(self.q1)
            if err is not None and state:
                # rule Q1 (domain.md §1.6): the effect is the side difference itself, or the distance beyond the
                # threshold; an effect smaller than the combined measurement error is not emitted
                diff = self.stat in ("side_diff", "asymmetry")
                effect = abs(value) if diff else abs(value - thr)
                if effect < err and (diff or ctx.quality.q1_mode == "exclude"):
                    state = False
                    ref = "" if diff else f" is {effect:.1f}° beyond the threshold {thr:g}°, which"
                    out.reasons.append(f"{key} {_fmt(value)}°{ref} is within the ±{err:g}° measurement error: "
                                       f"not emitted (rule Q1)")
                elif effect < err:
                    out.notes.append((
                        f"{key} {value:.1f}° is within the ±{err:g}° measurement error of the threshold "
                        f"{thr:g}° (rule Q1)", ctx.quality.q1_confidence_factor))
        out.state = state
        counts = [b.n for b in ms.by_side.values() if b.n > 0]
        n_used = ms.by_side[side].n if side in ms.by_side else (min(counts) if counts else ms.n)  # per side (§1.3)
        if state and n_used < ctx.quality.min_strides:
            out.notes.append((f"{key} rests on only {n_used} strides (fewer than {ctx.quality.min_strides})",
                              ctx.quality.few_strides_confidence_factor))
        if cal is not None and absolute and state and not speed_known:
            out.notes.append((f"belt speed unknown: the {cal.label} offset {offset:.1f}° assumed "
                              f"({cal.speed_unknown} of the validated points)",
                              ctx.quality.speed_unknown_confidence_factor))
        if not state and not out.reasons:
            out.reasons.append(f"{key} = {_fmt(value)} does not meet {text}")
        if self.stat in ("side_min", "side_max") and side is not None:
            # show both sides; a side that does not meet the condition is shown without a threshold (it is
            # favourable and must not read as a problem); name a side only when just one of them meets it
            per_side = {s: b.mean - offset for s, b in ms.by_side.items() if b.n > 0 and _finite(b.mean)}
            meets = [s for s in sorted(per_side) if OPS[self.op](float(per_side[s]), thr)]
            for s in sorted(per_side):
                hit = state and s in meets
                out.evidence.append(Evidence(self._key(s), round(float(per_side[s]), 3),
                                             text if (hit or not state) else None,
                                             (True if hit else None) if state else False, s, view))
            if state and len(meets) == 1:
                out.sides.append(meets[0])
        else:
            out.evidence.append(Evidence(key, round(float(value), 3), text, state, side, view))
            if state and side is not None:
                out.sides.append(side)
        if cal is not None and absolute:
            self._calibration_evidence(out, ms, cal, offset, view, state)
        return out

    def _calibration_evidence(self, out: Result, ms: MetricSummary, cal: Calibration, offset: float, view: str,
                              state: Tri) -> None:
        """The raw 2D values and the offset applied, shown beside the calibrated values (no thresholds)."""
        ev_state = None if state else False
        sides = {s: b.mean for s, b in ms.by_side.items() if b.n > 0 and _finite(b.mean)}
        if self.stat in ("side_min", "side_max") and sides:
            for s in sorted(sides):
                out.evidence.append(Evidence(f"{self.metric} ({s})", round(float(sides[s]), 3), None, ev_state, s,
                                             view))
        elif _finite(ms.mean):
            out.evidence.append(Evidence(self.metric, round(float(ms.mean), 3), None, ev_state, None, view))
        out.evidence.append(Evidence(cal.offset_name, round(offset, 2), None, ev_state, None, view))

    def _key(self, side: str | None) -> str:
        name = self.metric
        if self.calibration_output and self.stat in ("mean", "side_min", "side_max"):
            name = self.calibration_output
        if self.stat in ("side_min", "side_max"):
            return f"{name} ({side})" if side else name
        if self.stat == "side_diff":
            return f"{name} L–R difference"
        if self.stat == "asymmetry":
            return f"{name} asymmetry"
        return name

    def refs(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class StrideFractionCond:
    column: str
    op: str
    threshold: str
    min_fraction: str
    view: str | None = None

    def evaluate(self, ctx: Context) -> Result:
        thr = ctx.thresholds.get(self.threshold)
        frac_thr = ctx.thresholds.get(self.min_fraction)
        if thr is None or frac_thr is None:
            return Result(SKIP)
        view = self.view or ctx.default_view
        analysis = ctx.views.get(view)
        if analysis is None:
            return Result(None, reasons=[f"no {view}-view recording for {self.column}"], views={view})
        strides = analysis.strides
        if not isinstance(strides, pd.DataFrame) or self.column not in strides.columns:
            return Result(None, reasons=[f"{self.column} is not in the stride table"], views={view})
        df = strides
        if "valid" in df.columns:
            df = df[df["valid"].eq(True)]
        vals = pd.to_numeric(df[self.column], errors="coerce").dropna()
        if vals.empty:
            return Result(None, reasons=[f"no valid strides with {self.column}"], views={view})
        frac = float(OPS[self.op](vals, thr).mean())
        state = frac >= frac_thr
        key = f"{self.column} {threshold_text(self.op, thr, self.column)} (share of strides)"
        out = Result(state, views={view})
        out.evidence.append(Evidence(key, round(frac, 3), f">= {frac_thr:g}", state, None, view))
        out.evidence.append(Evidence(f"{self.column} mean", round(float(vals.mean()), 3), None, None, None, view))
        if state and len(vals) < ctx.quality.min_strides:
            out.notes.append((f"{self.column} rests on only {len(vals)} strides",
                              ctx.quality.few_strides_confidence_factor))
        if not state:
            out.reasons.append(f"{key} = {frac:.0%}, below {frac_thr:.0%}")
        return out

    def refs(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class SpeedCond:
    op: str
    threshold: str
    if_unknown: str = "unknown"  # assume_true | unknown | false

    def evaluate(self, ctx: Context) -> Result:
        thr = ctx.thresholds.get(self.threshold)
        if thr is None:
            return Result(SKIP)
        text = threshold_text(self.op, thr, "speed_mps")
        if ctx.speed_mps is None or not _finite(ctx.speed_mps):
            if self.if_unknown == "assume_true":
                return Result(True, evidence=[Evidence("speed_mps", None, text, None)],
                              notes=[(f"belt speed unknown: speed condition {text} assumed",
                                      ctx.quality.speed_unknown_confidence_factor)])
            if self.if_unknown == "false":
                return Result(False, reasons=["belt speed unknown"])
            return Result(None, reasons=[f"belt speed unknown (rule needs speed {text})"])
        state = OPS[self.op](float(ctx.speed_mps), thr)
        out = Result(state, evidence=[Evidence("speed_mps", round(float(ctx.speed_mps), 3), text, state)])
        if not state:
            out.reasons.append(f"belt speed {ctx.speed_mps:.2f} m/s is outside {text}")
        return out

    def refs(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class FindingRef:
    code: str

    def evaluate(self, ctx: Context) -> Result:
        state = ctx.finding_states.get(self.code)
        out = Result(state)
        if state is True:
            out.with_findings.append(self.code)
        elif state is None:
            out.reasons.append(f"{self.code} could not be judged")
        else:
            out.reasons.append(f"{self.code} not detected")
        return out

    def refs(self) -> set[str]:
        return {self.code}


@dataclass(frozen=True)
class TreadmillCond:
    value: bool

    def evaluate(self, ctx: Context) -> Result:
        if ctx.on_treadmill is None:
            return Result(None, reasons=["surface unknown"])
        state = ctx.on_treadmill == self.value
        return Result(state, reasons=[] if state else ["surface does not match"])

    def refs(self) -> set[str]:
        return set()


Node = Union[All, AnyOf, Not, MetricCond, StrideFractionCond, SpeedCond, FindingRef, TreadmillCond]


def _merge(results: Sequence[Result]) -> Result:
    out = Result(None)
    for r in results:
        out.evidence.extend(r.evidence)
        out.reasons.extend(r.reasons)
        out.notes.extend(r.notes)
        out.sides.extend(r.sides)
        out.views |= r.views
        out.with_findings.extend(r.with_findings)
    return out


def _comparable(ms: MetricSummary, min_side_confidence: float) -> str | None:
    """Why left and right of ``ms`` cannot be compared (None when they can): the analysis withheld the asymmetry
    (``asymmetry_note``: far-leg timing artefact or a poorly measured leg), or a side's leg confidence is below
    ``min_side_confidence`` (issue #14: an asymmetry finding only from legs measured with adequate confidence)."""
    if ms.asymmetry_note:
        return f"{ms.metric} left/right asymmetry {ms.asymmetry_note}"
    low = [f"{'left' if s == 'L' else 'right'} {b.confidence:.2f}" for s, b in sorted(ms.by_side.items())
           if b.confidence is not None and _finite(b.confidence) and b.confidence < min_side_confidence]
    if low:
        return (f"{ms.metric} left/right comparison not assessable: leg measured with low confidence "
                f"({', '.join(low)} < {min_side_confidence:g})")
    left, right = ms.by_side.get("L"), ms.by_side.get("R")
    if (ms.metric.endswith("_ms") and ms.uncertainty is not None and _finite(ms.uncertainty) and left is not None
            and right is not None and _finite(left.mean) and _finite(right.mean)):
        # a time is an interval of two events (±√2 frames, ms.uncertainty); the difference of two such times
        # carries ±2 frames = √2 × that: a smaller left/right difference cannot be told at this frame rate
        resolution = math.sqrt(2.0) * float(ms.uncertainty)
        diff = abs(float(right.mean) - float(left.mean))
        if diff <= resolution:
            return (f"{ms.metric} left/right difference {diff:.0f} ms is within the ±{resolution:.0f} ms (±2 frames) "
                    "this frame rate can resolve: not assessable (film at 120–240 fps to compare the sides)")
    return None


def _stat(ms: MetricSummary, stat: str, metric: str, flag_side: str) -> tuple[float | None, str | None, str | None]:
    """(value, side, reason-if-missing) of one statistic of a metric summary."""
    sides = {s: b for s, b in ms.by_side.items() if b.n > 0 and _finite(b.mean)}
    if stat == "mean":
        return (float(ms.mean), None, None) if _finite(ms.mean) else (None, None, f"{metric} is missing")
    if stat in ("side_min", "side_max"):
        if not sides:
            return (float(ms.mean), None, None) if _finite(ms.mean) else (None, None, f"{metric} is missing")
        pick = min if stat == "side_min" else max
        side = pick(sides, key=lambda s: sides[s].mean)
        return float(sides[side].mean), side, None
    if "L" not in sides or "R" not in sides:
        if stat == "asymmetry" and _finite(ms.asymmetry):
            return abs(float(ms.asymmetry)), None, None  # type: ignore[arg-type]
        return None, None, f"{metric} needs both sides for a left/right comparison"
    left, right = float(sides["L"].mean), float(sides["R"].mean)
    lower = "L" if left < right else "R"
    higher = "R" if lower == "L" else "L"
    side = lower if flag_side == "lower" else higher
    if stat == "side_diff":
        return abs(right - left), side, None
    # asymmetry (M15): R−L difference for angles, symmetry index % for everything else
    if _finite(ms.asymmetry):
        return abs(float(ms.asymmetry)), side, None  # type: ignore[arg-type]
    if metric.endswith("_deg"):
        return abs(right - left), side, None
    mean_lr = (right + left) / 2.0
    if mean_lr == 0:
        return None, None, f"{metric} symmetry index undefined (mean is 0)"
    return abs(100.0 * (right - left) / mean_lr), side, None


# ---------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------


def parse_condition(raw: Any, *, where: str, thresholds: Mapping[str, Any],
                    calibrations: Mapping[str, Calibration] | None = None) -> Node:
    """Parse one YAML condition into a node, raising ConfigError with the location of any mistake."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: a condition must be a non-empty mapping, got {raw!r}")
    keys = set(raw)
    if keys == {"all"} or keys == {"any"}:
        name = next(iter(keys))
        items = raw[name]
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.{name}: must be a non-empty list of conditions")
        children = tuple(parse_condition(c, where=f"{where}.{name}[{i}]", thresholds=thresholds,
                                         calibrations=calibrations)
                         for i, c in enumerate(items))
        return All(children) if name == "all" else AnyOf(children)
    if keys == {"not"}:
        return Not(parse_condition(raw["not"], where=f"{where}.not", thresholds=thresholds,
                                   calibrations=calibrations))
    if keys == {"finding"}:
        code = raw["finding"]
        if not isinstance(code, str) or not code:
            raise ConfigError(f"{where}.finding: must be a rule code")
        return FindingRef(code)
    if keys == {"on_treadmill"}:
        if not isinstance(raw["on_treadmill"], bool):
            raise ConfigError(f"{where}.on_treadmill: must be true or false")
        return TreadmillCond(raw["on_treadmill"])
    if "metric" in keys:
        _only(raw, {"metric", "op", "threshold", "stat", "view", "q1", "flag_side", "calibration"}, where)
        metric = raw["metric"]
        if metric not in KNOWN_METRICS:
            raise ConfigError(f"{where}.metric: unknown metric {metric!r}",
                              hint="use a metric name from backtorun.conventions")
        stat = raw.get("stat", "mean")
        if stat not in STATS:
            raise ConfigError(f"{where}.stat: {stat!r} is not one of {', '.join(STATS)}")
        q1 = raw.get("q1")
        if q1 is not None and q1 not in Q1_KINDS:
            raise ConfigError(f"{where}.q1: {q1!r} is not one of {', '.join(Q1_KINDS)}")
        flag_side = raw.get("flag_side", "lower")
        if flag_side not in ("lower", "higher"):
            raise ConfigError(f"{where}.flag_side: must be lower or higher")
        cal_name = raw.get("calibration")
        cal = None
        if cal_name is not None:
            cal = (calibrations or {}).get(cal_name) if isinstance(cal_name, str) else None
            if cal is None:
                raise ConfigError(f"{where}.calibration: {cal_name!r} is not defined under 'calibrations'",
                                  hint=f"known: {', '.join(sorted(calibrations or {})) or 'none'}")
        return MetricCond(metric=metric, op=_op(raw, where), threshold=_thr(raw, "threshold", where, thresholds),
                          stat=stat, view=_view(raw, where), q1=q1, flag_side=flag_side,
                          calibration=cal_name, calibration_output=cal.output_name if cal is not None else None)
    if "strides" in keys:
        _only(raw, {"strides", "op", "threshold", "min_fraction", "view"}, where)
        column = raw["strides"]
        if not isinstance(column, str) or not column:
            raise ConfigError(f"{where}.strides: must be a stride-table column name")
        return StrideFractionCond(column=column, op=_op(raw, where), threshold=_thr(raw, "threshold", where, thresholds),
                                  min_fraction=_thr(raw, "min_fraction", where, thresholds), view=_view(raw, where))
    if "speed" in keys:
        _only(raw, {"speed", "threshold", "if_unknown"}, where)
        op = raw["speed"]
        if op not in OPS:
            raise ConfigError(f"{where}.speed: operator {op!r} is not one of {' '.join(OPS)}")
        if_unknown = raw.get("if_unknown", "unknown")
        if if_unknown not in ("assume_true", "unknown", "false"):
            raise ConfigError(f"{where}.if_unknown: must be assume_true, unknown or false")
        return SpeedCond(op=op, threshold=_thr(raw, "threshold", where, thresholds), if_unknown=if_unknown)
    raise ConfigError(f"{where}: unknown condition with keys {sorted(keys)}",
                      hint="use all/any/not/metric/strides/speed/finding/on_treadmill")


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(raw) - allowed
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}")


def _op(raw: Mapping[str, Any], where: str) -> str:
    op = raw.get("op")
    if op not in OPS:
        raise ConfigError(f"{where}.op: operator {op!r} is not one of {' '.join(OPS)}")
    return str(op)


def _view(raw: Mapping[str, Any], where: str) -> str | None:
    view = raw.get("view")
    if view is not None and view not in VIEWS:
        raise ConfigError(f"{where}.view: must be side or rear")
    return view


def _thr(raw: Mapping[str, Any], key: str, where: str, thresholds: Mapping[str, Any]) -> str:
    name = raw.get(key)
    if not isinstance(name, str) or name not in thresholds:
        raise ConfigError(f"{where}.{key}: {name!r} is not a threshold named in this rule's thresholds",
                          hint=f"known: {', '.join(sorted(thresholds)) or 'none'}")
    return name
