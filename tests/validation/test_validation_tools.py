"""Unit tests of the validation tool kit: agreement statistics, force-plate contacts, camera, marker helpers."""

from __future__ import annotations

import numpy as np
import pytest

from backtorun.conventions import L_HIP, N_LANDMARKS, R_HIP
from validation.agreement import agreement, match_events
from validation.camera import PinholeCamera, project_pose, resample, side_camera
from validation.forceplate import detect_contacts
from validation.mocap import fill_gaps, harrington_hjc, rigid_fit, score_joint_centre, sagittal_angle_from_down_deg


def test_agreement_bland_altman_numbers() -> None:
    est = np.array([11.0, 12.0, 9.0, 8.0, np.nan])
    ref = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    a = agreement(est, ref)
    assert a.n == 4
    assert a.bias == pytest.approx(0.0)
    assert a.mae == pytest.approx(1.5)
    sd = np.std([1, 2, -1, -2], ddof=1)
    assert a.loa_high == pytest.approx(1.96 * sd)
    assert a.rmse == pytest.approx(np.sqrt(2.5))
    assert agreement([], []).n == 0


def test_match_events_nearest_within_tolerance_and_span() -> None:
    m = match_events([1.01, 2.2, 3.0, 5.0], [1.0, 2.0, 3.02, 4.0], tolerance_s=0.1, span_s=(0.5, 3.5))
    assert m.n_truth == 3  # 4.0 lies outside the span
    np.testing.assert_allclose(m.error_ms, [10.0, -20.0], atol=1e-9)
    assert m.n_missed == 1 and m.n_extra == 1  # 2.0 unmatched (2.2 too far), 2.2 extra


def _synthetic_force(fs: float = 300.0) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    t = np.arange(0, 3.0, 1 / fs)
    f = np.zeros_like(t)
    truth = []
    for k in range(7):
        ic = 0.2 + 0.4 * k
        to = ic + 0.25
        m = (t >= ic) & (t <= to)
        f[m] = 1500.0 * np.sin(np.pi * (t[m] - ic) / 0.25)
        truth.append((ic, to))
    rng = np.random.default_rng(1)
    f += rng.normal(0, 5.0, f.size)  # noise around zero must not create contacts
    return t, f, truth


def test_forceplate_contacts_match_synthetic_truth() -> None:
    t, f, truth = _synthetic_force()
    contacts = detect_contacts(f, t)
    assert len(contacts) == len(truth)
    for c, (ic, to) in zip(contacts, truth):
        # a 20 N threshold on a 1500 N half-sine is crossed ~1 ms after the true start
        assert c.ic_s == pytest.approx(ic, abs=0.004)
        assert c.to_s == pytest.approx(to, abs=0.004)
        assert 240 < c.duration_ms < 252


def test_forceplate_hysteresis_keeps_one_contact_through_a_dip() -> None:
    t = np.arange(0, 1, 1 / 1000)
    f = np.where((t > 0.2) & (t < 0.5), 800.0, 0.0)
    f[(t > 0.30) & (t < 0.31)] = 35.0  # dips below the on-threshold but stays above the off-threshold
    assert len(detect_contacts(f, t)) == 1


def test_camera_projects_centre_and_scales_with_distance() -> None:
    cam = PinholeCamera(position_m=(0.0, 1.0, -3.0), target_m=(0.0, 1.0, 0.0))
    uv = cam.project(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0]]))
    np.testing.assert_allclose(uv[0], [960.0, 540.0])
    assert uv[1, 1] == pytest.approx(540.0 - 1500.0 / 3.0)  # 1 m up → 500 px up at 3 m
    assert uv[2, 0] == pytest.approx(960.0 - 500.0)  # camera on the runner's left: forward (+X) is image left


def test_side_camera_yaw_moves_camera_forward() -> None:
    cam = side_camera(np.array([0.0, 1.0, 0.0]), distance_m=3.0, yaw_deg=20.0)
    x, y, z = cam.position_m
    assert x == pytest.approx(3.0 * np.sin(np.radians(20)))
    assert z == pytest.approx(-3.0 * np.cos(np.radians(20)))
    assert y == pytest.approx(1.0)


