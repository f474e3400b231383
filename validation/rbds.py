"""Fukuchi running biomechanics data set (RBDS): 3D markers + force plate → keypoints → backtorun → agreement.

Data: Fukuchi RK, Fukuchi CA, Duarte M. A public dataset of running biomechanics and the effects of running
speed on lower extremity kinematics and kinetics. PeerJ 2017;5:e3298 (CC BY 4.0). Markers at 150 Hz (mm, lab
frame X forward, Y up, Z right), one force plate under both feet at 300 Hz (vertical = Fy), static trial with
anatomical markers.

Keypoints a pose model would see (BlazePose layout, conventions.py):
hips = Harrington 2007 hip joint centres from ASIS/PSIS; knees = epicondyle mid-points, ankles = malleoli
mid-points, toes (``foot_index``) = 2nd metatarsal head, each digitised in the static trial and carried by its
technical cluster (thigh, shank, foot = heel + MT1/MT5 markers); heels = the lower heel marker. Shoulders, head
and arms are absent (NaN) because RBDS has no trunk markers.

Reference ("truth"):
- events: contacts on the vertical force (validation.forceplate), foot from the lowest foot marker at
  mid-contact;
- contact, flight and step time and cadence from those events;
- vertical oscillation: max − min of the 3D hip-centre mid-point height in each step (IC to next IC);
- thigh angle: hip-centre → knee-centre vector in the sagittal plane from the downward vertical, per frame,
  and its peak (thigh extension) within toe-off ± 50 ms;
- hip extension: thigh relative to the pelvis (sagittal), to show how much of the thigh angle is pelvic tilt.

Command line (any trial in the same format)::

    python -m validation.rbds MARKERS.txt FORCES.txt STATIC.txt --speed-mps 2.5 --json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtorun.conventions import N_LANDMARKS, SIDE_LANDMARKS
from backtorun.types import PoseSeries
from validation import SHARED_DATA
from validation.camera import PinholeCamera, project_pose, rear_camera, resample, side_camera
from validation.forceplate import Contact, detect_contacts
from validation.mocap import carry_landmark, fill_gaps, harrington_hjc, pelvis_frame, sagittal_angle_from_down_deg

log = logging.getLogger(__name__)

RBDS_DIR = SHARED_DATA / "mocap" / "fukuchi_rbds"
MARKER_FPS = 150.0
MM_TO_M = 0.001

#: thigh, shank and foot technical clusters (marker names without the "R."/"L." prefix)
THIGH_CLUSTER = ("Thigh.Top.Lateral", "Thigh.Bottom.Lateral", "Thigh.Top.Medial", "Thigh.Bottom.Medial")
SHANK_CLUSTER = ("Shank.Top.Lateral", "Shank.Bottom.Lateral", "Shank.Top.Medial", "Shank.Bottom.Medial")
FOOT_CLUSTER = ("Heel.Top", "Heel.Bottom", "Heel.Lateral", "MT1", "MT5")


# ---------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkerTrial:
    """Marker trajectories in metres (lab frame X forward, Y up, Z right)."""

    time_s: np.ndarray
    markers: dict[str, np.ndarray]  # name → (frames × 3)

    def get(self, name: str) -> np.ndarray:
        try:
            return self.markers[name]
        except KeyError as exc:
            raise KeyError(f"marker {name!r} not in trial (have {sorted(self.markers)[:6]}…)") from exc

    def stack(self, names: tuple[str, ...], side: str) -> np.ndarray:
        return np.stack([self.get(f"{side}.{n}") for n in names], axis=1)


def load_markers(path: str | Path, *, max_gap: int = 30) -> MarkerTrial:
    """Read an RBDS marker file (tab-separated, ``Time`` then ``NAMEX NAMEY NAMEZ`` columns in mm)."""
    df = pd.read_csv(path, sep="\t")
    if "Time" not in df.columns:
        raise ValueError(f"{path}: no Time column — is this an RBDS marker file?")
    names = [c[:-1] for c in df.columns[1:] if c.endswith("X")]
    markers = {}
    for n in names:
        xyz = df[[f"{n}X", f"{n}Y", f"{n}Z"]].to_numpy(float) * MM_TO_M
        markers[n] = fill_gaps(xyz, max_gap=max_gap)
    t = np.arange(len(df)) / MARKER_FPS  # the Time column is rounded to 1 ms; the rate is 150 Hz
    return MarkerTrial(time_s=t, markers=markers)


def load_vertical_force(path: str | Path, *, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertical force (N) and its time (s). The RBDS ``Time`` column is a 1-based sample index; the sampling
    rate is inferred from the number of samples over the marker trial's duration (300 Hz for RBDS)."""
    df = pd.read_csv(path, sep="\t")
    if "Fy" not in df.columns:
        raise ValueError(f"{path}: no Fy column — is this an RBDS force file?")
    n = len(df)
    fs = round(n / duration_s)
    return np.arange(n) / fs, df["Fy"].to_numpy(float)


