"""StrideTable → per-metric summary (mean, SD, CV, n, per side, uncertainty, asymmetry M15) and cycle curves."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from backtorun import conventions as cv
from backtorun.types import GaitEvents, MetricSummary, SideSummary

if TYPE_CHECKING:  # pragma: no cover
    from backtorun.metrics.symmetry import SymmetryAssessment

#: Temporal metrics: asymmetry as symmetry index SI = 100·(R − L)/((R + L)/2) (§3 M15).
TEMPORAL = {cv.CADENCE_SPM, cv.STEP_TIME_MS, cv.STRIDE_TIME_MS, cv.CONTACT_TIME_MS, cv.FLIGHT_TIME_MS,
            cv.DUTY_FACTOR_PCT, cv.STEP_LENGTH_M}
#: Angular measurement error used as uncertainty (§1.6 rule Q1: 5° sagittal joint angles, 3° pelvic drop;
#: lateral trunk lean SDD up to 2.3° [18]).
ANGLE_UNCERTAINTY_DEG = {
    cv.HIP_EXTENSION_DEG: 5.0, cv.THIGH_EXTENSION_DEG: 5.0, cv.TRUNK_LEAN_DEG: 5.0,
    cv.TRUNK_EXTENSION_AT_PUSHOFF_DEG: 5.0, cv.SHANK_ANGLE_IC_DEG: 5.0, cv.KNEE_FLEXION_IC_DEG: 5.0,
    cv.KNEE_FLEXION_PEAK_STANCE_DEG: 5.0, cv.PELVIC_DROP_DEG: 3.0, cv.LATERAL_TRUNK_LEAN_DEG: 2.3,
}


def temporal_uncertainty(metric: str, frame_ms: float, mean_step_ms: float, mean_stride_ms: float) -> float | None:
    """Per-value uncertainty from ±1 frame per event (§2 step 6): an interval of two independent events is ±√2
    frames; cadence and duty factor by propagation of that interval error."""
    d = math.sqrt(2.0) * frame_ms
    if metric in (cv.STEP_TIME_MS, cv.STRIDE_TIME_MS, cv.CONTACT_TIME_MS, cv.FLIGHT_TIME_MS):
        return d
    if metric == cv.CADENCE_SPM and mean_step_ms > 0:
        return 60000.0 * d / mean_step_ms ** 2
    if metric == cv.DUTY_FACTOR_PCT and mean_stride_ms > 0:
        return 100.0 * d / mean_stride_ms
    return None


def _stats(v: np.ndarray) -> tuple[float, float, int]:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"), int(v.size)


def step_times_from_events(events: GaitEvents, *, max_deviation: float = 0.4) -> pd.DataFrame:
    """Step times (ms) between consecutive initial contacts of alternating feet, over all detected ICs in time order.

    A step is IC(foot A) → next IC(foot B ≠ A); a pair of same-foot ICs in a row (the other foot's IC was missed)
    gives no step. Steps further than ``max_deviation`` × median from the median (a missed or spurious event) are
    marked ``kept = False``. Columns: ``side`` (foot of the step's first IC), ``step_time_ms``, ``kept``. (D)
    """
    ics = sorted(events.select(kind="IC"), key=lambda e: e.time_s)
    rows = [{"side": a.side, "step_time_ms": 1000.0 * (b.time_s - a.time_s)}
            for a, b in zip(ics, ics[1:]) if a.side != b.side and b.time_s > a.time_s]
    df = pd.DataFrame(rows, columns=["side", "step_time_ms"])
    if df.empty:
        df["kept"] = pd.Series(dtype=bool)
        return df
    med = float(df["step_time_ms"].median())
    df["kept"] = (df["step_time_ms"] - med).abs() <= max_deviation * med
    return df


def _cadence_from_steps(steps: pd.DataFrame) -> tuple[float, float, int, dict[str, SideSummary]]:
    """Cadence (steps/min) = 60000 / mean(step time) over the kept steps; SD of 60000/step; per side likewise."""
    kept = steps[steps["kept"].astype(bool)] if len(steps) else steps
    st = kept["step_time_ms"].to_numpy(float) if len(kept) else np.zeros(0)
    if st.size == 0:
        return float("nan"), float("nan"), 0, {}
    per_step = 60000.0 / st
    sd = float(per_step.std(ddof=1)) if st.size > 1 else float("nan")
    by_side = {}
    for side in ("L", "R"):
        s = kept[kept["side"] == side]["step_time_ms"].to_numpy(float)
        if s.size:
            ps = 60000.0 / s
            by_side[side] = SideSummary(60000.0 / s.mean(), float(ps.std(ddof=1)) if s.size > 1 else float("nan"),
                                        int(s.size))
        else:
            by_side[side] = SideSummary(float("nan"), float("nan"), 0)
    return 60000.0 / float(st.mean()), sd, int(st.size), by_side


def summarize(table: pd.DataFrame, metrics: list[str], *, frame_ms: float, events: GaitEvents | None = None,
              symmetry: "SymmetryAssessment | None" = None) -> dict[str, MetricSummary]:
    """One MetricSummary per metric over the valid rows. Cadence mean = 60 / mean(step time) (§3 M1).

    With ``symmetry`` (:mod:`backtorun.metrics.symmetry`), each side carries its leg's confidence, and when left and
    right cannot be compared (a leg measured with low confidence, or the far-leg timing artefact) every metric's
    ``asymmetry`` is None with ``asymmetry_note`` saying why; means and per-side values are unchanged.

    With ``events``, cadence and step time come from all detected ICs in time order
    (:func:`step_times_from_events`: every step between alternating feet, outlier steps dropped), not only from the
    valid rows — far-leg rows are often marked invalid, and step times of one leg's rows alone carry that leg's
    event-timing bias (IC(near) → IC(far) is lengthened by a late far-leg IC, IC(far) → IC(near) shortened).
    """
    out: dict[str, MetricSummary] = {}
    valid = table[table["valid"].astype(bool)] if not table.empty else table
    steps = step_times_from_events(events) if events is not None else None
    if steps is not None and steps["kept"].astype(bool).sum() >= 2:
        kept = steps[steps["kept"].astype(bool)]
        mean_step = float(kept["step_time_ms"].mean())
        mean_stride = 2.0 * mean_step
        cad = _cadence_from_steps(steps)
        for name in (cv.CADENCE_SPM, cv.STEP_TIME_MS):
            if name not in metrics:
                continue
            if name == cv.CADENCE_SPM:
                mean, sd, n, by_side = cad
            else:
                v = kept["step_time_ms"].to_numpy(float)
                mean, sd, n = _stats(v)
                by_side = {s: SideSummary(*_stats(kept[kept["side"] == s]["step_time_ms"].to_numpy(float)))
                           for s in ("L", "R")}
            l, r = by_side.get("L"), by_side.get("R")
            asym = None
            if l and r and l.n and r.n and np.isfinite(l.mean) and np.isfinite(r.mean) and (l.mean + r.mean):
                asym = 100.0 * (r.mean - l.mean) / ((l.mean + r.mean) / 2)
            cvp = 100.0 * sd / abs(mean) if (n > 1 and np.isfinite(sd) and mean) else float("nan")
            out[name] = MetricSummary(metric=name, mean=mean, sd=sd, cv_pct=cvp, n=n, by_side=by_side,
                                      uncertainty=temporal_uncertainty(name, frame_ms, mean_step, mean_stride),
                                      asymmetry=asym)
    mean_step = float(valid[cv.STEP_TIME_MS].mean()) if cv.STEP_TIME_MS in valid and len(valid) else float("nan")
    mean_stride = float(valid[cv.STRIDE_TIME_MS].mean()) if cv.STRIDE_TIME_MS in valid and len(valid) else float("nan")
    for name in metrics:
        if name not in valid or name in out:
            continue
        vals = valid[name].to_numpy(dtype=float)
        mean, sd, n = _stats(vals)
        if name == cv.CADENCE_SPM:
            steps = valid[cv.STEP_TIME_MS].to_numpy(dtype=float)
            steps = steps[np.isfinite(steps)]
            mean = 60000.0 / steps.mean() if steps.size else float("nan")
        by_side = {}
        for side in ("L", "R"):
            sv = valid[valid["side"] == side][name].to_numpy(dtype=float)
            sm, ssd, sn = _stats(sv)
            if name == cv.CADENCE_SPM and sn:
                st = valid[valid["side"] == side][cv.STEP_TIME_MS].to_numpy(dtype=float)
                st = st[np.isfinite(st)]
                sm = 60000.0 / st.mean() if st.size else sm
            by_side[side] = SideSummary(sm, ssd, sn)
        asym = None
        l, r = by_side["L"], by_side["R"]
        if l.n and r.n and np.isfinite(l.mean) and np.isfinite(r.mean):
            if name in TEMPORAL:
                den = (l.mean + r.mean) / 2
                asym = 100.0 * (r.mean - l.mean) / den if den else None
            else:
                asym = r.mean - l.mean
        unc = ANGLE_UNCERTAINTY_DEG.get(name)
        if unc is None:
            unc = temporal_uncertainty(name, frame_ms, mean_step, mean_stride)
        cvp = 100.0 * sd / abs(mean) if (n > 1 and np.isfinite(sd) and mean) else float("nan")
        out[name] = MetricSummary(metric=name, mean=mean, sd=sd, cv_pct=cvp, n=n, by_side=by_side,
                                  uncertainty=unc, asymmetry=asym)
    return with_symmetry(out, symmetry) if symmetry is not None else out


def with_symmetry(summary: Mapping[str, MetricSummary],
                  symmetry: "SymmetryAssessment") -> dict[str, MetricSummary]:
    """``summary`` with each side's leg confidence, and every asymmetry withheld ("not assessable") when
    ``symmetry`` says left and right cannot be compared."""
    out = {}
    for name, ms in summary.items():
        by_side = {s: replace(b, confidence=symmetry.confidence(s)) for s, b in ms.by_side.items()}
        if symmetry.assessable:
            out[name] = replace(ms, by_side=by_side)
        else:
            out[name] = replace(ms, by_side=by_side, asymmetry=None, asymmetry_note=symmetry.reason)
    return out


def cycle_curves(series: Mapping[str, Mapping[str, np.ndarray]], table: pd.DataFrame,
                 frame_to_row: Any, n_points: int = 101) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Gait-cycle-normalised curves: each valid stride [IC, next IC) of a side resampled to 0–100 % (101 points);
    mean and SD per side. ``series[name][side]`` is a per-frame signal (side-independent signals repeat)."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    if table.empty:
        return out
    valid = table[table["valid"].astype(bool)]
    pct = np.linspace(0.0, 1.0, n_points)
    for name, per_side in series.items():
        out[name] = {}
        for side in ("L", "R"):
            sig = per_side.get(side)
            if sig is None:
                continue
            cycles = []
            for _, r in valid[valid["side"] == side].iterrows():
                a, b = frame_to_row(int(r["start_frame"])), frame_to_row(int(r["end_frame"]))
                seg = sig[a:b + 1]
                if seg.size < 3 or not np.isfinite(seg).all():
                    continue
                cycles.append(np.interp(pct, np.linspace(0.0, 1.0, seg.size), seg))
            if cycles:
                arr = np.array(cycles)
                sd = arr.std(axis=0, ddof=1) if len(cycles) > 1 else np.full(n_points, np.nan)
                out[name][side] = {"mean": arr.mean(axis=0).tolist(), "sd": sd.tolist(), "n": len(cycles)}  # type: ignore[dict-item]
        if not out[name]:
            del out[name]
    return out
