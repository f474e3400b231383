"""Initial contact (landing rule), belt-line levelling and foot-noise estimate of the side-view detector."""

from __future__ import annotations

import numpy as np

from backtorun.events.detect import (
    TreadmillEventDetector,
    belt_slope,
    foot_jitter_px,
    level_belt,
)
from backtorun.pipeline import analyze_pose
from backtorun.synthetic import RunnerSpec, synthetic_run, true_events

LEG_PX = 450.0
FS = 150.0


def _detector() -> TreadmillEventDetector:
    return TreadmillEventDetector()


def test_hovering_foot_is_not_taken_as_landed() -> None:
    # fast descent, then the heel hovers 6 px (1.3 % of the leg, inside the old 2 % "on the belt" band) above the
    # belt for 12 frames (80 ms), then descends slowly and lands at frame 40 (RBDS 2.5 m/s pattern)
    gap = np.r_[np.linspace(60, 6, 20), np.full(12, 6.0), np.linspace(6, 0, 9), np.zeros(30)]
    landed_at = 20 + 12 + 8
    ic = _detector()._landing(gap, 0, gap.size - 1, FS, LEG_PX, noise_px=0.0)
    assert ic is not None and abs(ic - landed_at) <= 1, ic
    assert not (gap[:ic] <= 0.02 * LEG_PX).all()  # the old threshold rule would have fired during the hover


def test_fast_landing_fires_within_the_stopping_distance() -> None:
    # heel descends at 1 leg/s and touches down at frame 30, then sinks decelerating at 30 leg/s² (shoe and heel
    # pad compress): touch-down is reported at 30 ± 1 frame, not when the sinking ends (≈ 35)
    v0, a = 1.0 * LEG_PX, 30.0 * LEG_PX
    t = np.arange(60) / FS
    tc = 30 / FS
    sink = v0 ** 2 / (2 * a)
    gap = np.where(t < tc, sink + v0 * (tc - t), np.maximum(sink - (v0 * (t - tc) - 0.5 * a * (t - tc) ** 2), 0.0))
    gap[t > tc + v0 / a] = 0.0
    ic = _detector()._landing(gap, 0, gap.size - 1, FS, LEG_PX, noise_px=0.0)
    assert ic is not None and abs(ic - 30) <= 1, ic


def test_belt_slope_is_recovered_and_levelled() -> None:
    pose = synthetic_run(RunnerSpec(), fps=120.0, duration_s=6)
    leg = 0.53 * 178 / 100 * 300  # synthetic: px_per_m = 300
    assert abs(belt_slope(pose, leg_length_px=leg)) < 0.006  # flat belt: < 1.5 px over a stance
    tilted = pose.xy.copy()
    tilted[..., 1] += 0.04 * (tilted[..., 0] - 640.0)
    tp = pose.replace(xy=tilted)
    beta = belt_slope(tp, leg_length_px=leg)
    assert abs(beta - 0.04) < 0.006
    flat = level_belt(tp, beta)
    residual_tilt = flat.xy[..., 1] - pose.xy[..., 1]  # what is left of the tilt after levelling
    assert np.nanstd(residual_tilt) < 0.25 * np.nanstd(tilted[..., 1] - pose.xy[..., 1])


def test_toe_off_survives_a_tilted_belt() -> None:
    spec = RunnerSpec()
    fps = 120.0
    pose = synthetic_run(spec, fps=fps, duration_s=8)
    tilted = pose.xy.copy()
    tilted[..., 1] += 0.04 * (tilted[..., 0] - 640.0)  # ≈ 10 px over a stance
    truth = true_events(spec, fps=fps, duration_s=8)
    for p in (pose, pose.replace(xy=tilted)):
        a = analyze_pose(p)
        est = np.array([e.time_s for e in a.events.select(side="L", kind="TO")])
        err = [abs(est[np.argmin(np.abs(est - t))] - t) for t in truth["L"]["TO"] if 0.5 < t < 7.5]
        assert len(err) >= 8 and np.mean(err) <= 1.5 / fps, np.mean(err) * fps


def test_foot_jitter_estimate_tracks_the_noise() -> None:
    clean = synthetic_run(RunnerSpec(), fps=60.0, duration_s=8)
    noisy = synthetic_run(RunnerSpec(), fps=60.0, duration_s=8, noise_px=2.0, seed=2)
    leg = 280.0
    assert foot_jitter_px(clean, leg_length_px=leg) < 0.3
    assert 1.0 < foot_jitter_px(noisy, leg_length_px=leg) < 3.0
