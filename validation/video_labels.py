"""Real treadmill video (``mini_run.mp4``, 29.87 fps) against hand-labelled initial contacts and toe-offs.

Pose: MediaPipe BlazePose through backtorun's own ``estimate_pose`` (cached as a PoseSeries .npz, because
MediaPipe on 205 frames takes minutes on two cores); events: backtorun's analysis; scoring:
``backtorun.events.scoring.score_events`` (nearest unused detection of the same leg and kind within ±5
frames; hit = within ±1 frame) plus the error in milliseconds (1 frame = 33.5 ms).

Labels: ``labels/mini_run_events.csv`` (see shared/data/SOURCES.md): frame-by-frame by eye; confidence high ±0,
medium ±1, low ±2+ frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backtorun.types import PoseSeries
from validation import SHARED_DATA
from validation.agreement import Agreement, agreement
from validation.pose_cache import cached_pose

log = logging.getLogger(__name__)

VIDEO = SHARED_DATA / "video" / "treadmill" / "mini_run.mp4"
LABELS = SHARED_DATA / "labels" / "mini_run_events.csv"
#: Belt speed burnt into the video caption ("11.4 mph").
SPEED_MPS = 11.4 * 0.44704


def load_pose(video: Path = VIDEO) -> PoseSeries:
    """The BlazePose PoseSeries of the video (cached while video and pose code are unchanged)."""
    return cached_pose(video)


@dataclass
class VideoScore:
    groups: dict[str, dict[str, Any]]  # "near-IC" … → hit counts and agreement in ms
    overall_hit_rate: float
    n_labels: int
    n_hits: int
    n_missed: int
    cadence_spm: float
    cadence_labels_spm: float
    lines: list[str]
    hip_jitter_pct_leg: float = float("nan")


def score(pose: PoseSeries | None = None, *, labels_path: Path = LABELS, tolerance_frames: int = 1,
          analysis: Any = None) -> VideoScore:
    """Analyse the video's pose with backtorun and score its events against the labels."""
    from backtorun.events.scoring import cadence_from_labels, load_event_labels, score_events

    pose = pose if pose is not None else load_pose()
    if analysis is None:
        from validation.rbds import analyze

        analysis = analyze(pose, speed_mps=SPEED_MPS, height_cm=None, view="auto")
    labels = load_event_labels(labels_path)
    sc = score_events(analysis.events, labels, tolerance_frames=tolerance_frames, confidences=None)
    frame_ms = 1000.0 / pose.fps
    groups: dict[str, dict[str, Any]] = {}
    for g, rows in sc.errors.groupby("group"):
        err = rows["error"].to_numpy(float)
        gs = sc.groups[g]
        a: Agreement = agreement(err * frame_ms, np.zeros(err.size))
        groups[g] = {"n_labels": gs.n_labels, "n_hits": gs.n_hits, "n_missed": gs.n_missed,
                     "hit_rate": gs.hit_rate, "agreement_ms": a}
    cad = analysis.summary.get("cadence_spm")
    jitter = hip_jitter_pct_leg(pose)
    return VideoScore(groups=groups, overall_hit_rate=sc.overall.hit_rate, n_labels=sc.overall.n_labels,
                      n_hits=sc.overall.n_hits, n_missed=sc.overall.n_missed,
                      cadence_spm=float(cad.mean) if cad is not None else float("nan"),
                      cadence_labels_spm=cadence_from_labels(labels, pose.fps), lines=sc.summary_lines(),
                      hip_jitter_pct_leg=jitter)


def hip_jitter_pct_leg(pose: PoseSeries, *, cutoff_hz: float = 8.0) -> float:
    """SD of the hip keypoints' high-frequency residual (above ``cutoff_hz``, zero-lag Butterworth), as % of the
    hip–ankle length: a measure of the pose model's frame-to-frame jitter (the hips move slowly, so little real
    motion is left above the cut-off)."""
    from scipy.signal import butter, filtfilt

    leg = float(np.nanmedian(np.linalg.norm(pose.xy[:, 23] - pose.xy[:, 27], axis=1)))
    b, a = butter(4, cutoff_hz / (pose.fps / 2))
    res = []
    for i in (23, 24):
        x = pose.xy[:, i]
        ok = np.isfinite(x).all(axis=1)
        if ok.sum() > 30:
            res.append((x[ok] - filtfilt(b, a, x[ok], axis=0)).ravel())
    return float(np.std(np.concatenate(res)) / leg * 100.0) if res and leg > 0 else float("nan")
