"""Agreement between two independent labellers of one clip, and the consensus label set used for scoring.

Pairing: within each (foot, side, event) group, the closest pairs of the two labellers' frames are taken first
(greedy, each label used once) while |frame₂ − frame₁| ≤ the match window; the rest are "only labeller 1/2".
Difference = frame₂ − frame₁. A pair's confidence is the lower of the two labellers' confidences.

Consensus (issue #14 protocol): an event is in the consensus only when both labellers marked it; its frame is the
mean of the two frames when they differ by at most ``max_diff_frames`` (it may be a half frame), otherwise the event
is kept but flagged and is not scored. With a single labeller (mini_run) the labels are the consensus.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from backtorun.events.scoring import load_event_labels

log = logging.getLogger(__name__)

#: Lower confidence wins when two labels are paired.
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
GROUP = ["leg", "side", "kind"]
PAIR_COLUMNS = ["leg", "side", "kind", "frame_1", "frame_2", "confidence_1", "confidence_2", "diff_frames",
                "confidence"]
CONSENSUS_COLUMNS = ["frame", "foot", "side", "event", "confidence", "frame_1", "frame_2", "flagged", "note"]


def lower_confidence(a: str, b: str) -> str:
    """The lower of two confidence words (low < medium < high); an unknown word counts as low."""
    return a if CONFIDENCE_RANK.get(a, 0) <= CONFIDENCE_RANK.get(b, 0) else b


def pair_labels(a: pd.DataFrame, b: pd.DataFrame, *, max_frames: float) -> pd.DataFrame:
    """Pair two labellers' events (tables as from ``load_event_labels``); one row per pair or unpaired label.

    Unpaired labels have NaN in the other labeller's frame and diff. Columns: :data:`PAIR_COLUMNS`.
    """
    rows: list[dict[str, Any]] = []
    keys = sorted(set(map(tuple, a[GROUP].to_numpy())) | set(map(tuple, b[GROUP].to_numpy())))
    for key in keys:
        ga = a[(a[GROUP] == pd.Series(key, index=GROUP)).all(axis=1)].reset_index(drop=True)
        gb = b[(b[GROUP] == pd.Series(key, index=GROUP)).all(axis=1)].reset_index(drop=True)
        cand = sorted((abs(float(fb) - float(fa)), i, j) for i, fa in enumerate(ga["frame"])
                      for j, fb in enumerate(gb["frame"]))
        ia: dict[int, int] = {}
        used_b: set[int] = set()
        for d, i, j in cand:
            if d <= max_frames and i not in ia and j not in used_b:
                ia[i] = j
                used_b.add(j)
        base = dict(zip(GROUP, key))
        for i, ra in ga.iterrows():
            j = ia.get(int(i))
            if j is None:
                rows.append({**base, "frame_1": float(ra["frame"]), "frame_2": np.nan, "confidence_1": ra["confidence"],
                             "confidence_2": None, "diff_frames": np.nan, "confidence": ra["confidence"]})
                continue
            rb = gb.loc[j]
            rows.append({**base, "frame_1": float(ra["frame"]), "frame_2": float(rb["frame"]),
                         "confidence_1": ra["confidence"], "confidence_2": rb["confidence"],
                         "diff_frames": float(rb["frame"]) - float(ra["frame"]),
                         "confidence": lower_confidence(ra["confidence"], rb["confidence"])})
        for j, rb in gb.iterrows():
            if int(j) not in used_b:
                rows.append({**base, "frame_1": np.nan, "frame_2": float(rb["frame"]), "confidence_1": None,
                             "confidence_2": rb["confidence"], "diff_frames": np.nan, "confidence": rb["confidence"]})
    out = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    return out.sort_values(by=["frame_1", "frame_2"], key=lambda s: s.fillna(np.inf)).reset_index(drop=True)


@dataclass(frozen=True)
class DiffStats:
    """Labeller differences (frame₂ − frame₁) of paired events."""

    n: int
    mean_frames: float
    mean_abs_frames: float
    max_abs_frames: float
    within_1_frame: int
    within_2_frames: int

    @classmethod
    def of(cls, diff: Sequence[float] | np.ndarray) -> "DiffStats":
        d = np.asarray(diff, dtype=float)
        d = d[np.isfinite(d)]
        if d.size == 0:
            nan = float("nan")
            return cls(0, nan, nan, nan, 0, 0)
        ad = np.abs(d)
        return cls(int(d.size), float(d.mean()), float(ad.mean()), float(ad.max()), int((ad <= 1).sum()),
                   int((ad <= 2).sum()))


@dataclass(frozen=True)
class LabellerAgreement:
    """Inter-labeller agreement of one clip."""

    n_labeller_1: int
    n_labeller_2: int
    n_paired: int
    n_only_1: int
    n_only_2: int
    overall: DiffStats
    by_confidence: dict[str, DiffStats] = field(default_factory=dict)  # pair confidence (lower of the two)
    by_group: dict[str, DiffStats] = field(default_factory=dict)  # "near-IC", …


def labeller_agreement(pairs: pd.DataFrame) -> LabellerAgreement:
    """Counts and frame differences of a :func:`pair_labels` table, overall, by pair confidence and by leg-event."""
    paired = pairs[pairs["diff_frames"].notna()]
    by_conf = {c: DiffStats.of(g["diff_frames"]) for c, g in paired.groupby("confidence")}
    by_group = {f"{leg}-{kind}": DiffStats.of(g["diff_frames"]) for (leg, kind), g in paired.groupby(["leg", "kind"])}
    return LabellerAgreement(
        n_labeller_1=int(pairs["frame_1"].notna().sum()), n_labeller_2=int(pairs["frame_2"].notna().sum()),
        n_paired=int(len(paired)), n_only_1=int((pairs["frame_1"].notna() & pairs["frame_2"].isna()).sum()),
        n_only_2=int((pairs["frame_2"].notna() & pairs["frame_1"].isna()).sum()),
        overall=DiffStats.of(paired["diff_frames"]), by_confidence=by_conf, by_group=by_group)


def consensus(pairs: pd.DataFrame, *, max_diff_frames: float) -> pd.DataFrame:
    """Events both labellers marked: frame = mean of the two, ``flagged`` when they differ by more than
    ``max_diff_frames``. Columns: :data:`CONSENSUS_COLUMNS` (label-file names: foot, event)."""
    both = pairs[pairs["diff_frames"].notna()]
    flagged = both["diff_frames"].abs() > max_diff_frames
    out = pd.DataFrame({
        "frame": (both["frame_1"] + both["frame_2"]) / 2.0, "foot": both["leg"], "side": both["side"],
        "event": both["kind"], "confidence": both["confidence"], "frame_1": both["frame_1"].astype(int),
        "frame_2": both["frame_2"].astype(int), "flagged": flagged,
        "note": np.where(flagged, "labellers differ by more than the consensus limit: not scored", ""),
    }, columns=CONSENSUS_COLUMNS)
    return out.sort_values("frame").reset_index(drop=True)


def single_labeller_consensus(labels: pd.DataFrame) -> pd.DataFrame:
    """A one-labeller clip's labels in the consensus layout (nothing flagged)."""
    return pd.DataFrame({
        "frame": labels["frame"].astype(float), "foot": labels["leg"], "side": labels["side"],
        "event": labels["kind"], "confidence": labels["confidence"], "frame_1": labels["frame"].astype(int),
        "frame_2": labels["frame"].astype(int), "flagged": False, "note": "single labeller",
    }, columns=CONSENSUS_COLUMNS).sort_values("frame").reset_index(drop=True)


