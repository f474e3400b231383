"""Can left and right be compared? Per-leg measurement confidence and the far-leg timing-artefact guard (issue #14).

In a side view the far leg is often hidden behind the near one: its foot landmarks are less visible and noisier, its
events are refused or placed on interpolated frames, and a far-leg contact called a few frames late makes step
times alternate long/short (IC near → IC far lengthened, IC far → IC near shortened) while the stride time stays
steady — a false step-time asymmetry. Two measures guard against that:

* **Per-leg confidence** (:func:`leg_quality`), in [0, 1], the product of
  - the leg's median foot-landmark visibility (ankle, heel, toe; BlazePose visibility, 1 for marker data),
  - a jitter factor ``1/(1 + (σ/σ_ref)²)``: σ = the foot's height jitter on the belt (:func:`foot_jitter_px`, leg
    lengths; at low frame rates it also holds the foot's real motion, alike for both legs), σ_ref =
    ``leg_jitter_ref_leg``,
  - the event yield: the leg's stances ÷ the better leg's stances (refused or rhythm-dropped events lower it),
  - the share of its events placed on seen frames (each of ankle, heel and toe with visibility above
    ``leg_hidden_visibility``; gap-filled landmarks carry the cleaning threshold, 0.5, as visibility, so an event on
    an interpolated foot counts as unseen).
* **Rhythm check** (:func:`rhythm_symmetry_index_pct`): the step-time symmetry index implied by the legs' swing
  rhythm — the lag τ between the two feet's fore-aft trajectories (heel relative to the pelvis, whole clip, by
  cross-correlation), SI = 100·((T − τ) − τ)/(T/2) for stride T — which uses every frame of the swing, not the
  few frames around a hidden touch-down. When the event-based SI differs from it by more than
  ``rhythm_si_tolerance_pct``, the legs disagree: the asymmetry is an artefact of event timing.

Left/right asymmetry is assessable only when both legs reach ``min_leg_confidence`` and the two SIs agree. (D)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from backtorun.conventions import L_HIP, R_HIP, SIDE_LANDMARKS, Side
from backtorun.events.detect import foot_jitter_px
from backtorun.settings import StrideSettings
from backtorun.types import GaitEvents, PoseSeries

#: Flag codes of :class:`SymmetryAssessment` (raised by the capture check).
ARTEFACT_CODE = "STEP_TIMING_ARTEFACT"
LOW_CONFIDENCE_CODE = "ASYMMETRY_NOT_ASSESSABLE"


@dataclass(frozen=True)
class LegQuality:
    """How well one leg was measured: the factors of its confidence (module docstring) and their product."""

    side: Side
    leg: str  # "near", "far" or "unknown"
    visibility: float
    jitter_leg: float  # foot-height jitter SD on the belt, leg lengths (NaN: not measurable)
    event_yield: float
    seen_event_fraction: float
    confidence: float


@dataclass(frozen=True)
class SymmetryAssessment:
    """Whether left/right asymmetry can be reported, and why not.

    event_si_pct: step-time SI from the detected ICs (as in the summary); rhythm_si_pct: SI implied by the legs'
    swing rhythm; artefact: the two disagree (step times alternate long/short while the rhythm is even);
    reason: one line for the summary ("not assessable: …") and the quality flag; None when assessable."""

    legs: Mapping[str, LegQuality] = field(default_factory=dict)
    event_si_pct: float = float("nan")
    rhythm_si_pct: float = float("nan")
    artefact: bool = False
    reason: str | None = None
    low_confidence_sides: tuple[str, ...] = ()

    @property
    def assessable(self) -> bool:
        return self.reason is None

    def confidence(self, side: str) -> float | None:
        q = self.legs.get(side)
        return q.confidence if q is not None else None


def _foot_visibility(pose: PoseSeries, side: Side) -> np.ndarray:
    """Per frame: visibility of the foot's ankle, heel and toe (frames × 3; missing = 0)."""
    lm = SIDE_LANDMARKS[side]
    return np.nan_to_num(pose.visibility[:, [lm["ankle"], lm["heel"], lm["toe"]]], nan=0.0)