def lookup_height_cm(markers_path: str | Path) -> float | None:
    """Participant height from the RBDS info spreadsheet next to the trial, when there is one."""
    folder = Path(markers_path).resolve().parent
    name = Path(markers_path).name
    for xlsx in folder.glob("*RBDSinfo*.xlsx"):
        try:
            info = pd.read_excel(xlsx)
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", xlsx, exc)
            continue
        row = info.loc[info["FileName"] == name]
        if len(row):
            return float(row["Height"].iloc[0])
    return None


# ---------------------------------------------------------------------------------------------------------
# Keypoints
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keypoints3D:
    """3D keypoints (frames × 33 × 3, metres, NaN = absent) plus the extra truth signals."""

    time_s: np.ndarray
    points: np.ndarray
    pelvis_axes: np.ndarray  # frames × 3 × 3 (rows x anterior, y superior, z right)

    @property
    def hip_mid(self) -> np.ndarray:
        return 0.5 * (self.points[:, SIDE_LANDMARKS["L"]["hip"]] + self.points[:, SIDE_LANDMARKS["R"]["hip"]])


def build_keypoints(trial: MarkerTrial, static: MarkerTrial) -> Keypoints3D:
    """BlazePose-layout 3D keypoints from a running trial calibrated on the static trial (see module doc)."""
    n = trial.time_s.size
    pts = np.full((n, N_LANDMARKS, 3), np.nan)
    pel = [trial.get(k) for k in ("R.ASIS", "L.ASIS", "R.PSIS", "L.PSIS")]
    r_hjc, l_hjc = harrington_hjc(*pel, units_per_mm=MM_TO_M)
    _, axes = pelvis_frame(*pel)
    s_mean = {k: np.nanmean(v, axis=0) for k, v in static.markers.items()}
    for side, hjc in (("R", r_hjc), ("L", l_hjc)):
        idx = SIDE_LANDMARKS[side]
        pts[:, idx["hip"]] = hjc
        thigh_s = np.stack([s_mean[f"{side}.{m}"] for m in THIGH_CLUSTER])
        shank_s = np.stack([s_mean[f"{side}.{m}"] for m in SHANK_CLUSTER])
        foot_s = np.stack([s_mean[f"{side}.{m}"] for m in FOOT_CLUSTER])
        knee_s = 0.5 * (s_mean[f"{side}.Knee"] + s_mean[f"{side}.Knee.Medial"])
        ankle_s = 0.5 * (s_mean[f"{side}.Ankle"] + s_mean[f"{side}.Ankle.Medial"])
        pts[:, idx["knee"]] = carry_landmark(thigh_s, knee_s, trial.stack(THIGH_CLUSTER, side))
        pts[:, idx["ankle"]] = carry_landmark(shank_s, ankle_s, trial.stack(SHANK_CLUSTER, side))
        pts[:, idx["toe"]] = carry_landmark(foot_s, s_mean[f"{side}.MT2"], trial.stack(FOOT_CLUSTER, side))
        pts[:, idx["heel"]] = trial.get(f"{side}.Heel.Bottom")
    return Keypoints3D(time_s=trial.time_s, points=pts, pelvis_axes=axes)


# ---------------------------------------------------------------------------------------------------------
# Reference (truth)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthEvent:
    side: str
    ic_s: float
    to_s: float


@dataclass
class Truth:
    """Reference events and metrics of one trial."""

    contacts: list[TruthEvent]
    step_time_ms: np.ndarray
    flight_time_ms: np.ndarray
    cadence_spm: float
    vertical_oscillation_cm: np.ndarray  # per step
    thigh_angle_deg: dict[str, np.ndarray]  # per frame
    thigh_extension_deg: dict[str, np.ndarray]  # per contact of that side (peak within TO ± window)
    hip_extension_deg: dict[str, np.ndarray]  # per contact: thigh relative to pelvis, same window
    pelvic_drop_deg: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per contact (M11)
    extras: dict[str, Any] = field(default_factory=dict)

    def times(self, side: str, kind: str) -> np.ndarray:
        return np.array([c.ic_s if kind == "IC" else c.to_s for c in self.contacts if c.side == side])


def assign_feet(contacts: list[Contact], trial: MarkerTrial) -> list[TruthEvent]:
    """Foot of each plate contact: the one whose lowest foot marker is lower at mid-contact."""
    out = []
    t = trial.time_s
    for c in contacts:
        mid = 0.5 * (c.ic_s + c.to_s)
        i = int(np.clip(np.searchsorted(t, mid), 0, t.size - 1))
        low = {}
        for side in ("L", "R"):
            ys = [trial.get(f"{side}.{m}")[i, 1] for m in ("Heel.Bottom", "MT1", "MT5")]
            low[side] = np.nanmin(ys)
        out.append(TruthEvent("L" if low["L"] < low["R"] else "R", c.ic_s, c.to_s))
    return out