def as_scoring_labels(cons: pd.DataFrame) -> pd.DataFrame:
    """Unflagged consensus rows in the ``load_event_labels`` layout (frame stays a float mean)."""
    ok = cons[~cons["flagged"].astype(bool)]
    return pd.DataFrame({"frame": ok["frame"].astype(float), "leg": ok["foot"], "side": ok["side"],
                         "kind": ok["event"], "confidence": ok["confidence"]}).reset_index(drop=True)


def write_consensus(cons: pd.DataFrame, path: Path) -> Path:
    """Write a consensus table as CSV (frame with one decimal: a mean may be a half frame)."""
    out = cons.copy()
    out["frame"] = out["frame"].map(lambda v: f"{v:.1f}")
    out.to_csv(path, index=False)
    return path


def read_consensus(path: Path) -> pd.DataFrame:
    """Read a consensus CSV written by :func:`write_consensus`."""
    df = pd.read_csv(path, keep_default_na=False)
    df["frame"] = df["frame"].astype(float)
    df["flagged"] = df["flagged"].astype(str).str.lower().eq("true")
    return df


def clip_consensus(label_paths: Sequence[Path], *, fps: float, window_s: float,
                   max_diff_frames: float) -> tuple[pd.DataFrame, LabellerAgreement | None, pd.DataFrame | None]:
    """(consensus, agreement, pairs) of a clip's label files; agreement and pairs are None for one labeller.

    ``fps``: frames per second of the labels' frame numbers in real time (the capture rate) — the match window
    is ``round(window_s × fps)`` frames."""
    tables = [load_event_labels(p) for p in label_paths]
    if len(tables) == 1:
        return single_labeller_consensus(tables[0]), None, None
    if len(tables) != 2:
        raise ValueError(f"expected one or two labellers, got {len(tables)}")
    pairs = pair_labels(tables[0], tables[1], max_frames=round(window_s * fps))
    return consensus(pairs, max_diff_frames=max_diff_frames), labeller_agreement(pairs), pairs


def consensus_path(clip_name: str) -> Path:
    """Where the consensus of a double-labelled clip is kept: ``validation/labels/<clip>_events_consensus.csv``."""
    from validation.clip_protocol import LABELS_DIR

    return LABELS_DIR / f"{clip_name}_events_consensus.csv"


def clip_consensus_by_name(clip_name: str) -> tuple[pd.DataFrame, LabellerAgreement | None, pd.DataFrame | None]:
    """:func:`clip_consensus` of a clip of ``clips.yaml`` at its true rate (frame rate of the label frames)."""
    import av

    from validation.clip_protocol import load_clip_set

    cs = load_clip_set()
    clip = cs.clips[clip_name]
    fps = clip.capture_fps
    if fps is None:
        with av.open(str(clip.video_path)) as container:
            fps = float(container.streams.video[0].average_rate)
    return clip_consensus(clip.label_paths, fps=fps, window_s=cs.protocol.labeller_match_window_s,
                          max_diff_frames=cs.protocol.consensus_max_diff_frames)


def main(argv: list[str] | None = None) -> int:
    """``python -m validation.label_agreement``: (re)write each double-labelled clip's consensus CSV."""
    import argparse

    from validation.clip_protocol import load_clip_set

    argparse.ArgumentParser(prog="python -m validation.label_agreement",
                            description="Write validation/labels/<clip>_events_consensus.csv.").parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name, clip in load_clip_set().clips.items():
        if len(clip.labellers) < 2:
            continue
        cons, ag, _ = clip_consensus_by_name(name)
        path = write_consensus(cons, consensus_path(name))
        log.info("%s: %d consensus events (%d flagged) → %s", name, len(cons), int(cons["flagged"].sum()), path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
