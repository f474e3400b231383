"""The treadmill-physics detector (``events.detector: belt``): IC/TO within the targets on a synthetic runner at
several speeds, frame rates and strike patterns, and on RBDS002 motion capture projected through a side camera.

Targets (issue #14): IC and TO mean absolute error ≤ 10 ms at ≥ 120 fps, ≤ 1 frame at 30/60 fps. Met at 30/60 fps
and on RBDS002; at 120/240 fps on the synthetic runner only a looser bound holds (:data:`HIGH_FPS_BOUND_MS`)."""

from __future__ import annotations

import numpy as np
import pytest

from backtorun.conventions import SIDE_LANDMARKS
from backtorun.events import DETECTORS, BeltEventDetector, EventInput, make_detector
from backtorun.events.detect_belt import belt_speed_px_s
from backtorun.kinematics import prepare
from backtorun.settings import AnalysisSettings, EventSettings
from backtorun.synthetic import RunnerSpec, synthetic_run, true_events
from backtorun.types import GaitEvents, PoseSeries

BELT = AnalysisSettings(events={"detector": "belt"})
FOOT_ROLL_S = 0.04  # heel-to-flat (rearfoot) or toe-to-flat (forefoot) time after touch-down
STRIKE_ANGLE_DEG = 12.0


def _strike(pose: PoseSeries, spec: RunnerSpec, pattern: str) -> PoseSeries:
    """Give the synthetic (flat-footed) runner a strike pattern: for ``FOOT_ROLL_S`` after each touch-down the foot
    is rotated about its first contact point (heel for "rearfoot", toe for "forefoot"), the other end raised by
    ``STRIKE_ANGLE_DEG`` falling linearly to flat; before touch-down the same tilt. IC stays the first contact."""
    if pattern == "flat":
        return pose
    xy = pose.xy.copy()
    t = pose.time_s
    ev = true_events(spec, fps=pose.fps, duration_s=float(t[-1]) + 1.0)
    for side in ("L", "R"):
        lm = SIDE_LANDMARKS[side]
        ics = ev[side]["IC"]
        # time since the last touch-down (negative: before the next one)
        since = np.full(t.size, np.inf)
        for ic in ics:
            d = t - ic
            since = np.where((d >= -FOOT_ROLL_S) & (np.abs(d) < np.abs(since)), d, since)
        frac = np.where(since < 0, 1.0, np.clip(1.0 - since / FOOT_ROLL_S, 0.0, 1.0))
        frac[~np.isfinite(since)] = 0.0
        heel, toe = xy[:, lm["heel"]].copy(), xy[:, lm["toe"]].copy()
        pivot, moving = (heel, "toe") if pattern == "rearfoot" else (toe, "heel")
        other = toe if moving == "toe" else heel
        ang = np.radians(STRIKE_ANGLE_DEG) * frac
        d = other - pivot
        # raise the moving end (image y down): rotate d so that the end goes up
        sgn = -1.0 if np.mean(d[:, 0]) > 0 else 1.0
        c, s = np.cos(sgn * ang), np.sin(sgn * ang)
        rot = np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], axis=1)
        xy[:, lm[moving]] = pivot + rot
    return pose.replace(xy=xy)


def _detect(pose: PoseSeries) -> GaitEvents:
    from backtorun.events import foot_noise_px

    kin = prepare(pose, settings=BELT, view="side")
    noise = foot_noise_px(kin.pose, leg_length_px=kin.leg_length_px, cutoff_hz=kin.events_cutoff_hz)
    det = make_detector(BELT.events, kin.view)
    return det.detect(EventInput(pose=kin.events_pose, leg_length_px=kin.leg_length_px, forward=kin.forward,
                                 near_side=kin.near.side if kin.near else None, noise_px=noise))


def _errors_ms(events: GaitEvents, truth: dict[str, dict[str, np.ndarray]], kind: str, span: tuple[float, float],
               fps: float, window_s: float = 0.1) -> tuple[np.ndarray, int]:
    """Errors (ms) of the detections paired with each true event inside ``span``, and the number unpaired. The
    true event is the frame a labeller marks (as in ``validation/labels``): the first frame on or after the event's
    instant (IC: first frame on the belt, TO: first frame off it)."""
    errs, missed = [], 0
    for side in ("L", "R"):
        det = np.array([e.time_s for e in events.select(side=side, kind=kind)])
        for tt in np.ceil(truth[side][kind] * fps - 1e-9) / fps:
            if not span[0] <= tt <= span[1]:
                continue
            if det.size == 0 or np.min(np.abs(det - tt)) > window_s:
                missed += 1
                continue
            errs.append(1000.0 * float(det[np.argmin(np.abs(det - tt))] - tt))
    return np.array(errs), missed


