"""Hamner subject02 (OpenSim): how much of the hip extension seen in 2D is true hip extension, pelvic tilt and
lumbar extension; how well the trunk-extension-at-push-off indicator follows ``lumbar_extension``.

Data: Hamner SR, Seth A, Delp SL. Muscle contributions to propulsion and support during running. J Biomech
2010;43:2709–2716; files from opensim-org/opensim-core (Apache-2.0). ``subject02_running_arms_ik.mot``: 60 Hz,
10 s, OpenSim coordinates in degrees (``hip_flexion_r/l``, ``pelvis_tilt``, ``lumbar_extension``) and 41 marker
positions in metres (lab frame X forward, Y up, Z right).

Keypoints: hips = Harrington 2007 regression from the ASIS markers and the sacral marker (PSIS mid-point);
knees and ankles = functional joint centres between the segment marker clusters (SCoRE, validation.mocap);
heels/toes = heel and toe-tip markers; shoulders = acromion markers; elbows = elbow markers; wrists =
mid-point of the wrist markers; ears = temple markers; nose = temple mid-point 9 cm forward along the head's
facing direction (an approximation, only used for the view check).

Sagittal planar decomposition (OpenSim signs: hip_flexion + = flexion; pelvis_tilt + = posterior tilt;
lumbar_extension + = extension): thigh angle to the vertical (+ = knee behind hip) ≈ −hip_flexion − pelvis_tilt,
i.e. true hip extension + anterior pelvic tilt; relative 2D hip extension (thigh − trunk lean) ≈ −hip_flexion +
lumbar_extension + constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtorun.conventions import (
    L_EAR, L_ELBOW, L_SHOULDER, L_WRIST, N_LANDMARKS, NOSE, R_EAR, R_ELBOW, R_SHOULDER, R_WRIST, SIDE_LANDMARKS,
)
from validation import SHARED_DATA
from validation.mocap import harrington_hjc, score_joint_centre

HAMNER_DIR = SHARED_DATA / "mocap" / "hamner_subject02"
IK_FILE = HAMNER_DIR / "subject02_running_arms_ik.mot"
GRF_FILE = HAMNER_DIR / "subject02_grf_HiFreq.mot"
FPS = 60.0


def read_opensim_table(path: str | Path) -> pd.DataFrame:
    """Read an OpenSim .mot/.sto table (header up to ``endheader``, then whitespace-separated columns)."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader") + 1
    except StopIteration as exc:
        raise ValueError(f"{path}: no 'endheader' line — not an OpenSim table") from exc
    while start < len(lines) and not lines[start].strip():
        start += 1
    return pd.read_csv(path, sep=r"\s+", skiprows=start, engine="python")


@dataclass(frozen=True)
class HamnerTrial:
    time_s: np.ndarray
    coords: pd.DataFrame  # OpenSim coordinates (deg / m)
    markers: dict[str, np.ndarray]  # name → frames × 3, metres

    def m(self, name: str) -> np.ndarray:
        return self.markers[name]


def load_ik(path: str | Path = IK_FILE) -> HamnerTrial:
    df = read_opensim_table(path)
    names = sorted({c[:-3] for c in df.columns if c.endswith("_tx") and not c.startswith("pelvis_")})
    markers = {n: df[[f"{n}_tx", f"{n}_ty", f"{n}_tz"]].to_numpy(float) for n in names}
    t = np.arange(len(df)) / FPS  # the time column is rounded to 1 ms
    marker_cols = {f"{n}_{a}" for n in names for a in ("tx", "ty", "tz")}
    coords = df[[c for c in df.columns if c not in marker_cols]]
    return HamnerTrial(time_s=t, coords=coords, markers=markers)


