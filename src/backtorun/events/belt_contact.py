"""Initial contact as the first frame from which the foot moves with the belt (D; issue #14 item 3).

The side detector finds each stance from the foot's height: the touch-down is the first frame on which the heel or
toe is within its stopping distance of its stance level. How far above that level a heel still is when it touches
the belt depends on the runner (heel pad and midsole compressing, the foot rolling flat): removing the post-contact
heel sink from RBDS002 at 4.5 m/s moves that touch-down 18 ms earlier (docs/validation.md §6e). A foot on the belt
moves backwards at the belt's speed ``V`` whatever its height, so here each stance's IC is moved to the first frame,
from ``back_frames`` before the touch-down to the toe-off, from which heel or toe is low and moves with the belt
(the belt detector's criterion and settings, :mod:`backtorun.events.detect_belt`) on at least half of the frames up
to the toe-off. No measurable belt speed: ICs unchanged. Option ``events.side.ic_from_belt`` (not the default:
with ≥ 1 px keypoint noise, on FootNet, Hamner and the labelled clips it is worse, §6e).
"""

from __future__ import annotations

import numpy as np

from backtorun.conventions import Side
from backtorun.events.detect_belt import LEVEL_WINDOW_S, belt_speed_px_s, foot_points, moves_with_belt
from backtorun.kinematics.clean import sampling_rate_hz
from backtorun.settings import BeltEventSettings
from backtorun.types import PoseSeries


def belt_moving_rows(pose: PoseSeries, side: Side, *, forward: int, leg_length_px: float, noise_px: float,
                     settings: BeltEventSettings | None = None) -> np.ndarray | None:
    """Rows on which the heel or toe of ``side`` is low and moves with the belt from that row to the next (the belt
    detector's criterion; ``noise_px``: keypoint height noise SD, which widens its tolerances), or None when no belt
    speed can be measured."""
    cfg = settings or BeltEventSettings()
    t = pose.time_s.astype(float)
    fs = sampling_rate_hz(pose.time_s, pose.fps)
    window = max(3, round(LEVEL_WINDOW_S * fs))
    f = 1 if forward >= 0 else -1
    points = [p for s in ("L", "R") for p in foot_points(pose, s, t, f, window)]
    band = cfg.stance_band_leg * leg_length_px + cfg.noise_sd * noise_px
    v = belt_speed_px_s(points, band_px=band, tolerance=cfg.belt_speed_tolerance)
    if v is None or v < cfg.min_belt_speed_leg_s * leg_length_px:
        return None
    tol = cfg.belt_speed_tolerance * v + cfg.noise_sd * noise_px * fs / np.sqrt(2.0)
    heel, toe = foot_points(pose, side, t, f, window)
    return moves_with_belt(heel, v, band, tol, ahead=True) | moves_with_belt(toe, v, band, tol, ahead=True)


def first_belt_rows(on_belt: np.ndarray | None, ic_rows: np.ndarray, to_rows: np.ndarray, *,
                    back_frames: int) -> np.ndarray:
    """Each IC (paired with its stance's TO) moved to the first row, from ``back_frames`` before it to the TO, that
    is in ``on_belt`` and followed by at least as many such rows as not until the TO; unchanged without a mask."""
    if on_belt is None or ic_rows.size == 0:
        return ic_rows
    out = ic_rows.copy()
    for k, (ic, to) in enumerate(zip(ic_rows, to_rows)):
        for r in range(max(1, int(ic) - back_frames), int(to)):
            if on_belt[r] and on_belt[r:int(to)].mean() >= 0.5:
                out[k] = r
                break
    return out