def hip_flexion_sagittal_deg(kp: Keypoints3D, side: str) -> np.ndarray:
    """Thigh angle relative to the pelvis in the pelvis sagittal plane (deg, + = extension, knee behind hip)."""
    idx = SIDE_LANDMARKS[side]
    d = kp.points[:, idx["knee"]] - kp.points[:, idx["hip"]]
    x = np.einsum("ij,ij->i", d, kp.pelvis_axes[:, 0])
    y = np.einsum("ij,ij->i", d, kp.pelvis_axes[:, 1])
    return np.degrees(np.arctan2(-x, -y))


def pelvic_obliquity_3d_deg(kp: Keypoints3D) -> np.ndarray:
    """Frontal-plane angle of the hip-centre line to horizontal (deg), + when the RIGHT hip is lower."""
    d = kp.points[:, SIDE_LANDMARKS["R"]["hip"]] - kp.points[:, SIDE_LANDMARKS["L"]["hip"]]
    return np.degrees(np.arctan2(-d[:, 1], d[:, 2]))


def compute_truth(kp: Keypoints3D, contacts: list[TruthEvent], *, window_s: float = 0.05) -> Truth:
    """Reference metrics from the force-plate contacts and the 3D keypoints."""
    t = kp.time_s
    ics = np.array([c.ic_s for c in contacts])
    tos = np.array([c.to_s for c in contacts])
    sides = [c.side for c in contacts]
    step = np.diff(ics) * 1000.0
    flight = (ics[1:] - tos[:-1]) * 1000.0
    alternating = np.array([sides[i] != sides[i + 1] for i in range(len(sides) - 1)], dtype=bool)
    step = np.where(alternating, step, np.nan)
    flight = np.where(alternating, flight, np.nan)
    hip_y = kp.hip_mid[:, 1]
    vo = []
    for a, b in zip(ics[:-1], ics[1:]):
        m = (t >= a) & (t < b)
        vo.append((np.nanmax(hip_y[m]) - np.nanmin(hip_y[m])) * 100.0 if m.sum() > 2 else np.nan)
    thigh, thigh_ext, hip_ext = {}, {}, {}
    for side in ("L", "R"):
        idx = SIDE_LANDMARKS[side]
        thigh[side] = sagittal_angle_from_down_deg(kp.points[:, idx["hip"]], kp.points[:, idx["knee"]])
        hip = hip_flexion_sagittal_deg(kp, side)
        te, he = [], []
        for c in contacts:
            if c.side != side:
                continue
            m = (t >= c.to_s - window_s) & (t <= c.to_s + window_s)
            te.append(np.nanmax(thigh[side][m]) if m.any() else np.nan)
            he.append(np.nanmax(hip[m]) if m.any() else np.nan)
        thigh_ext[side], hip_ext[side] = np.array(te), np.array(he)
    cadence = 60000.0 / np.nanmean(step) if np.isfinite(step).any() else float("nan")
    obl = pelvic_obliquity_3d_deg(kp)
    drop = []
    for c in contacts:  # M11: peak swing-side-hip-lower obliquity between IC and mid-stance
        m = (t >= c.ic_s) & (t <= 0.5 * (c.ic_s + c.to_s))
        sign = 1.0 if c.side == "L" else -1.0
        drop.append(float(np.nanmax(sign * obl[m])) if m.any() else np.nan)
    return Truth(contacts=contacts, step_time_ms=step, flight_time_ms=flight, cadence_spm=float(cadence),
                 vertical_oscillation_cm=np.array(vo), thigh_angle_deg=thigh, thigh_extension_deg=thigh_ext,
                 hip_extension_deg=hip_ext, pelvic_drop_deg=np.array(drop), extras={"time_s": t})


# ---------------------------------------------------------------------------------------------------------
# One trial
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialData:
    keypoints: Keypoints3D
    truth: Truth
    height_cm: float | None


def load_trial(markers: str | Path, forces: str | Path, static: str | Path) -> TrialData:
    """Markers, force and static files → 3D keypoints and reference metrics."""
    trial = load_markers(markers)
    stat = load_markers(static)
    kp = build_keypoints(trial, stat)
    tf, fy = load_vertical_force(forces, duration_s=trial.time_s.size / MARKER_FPS)
    contacts = assign_feet(detect_contacts(fy, tf), trial)
    truth = compute_truth(kp, contacts)
    return TrialData(keypoints=kp, truth=truth, height_cm=lookup_height_cm(markers))