def build_keypoints(tr: HamnerTrial) -> np.ndarray:
    """BlazePose-layout 3D keypoints (frames × 33 × 3, metres; see the module doc)."""
    n = tr.time_s.size
    pts = np.full((n, N_LANDMARKS, 3), np.nan)
    sac = tr.m("V.Sacral")
    r_hjc, l_hjc = harrington_hjc(tr.m("R.ASIS"), tr.m("L.ASIS"), sac, sac, units_per_mm=0.001)
    for side, hjc in (("R", r_hjc), ("L", l_hjc)):
        idx = SIDE_LANDMARKS[side]
        thigh = np.stack([tr.m(f"{side}.Thigh.{k}") for k in ("Upper", "Front", "Rear")], axis=1)
        shank = np.stack([tr.m(f"{side}.Shank.{k}") for k in ("Upper", "Front", "Rear")], axis=1)
        foot = np.stack([tr.m(f"{side}.{k}") for k in ("Heel", "Midfoot.Sup", "Midfoot.Lat", "Toe.Tip",
                                                        "Toe.Lat", "Toe.Med")], axis=1)
        pts[:, idx["hip"]] = hjc
        pts[:, idx["knee"]] = score_joint_centre(thigh, shank)
        pts[:, idx["ankle"]] = score_joint_centre(shank, foot)
        pts[:, idx["heel"]] = tr.m(f"{side}.Heel")
        pts[:, idx["toe"]] = tr.m(f"{side}.Toe.Tip")
    pts[:, L_SHOULDER] = tr.m("L.Acromium")
    pts[:, R_SHOULDER] = tr.m("R.Acromium")
    pts[:, L_ELBOW] = tr.m("L.Elbow")
    pts[:, R_ELBOW] = tr.m("R.Elbow")
    pts[:, L_WRIST] = 0.5 * (tr.m("L.Wrist.Med") + tr.m("L.Wrist.Lat"))
    pts[:, R_WRIST] = 0.5 * (tr.m("R.Wrist.Med") + tr.m("R.Wrist.Lat"))
    pts[:, L_EAR] = tr.m("L.Temple")
    pts[:, R_EAR] = tr.m("R.Temple")
    mid = 0.5 * (tr.m("L.Temple") + tr.m("R.Temple"))
    across = tr.m("R.Temple") - tr.m("L.Temple")
    fwd = np.cross(across, np.array([0.0, 1.0, 0.0]))  # right × up = backward; flip below
    fwd = -fwd / np.linalg.norm(fwd, axis=1, keepdims=True)
    pts[:, NOSE] = mid + 0.09 * fwd - np.array([0.0, 0.03, 0.0])
    return pts


def belt_speed_mps(pts: np.ndarray, *, fps: float = FPS) -> float:
    """Treadmill belt speed estimated from the toe keypoints: median backward speed while the toe is lowest
    (the stance foot moves with the belt)."""
    speeds = []
    for toe in (SIDE_LANDMARKS["L"]["toe"], SIDE_LANDMARKS["R"]["toe"]):
        x, y = pts[:, toe, 0], pts[:, toe, 1]
        vx = np.gradient(x, 1.0 / fps)
        low = y < np.nanpercentile(y, 20)
        speeds.append(-np.nanmedian(vx[low]))
    return float(np.mean(speeds))


# ---------------------------------------------------------------------------------------------------------
# Decomposition of apparent hip extension; trunk indicator vs lumbar extension
# ---------------------------------------------------------------------------------------------------------

from validation.agreement import Agreement, agreement  # noqa: E402
from validation.camera import PinholeCamera, project_pose, side_camera  # noqa: E402


def side_pose(pts: np.ndarray, time_s: np.ndarray, *, distance_m: float = 3.5, yaw_deg: float = 0.0) -> Any:
    """Side-view PoseSeries (camera on the runner's left, level, at hip height)."""
    target = np.nanmean(0.5 * (pts[:, 23] + pts[:, 24]), axis=0)
    cam: PinholeCamera = side_camera(target, distance_m=distance_m, yaw_deg=yaw_deg, side="L")
    return project_pose(pts, time_s, cam, source="validation/hamner-markers")


def image_angles(pose: Any) -> dict[str, np.ndarray]:
    """2D thigh angles (L, R) and trunk lean from the image, with backtorun's own angle functions."""
    from backtorun.metrics.angles import thigh_angle_deg, trunk_lean_deg

    fwd = -1  # camera on the runner's left: the runner faces image left
    return {"L": thigh_angle_deg(pose, "L", fwd), "R": thigh_angle_deg(pose, "R", fwd),
            "trunk": trunk_lean_deg(pose, fwd)}


