"""Score detected gait events against reference labels (hand labels, force plates).

Label CSV columns: ``frame, foot, side, event, confidence`` (+ optional ``note``); ``foot`` is near/far, ``side`` is
L/R/?, ``event`` IC/TO, ``confidence`` high/medium/low, ``frame`` 0-based decode order. Used by the tests and by
``validation/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
import pandas as pd

from backtorun.errors import InputError
from backtorun.types import GaitEvents

MatchOn = Literal["leg", "side"]


def load_event_labels(path: str | Path) -> pd.DataFrame:
    """Read a label CSV into a DataFrame with columns frame (int), leg, side, kind, confidence."""
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read event labels {path}: {exc}", hint="expected CSV columns frame,foot,side,event,confidence") from exc
    missing = {"frame", "event"} - set(df.columns)
    if missing:
        raise InputError(f"event label file {path} lacks columns {sorted(missing)}",
                         hint="expected CSV columns frame,foot,side,event,confidence")
    out = pd.DataFrame({
        "frame": df["frame"].astype(int),
        "leg": df["foot"].astype(str).str.lower() if "foot" in df else "?",
        "side": df["side"].astype(str).str.upper() if "side" in df else "?",
        "kind": df["event"].astype(str).str.upper(),
        "confidence": df["confidence"].astype(str).str.lower() if "confidence" in df else "high",
    })
    return out


@dataclass(frozen=True)
class GroupScore:
    n_labels: int
    n_hits: int
    hit_rate: float
    mean_error_frames: float  # detected − label, over matched labels
    mean_abs_error_frames: float
    n_missed: int


@dataclass(frozen=True)
class EventScore:
    """Hit rate within ±``tolerance_frames`` overall and per (leg or side, kind)."""

    tolerance_frames: int
    overall: GroupScore
    groups: dict[str, GroupScore] = field(default_factory=dict)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per label: group, label frame, det frame, error

    def summary_lines(self) -> list[str]:
        lines = [f"all: {self.overall.n_hits}/{self.overall.n_labels} within ±{self.tolerance_frames} "
                 f"({100 * self.overall.hit_rate:.0f} %), mean error {self.overall.mean_error_frames:+.2f} frames"]
        for k, g in sorted(self.groups.items()):
            lines.append(f"{k}: {g.n_hits}/{g.n_labels} ({100 * g.hit_rate:.0f} %), mean {g.mean_error_frames:+.2f}, "
                         f"MAE {g.mean_abs_error_frames:.2f} frames")
        return lines


def _group_score(err: np.ndarray, tol: int) -> GroupScore:
    n = err.size
    matched = err[np.isfinite(err)]
    hits = int(np.sum(np.abs(matched) <= tol))
    return GroupScore(
        n_labels=int(n), n_hits=hits, hit_rate=hits / n if n else float("nan"),
        mean_error_frames=float(matched.mean()) if matched.size else float("nan"),
        mean_abs_error_frames=float(np.abs(matched).mean()) if matched.size else float("nan"),
        n_missed=int(n - matched.size),
    )


def score_events(events: GaitEvents, labels: pd.DataFrame, *, tolerance_frames: int = 1,
                 confidences: Iterable[str] | None = ("high", "medium"), match_on: MatchOn = "leg",
                 legs: Iterable[str] | None = None, max_match_frames: int = 5) -> EventScore:
    """Match each label to the nearest unused detection of the same kind and leg (or side).

    A label with no detection within ``max_match_frames`` counts as missed (a miss is not a hit). Hit = |error| ≤
    ``tolerance_frames``. ``legs`` restricts the labels scored (e.g. ``["near"]``).
    """
    lab = labels
    if confidences is not None:
        lab = lab[lab["confidence"].isin(list(confidences))]
    if legs is not None:
        lab = lab[lab["leg"].isin(list(legs))]
    det = events.to_frame()
    rows = []
    for (key, kind), grp in lab.groupby([match_on, "kind"]):
        cand = det[(det[match_on] == key) & (det["kind"] == kind)]["frame"].to_numpy()
        used = np.zeros(cand.size, dtype=bool)
        # greedy matching, closest pairs first
        pairs = sorted(((abs(int(c) - int(f)), i, j) for i, f in enumerate(grp["frame"]) for j, c in enumerate(cand)),
                       key=lambda t: t[0])
        assigned: dict[int, int] = {}
        for d, i, j in pairs:
            if d > max_match_frames or i in assigned or used[j]:
                continue
            assigned[i] = j
            used[j] = True
        for i, f in enumerate(grp["frame"]):
            det_frame = int(cand[assigned[i]]) if i in assigned else None
            rows.append({"group": f"{key}-{kind}", "label_frame": int(f), "det_frame": det_frame,
                         "error": (det_frame - int(f)) if det_frame is not None else np.nan})
    errs = pd.DataFrame(rows, columns=["group", "label_frame", "det_frame", "error"])
    groups = {g: _group_score(e["error"].to_numpy(dtype=float), tolerance_frames) for g, e in errs.groupby("group")}
    overall = _group_score(errs["error"].to_numpy(dtype=float), tolerance_frames)
    return EventScore(tolerance_frames, overall, groups, errs)


def cadence_from_labels(labels: pd.DataFrame, fps: float) -> float:
    """Steps per minute from labelled initial contacts of both feet: 60 / mean interval between consecutive ICs."""
    ic = np.sort(labels[labels["kind"] == "IC"]["frame"].to_numpy())
    if ic.size < 2:
        return float("nan")
    return float(60.0 * fps / np.mean(np.diff(ic)))