def rbds_paths(speed: str) -> tuple[Path, Path, Path]:
    """Paths of subject 002's files in the shared data for speed "25" or "45"."""
    return (RBDS_DIR / f"RBDS002run{'T' + speed}markers.txt", RBDS_DIR / f"RBDS002run{'T' + speed}forces.txt",
            RBDS_DIR / "RBDS002static.txt")


def with_heel_sink(data: TrialData, factor: float) -> TrialData:
    """The trial with each heel marker's sinking after force contact scaled by ``factor`` (1 = as recorded; 0 = the
    heel stops at its contact height, as for a runner whose heel pad and midsole hardly compress): during each
    contact, heights below the heel's height at IC become ``y_IC − factor·(y_IC − y)``. A test of how the
    detector's touch-down depends on one runner's heel (issue #14), not a model of any runner."""
    kp = data.keypoints
    pts, t = kp.points.copy(), kp.time_s
    for c in data.truth.contacts:
        heel = SIDE_LANDMARKS[c.side]["heel"]
        rows = (t >= c.ic_s) & (t <= c.to_s)
        y = pts[rows, heel, 1]
        y_ic = float(np.interp(c.ic_s, t, pts[:, heel, 1]))
        low = y < y_ic
        y[low] = y_ic - factor * (y_ic - y[low])
        pts[rows, heel, 1] = y
    return TrialData(keypoints=Keypoints3D(time_s=t, points=pts, pelvis_axes=kp.pelvis_axes), truth=data.truth,
                     height_cm=data.height_cm)


def make_camera(kp: Keypoints3D, view: str = "side", *, distance_m: float = 3.0, yaw_deg: float = 0.0,
                height_m: float | None = None) -> PinholeCamera:
    """Camera placed as a clinician would: level lens at hip height, 3 m away, on the runner's left (side)."""
    target = np.nanmean(kp.hip_mid, axis=0)
    if view == "side":
        return side_camera(target, distance_m=distance_m, yaw_deg=yaw_deg, height_m=height_m,
                           aim_height_m=None if height_m is None else float(target[1]))
    return rear_camera(target, distance_m=distance_m, height_m=height_m)


def to_pose(kp: Keypoints3D, camera: PinholeCamera, *, fps: float | None = None, noise_px: float = 0.0,
            seed: int = 0, source: str = "validation/rbds-markers", noise_cutoff_hz: float | None = None,
            occlude_far_leg: bool = False) -> PoseSeries:
    """Project the keypoints (optionally resampled to ``fps``) through ``camera`` into a PoseSeries.

    ``occlude_far_leg`` mimics a pose model behind the near leg: far-leg landmarks within
    ``OCCLUSION_RADIUS_M`` (in the image, at the runner) of a near-leg segment get visibility
    ``OCCLUDED_VISIBILITY`` and ``OCCLUDED_NOISE_M`` of extra pixel noise.
    """
    pts, t = kp.points, kp.time_s
    if fps is not None and abs(fps - MARKER_FPS) > 1e-6:
        pts, t = resample(pts, t, fps)
    pose = project_pose(pts, t, camera, noise_px=noise_px, seed=seed, source=source, noise_cutoff_hz=noise_cutoff_hz)
    if occlude_far_leg:
        pose = occlude(pose, camera, near="L", seed=seed + 1)
    # keep the absolute time (project_pose starts at 0): analysis events are then on the force-plate clock
    return pose.replace(time_s=np.asarray(t, float))


#: Occlusion model (D): how close, at the runner, a far-leg landmark must pass behind a near-leg segment.
OCCLUSION_RADIUS_M = 0.06
OCCLUDED_VISIBILITY = 0.3
OCCLUDED_NOISE_M = 0.03


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    w = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-9), 0, 1)
    return np.linalg.norm(p - (a + w[:, None] * ab), axis=1)


def occlude(pose: PoseSeries, camera: PinholeCamera, *, near: str = "L", seed: int = 0) -> PoseSeries:
    """Far-leg landmarks hidden behind the near leg: lower visibility and extra noise (see :func:`to_pose`)."""
    far = "R" if near == "L" else "L"
    px_per_m = camera.focal_px / float(np.linalg.norm(np.asarray(camera.target_m) - np.asarray(camera.position_m)))
    radius = OCCLUSION_RADIUS_M * px_per_m
    ln, lf = SIDE_LANDMARKS[near], SIDE_LANDMARKS[far]
    segs = [("hip", "knee"), ("knee", "ankle"), ("ankle", "heel"), ("heel", "toe"), ("ankle", "toe")]
    xy, vis = pose.xy.copy(), pose.visibility.copy()
    rng = np.random.default_rng(seed)
    for name in ("knee", "ankle", "heel", "toe"):
        p = xy[:, lf[name]]
        d = np.min([_segment_distance(p, xy[:, ln[a]], xy[:, ln[b]]) for a, b in segs], axis=0)
        hidden = d < radius
        vis[hidden, lf[name]] = OCCLUDED_VISIBILITY
        xy[hidden, lf[name]] += rng.normal(0.0, OCCLUDED_NOISE_M * px_per_m, size=(int(hidden.sum()), 2))
    return pose.replace(xy=xy, visibility=vis)


