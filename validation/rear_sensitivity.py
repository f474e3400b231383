"""Rear-view gait events on projected motion capture, across the capture: the held-out test of the rear detector.

RBDS002's marker keypoints (2.5 and 4.5 m/s, force-plate events) are projected through a pinhole camera behind the
runner (``validation.camera.rear_camera``) at other lens heights, distances, frame rates (30/60/120/240) and
keypoint noise, then analysed as a rear view with ``events.rear.method`` = ``load`` (hip loading + toe) and
``level`` (the earlier foot-level rule). No constant of the detector was chosen on these conditions: the only data
consulted was RBDS002 through the default camera (hip height, 3 m, 150 fps, no noise). Reports IC/TO bias and MAE,
contact-time bias, events matched, and the pelvic drop (M11) computed with the detector's own stance windows
against the 3D reference. RBDS has no arm markers, so arm crossover (M12) is not scored here. A second, held-out
subject (Hamner subject 02, 3.9 m/s, force-plate events for one stride) is projected the same way.

``python -m validation.rear_sensitivity [--speeds 25 45] [--methods load level] [--json]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from validation import rbds

#: (label, keyword arguments of :func:`score_rear`); noise is white unless a cut-off is given.
CONDITIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("default: lens at hip height, 3 m, 150 fps", {}),
    ("30 fps", {"fps": 30.0}),
    ("60 fps", {"fps": 60.0}),
    ("120 fps", {"fps": 120.0}),
    ("240 fps", {"fps": 240.0}),
    ("lens at 0.5 m", {"camera_height_m": 0.5}),
    ("lens at 1.5 m", {"camera_height_m": 1.5}),
    ("2 m behind", {"distance_m": 2.0}),
    ("5 m behind", {"distance_m": 5.0}),
    ("60 fps, 1 px slow noise (6 Hz)", {"fps": 60.0, "noise_px": 1.0, "noise_cutoff_hz": 6.0}),
    ("30 fps, 1 px noise", {"fps": 30.0, "noise_px": 1.0}),
    ("60 fps, 3 px slow noise (6 Hz)", {"fps": 60.0, "noise_px": 3.0, "noise_cutoff_hz": 6.0}),
    ("30 fps, 3 px noise", {"fps": 30.0, "noise_px": 3.0}),
    ("120 fps, 2 px slow noise, lens 1.3 m, 4 m", {"fps": 120.0, "noise_px": 2.0, "noise_cutoff_hz": 6.0,
                                                   "camera_height_m": 1.3, "distance_m": 4.0}),
)

KEYS = ("ic_bias_ms", "ic_mae_ms", "to_bias_ms", "to_mae_ms", "contact_time_bias_ms", "n_events", "n_events_truth",
        "cadence_error_spm")


@dataclass
class RearRow:
    speed_mps: float
    method: str
    condition: str
    values: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def score_rear(data: rbds.TrialData, *, speed_mps: float, method: str = "load", fps: float | None = None,
               noise_px: float = 0.0, noise_cutoff_hz: float | None = None, camera_height_m: float | None = None,
               distance_m: float = 3.0, seed: int = 0) -> dict[str, float]:
    """Project ``data`` through a rear camera, analyse it as a rear view with ``events.rear.method = method`` and
    return the headline event figures plus the pelvic-drop agreement (bias, MAE; degrees)."""
    from backtorun.settings import AnalysisSettings

    kp = data.keypoints
    cam = rbds.make_camera(kp, "rear", distance_m=distance_m, height_m=camera_height_m)
    pose = rbds.to_pose(kp, cam, fps=fps, noise_px=noise_px, seed=seed, noise_cutoff_hz=noise_cutoff_hz)
    settings = AnalysisSettings(events={"rear": {"method": method}})
    analysis = rbds.analyze(pose, speed_mps=speed_mps, height_cm=data.height_cm, view="rear", settings=settings)
    score = rbds.score_analysis(analysis, pose, data.truth)
    head = score.headline()
    out = {k: float(head.get(k, float("nan"))) for k in KEYS}
    drop = score.metrics.get("pelvic_drop_deg")
    out["pelvic_drop_bias_deg"] = float(drop.bias) if drop is not None and drop.n else float("nan")
    out["pelvic_drop_mae_deg"] = float(drop.mae) if drop is not None and drop.n else float("nan")
    return out


def run(speeds: tuple[str, ...] = ("25", "45"), methods: tuple[str, ...] = ("load", "level"),
        conditions: tuple[tuple[str, dict[str, Any]], ...] = CONDITIONS) -> list[RearRow]:
    """Every (speed, method, condition); a condition that fails is reported, not hidden."""
    from backtorun.errors import BacktorunError

    rows = []
    for sp in speeds:
        data = rbds.load_trial(*rbds.rbds_paths(sp))
        for method in methods:
            for label, kw in conditions:
                row = RearRow(speed_mps=int(sp) / 10, method=method, condition=label)
                try:
                    row.values = score_rear(data, speed_mps=row.speed_mps, method=method, **kw)
                except BacktorunError as exc:
                    row.error = str(exc)
                rows.append(row)
    return rows


def hamner_rear(*, camera_height_m: float | None = None, distance_m: float = 3.0) -> dict[str, Any]:
    """Held-out subject: Hamner subject 02 (3.9 m/s, 60 fps, toe-tip marker like BlazePose's foot index) through a
    rear camera; error (ms) of the event nearest each force-plate IC/TO, for every method / ``to_signal``."""
    import numpy as np

    from backtorun.settings import AnalysisSettings
    from validation import hamner
    from validation.camera import project_pose, rear_camera

    tr = hamner.load_ik()
    pts = hamner.build_keypoints(tr)
    target = np.nanmean(0.5 * (pts[:, 23] + pts[:, 24]), axis=0)
    cam = rear_camera(target, distance_m=distance_m, height_m=camera_height_m)
    pose = project_pose(pts, tr.time_s, cam, source="validation/hamner-markers")
    pose = pose.replace(time_s=np.asarray(tr.time_s, float))
    out: dict[str, Any] = {}
    for label, rear in (("load/toe", {"method": "load", "to_signal": "toe"}),
                        ("load/hip", {"method": "load", "to_signal": "hip"}), ("level", {"method": "level"})):
        analysis = rbds.analyze(pose, speed_mps=hamner.belt_speed_mps(pts), height_cm=None, view="rear",
                                settings=AnalysisSettings(events={"rear": rear}))
        errs = []
        for side, ic, to in hamner.force_events():
            for kind, t_true in (("IC", ic), ("TO", to)):
                cand = np.array([e.time_s for e in analysis.events.select(side=side, kind=kind)])
                if cand.size:
                    errs.append((side, kind, float((cand[np.argmin(np.abs(cand - t_true))] - t_true) * 1000.0)))
        out[label] = errs
    return out


def markdown(rows: list[RearRow]) -> str:
    """A Markdown table of ``rows``."""
    def f(v: float, d: int = 1) -> str:
        return "—" if v != v else f"{v:.{d}f}"

    out = ["| speed (m/s) | method | condition | IC bias (ms) | IC MAE (ms) | TO bias (ms) | TO MAE (ms) | "
           "contact-time bias (ms) | events matched | pelvic drop bias / MAE (°) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r.values
        if r.error:
            out.append(f"| {r.speed_mps:.1f} | {r.method} | {r.condition} | failed: {r.error} |||||||")
            continue
        out.append(f"| {r.speed_mps:.1f} | {r.method} | {r.condition} | {f(v['ic_bias_ms'])} | {f(v['ic_mae_ms'])} "
                   f"| {f(v['to_bias_ms'])} | {f(v['to_mae_ms'])} | {f(v['contact_time_bias_ms'])} "
                   f"| {v['n_events']:.0f}/{v['n_events_truth']:.0f} | {f(v['pelvic_drop_bias_deg'], 2)} / "
                   f"{f(v['pelvic_drop_mae_deg'], 2)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m validation.rear_sensitivity", description=(
        "Rear-view IC/TO and pelvic drop on RBDS002 projected through rear cameras at other heights, distances, "
        "frame rates and keypoint noise."))
    p.add_argument("--speeds", nargs="+", default=["25", "45"], choices=["25", "45"])
    p.add_argument("--methods", nargs="+", default=["load", "level"], choices=["load", "level"])
    p.add_argument("--json", action="store_true", help="print JSON rows instead of a Markdown table")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    try:
        rows = run(tuple(args.speeds), tuple(args.methods))
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    ham = {f"lens {h or 'at hip height'}": hamner_rear(camera_height_m=h) for h in (None, 1.3)}
    if args.json:
        sys.stdout.write(json.dumps({"rbds": [asdict(r) for r in rows], "hamner": ham}, indent=1, default=float)
                         + "\n")
    else:
        sys.stdout.write(markdown(rows) + "\n\nHamner subject 02 (held out), error of the nearest event (ms):\n")
        for cam, res in ham.items():
            for label, errs in res.items():
                sys.stdout.write(f"- {cam}, {label}: " + ", ".join(f"{s} {k} {e:+.1f}" for s, k, e in errs) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
