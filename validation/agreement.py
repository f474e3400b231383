"""Agreement statistics (Bland–Altman) and event matching.

Bias = mean(estimate − truth); 95 % limits of agreement = bias ± 1.96·SD of the differences (Bland & Altman,
Lancet 1986;327:307–310); MAE = mean |estimate − truth|; RMSE = sqrt(mean (estimate − truth)²).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Agreement:
    """Agreement of paired estimates with a reference, in the unit of the metric."""

    n: int
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    mae: float
    rmse: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def agreement(estimate: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> Agreement:
    """Bland–Altman agreement of paired values; pairs with a NaN on either side are dropped."""
    est = np.asarray(estimate, dtype=float)
    ref = np.asarray(truth, dtype=float)
    if est.shape != ref.shape:
        raise ValueError(f"estimate and truth differ in shape: {est.shape} vs {ref.shape}")
    ok = np.isfinite(est) & np.isfinite(ref)
    d = est[ok] - ref[ok]
    n = int(d.size)
    if n == 0:
        nan = float("nan")
        return Agreement(0, nan, nan, nan, nan, nan, nan)
    bias = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    return Agreement(
        n=n, bias=bias, sd=sd, loa_low=bias - 1.96 * sd, loa_high=bias + 1.96 * sd,
        mae=float(np.abs(d).mean()), rmse=float(np.sqrt((d**2).mean())),
    )


def differences_agreement(diff: Sequence[float] | np.ndarray) -> Agreement:
    """Agreement from already-computed differences (estimate − truth)."""
    d = np.asarray(diff, dtype=float)
    return agreement(d, np.zeros_like(d))


@dataclass(frozen=True)
class EventMatch:
    """Nearest-neighbour pairing of estimated with reference event times (same side and kind)."""

    truth_s: np.ndarray  # matched reference times
    estimate_s: np.ndarray  # matched estimated times
    n_truth: int  # reference events inside the scored span
    n_estimate: int  # estimated events inside the scored span
    n_missed: int
    n_extra: int

    @property
    def error_ms(self) -> np.ndarray:
        return (self.estimate_s - self.truth_s) * 1000.0


def match_events(estimate_s: Sequence[float], truth_s: Sequence[float], *, tolerance_s: float,
                 span_s: tuple[float, float] | None = None) -> EventMatch:
    """Pair each reference event with the nearest unused estimated event within ``tolerance_s``.

    Only events inside ``span_s`` (start, end) are scored when given, so that events the detector could not see
    (before the first or after the last analysed frame) do not count as misses.
    """
    est = np.sort(np.asarray(estimate_s, dtype=float))
    ref = np.sort(np.asarray(truth_s, dtype=float))
    lo, hi = span_s if span_s is not None else (-np.inf, np.inf)
    used = np.zeros(est.size, dtype=bool)
    pairs: list[tuple[float, float]] = []
    for t in ref:  # match against every reference event, then score only those inside the span
        if est.size == 0:
            break
        dist = np.abs(est - t)
        dist[used] = np.inf
        j = int(np.argmin(dist))
        if dist[j] <= tolerance_s:
            used[j] = True
            if lo <= t <= hi:
                pairs.append((t, est[j]))
    arr = np.array(pairs, dtype=float).reshape(-1, 2)
    ref_in = int(((ref >= lo) & (ref <= hi)).sum())
    inside = (est >= lo) & (est <= hi)
    return EventMatch(
        truth_s=arr[:, 0], estimate_s=arr[:, 1], n_truth=ref_in, n_estimate=int(inside.sum()),
        n_missed=int(ref_in - len(pairs)), n_extra=int((inside & ~used).sum()),
    )