# ---------------------------------------------------------------------------------------------------------
# Scoring backtorun's analysis against the reference
# ---------------------------------------------------------------------------------------------------------

from validation.agreement import Agreement, agreement, match_events  # noqa: E402

#: Events further than this from any reference event of the same foot and kind count as missed/extra.
EVENT_TOLERANCE_S = 0.10
#: Reference events this close to either end of the recording are not scored (the detector cannot see them).
EDGE_S = 0.25


@dataclass
class TrialScore:
    """Agreement of one analysed recording with the reference."""

    metrics: dict[str, Agreement]
    summary: dict[str, dict[str, float]]  # metric → {"estimate": …, "truth": …, "error": …}
    counts: dict[str, int]
    per_leg: dict[str, dict[str, Agreement]]
    extras: dict[str, float] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """The figures printed by the CLI (see the module doc)."""
        def g(name: str, attr: str) -> float:
            a = self.metrics.get(name)
            return float(getattr(a, attr)) if a is not None and a.n else float("nan")

        out: dict[str, Any] = {
            "ic_mae_ms": g("ic_ms", "mae"), "ic_bias_ms": g("ic_ms", "bias"),
            "to_mae_ms": g("to_ms", "mae"), "to_bias_ms": g("to_ms", "bias"),
            "contact_time_bias_ms": g("contact_time_ms", "bias"), "contact_time_mae_ms": g("contact_time_ms", "mae"),
            "contact_time_table_bias_ms": g("contact_time_table_ms", "bias"),
            "flight_time_bias_ms": g("flight_time_ms", "bias"), "flight_time_mae_ms": g("flight_time_ms", "mae"),
            "cadence_error_spm": self.summary.get("cadence_spm", {}).get("error", float("nan")),
            "vertical_oscillation_error_cm": self.summary.get("vertical_oscillation_cm", {}).get("error", float("nan")),
            "vertical_oscillation_mae_cm": g("vertical_oscillation_cm", "mae"),
            "thigh_angle_mae_deg": g("thigh_angle_deg", "mae"),
            "thigh_extension_mae_deg": g("thigh_extension_deg", "mae"),
            "thigh_extension_bias_deg": g("thigh_extension_deg", "bias"),
            "hip_extension_vs_thigh_offset_deg": self.summary.get("thigh_minus_true_hip_extension_deg", {}).get(
                "error", float("nan")),
            "n_events": self.counts.get("n_events_matched", 0),
        }
        out.update({k: v for k, v in self.counts.items() if k != "n_events_matched"})
        out.update(self.extras)
        return out


def _stride_times(analysis: Any, pose: PoseSeries) -> pd.DataFrame:
    df = analysis.strides.copy() if analysis.strides is not None else pd.DataFrame()
    if len(df) and "start_frame" in df.columns:
        fr = df["start_frame"].to_numpy(float)
        pos = np.searchsorted(pose.frame_index, fr)
        pos = np.clip(pos, 0, pose.n_frames - 1)
        df["start_s"] = pose.time_s[pos]
    return df


def _row_contact(cs: list[TruthEvent], ics: np.ndarray, side: Any, start_s: float, tol: float) -> int:
    """Index of the reference contact a stride row starts with: same foot, the row's IC within
    [reference IC − tol, reference TO] (a late IC still belongs to its stance), or −1."""
    for k, c in enumerate(cs):
        if side in ("L", "R") and c.side != side:
            continue
        if c.ic_s - tol <= start_s <= c.to_s:
            return k
    return -1


