"""Pelvic drop relative to the runner's resting hip line (issue #13) and the standard error of each mean."""

from __future__ import annotations

import math

import numpy as np

from backtorun.conventions import L_HIP, R_HIP
from backtorun.metrics.stride import Stride, StrideContext, pelvic_drop_deg
from backtorun.synthetic import RunnerSpec, synthetic_run, true_events
from backtorun.types import MetricSummary, SideSummary, standard_error

SPEC = RunnerSpec(pelvic_drop_deg=5.0, speed_mps=3.2, height_cm=178.0)


def _pelvic_drop(tilt_deg: float) -> dict[str, np.ndarray]:
    """Per-stride pelvic drop of the symmetric synthetic runner, seen with a constant hip-line tilt (right hip
    lower) added to every frame, measured at the runner's true events (no event detection involved)."""
    fps, duration = 60.0, 10.0
    pose = synthetic_run(SPEC, view="rear", fps=fps, duration_s=duration, noise_px=0.0, seed=1)
    xy = pose.xy.copy()
    mid = (xy[:, L_HIP] + xy[:, R_HIP]) / 2.0
    half = (xy[:, R_HIP] - xy[:, L_HIP]) / 2.0
    c, s = math.cos(math.radians(tilt_deg)), math.sin(math.radians(tilt_deg))
    # rotate the hip line about its mid-point; image y is down, so +angle lowers the right hip (on the image right)
    rot = np.stack([half[:, 0] * c - half[:, 1] * s, half[:, 0] * s + half[:, 1] * c], axis=1)
    xy[:, L_HIP], xy[:, R_HIP] = mid - rot, mid + rot
    pose = pose.replace(xy=xy)
    ctx = StrideContext(pose, view="rear", forward=1, metres_per_px=None, leg_length_px=1.0, speed_mps=None,
                              hip_extension_window_s=0.05)
    ev = true_events(SPEC, fps=fps, duration_s=duration)
    row = lambda t: int(round(t * fps))  # noqa: E731
    out: dict[str, list[float]] = {"L": [], "R": []}
    for side in ("L", "R"):
        ics, tos = ev[side]["IC"], ev[side]["TO"]
        for a, b, to in zip(ics, ics[1:], tos):
            if row(b) < len(pose.time_s):
                out[side].append(pelvic_drop_deg(ctx, Stride(side=side, ic=row(a), to=row(to), contra_ic=None,
                                                             next_ic=row(b))))
    return {k: np.array(v) for k, v in out.items()}


def test_constant_pelvic_tilt_is_not_read_as_a_side_difference() -> None:
    straight = _pelvic_drop(0.0)
    tilted = _pelvic_drop(1.7)  # would be a 3.4° L–R difference without the offset
    assert len(tilted["L"]) >= 10 and len(tilted["R"]) >= 10
    diff = abs(np.nanmean(tilted["L"]) - np.nanmean(tilted["R"]))
    assert diff < 0.5, diff
    for side in ("L", "R"):
        assert abs(np.nanmean(tilted[side]) - np.nanmean(straight[side])) < 0.5
        assert abs(np.nanmean(straight[side]) - SPEC.pelvic_drop_deg) < 1.0


def test_standing_trial_offset_is_used_when_given() -> None:
    from backtorun.metrics.stride import StrideContext, pelvic_obliquity_offset_deg

    pose = synthetic_run(SPEC, view="rear", fps=60.0, duration_s=4, noise_px=0.0, seed=1)
    ctx = StrideContext(pose, view="rear", forward=1, metres_per_px=None, leg_length_px=1.0, speed_mps=None,
                              hip_extension_window_s=0.05, standing_pelvic_obliquity_deg=2.5)
    assert pelvic_obliquity_offset_deg(ctx) == 2.5
    clip = StrideContext(pose, view="rear", forward=1, metres_per_px=None, leg_length_px=1.0, speed_mps=None,
                               hip_extension_window_s=0.05)
    assert abs(pelvic_obliquity_offset_deg(clip)) < 0.5  # symmetric runner: clip mean ≈ 0


def test_standard_error_of_each_mean() -> None:
    assert standard_error(2.0, 16) == 0.5
    assert standard_error(2.0, 1) is None and standard_error(float("nan"), 10) is None
    ms = MetricSummary("hip_extension_deg", 10.0, 3.0, 30.0, 9, by_side={"L": SideSummary(9.0, 2.0, 4)})
    assert ms.se == 1.0 and ms.by_side["L"].se == 1.0
    d = ms.to_dict()
    assert d["se"] == 1.0 and d["by_side"]["L"]["se"] == 1.0
    from backtorun.metrics.summary import summarize
    import pandas as pd

    table = pd.DataFrame({"valid": [True] * 6, "side": ["L", "R"] * 3, "pelvic_drop_deg": [4.0, 6.0, 5.0, 7.0, 6.0, 8.0]})
    real = summarize(table, ["pelvic_drop_deg"], frame_ms=10.0)["pelvic_drop_deg"]
    assert real.se is not None and math.isclose(real.se, real.sd / math.sqrt(6))
    assert math.isclose(real.by_side["L"].se, 1.0 / math.sqrt(3))