def leg_quality(pose: PoseSeries, events: GaitEvents, *, leg_length_px: float, near_side: Side | None,
                settings: StrideSettings, frame_to_row: Callable[[int], int]) -> dict[str, LegQuality]:
    """Per-leg confidence of ``events`` measured on ``pose`` (the cleaned, unfiltered pose; module docstring)."""
    counts = {s: len(events.select(side=s, kind="IC")) for s in ("L", "R")}
    best = max(counts.values()) if counts else 0
    out: dict[str, LegQuality] = {}
    for side in ("L", "R"):
        foot = _foot_visibility(pose, side)
        vis, worst = foot.mean(axis=1), foot.min(axis=1)
        present = vis > 0
        visibility = float(np.median(vis[present])) if present.any() else 0.0
        jitter_px = foot_jitter_px(pose, leg_length_px=leg_length_px, sides=(side,)) if leg_length_px > 0 else np.nan
        jitter = jitter_px / leg_length_px if leg_length_px > 0 and np.isfinite(jitter_px) else float("nan")
        j_factor = 1.0 / (1.0 + (jitter / settings.leg_jitter_ref_leg) ** 2) if np.isfinite(jitter) else 1.0
        own = [e for e in events if e.side == side]
        yield_ = counts[side] / best if best else 0.0
        seen = (float(np.mean([worst[frame_to_row(e.frame)] > settings.leg_hidden_visibility for e in own]))
                if own else 0.0)
        leg = "unknown" if near_side is None else ("near" if side == near_side else "far")
        out[side] = LegQuality(side=side, leg=leg, visibility=visibility, jitter_leg=jitter, event_yield=yield_,
                               seen_event_fraction=seen, confidence=visibility * j_factor * yield_ * seen)
    return out


def rhythm_symmetry_index_pct(pose: PoseSeries, *, forward: int, stride_frames: float) -> float:
    """Step-time SI (%) implied by the lag τ (frames) of the right foot's fore-aft trajectory behind the left's.

    Signal per foot: f·(x_heel − x_HIPMID) (ankle where the heel is missing), gaps interpolated, standardised.
    τ = argmax over [T/4, 3T/4] of the mean product L(t)·R(t + τ), refined by a parabola; a left step
    (left IC → right IC) lasts τ, a right step T − τ, so SI = 100·((T − τ) − τ)/(T/2) (conventions.md M15).
    NaN when a foot has too few samples or T is unknown. (D)"""
    if not (np.isfinite(stride_frames) and stride_frames > 4):
        return float("nan")
    hip = (pose.xy[:, L_HIP, 0] + pose.xy[:, R_HIP, 0]) / 2
    sig = {}
    for side in ("L", "R"):
        lm = SIDE_LANDMARKS[side]
        x = np.where(np.isfinite(pose.xy[:, lm["heel"], 0]), pose.xy[:, lm["heel"], 0], pose.xy[:, lm["ankle"], 0])
        d = forward * (x - hip)
        if np.isfinite(d).sum() < 2 * stride_frames:
            return float("nan")
        ok = np.isfinite(d)
        idx = np.arange(d.size)
        d = np.interp(idx, idx[ok], d[ok])  # gaps linearly, the ends held
        sd = float(np.std(d))
        if sd == 0:
            return float("nan")
        sig[side] = (d - d.mean()) / sd
    a, b = sig["L"], sig["R"]
    n = a.size
    lags = np.arange(max(1, int(np.floor(0.25 * stride_frames))), int(np.ceil(0.75 * stride_frames)) + 1)
    lags = lags[lags < n - 2]
    if lags.size < 3:
        return float("nan")
    cc = np.array([np.mean(a[:n - k] * b[k:]) for k in lags])
    k = int(np.argmax(cc))
    tau = float(lags[k])
    if 0 < k < lags.size - 1:
        y0, y1, y2 = cc[k - 1], cc[k], cc[k + 1]
        den = y0 - 2 * y1 + y2
        if den != 0:
            tau += 0.5 * (y0 - y2) / den
    return 100.0 * ((stride_frames - tau) - tau) / (stride_frames / 2.0)