def test_project_pose_marks_missing_landmarks_and_adds_seeded_noise() -> None:
    n = 50
    pts = np.full((n, N_LANDMARKS, 3), np.nan)
    pts[:, L_HIP] = [0.0, 1.0, -0.1]
    pts[:, R_HIP] = [0.0, 1.0, 0.1]
    cam = PinholeCamera(position_m=(0.0, 1.0, -3.0), target_m=(0.0, 1.0, 0.0))
    pose = project_pose(pts, np.arange(n) / 100.0, cam)
    assert pose.fps == pytest.approx(100.0)
    assert pose.visibility[0, L_HIP] == 1.0 and pose.visibility[0, 0] == 0.0
    assert np.isnan(pose.xy[0, 0]).all()
    noisy = project_pose(pts, np.arange(n) / 100.0, cam, noise_px=3.0, seed=4)
    d = (noisy.xy - pose.xy)[:, [L_HIP, R_HIP]].ravel()
    assert 2.0 < d.std() < 4.0
    again = project_pose(pts, np.arange(n) / 100.0, cam, noise_px=3.0, seed=4)
    np.testing.assert_array_equal(noisy.xy, again.xy)


def test_resample_keeps_a_sine_and_the_span() -> None:
    t = np.arange(0, 2, 1 / 150)
    x = np.sin(2 * np.pi * 1.5 * t)[:, None, None] * np.ones((1, 1, 3))
    y, nt = resample(x, t, 60.0)
    assert nt[0] == 0 and nt[-1] <= t[-1] + 1e-9 and np.diff(nt).mean() == pytest.approx(1 / 60)
    np.testing.assert_allclose(y[:, 0, 0], np.sin(2 * np.pi * 1.5 * nt), atol=1e-4)


def test_fill_gaps_fills_short_gaps_only() -> None:
    x = np.sin(np.linspace(0, 6, 200))[:, None]
    x2 = x.copy()
    x2[50:55] = np.nan
    x2[100:160] = np.nan
    out = fill_gaps(x2, max_gap=10)
    np.testing.assert_allclose(out[50:55], x[50:55], atol=1e-4)
    assert np.isnan(out[100:160]).all()


def _rot(axis: int, deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    r = np.eye(3)
    i, j = [k for k in range(3) if k != axis]
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def test_rigid_fit_recovers_rotation_and_translation() -> None:
    ref = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.2, 0], [0, 0, 0.05]], float)
    rot = _rot(2, 30) @ _rot(0, 10)
    cur = ref @ rot.T + np.array([1.0, 2.0, 3.0])
    r, t = rigid_fit(ref, cur)
    np.testing.assert_allclose(r, rot, atol=1e-9)
    np.testing.assert_allclose(t, [1, 2, 3], atol=1e-9)


def test_harrington_hjc_on_a_level_pelvis() -> None:
    # level pelvis facing +X, ASIS 250 mm apart, PSIS 150 mm behind
    r_asis, l_asis = np.array([[0.0, 1000.0, 125.0]]), np.array([[0.0, 1000.0, -125.0]])
    r_psis, l_psis = np.array([[-150.0, 1000.0, 45.0]]), np.array([[-150.0, 1000.0, -45.0]])
    r, l = harrington_hjc(r_asis, l_asis, r_psis, l_psis)
    np.testing.assert_allclose(r[0], [-0.24 * 150 - 9.9, 1000 - 0.30 * 250 - 10.9, 0.33 * 250 + 7.3])
    np.testing.assert_allclose(l[0, 2], -(0.33 * 250 + 7.3))


def test_score_joint_centre_finds_a_hinge() -> None:
    rng = np.random.default_rng(0)
    centre = np.array([0.3, 0.5, 0.1])
    prox_local = rng.normal(0, 0.05, (4, 3)) + [0, 0.2, 0]
    dist_local = rng.normal(0, 0.05, (4, 3)) + [0, -0.2, 0]
    n = 120
    prox, dist = np.zeros((n, 4, 3)), np.zeros((n, 4, 3))
    for i in range(n):
        swing = _rot(2, 20 * np.sin(i / 10)) @ _rot(0, 5 * np.cos(i / 7))
        bend = _rot(2, -60 * (1 + np.sin(i / 6)) / 2)
        drift = np.array([0.01 * i, 0.0, 0.0])
        prox[i] = prox_local @ swing.T + centre + drift
        dist[i] = dist_local @ (swing @ bend).T + centre + drift
    est = score_joint_centre(prox, dist)
    truth = centre + np.c_[0.01 * np.arange(n), np.zeros(n), np.zeros(n)]
    # the sagittal (X–Y) position is what a side view uses; it must be within 5 mm
    assert np.abs(est[:, :2] - truth[:, :2]).max() < 0.005


def test_sagittal_angle_sign_convention() -> None:
    hip = np.array([[0.0, 1.0, 0.0]])
    assert sagittal_angle_from_down_deg(hip, np.array([[-0.1, 0.6, 0.0]]))[0] > 0  # knee behind → extension
    assert sagittal_angle_from_down_deg(hip, np.array([[0.0, 0.5, 0.0]]))[0] == pytest.approx(0.0)