def score_analysis(analysis: Any, pose: PoseSeries, truth: Truth, *, tolerance_s: float = EVENT_TOLERANCE_S,
                   near_side: str = "L") -> TrialScore:
    """Compare a :class:`~backtorun.types.GaitAnalysis` of ``pose`` with the reference ``truth``."""
    span = (float(pose.time_s[0]) + EDGE_S, float(pose.time_s[-1]) - EDGE_S)
    errs: dict[str, list[float]] = {"IC": [], "TO": []}
    leg_errs: dict[str, dict[str, list[float]]] = {"near": {"IC": [], "TO": []}, "far": {"IC": [], "TO": []}}
    matched: dict[tuple[str, str], dict[float, float]] = {}
    counts = {"n_events_truth": 0, "n_events_detected": 0, "n_events_missed": 0, "n_events_extra": 0,
              "n_events_matched": 0}
    for side in ("L", "R"):
        for kind in ("IC", "TO"):
            est = [e.time_s for e in analysis.events.select(side=side, kind=kind)]
            m = match_events(est, truth.times(side, kind), tolerance_s=tolerance_s, span_s=span)
            errs[kind].extend(m.error_ms.tolist())
            leg_errs["near" if side == near_side else "far"][kind].extend(m.error_ms.tolist())
            matched[(side, kind)] = dict(zip(m.truth_s.tolist(), m.estimate_s.tolist()))
            counts["n_events_truth"] += m.n_truth
            counts["n_events_detected"] += m.n_estimate
            counts["n_events_missed"] += m.n_missed
            counts["n_events_extra"] += m.n_extra
            counts["n_events_matched"] += int(m.truth_s.size)
    metrics: dict[str, Agreement] = {
        "ic_ms": agreement(errs["IC"], np.zeros(len(errs["IC"]))),
        "to_ms": agreement(errs["TO"], np.zeros(len(errs["TO"]))),
    }
    per_leg = {leg: {f"{k.lower()}_ms": agreement(v, np.zeros(len(v))) for k, v in d.items()}
               for leg, d in leg_errs.items()}
    # contact and flight time from matched events (the same definitions as metrics: GCT = TO − IC,
    # flight = next opposite IC − TO; domain.md M3)
    ct_est, ct_ref, fl_est, fl_ref = [], [], [], []
    cs = truth.contacts
    for i, c in enumerate(cs):
        ic = matched[(c.side, "IC")].get(c.ic_s)
        to = matched[(c.side, "TO")].get(c.to_s)
        if ic is not None and to is not None:
            ct_est.append((to - ic) * 1000.0)
            ct_ref.append((c.to_s - c.ic_s) * 1000.0)
        if i + 1 < len(cs) and cs[i + 1].side != c.side and to is not None:
            nxt = matched[(cs[i + 1].side, "IC")].get(cs[i + 1].ic_s)
            if nxt is not None:
                fl_est.append((nxt - to) * 1000.0)
                fl_ref.append((cs[i + 1].ic_s - c.to_s) * 1000.0)
    metrics["contact_time_ms"] = agreement(ct_est, ct_ref)
    metrics["flight_time_ms"] = agreement(fl_est, fl_ref)
    # per-row metric table values matched to the reference contact that starts the row
    strides = _stride_times(analysis, pose)
    ics = np.array([c.ic_s for c in cs])
    if len(strides) and "start_s" in strides.columns:
        pairs: dict[str, tuple[list[float], list[float]]] = {}
        for _, row in strides.iterrows():
            k = _row_contact(cs, ics, row.get("side"), float(row["start_s"]), tolerance_s)
            if k < 0:
                continue
            if "contact_time_ms" in row:
                pairs.setdefault("contact_time_table_ms", ([], []))
                pairs["contact_time_table_ms"][0].append(float(row["contact_time_ms"]))
                pairs["contact_time_table_ms"][1].append((cs[k].to_s - cs[k].ic_s) * 1000.0)
            if "flight_time_ms" in row and k < truth.flight_time_ms.size:
                pairs.setdefault("flight_time_table_ms", ([], []))
                pairs["flight_time_table_ms"][0].append(float(row["flight_time_ms"]))
                pairs["flight_time_table_ms"][1].append(float(truth.flight_time_ms[k]))
            if "vertical_oscillation_cm" in row and k < truth.vertical_oscillation_cm.size:
                pairs.setdefault("vertical_oscillation_cm", ([], []))
                pairs["vertical_oscillation_cm"][0].append(float(row["vertical_oscillation_cm"]))
                pairs["vertical_oscillation_cm"][1].append(float(truth.vertical_oscillation_cm[k]))
            if "pelvic_drop_deg" in row and k < truth.pelvic_drop_deg.size:
                pairs.setdefault("pelvic_drop_deg", ([], []))
                pairs["pelvic_drop_deg"][0].append(float(row["pelvic_drop_deg"]))
                pairs["pelvic_drop_deg"][1].append(float(truth.pelvic_drop_deg[k]))
            if "thigh_extension_deg" in row and cs[k].side in ("L", "R"):
                j = sum(1 for c in cs[:k] if c.side == cs[k].side)
                ref = truth.thigh_extension_deg[cs[k].side]
                if j < ref.size:
                    pairs.setdefault("thigh_extension_deg", ([], []))
                    pairs["thigh_extension_deg"][0].append(float(row["thigh_extension_deg"]))
                    pairs["thigh_extension_deg"][1].append(float(ref[j]))
        for name, (e, r) in pairs.items():
            metrics[name] = agreement(e, r)
    # thigh angle per frame: backtorun's kinematics (filtered pose, its own angle function) vs 3D sagittal truth
    metrics["thigh_angle_deg"] = frame_thigh_agreement(pose, truth, span_s=span)
    # and over the gait cycle: backtorun's mean curve vs the reference mean curve (0–100 % from IC); this one
    # also carries any event-timing error, because both curves are normalised to their own ICs
    curves = getattr(analysis, "curves", {}) or {}
    th = curves.get("thigh_angle_deg") if isinstance(curves, dict) else None
    if th:
        e_all, r_all = [], []
        for side in ("L", "R"):
            est_curve = th.get(side, {}).get("mean") if isinstance(th.get(side), dict) else None
            if est_curve is None:
                continue
            ref_curve = mean_cycle_curve(truth.thigh_angle_deg[side], pose_time=truth_time(truth),
                                         ics=truth.times(side, "IC"), n=len(est_curve))
            e_all.extend(np.asarray(est_curve, float).tolist())
            r_all.extend(ref_curve.tolist())
        metrics["thigh_angle_cycle_deg"] = agreement(e_all, r_all)
    # summary-level comparison over the scored span
    in_span = [c for c in cs if span[0] <= c.ic_s <= span[1]]
    summary: dict[str, dict[str, float]] = {}
    ref_vals = {
        "cadence_spm": truth.cadence_spm,
        "contact_time_ms": float(np.mean([c.to_s - c.ic_s for c in in_span]) * 1000.0) if in_span else np.nan,
        "flight_time_ms": float(np.nanmean(truth.flight_time_ms)),
        "step_time_ms": float(np.nanmean(truth.step_time_ms)),
        "vertical_oscillation_cm": float(np.nanmean(truth.vertical_oscillation_cm)),
        "thigh_extension_deg": float(np.nanmean(np.r_[truth.thigh_extension_deg["L"], truth.thigh_extension_deg["R"]])),
    }
    for name, ref in ref_vals.items():
        ms = analysis.summary.get(name)
        est = float(ms.mean) if ms is not None else float("nan")
        summary[name] = {"estimate": est, "truth": float(ref), "error": est - float(ref)}
    true_hip = float(np.nanmean(np.r_[truth.hip_extension_deg["L"], truth.hip_extension_deg["R"]]))
    summary["thigh_minus_true_hip_extension_deg"] = {
        "estimate": summary["thigh_extension_deg"]["estimate"], "truth": true_hip,
        "error": summary["thigh_extension_deg"]["estimate"] - true_hip}
    return TrialScore(metrics=metrics, summary=summary, counts=counts, per_leg=per_leg)