def toe_off_proxy(thigh_deg: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Row indices of peak thigh extension per stride (a toe-off proxy when no events are given)."""
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(np.nan_to_num(thigh_deg, nan=-90.0), distance=int(0.45 * fps), prominence=15.0)
    return peaks


@dataclass
class Decomposition:
    """Per-stride values at peak 2D thigh extension near toe-off, and the regression over all frames."""

    rows: pd.DataFrame  # side, row, thigh_2d, rel_hip_2d, true_hip_ext, anterior_tilt, lumbar_ext, ...
    coef: dict[str, float]  # regression thigh_2d ≈ a·true_hip_ext + b·anterior_tilt + c
    r2: float
    rel_coef: dict[str, float]  # rel_hip_2d ≈ a·true_hip_ext + b·lumbar_ext + c
    rel_r2: float
    indicator: pd.DataFrame  # per stride: trunk_ext_pushoff_2d, lumbar_ext_change, trunk_pelvis_change
    indicator_r: float
    indicator_agreement: Agreement
    event_source: str


def _lstsq(y: np.ndarray, cols: list[np.ndarray]) -> tuple[np.ndarray, float]:
    x = np.column_stack(cols + [np.ones_like(y)])
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    beta, *_ = np.linalg.lstsq(x[ok], y[ok], rcond=None)
    res = y[ok] - x[ok] @ beta
    return beta, float(1 - res.var() / y[ok].var())


def decompose(tr: HamnerTrial, pose: Any, *, to_rows: dict[str, np.ndarray] | None = None,
              window_s: float = 0.05) -> Decomposition:
    """Split the 2D hip-extension measures into true hip extension, pelvic tilt and lumbar extension.

    ``to_rows`` are toe-off row indices per side (from backtorun's events); without them the peak 2D thigh
    extension of each stride is used. The 2D peak is searched within toe-off ± ``window_s`` (domain.md M6).
    """
    ang = image_angles(pose)
    c = tr.coords
    hip_ext = {"L": -c["hip_flexion_l"].to_numpy(float), "R": -c["hip_flexion_r"].to_numpy(float)}
    ant_tilt = -c["pelvis_tilt"].to_numpy(float)
    lumbar = c["lumbar_extension"].to_numpy(float)
    source = "backtorun events" if to_rows is not None else "peak thigh extension (proxy)"
    w = int(round(window_s * FPS))
    rows, ind = [], []
    for side in ("L", "R"):
        thigh = ang[side]
        rel = thigh - ang["trunk"]
        tos = to_rows[side] if to_rows is not None else toe_off_proxy(thigh)
        tos = np.asarray(sorted(tos), int)
        for k, to in enumerate(tos):
            lo, hi = max(to - w, 0), min(to + w + 1, thigh.size)
            if hi - lo < 2 or not np.isfinite(thigh[lo:hi]).any():
                continue
            i = lo + int(np.nanargmax(thigh[lo:hi]))
            rows.append({"side": side, "row": i, "thigh_2d": thigh[i], "rel_hip_2d": np.nanmax(rel[lo:hi]),
                         "true_hip_ext": hip_ext[side][i], "anterior_tilt": ant_tilt[i], "lumbar_ext": lumbar[i]})
            # trunk extension at push-off (domain.md M7 a): mean trunk lean over the stride − lean at TO
            if k + 1 < tos.size:
                s, e = to, tos[k + 1]
                trunk = ang["trunk"]
                ind.append({
                    "side": side, "to_row": to,
                    "trunk_ext_pushoff_2d": float(np.nanmean(trunk[s:e]) - trunk[to]),
                    "lumbar_ext_change": float(lumbar[to] - np.nanmean(lumbar[s:e])),
                    # trunk orientation in the lab = pelvis + lumbar; its backward change at TO
                    "trunk_pelvis_change": float((lumbar[to] + c["pelvis_tilt"].iloc[to])
                                                 - np.nanmean(lumbar[s:e] + c["pelvis_tilt"].to_numpy(float)[s:e])),
                })
    rows_df = pd.DataFrame(rows)
    ind_df = pd.DataFrame(ind)
    # regression over all frames (both sides stacked)
    y = np.r_[ang["L"], ang["R"]]
    beta, r2 = _lstsq(y, [np.r_[hip_ext["L"], hip_ext["R"]], np.r_[ant_tilt, ant_tilt]])
    rel_y = np.r_[ang["L"] - ang["trunk"], ang["R"] - ang["trunk"]]
    rbeta, rr2 = _lstsq(rel_y, [np.r_[hip_ext["L"], hip_ext["R"]], np.r_[lumbar, lumbar]])
    r = float(np.corrcoef(ind_df["trunk_ext_pushoff_2d"], ind_df["lumbar_ext_change"])[0, 1]) if len(ind_df) > 2 else float("nan")
    return Decomposition(
        rows=rows_df, coef={"true_hip_ext": beta[0], "anterior_tilt": beta[1], "const": beta[2]}, r2=r2,
        rel_coef={"true_hip_ext": rbeta[0], "lumbar_ext": rbeta[1], "const": rbeta[2]}, rel_r2=rr2,
        indicator=ind_df, indicator_r=r,
        indicator_agreement=agreement(ind_df.get("trunk_ext_pushoff_2d", []), ind_df.get("trunk_pelvis_change", [])),
        event_source=source,
    )


def force_events() -> list[tuple[str, float, float]]:
    """(side, IC s, TO s) of the contacts in the GRF file (two plates; foot from the lowest foot marker)."""
    from validation.forceplate import detect_contacts

    g = read_opensim_table(GRF_FILE)
    t = g["time"].to_numpy(float)
    tr = load_ik()
    out = []
    for col in ("ground_force_vy", "1_ground_force_vy"):
        for c in detect_contacts(g[col].to_numpy(float), t):
            i = int(np.clip(np.searchsorted(tr.time_s, 0.5 * (c.ic_s + c.to_s)), 0, tr.time_s.size - 1))
            low = {s: min(tr.m(f"{s}.Heel")[i, 1], tr.m(f"{s}.Toe.Tip")[i, 1]) for s in ("L", "R")}
            out.append(("L" if low["L"] < low["R"] else "R", c.ic_s, c.to_s))
    return sorted(out, key=lambda e: e[1])


def pipeline_indicator(tr: HamnerTrial, pose: Any, analysis: Any) -> pd.DataFrame:
    """backtorun's per-stride trunk extension at push-off next to the OpenSim truth over the same stride.

    For each stride row (IC → next IC of the same foot) with a toe-off of that foot inside it:
    lumbar change = lumbar_extension(TO) − mean over the stride; trunk change = the same for
    lumbar_extension + pelvis_tilt (the trunk's orientation in the lab, + = backwards).
    """
    lumbar = tr.coords["lumbar_extension"].to_numpy(float)
    trunk = lumbar + tr.coords["pelvis_tilt"].to_numpy(float)
    df = analysis.strides
    if df is None or not len(df) or "trunk_extension_at_pushoff_deg" not in df.columns:
        return pd.DataFrame()
    rows = []
    for _, r in df.iterrows():
        s, e = int(r["start_frame"]), int(r["end_frame"])
        tos = [ev.frame for ev in analysis.events.select(side=r["side"], kind="TO") if s < ev.frame < e]
        if not tos or not np.isfinite(r["trunk_extension_at_pushoff_deg"]) or e > lumbar.size:
            continue
        to = tos[0]
        rows.append({"side": r["side"], "to_frame": to, "valid": bool(r.get("valid", True)),
                     "indicator_deg": float(r["trunk_extension_at_pushoff_deg"]),
                     "lumbar_change_deg": float(lumbar[to] - lumbar[s:e].mean()),
                     "trunk_change_deg": float(trunk[to] - trunk[s:e].mean())})
    return pd.DataFrame(rows)