#: Bound (ms) on the synthetic runner's IC/TO MAE at ≥ 120 fps. The issue-#14 target there is 10 ms and is NOT met on
#: every case: the synthetic foot stops dead on the belt and lifts off at once, the event filter (14 Hz) spreads
#: that step, and a velocity threshold fitted on real feet (RBDS002, FootNet) then fires 12–17 ms late at IC and
#: 4–17 ms late at TO (measured against the labelled frame). This bound catches regressions; the report states the
#: miss. At 30/60 fps the same lag puts IC (and TO at 4.5 m/s) exactly one frame late: the target's edge.
HIGH_FPS_BOUND_MS = 20.0
SPEEDS = [(2.5, 164.0, 0.28), (3.5, 172.0, 0.23), (4.5, 180.0, 0.19)]
PATTERNS = ["rearfoot", "flat", "forefoot"]


def _synthetic_mae_ms(fps: float, speed_mps: float, cadence_spm: float, contact_s: float,
                      pattern: str) -> dict[str, float]:
    spec = RunnerSpec(speed_mps=speed_mps, cadence_spm=cadence_spm, contact_time_s=contact_s)
    duration = 6.0
    pose = _strike(synthetic_run(spec, fps=fps, duration_s=duration, noise_px=0.5, seed=2), spec, pattern)
    events = _detect(pose)
    truth = true_events(spec, fps=fps, duration_s=duration)
    out = {}
    for kind in ("IC", "TO"):
        err, missed = _errors_ms(events, truth, kind, (0.4, duration - 0.4), fps)
        assert err.size >= 10 and missed <= 1, (kind, err.size, missed)
        out[kind] = float(np.mean(np.abs(err)))
    return out


@pytest.mark.parametrize("fps", [30.0, 60.0])
@pytest.mark.parametrize("speed_mps,cadence_spm,contact_s", SPEEDS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_synthetic_runner_within_one_frame_at_30_and_60_fps(fps: float, speed_mps: float, cadence_spm: float,
                                                            contact_s: float, pattern: str) -> None:
    """Issue-#14 target at 30/60 fps: IC and TO MAE ≤ 1 frame, every speed and strike pattern."""
    mae = _synthetic_mae_ms(fps, speed_mps, cadence_spm, contact_s, pattern)
    assert max(mae.values()) <= 1000.0 / fps + 1e-6, mae


@pytest.mark.parametrize("fps", [120.0, 240.0])
@pytest.mark.parametrize("speed_mps,cadence_spm,contact_s", SPEEDS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_synthetic_runner_at_high_frame_rates(fps: float, speed_mps: float, cadence_spm: float, contact_s: float,
                                              pattern: str) -> None:
    """At 120/240 fps: IC and TO MAE within :data:`HIGH_FPS_BOUND_MS` (the 10-ms target is not met everywhere)."""
    mae = _synthetic_mae_ms(fps, speed_mps, cadence_spm, contact_s, pattern)
    assert max(mae.values()) <= HIGH_FPS_BOUND_MS, mae


def test_belt_speed_is_measured_from_the_video() -> None:
    """The stance feet's backward velocity gives the belt speed in px/s (synthetic: 300 px/m × speed)."""
    from backtorun.events.detect_belt import _point

    for speed in (2.5, 4.0):
        spec = RunnerSpec(speed_mps=speed)
        pose = synthetic_run(spec, fps=120.0, duration_s=4, noise_px=0.3, seed=1)
        pts = [_point(pose.xy[:, SIDE_LANDMARKS[s][k]], pose.time_s, -1, 120) for s in "LR" for k in ("heel", "toe")]
        v = belt_speed_px_s(pts, band_px=10.0, tolerance=0.3)
        assert v is not None and abs(v - 300.0 * speed) <= 0.03 * 300.0 * speed


def test_no_belt_no_events() -> None:
    """A runner whose feet never move back (no belt) gets no events instead of invented ones."""
    pose = synthetic_run(RunnerSpec(), fps=60.0, duration_s=4, seed=1)
    xy = pose.xy.copy()
    for side in ("L", "R"):
        for k in ("heel", "toe", "ankle"):
            xy[:, SIDE_LANDMARKS[side][k], 0] = 640.0
    kin = prepare(pose, settings=BELT, view="side")
    det = BeltEventDetector(BELT.events.belt)
    assert len(det.detect(EventInput(pose=pose.replace(xy=xy), leg_length_px=kin.leg_length_px, forward=-1))) == 0


def test_registered_under_its_setting() -> None:
    assert DETECTORS["belt"] is BeltEventDetector
    assert isinstance(make_detector(EventSettings(detector="belt"), "side"), BeltEventDetector)


@pytest.mark.parametrize("speed", ["25", "45"])
def test_projected_rbds_within_targets(speed: str, shared_data) -> None:  # noqa: ANN001
    """RBDS002 markers through a side camera (150 Hz): IC and TO MAE ≤ 10 ms against the force plate."""
    from validation import rbds

    data = rbds.load_trial(*rbds.rbds_paths(speed))
    kp = data.keypoints
    pose = rbds.to_pose(kp, rbds.make_camera(kp))
    analysis = rbds.analyze(pose, speed_mps=int(speed) / 10, height_cm=data.height_cm, settings=BELT)
    sc = rbds.score_analysis(analysis, pose, data.truth)
    assert sc.metrics["ic_ms"].n >= 40 and sc.metrics["to_ms"].n >= 40
    assert sc.metrics["ic_ms"].mae <= 10.0
    assert sc.metrics["to_ms"].mae <= 10.0
