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
from backtorun.events.detect_belt import BeltMotion, moves_with_belt
from backtorun.settings import BeltEventSettings


def belt_moving_rows(motion: BeltMotion, side: Side, *, settings: BeltEventSettings | None = None) -> np.ndarray:
    """Rows on which the heel or toe of ``side`` is low and moves with the belt from that row to the next (the belt
    detector's criterion, its ``belt_speed_tolerance`` widened by the keypoint noise; ``motion`` from
    :func:`backtorun.events.detect_belt.belt_motion`)."""
    cfg = settings or BeltEventSettings()
    tol = cfg.belt_speed_tolerance * motion.v + motion.speed_noise
    heel, toe = motion.feet[side]
    return (moves_with_belt(heel, motion.v, motion.band, tol, ahead=True)
            | moves_with_belt(toe, motion.v, motion.band, tol, ahead=True))


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
