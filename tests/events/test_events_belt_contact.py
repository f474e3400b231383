"""Side-view ICs moved to the first frame the foot moves with the belt (events/belt_contact.py,
``events.side.ic_from_belt``), on RBDS002 projected through a side camera and scored against the force plate.

The touch-down's landing rule depends on how far the heel sinks after contact (a constant chosen on runners whose
heel sinks): removing that sink from RBDS002 at 4.5 m/s calls every IC well over 10 ms earlier. The belt-motion IC
does not depend on it — but it loses with pixel noise, which is why it is an option (docs/validation.md §6e)."""

from __future__ import annotations

import numpy as np
import pytest

from backtorun.events.belt_contact import first_belt_rows
from backtorun.events.detect_belt import belt_motion
from backtorun.settings import AnalysisSettings, BeltEventSettings


@pytest.fixture(scope="module")
def rbds45(shared_data):  # noqa: ANN001
    from validation import rbds

    return rbds.load_trial(*rbds.rbds_paths("45"))


def _headline(data, *, belt: bool, noise_px: float = 0.0, fps: float | None = None) -> dict:  # noqa: ANN001
    from validation import rbds

    settings = AnalysisSettings(events={"side": {"ic_from_belt": belt, "ic_from_loading": "none"}})
    return rbds.run_trial(data, speed_mps=4.5, fps=fps, noise_px=noise_px, seed=5, settings=settings).headline()


def test_removing_the_heel_sink_moves_the_touch_down_but_not_the_belt_contact(rbds45) -> None:  # noqa: ANN001
    from validation import rbds

    flat = rbds.with_heel_sink(rbds45, 0.0)
    touch = _headline(rbds45, belt=False)["ic_bias_ms"] - _headline(flat, belt=False)["ic_bias_ms"]
    belt_as_recorded, belt_flat = _headline(rbds45, belt=True), _headline(flat, belt=True)
    assert touch > 10.0  # 18.0 ms when pinned
    assert abs(belt_as_recorded["ic_bias_ms"] - belt_flat["ic_bias_ms"]) < 4.0  # 1.5 ms when pinned
    assert belt_flat["ic_mae_ms"] <= 10.0
    assert belt_flat["n_events_detected"] == belt_flat["n_events_truth"]


def test_belt_contact_loses_with_pixel_noise(rbds45) -> None:  # noqa: ANN001
    foot = _headline(rbds45, belt=False, noise_px=2.0, fps=240.0)
    belt = _headline(rbds45, belt=True, noise_px=2.0, fps=240.0)
    assert belt["ic_mae_ms"] > foot["ic_mae_ms"] + 3.0  # 15.5 vs 9.3 ms when pinned


def test_with_heel_sink_changes_only_the_heel_during_contact(rbds45) -> None:  # noqa: ANN001
    from backtorun.conventions import SIDE_LANDMARKS
    from validation import rbds

    flat = rbds.with_heel_sink(rbds45, 0.0)
    a, b = rbds45.keypoints.points, flat.keypoints.points
    heels = [SIDE_LANDMARKS[s]["heel"] for s in ("L", "R")]
    others = [k for k in range(a.shape[1]) if k not in heels]
    np.testing.assert_array_equal(a[:, others], b[:, others])
    np.testing.assert_array_equal(rbds.with_heel_sink(rbds45, 1.0).keypoints.points[:, heels], a[:, heels])
    t = rbds45.keypoints.time_s
    for c in rbds45.truth.contacts[:5]:
        heel = SIDE_LANDMARKS[c.side]["heel"]
        rows = (t >= c.ic_s) & (t <= c.to_s)
        y_ic = np.interp(c.ic_s, t, a[:, heel, 1])
        assert np.nanmin(b[rows, heel, 1]) >= y_ic - 1e-12  # no sinking below the contact height
        assert np.nanmin(a[rows, heel, 1]) < y_ic  # the recorded heel does sink


def test_no_belt_motion_leaves_the_ics_alone(rbds45) -> None:  # noqa: ANN001
    from validation import rbds

    pose = rbds.to_pose(rbds45.keypoints, rbds.make_camera(rbds45.keypoints))
    still = pose.replace(xy=np.repeat(pose.xy[:1], pose.n_frames, axis=0))  # nothing moves: no belt speed
    assert belt_motion(still, forward=1, leg_length_px=200.0, noise_px=0.0, settings=BeltEventSettings()) is None
    ic, to = np.array([10, 60]), np.array([40, 90])
    np.testing.assert_array_equal(first_belt_rows(None, ic, to, back_frames=5), ic)


def test_first_belt_rows_takes_the_first_row_of_the_belt_run() -> None:
    on = np.zeros(100, bool)
    on[8] = True  # a jitter row before the contact, followed by more off-belt rows than on-belt ones up to the TO
    on[30:38] = True
    on[63:88] = True
    out = first_belt_rows(on, np.array([12, 60]), np.array([40, 90]), back_frames=5)
    np.testing.assert_array_equal(out, [30, 63])
    np.testing.assert_array_equal(first_belt_rows(np.zeros(100, bool), np.array([12]), np.array([40]), back_frames=5),
                                  [12])  # never on the belt: IC kept
