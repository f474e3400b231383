"""Hamner subject02: keypoints from OpenSim markers and the hip-extension decomposition."""

from __future__ import annotations

import numpy as np
import pytest

from validation import hamner


@pytest.fixture(scope="module")
def trial(shared_data):  # noqa: ANN001
    tr = hamner.load_ik()
    return tr, hamner.build_keypoints(tr)


def test_opensim_reader_and_keypoints(trial) -> None:  # noqa: ANN001
    tr, pts = trial
    assert pts.shape == (600, 33, 3)
    assert {"hip_flexion_r", "pelvis_tilt", "lumbar_extension", "pelvis_tx"} <= set(tr.coords.columns)
    for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
        thigh = np.linalg.norm(pts[:, hip] - pts[:, knee], axis=1)
        shank = np.linalg.norm(pts[:, knee] - pts[:, ankle], axis=1)
        assert 0.38 < thigh.mean() < 0.50 and thigh.std() < 0.01  # functional knee centre stays on the femur
        assert 0.38 < shank.mean() < 0.48 and shank.std() < 0.01
    assert hamner.belt_speed_mps(pts) == pytest.approx(3.9, abs=0.2)


def test_force_events_are_one_stride(shared_data) -> None:  # noqa: ANN001
    ev = hamner.force_events()
    assert [e[0] for e in ev] in (["L", "R"], ["R", "L"])
    for _, ic, to in ev:
        assert 0.20 < to - ic < 0.30  # contact time at ≈ 3.9 m/s


def test_2d_thigh_extension_decomposes_into_hip_extension_and_tilt(trial) -> None:  # noqa: ANN001
    tr, pts = trial
    d = hamner.decompose(tr, hamner.side_pose(pts, tr.time_s))
    assert len(d.rows) >= 24  # ≈ 14 strides per leg in 10 s
    resid = d.rows["thigh_2d"] - d.rows["true_hip_ext"] - d.rows["anterior_tilt"]
    assert abs(resid.mean()) < 2.0  # planar identity: thigh ≈ hip extension + anterior tilt
    assert d.r2 > 0.99 and 0.85 < d.coef["true_hip_ext"] < 1.05
    # the 2D trunk indicator follows the trunk's (pelvis + lumbar) orientation change, not lumbar alone
    r_trunk = np.corrcoef(d.indicator["trunk_ext_pushoff_2d"], d.indicator["trunk_pelvis_change"])[0, 1]
    assert r_trunk > 0.6
    assert r_trunk > d.indicator_r + 0.3
