"""Side-view ICs from the body's loading (events/loading.py, ``events.side.ic_from_loading``), on motion capture
projected through a side camera and scored against the force plate: better than the foot's touch-down on
noise-free marker keypoints, worse once the keypoints carry pixel noise — which is why it is an option and not the
default (docs/validation.md §6e) — and "far" leaves the near leg's events alone."""

from __future__ import annotations

import pytest

from backtorun.settings import AnalysisSettings


@pytest.fixture(scope="module")
def rbds_trials(shared_data):  # noqa: ANN001
    from validation import rbds

    return {speed: rbds.load_trial(*rbds.rbds_paths(speed)) for speed in ("25", "45")}


def _analysis(data, speed_mps: float, mode: str, *, fps: float | None = None, noise_px: float = 0.0):  # noqa: ANN001, ANN202
    from validation import rbds

    pose = rbds.to_pose(data.keypoints, rbds.make_camera(data.keypoints), fps=fps, noise_px=noise_px, seed=5)
    settings = AnalysisSettings(events={"side": {"ic_from_loading": mode}})
    analysis = rbds.analyze(pose, speed_mps=speed_mps, height_cm=data.height_cm, settings=settings)
    return analysis, rbds.score_analysis(analysis, pose, data.truth).headline()


def test_loading_ic_beats_the_foot_on_noise_free_markers(rbds_trials) -> None:  # noqa: ANN001
    _, foot = _analysis(rbds_trials["45"], 4.5, "none")
    _, load = _analysis(rbds_trials["45"], 4.5, "all")
    assert load["n_events_detected"] == foot["n_events_detected"] == load["n_events_truth"]
    assert load["ic_mae_ms"] <= 6.0 < foot["ic_mae_ms"]  # 4.7 vs 8.9 ms when pinned
    assert abs(load["ic_bias_ms"]) <= 6.0


def test_loading_ic_loses_to_the_foot_with_pixel_noise(rbds_trials) -> None:  # noqa: ANN001
    _, foot = _analysis(rbds_trials["25"], 2.5, "none", fps=240.0, noise_px=2.0)
    _, load = _analysis(rbds_trials["25"], 2.5, "all", fps=240.0, noise_px=2.0)
    assert load["ic_mae_ms"] > foot["ic_mae_ms"] + 3.0  # 16.8 vs 8.6 ms when pinned


def test_far_mode_moves_only_far_leg_contacts(rbds_trials) -> None:  # noqa: ANN001
    none, _ = _analysis(rbds_trials["45"], 4.5, "none")
    far, _ = _analysis(rbds_trials["45"], 4.5, "far")

    def events(a, leg: str):  # noqa: ANN001, ANN202
        return [(e.side, e.kind, e.frame) for e in a.events if e.leg == leg]

    assert events(far, "near") == events(none, "near")
    assert [e for e in events(far, "far") if e[1] == "TO"] == [e for e in events(none, "far") if e[1] == "TO"]
    moved = sum(a != b for a, b in zip(events(far, "far"), events(none, "far")))
    assert moved >= 10