def frame_thigh_agreement(pose: PoseSeries, truth: Truth, *, span_s: tuple[float, float]) -> Agreement:
    """Per-frame 2D thigh angle from backtorun's kinematics (gap fill, filter, forward sign) vs the 3D truth."""
    from backtorun.kinematics import prepare
    from backtorun.metrics.angles import thigh_angle_deg
    from backtorun.settings import AnalysisSettings

    kin = prepare(pose, settings=AnalysisSettings(), view="side")
    t = pose.time_s
    m = (t >= span_s[0]) & (t <= span_s[1])
    est, ref = [], []
    for side in ("L", "R"):
        e = thigh_angle_deg(kin.angles_pose, side, kin.forward)
        r = np.interp(t, truth_time(truth), truth.thigh_angle_deg[side])
        est.append(e[m])
        ref.append(r[m])
    return agreement(np.concatenate(est), np.concatenate(ref))


def truth_time(truth: Truth) -> np.ndarray:
    return truth.extras["time_s"]


def mean_cycle_curve(signal: np.ndarray, *, pose_time: np.ndarray, ics: np.ndarray, n: int = 101) -> np.ndarray:
    """Mean of ``signal`` over gait cycles (IC to next IC of the same foot), time-normalised to ``n`` points."""
    cycles = []
    for a, b in zip(ics[:-1], ics[1:]):
        m = (pose_time >= a) & (pose_time <= b)
        if m.sum() < 5:
            continue
        x = (pose_time[m] - a) / (b - a)
        cycles.append(np.interp(np.linspace(0, 1, n), x, signal[m]))
    return np.nanmean(cycles, axis=0) if cycles else np.full(n, np.nan)


# ---------------------------------------------------------------------------------------------------------
# Running backtorun
# ---------------------------------------------------------------------------------------------------------


def analyze(pose: PoseSeries, *, speed_mps: float | None, height_cm: float | None, view: str = "side",
            settings: Any = None) -> Any:
    """Run backtorun's own analysis (kinematics, events, metrics) on a PoseSeries. ``settings``: an
    ``AnalysisSettings`` tree (None: defaults) — e.g. ``events.detector`` picks the event detector, so detectors
    are compared on the same trials by changing that one setting."""
    from backtorun.pipeline import analyze_pose

    return analyze_pose(pose, view=view, speed_mps=speed_mps, height_cm=height_cm, settings=settings)


