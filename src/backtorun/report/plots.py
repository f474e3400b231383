"""Report plots (matplotlib, no pyplot state): per-step values with the mean ± SD per side against the normal band,
joint-angle curves over the gait cycle (mean ± SD per side), and weekly running volume.

Every function writes one PNG and returns its path, or ``None`` when there is nothing to plot (the report then
says "not assessed" instead of showing an empty chart).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from backtorun.types import GaitAnalysis

log = logging.getLogger(__name__)

SIDE_COLOURS = {"L": "#1f6fb2", "R": "#d4622a", "all": "#444444"}
BAND_COLOUR = "#7fbf7f"
DPI = 100

#: Metrics shown in the per-stride plots, in order (only those the analysis has are drawn).
SIDE_PLOT_METRICS = (
    "cadence_spm", "contact_time_ms", "vertical_oscillation_cm", "vertical_ratio_pct", "hip_extension_deg",
    "trunk_lean_deg", "trunk_extension_at_pushoff_deg", "shank_angle_ic_deg", "knee_flexion_peak_stance_deg",
)
REAR_PLOT_METRICS = ("pelvic_drop_deg", "arm_crossover_ratio", "lateral_trunk_lean_deg")


def _label(ranges: Mapping[str, Any], metric: str) -> str:
    info = ranges.get(metric, {})
    unit = info.get("unit") or ""
    return f"{info.get('label', metric)}" + (f" ({unit})" if unit else "")


def _band(ax: Any, info: Mapping[str, Any], horizontal: bool = True) -> None:
    low, high = info.get("low"), info.get("high")
    if low is None and high is None:
        return
    lo = low if low is not None else -1e9
    hi = high if high is not None else 1e9
    if horizontal:
        ax.axhspan(lo, hi, color=BAND_COLOUR, alpha=0.22, lw=0, zorder=0)
    else:
        ax.axvspan(lo, hi, color=BAND_COLOUR, alpha=0.22, lw=0, zorder=0)


def _layout(fig: Figure, nrows: int) -> None:
    """Fixed margins (tight_layout draws the figure twice, which doubles the plotting time); few ticks."""
    for ax in fig.axes:
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(4))
    h, w = fig.get_figheight(), fig.get_figwidth()
    fig.subplots_adjust(left=0.55 / w, right=1 - 0.2 / w, top=1 - 0.62 / h, bottom=0.38 / h, wspace=0.32,
                        hspace=0.55 if nrows > 1 else 0.2)


def _finite(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def stride_plot(analysis: GaitAnalysis, ranges: Mapping[str, Any], path: Path, *, metrics: Sequence[str],
                title: str) -> Path | None:
    """Small multiples: each metric's per-step values (dots, by side) and the mean ± SD per side (squares at the
    right of the dotted line), against the shaded typical band."""
    strides = analysis.strides
    if strides is None or strides.empty:
        return None
    if "valid" in strides.columns:
        strides = strides[strides["valid"].fillna(False).astype(bool)]
    cols = [m for m in metrics if m in strides.columns and _finite(strides[m]).size > 0]
    if not cols:
        return None
    ncols = 3
    nrows = math.ceil(len(cols) / ncols)
    fig = Figure(figsize=(7.2, 1.85 * nrows + 0.4), dpi=DPI)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    side_col = "side" if "side" in strides.columns else None
    for ax, metric in zip(axes.flat, cols):
        info = ranges.get(metric, {})
        x_all = np.arange(len(strides))
        n = len(strides)
        groups = [(s, (strides[side_col] == s).to_numpy()) for s in ("L", "R")] if side_col else [
            ("all", np.ones(n, dtype=bool))]
        for k, (side, mask) in enumerate(groups):
            y = strides[metric].to_numpy(dtype=float)[mask]
            ax.plot(x_all[mask], y, "o", ms=3.0, color=SIDE_COLOURS[side], label=None if side == "all" else side)
            # mean ± SD of this side, drawn to the right of the steps
            yf = y[np.isfinite(y)]
            if yf.size:
                sd = float(yf.std(ddof=1)) if yf.size > 1 else 0.0
                ax.errorbar([n + 1.5 + 1.6 * k], [float(yf.mean())], yerr=[sd], fmt="s", ms=4, capsize=2.5, lw=1.2,
                            color=SIDE_COLOURS[side])
        ax.axvline(n + 0.4, color="#999999", lw=0.6, ls=":")
        ax.set_xlim(-1, n + 2.5 + 1.6 * (len(groups) - 1))
        y = _finite(strides[metric])
        pad = max(1e-6, 0.15 * (y.max() - y.min()) if y.size > 1 else abs(y[0]) * 0.1 + 1)
        lo, hi = y.min() - pad, y.max() + pad
        for bound in (info.get("low"), info.get("high")):
            if bound is not None:
                lo, hi = min(lo, bound - pad * 0.5), max(hi, bound + pad * 0.5)
        ax.set_ylim(lo, hi)
        _band(ax, info)
        ax.set_title(_label(ranges, metric), fontsize=7.5)
        ax.tick_params(labelsize=6.5)
        ax.set_xlabel("step", fontsize=6.5)
        ax.grid(alpha=0.25, lw=0.5)
    for ax in list(axes.flat)[len(cols):]:
        ax.set_visible(False)
    if side_col:
        axes.flat[0].legend(fontsize=6, loc="best", frameon=False)
    fig.suptitle(title, fontsize=9)
    _layout(fig, nrows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def curves_plot(curves: Mapping[str, Any], labels: Mapping[str, str], path: Path, *, title: str) -> Path | None:
    """Joint-angle curves over the gait cycle (0–100 % from initial contact): mean ± SD band per side."""
    names = [n for n, by_side in curves.items() if isinstance(by_side, Mapping) and any(
        isinstance(v, Mapping) and _finite(v.get("mean", [])).size for v in by_side.values())]
    if not names:
        return None
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(min(7.2, 2.6 * ncols + 0.6), 2.0 * nrows + 0.4), dpi=DPI)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, names):
        for side, stats in curves[name].items():
            if not isinstance(stats, Mapping):
                continue
            mean = np.asarray([np.nan if v is None else v for v in stats.get("mean", [])], dtype=float)
            if not np.isfinite(mean).any():
                continue
            sd = np.asarray([np.nan if v is None else v for v in stats.get("sd", [0.0] * len(mean))], dtype=float)
            if sd.shape != mean.shape:
                sd = np.zeros_like(mean)
            x = np.linspace(0, 100, len(mean))
            colour = SIDE_COLOURS.get(side, SIDE_COLOURS["all"])
            ax.plot(x, mean, color=colour, lw=1.3, label=side)
            ax.fill_between(x, mean - np.nan_to_num(sd), mean + np.nan_to_num(sd), color=colour, alpha=0.18, lw=0)
        ax.set_title(labels.get(name, name), fontsize=7.5)
        ax.set_xlabel("% of stride from contact", fontsize=6.5)
        ax.set_ylabel("degrees", fontsize=6.5)
        ax.tick_params(labelsize=6.5)
        ax.grid(alpha=0.25, lw=0.5)
        ax.set_xlim(0, 100)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6, frameon=False)
    fig.suptitle(title, fontsize=9)
    _layout(fig, nrows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def weekly_volume_plot(weeks: Sequence[tuple[str, float]], path: Path, *, flagged: Sequence[str] = ()) -> Path | None:
    """Bar chart of weekly running distance (km); weeks named in ``flagged`` are highlighted."""
    if not weeks:
        return None
    labels = [w for w, _ in weeks]
    km = [float(v) if v is not None else 0.0 for _, v in weeks]
    fig = Figure(figsize=(7.2, 2.4), dpi=DPI)
    ax = fig.subplots()
    colours = ["#d4622a" if w in set(flagged) else "#1f6fb2" for w in labels]
    ax.bar(range(len(km)), km, color=colours)
    ax.set_xticks(range(len(km)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=6.5)
    ax.set_ylabel("km per week", fontsize=7)
    ax.tick_params(axis="y", labelsize=6.5)
    ax.grid(alpha=0.25, lw=0.5, axis="y")
    ax.set_title("Weekly running distance" + (" (orange: rapid increase)" if flagged else ""), fontsize=8.5)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
