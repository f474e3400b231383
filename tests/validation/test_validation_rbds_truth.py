"""RBDS loaders, keypoints, force-plate reference and the scoring harness (independent of the pipeline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtorun.types import GaitAnalysis, GaitEvent, GaitEvents, MetricSummary, VideoInfo
from validation import rbds


@pytest.fixture(scope="module")
def trial25(rbds_trials):  # noqa: ANN001
    return rbds_trials["25"]


def test_force_plate_contacts_alternate_and_are_plausible(trial25) -> None:  # noqa: ANN001
    c = trial25.truth.contacts
    assert 70 <= len(c) <= 78  # 30 s at ~150 steps/min
    sides = [e.side for e in c]
    assert sum(a == b for a, b in zip(sides, sides[1:])) == 0  # left/right strictly alternate
    ct = np.array([e.to_s - e.ic_s for e in c]) * 1000
    assert 300 < ct.mean() < 360 and ct.std() < 10
    assert trial25.truth.cadence_spm == pytest.approx(150.1, abs=0.5)
    assert np.nanmean(trial25.truth.flight_time_ms) == pytest.approx(68.9, abs=3)


def test_keypoints_are_rigid_and_anatomically_placed(trial25) -> None:  # noqa: ANN001
    p = trial25.keypoints.points
    for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
        thigh = np.linalg.norm(p[:, hip] - p[:, knee], axis=1)
        shank = np.linalg.norm(p[:, knee] - p[:, ankle], axis=1)
        assert 0.40 < thigh.mean() < 0.50 and thigh.std() < 0.01
        assert 0.38 < shank.mean() < 0.46 and shank.std() < 0.01  # knee on thigh cluster, ankle on shank
    assert np.isnan(p[:, 11]).all()  # no shoulder markers in RBDS
    assert trial25.height_cm == pytest.approx(183.0)


def test_truth_thigh_extension_exceeds_true_hip_extension(trial25) -> None:  # noqa: ANN001
    t = trial25.truth
    for side in ("L", "R"):
        # an absolute thigh angle contains the pelvis' anterior tilt, so it is larger than true hip extension
        assert t.thigh_extension_deg[side].mean() > t.hip_extension_deg[side].mean() + 5


def _fake_analysis(truth: rbds.Truth, shift_ic_s: float, shift_to_s: float) -> GaitAnalysis:
    ev = []
    for c in truth.contacts:
        ev.append(GaitEvent(c.side, "near" if c.side == "L" else "far", "IC", 0, c.ic_s + shift_ic_s, 1.0))
        ev.append(GaitEvent(c.side, "near" if c.side == "L" else "far", "TO", 0, c.to_s + shift_to_s, 1.0))
    summary = {"cadence_spm": MetricSummary("cadence_spm", truth.cadence_spm + 1.0, 0, 0, 10)}
    return GaitAnalysis(video=VideoInfo("x", 150, 1, 1, 1), view="side", events=GaitEvents(tuple(ev)),
                        strides=pd.DataFrame(), summary=summary, quality_flags=())


def test_score_analysis_reports_known_shifts(trial25) -> None:  # noqa: ANN001
    kp = trial25.keypoints
    pose = rbds.to_pose(kp, rbds.make_camera(kp))
    score = rbds.score_analysis(_fake_analysis(trial25.truth, 0.010, -0.004), pose, trial25.truth)
    h = score.headline()
    assert h["ic_bias_ms"] == pytest.approx(10.0, abs=1e-6) and h["ic_mae_ms"] == pytest.approx(10.0, abs=1e-6)
    assert h["to_bias_ms"] == pytest.approx(-4.0, abs=1e-6)
    assert h["contact_time_bias_ms"] == pytest.approx(-14.0, abs=1e-6)
    assert h["flight_time_bias_ms"] == pytest.approx(14.0, abs=1e-6)
    assert h["cadence_error_spm"] == pytest.approx(1.0)
    assert h["n_events_missed"] == 0 and h["n_events_extra"] == 0
    assert h["n_events"] == h["n_events_truth"] > 100


def test_side_projection_matches_camera_geometry(trial25) -> None:  # noqa: ANN001
    kp = trial25.keypoints
    pose = rbds.to_pose(kp, rbds.make_camera(kp))
    assert pose.fps == pytest.approx(150.0) and pose.n_frames == kp.time_s.size
    leg_px = np.nanmedian(np.linalg.norm(pose.xy[:, 23] - pose.xy[:, 27], axis=1))
    assert 380 < leg_px < 470  # ≈ 0.85 m hip–ankle at ≈ 3 m with f = 1500 px → ≈ 425 px
    assert np.isfinite(pose.xy[:, [23, 24, 25, 26, 27, 28, 29, 30, 31, 32]]).all()