def event_symmetry_index_pct(events: GaitEvents) -> tuple[float, float, float]:
    """(SI %, mean left step ms, mean right step ms) of the kept steps between alternating ICs, as the summary
    computes them (:func:`backtorun.metrics.summary.step_times_from_events`)."""
    from backtorun.metrics.summary import step_times_from_events

    steps = step_times_from_events(events)
    kept = steps[steps["kept"].astype(bool)] if len(steps) else steps
    means = {s: float(kept[kept["side"] == s]["step_time_ms"].mean()) if (kept["side"] == s).any() else float("nan")
             for s in ("L", "R")}
    left, right = means["L"], means["R"]
    if not (np.isfinite(left) and np.isfinite(right)) or left + right == 0:
        return float("nan"), left, right
    return 100.0 * (right - left) / ((right + left) / 2.0), left, right


def stride_frames_from_events(events: GaitEvents, fs_hz: float) -> tuple[float, float]:
    """(median stride period in frames, stride-time CV %) from same-foot IC intervals; NaN when unknown."""
    d: list[float] = []
    for side in ("L", "R"):
        t = np.array([e.time_s for e in events.select(side=side, kind="IC")])
        d += np.diff(t).tolist()
    if not d:
        return float("nan"), float("nan")
    arr = np.asarray(d)
    med = float(np.median(arr))
    arr = arr[np.abs(arr - med) <= 0.4 * med]  # missed events make double strides
    cv_pct = float(100.0 * arr.std(ddof=1) / arr.mean()) if arr.size > 1 else float("nan")
    return med * fs_hz, cv_pct


def assess_symmetry(pose: PoseSeries, events_pose: PoseSeries, events: GaitEvents, *, forward: int,
                    leg_length_px: float, near_side: Side | None, fs_hz: float, settings: StrideSettings,
                    frame_to_row: Callable[[int], int]) -> SymmetryAssessment:
    """Per-leg confidence and the artefact guard (module docstring): ``pose`` the cleaned unfiltered pose (for
    visibility and jitter), ``events_pose`` the pose the events were detected on (for the rhythm)."""
    legs = leg_quality(pose, events, leg_length_px=leg_length_px, near_side=near_side, settings=settings,
                       frame_to_row=frame_to_row)
    event_si, left_ms, right_ms = event_symmetry_index_pct(events)
    stride_frames, stride_cv = stride_frames_from_events(events, fs_hz)
    rhythm_si = rhythm_symmetry_index_pct(events_pose, forward=forward, stride_frames=stride_frames)
    low = tuple(s for s, q in legs.items() if q.confidence < settings.min_leg_confidence)
    artefact = bool(np.isfinite(event_si) and np.isfinite(rhythm_si)
                    and abs(event_si - rhythm_si) > settings.rhythm_si_tolerance_pct)
    reason = None
    if artefact:
        reason = (f"not assessable: the foot contacts give step times alternating left {left_ms:.0f} ms / right "
                  f"{right_ms:.0f} ms (SI {event_si:+.1f} %) but the legs' swing rhythm gives SI {rhythm_si:+.1f} %"
                  + (f" (stride time CV {stride_cv:.1f} %)" if np.isfinite(stride_cv) else "")
                  + ": the two legs disagree, so one leg's contacts (usually the far leg's, hidden behind the near "
                    "one) are probably mistimed and the difference is not shown as an asymmetry")
    elif low:
        names = ", ".join(f"{'left' if s == 'L' else 'right'} ({legs[s].leg} leg) {legs[s].confidence:.2f}"
                          for s in low)
        reason = (f"not assessable: measured with low confidence: {names} < {settings.min_leg_confidence:g} "
                  "(foot hidden, noisy or events refused)")
    return SymmetryAssessment(legs=legs, event_si_pct=event_si, rhythm_si_pct=rhythm_si, artefact=artefact,
                              reason=reason, low_confidence_sides=low)