def run_trial(data: TrialData, *, speed_mps: float | None, fps: float | None = None, noise_px: float = 0.0,
              yaw_deg: float = 0.0, camera_height_m: float | None = None, seed: int = 0,
              noise_cutoff_hz: float | None = None, occlude_far_leg: bool = False,
              settings: Any = None) -> TrialScore:
    """Project the trial through a side camera, analyse it with backtorun (``settings``: see :func:`analyze`) and
    score it."""
    cam = make_camera(data.keypoints, "side", yaw_deg=yaw_deg, height_m=camera_height_m)
    pose = to_pose(data.keypoints, cam, fps=fps, noise_px=noise_px, seed=seed, noise_cutoff_hz=noise_cutoff_hz,
                   occlude_far_leg=occlude_far_leg)
    analysis = analyze(pose, speed_mps=speed_mps, height_cm=data.height_cm, settings=settings)
    score = score_analysis(analysis, pose, data.truth)
    clean = to_pose(data.keypoints, cam, fps=fps)  # geometry only: no noise
    score.extras["stance_toe_rise_px"] = stance_toe_rise_px(clean, data.truth)
    score.extras["leg_length_px"] = float(np.nanmedian(np.linalg.norm(clean.xy[:, 23] - clean.xy[:, 27], axis=1)))
    far_foot = [SIDE_LANDMARKS["R"]["heel"], SIDE_LANDMARKS["R"]["toe"]]
    score.extras["far_foot_hidden_pct"] = float((pose.visibility[:, far_foot] < 0.5).mean() * 100.0)
    return score


def stance_toe_rise_px(pose: PoseSeries, truth: Truth, *, margin_s: float = 0.03) -> float:
    """Mean apparent upward travel (px) of the toe in the image between early and late stance.

    The toe rests on the belt throughout stance, so this is 0 for a perpendicular camera; with yaw the belt
    runs towards or away from the camera and, below the lens, looks tilted in the image.
    """
    out = []
    for c in truth.contacts:
        toe = SIDE_LANDMARKS[c.side]["toe"]
        a, b = c.ic_s + margin_s, c.to_s - margin_s
        if b <= a:
            continue
        ya = np.interp(a, pose.time_s, pose.xy[:, toe, 1])
        yb = np.interp(b, pose.time_s, pose.xy[:, toe, 1])
        out.append(ya - yb)  # image y is down: positive = the toe appears to rise
    return float(np.nanmean(out)) if out else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m validation.rbds", description=(
        "Score backtorun on one RBDS trial: markers → side-view keypoints → analysis, against force-plate "
        "events and marker-based metrics."))
    p.add_argument("markers", type=Path)
    p.add_argument("forces", type=Path)
    p.add_argument("static", type=Path)
    p.add_argument("--speed-mps", type=float, required=True, help="treadmill belt speed (m/s)")
    p.add_argument("--fps", type=float, default=None, help="resample the keypoints to this frame rate")
    p.add_argument("--noise-px", type=float, default=0.0, help="Gaussian keypoint noise, SD in pixels")
    p.add_argument("--yaw-deg", type=float, default=0.0, help="camera yaw off perpendicular")
    p.add_argument("--camera-height-m", type=float, default=None, help="lens height (default: hip height)")
    p.add_argument("--height-cm", type=float, default=None, help="runner height (default: from the info sheet)")
    p.add_argument("--settings", type=Path, default=None,
                   help="analysis settings YAML/JSON (e.g. events: {detector: side}) or an earlier analysis.json")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        data = load_trial(args.markers, args.forces, args.static)
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.height_cm is not None:
        data = TrialData(data.keypoints, data.truth, args.height_cm)
    from backtorun.errors import ConfigError
    from backtorun.settings import load_settings

    try:
        settings = load_settings(args.settings) if args.settings is not None else None
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    score = run_trial(data, speed_mps=args.speed_mps, fps=args.fps, noise_px=args.noise_px, yaw_deg=args.yaw_deg,
                      camera_height_m=args.camera_height_m, settings=settings)
    head = score.headline()
    if args.json:
        from backtorun.types import json_safe

        out = dict(head)
        out["metrics"] = {k: v.to_dict() for k, v in score.metrics.items()}
        out["summary"] = score.summary
        out["per_leg"] = {leg: {k: v.to_dict() for k, v in d.items()} for leg, d in score.per_leg.items()}
        sys.stdout.write(json.dumps(json_safe(out), indent=2) + "\n")
    else:
        for k, v in head.items():
            sys.stdout.write(f"{k:34s} {v}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
