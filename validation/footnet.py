"""FootNet example data: backtorun's event detection on marker kinematics against force-plate contact labels.

Data: ``Data_example.mat`` from adrianrivadulla/FootNet (LGPL-3.0; Rivadulla et al. 2021, PLoS ONE
16(8):e0248608). 200 Hz treadmill running; 27 consecutive stride windows per leg with segment end points in
metres (x medio-lateral, y anterior–posterior, z vertical), joint angles, the vertical GRF and per-frame contact
labels (``rlabels``/``llabels``: 1 = foot on the plate, from force).

What we build from it (the file has no pelvis position and no heel marker):
- each leg's windows are concatenated in order into one continuous 200 Hz sequence (they are consecutive:
  the end of one window meets the start of the next);
- knee = proximal tibia, ankle = distal tibia, toe = distal foot, heel = proximal foot end (at ground level
  under and ~2 cm behind the ankle at mid-stance — a true heel marker would sit a few cm further back);
- hip: a point fixed over the mean stance position, 0.45 m above the mean knee height (a runner's pelvis moves
  little along a treadmill; the detector uses the hip only as a horizontal reference and for leg length);
- the other leg is a copy of the same leg delayed by half the median stride (both legs of the file are not
  synchronised with each other), so left/right alternation holds; only the real leg is scored;
- the 3D points are projected through the validation side camera (runner's real leg nearest the camera).
Reference: IC = first labelled frame of each contact, TO = first frame after it with label 0 (the label is
frame-quantised at 5 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backtorun.conventions import N_LANDMARKS, SIDE_LANDMARKS
from backtorun.types import PoseSeries
from validation import SHARED_DATA
from validation.agreement import Agreement, agreement, match_events
from validation.camera import project_pose, side_camera

FOOTNET_FILE = SHARED_DATA / "mocap" / "footnet" / "Data_example.mat"
FPS = 200.0


@dataclass(frozen=True)
class LegSequence:
    """One leg's concatenated windows: positions in the lab frame (X forward, Y up, Z right), metres."""

    knee: np.ndarray
    ankle: np.ndarray
    heel: np.ndarray
    toe: np.ndarray
    contact: np.ndarray  # 0/1 per frame
    window_lengths: np.ndarray

    @property
    def n(self) -> int:
        return int(self.contact.size)


def _to_lab(a: np.ndarray) -> np.ndarray:
    """FootNet (x ML, y AP, z up) → lab (X forward, Y up, Z right)."""
    a = np.asarray(a, float)
    return np.stack([a[:, 1], a[:, 2], a[:, 0]], axis=1)


def load_leg(side: str, path: str | Path = FOOTNET_FILE) -> LegSequence:
    """Concatenate the stride windows of leg ``side`` ("r" or "l")."""
    import scipy.io as sio

    m = sio.loadmat(str(path), squeeze_me=True, struct_as_record=False)

    def cat(key: str) -> np.ndarray:
        return np.concatenate([_to_lab(w) for w in m[f"{side}{key}"]], axis=0)

    labels = np.concatenate([np.asarray(w, float) for w in m[f"{side}labels"]])
    lengths = np.array([len(w) for w in m[f"{side}labels"]])
    return LegSequence(knee=cat("tib_prox"), ankle=cat("tib_dist"), heel=cat("foot_prox"), toe=cat("foot_dist"),
                       contact=labels, window_lengths=lengths)


def label_events_s(contact: np.ndarray, fps: float = FPS) -> tuple[np.ndarray, np.ndarray]:
    """IC and TO times (s) from a 0/1 contact label per frame."""
    d = np.diff(np.r_[0, contact.astype(int), 0])
    ic = np.flatnonzero(d == 1)
    to = np.flatnonzero(d == -1)
    ok = (ic > 0) & (to < contact.size)
    return ic[ok] / fps, to[ok] / fps


def build_pose(leg: LegSequence, *, fps: float = FPS) -> tuple[PoseSeries, float]:
    """Two-leg PoseSeries (real leg = L, near the camera; delayed copy = R) and the applied delay (s)."""
    n = leg.n
    shift = int(round(np.median(leg.window_lengths) / 2))
    pts = np.full((n, N_LANDMARKS, 3), np.nan)
    stance = leg.contact > 0.5
    hip = np.array([np.mean(leg.ankle[stance, 0]), np.mean(leg.knee[:, 1]) + 0.45, np.mean(leg.knee[:, 2])])
    for side, lag in (("L", 0), ("R", shift)):
        idx = SIDE_LANDMARKS[side]
        z_off = -0.09 if side == "L" else 0.09  # hips ~18 cm apart; legs drawn either side of the real one
        for name, arr in (("knee", leg.knee), ("ankle", leg.ankle), ("heel", leg.heel), ("toe", leg.toe)):
            a = np.roll(arr, lag, axis=0)
            if lag:
                a[:lag] = np.nan
            pts[:, idx[name]] = a + [0.0, 0.0, z_off + (0.0 if side == "L" else 0.0)]
        pts[:, idx["hip"]] = hip + [0.0, 0.0, z_off]
    t = np.arange(n) / fps
    cam = side_camera(hip, distance_m=3.0, side="L")
    return project_pose(pts, t, cam, source="validation/footnet-markers"), shift / fps


@dataclass
class FootnetScore:
    ic: Agreement
    to: Agreement
    contact_time: Agreement
    n_truth: int
    n_missed: int
    n_extra: int


def score_leg(side: str, *, path: str | Path = FOOTNET_FILE, detect: Any = None) -> FootnetScore:
    """Detect events on one FootNet leg with backtorun and score them against the force labels."""
    leg = load_leg(side, path)
    pose, _ = build_pose(leg)
    if detect is None:
        from validation.rbds import analyze

        events = analyze(pose, speed_mps=None, height_cm=None).events
    else:
        events = detect(pose)
    ic_true, to_true = label_events_s(leg.contact)
    span = (0.3, pose.time_s[-1] - 0.3)
    mi = match_events([e.time_s for e in events.select(side="L", kind="IC")], ic_true, tolerance_s=0.1, span_s=span)
    mt = match_events([e.time_s for e in events.select(side="L", kind="TO")], to_true, tolerance_s=0.1, span_s=span)
    ic_map = dict(zip(mi.truth_s.tolist(), mi.estimate_s.tolist()))
    to_map = dict(zip(mt.truth_s.tolist(), mt.estimate_s.tolist()))
    ct_e, ct_r = [], []
    for a, b in zip(ic_true, to_true):
        if a in ic_map and b in to_map:
            ct_e.append((to_map[b] - ic_map[a]) * 1000)
            ct_r.append((b - a) * 1000)
    zeros = np.zeros
    return FootnetScore(
        ic=agreement(mi.error_ms, zeros(mi.error_ms.size)), to=agreement(mt.error_ms, zeros(mt.error_ms.size)),
        contact_time=agreement(ct_e, ct_r), n_truth=mi.n_truth + mt.n_truth,
        n_missed=mi.n_missed + mt.n_missed, n_extra=mi.n_extra + mt.n_extra)
