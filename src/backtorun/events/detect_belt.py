"""Initial contact (IC) and toe-off (TO) from the treadmill's own physics, side view (domain.md §2).

Principle (D, after Zeni 2008 [7], Fellin 2010 [8], Leitch 2011 [9], Handsaker 2016 [10]): a foot in stance rests
on the belt, so it sits on the belt line and moves backwards at the belt's speed ``V``; in swing it moves forward
relative to the belt. A foot point's velocity relative to the belt,

    w(t) = hypot(f·ẋ(t) + V, ẏ(t))        (f = +1 facing image right, −1 left; px/s, image y down)

is ≈ 0 in stance and large in swing; every threshold is a fraction of V (or of the leg length in pixels), so
nothing depends on one runner's swing, strike pattern, speed or image size:

1. Belt speed from the video: ``V = −median(f·ẋ)`` of heels and toes while they are low (within
   ``stance_band_leg`` leg lengths + ``noise_sd``·σ of their 1-s running lowest image position) and moving back, refined twice on
   the samples within ``belt_speed_tolerance``·V of ``−V``. No belt (V < ``min_belt_speed_leg_s``): no events.
2. On the belt: a point (heel — the ankle where the heel is not seen — or toe) that is low and whose velocity
   from this frame to the next (forward difference) satisfies ``w ≤ κ·V + noise_sd·σ·fs/√2`` (κ =
   ``belt_speed_tolerance``; σ = keypoint height noise, px: the second term is the SD of a differenced velocity).
   A stance is a run of frames on which heel or toe is on the belt.
3. IC = the run's first frame: the first frame from which heel or toe moves with the belt (the foot's horizontal
   velocity has reached the belt's and its vertical velocity ≈ 0) — heel first for a rearfoot strike, toe first
   for a forefoot strike, as Leitch [9] and Handsaker [10] take the earlier of heel and metatarsal.
4. TO = the frame after the toe's last frame on the belt, where the toe counts as on the belt while it is within
   ``lift_off_height_leg`` (+ ``noise_sd``·σ) of its lowest position and its centred velocity ``w ≤ lift_off_speed_tolerance``·V:
   the toe has left the belt's velocity or started rising, whichever comes first (the heel-lowest idea of
   Fellin [8] applied to the toe).
5. Stances shorter than ``min_contact_s`` or whose contact time deviates from the clip's median by more than
   ``consistency`` are dropped; an event cut off by the clip's ends is not reported.

Constants (settings :class:`backtorun.settings.BeltEventSettings`): from physics or the in-sample sets only
(RBDS002 2.5/4.5 m/s, FootNet, Hamner, mini_run). Confidence: landmark visibility × how clearly the foot moved
against the belt on the frame next to the event (w over twice the tolerance, floored at 0.3) ×
``far_leg_confidence`` for the far leg. Uncertainty ±1 frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.ndimage import maximum_filter1d

from backtorun.conventions import SIDE_LANDMARKS, Side
from backtorun.events.base import EventInput
from backtorun.events.detect import belt_slope, foot_jitter_px, level_belt
from backtorun.kinematics.clean import sampling_rate_hz
from backtorun.settings import BeltEventSettings
from backtorun.types import GaitEvent, GaitEvents, PoseSeries

log = logging.getLogger(__name__)

#: Window (s) of the running lowest image position of a foot point: one stride at ≥ 60 strides/min (D).
LEVEL_WINDOW_S: Final = 1.0
#: Fewest low, backward-moving samples from which a belt speed is estimated (D).
MIN_BELT_SAMPLES: Final = 6


@dataclass(frozen=True)
class _Point:
    """One foot point: image x/y (px); forward velocity f·ẋ and vertical velocity ẏ (px/s) by central differences
    (``u``, ``vy``) and by forward differences (``u_next``, ``vy_next``: from this row to the next); height above
    its running lowest position (px)."""

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    vy: np.ndarray
    u_next: np.ndarray
    vy_next: np.ndarray
    gap: np.ndarray


@dataclass(frozen=True)
class _Stance:
    """One stance of one foot: rows of IC and TO (None when not seen) and their confidences."""

    ic: int | None
    to: int | None
    ic_conf: float
    to_conf: float


def _point(xy: np.ndarray, t: np.ndarray, forward: int, window: int) -> _Point:
    x, y = xy[:, 0], xy[:, 1]
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        nan = np.full(x.size, np.nan)
        return _Point(x, y, nan, nan, nan, nan, nan)
    u = forward * np.gradient(x, t)
    vy = np.gradient(y, t)
    dt = np.diff(t)
    u_next = np.r_[forward * np.diff(x) / dt, np.nan]
    vy_next = np.r_[np.diff(y) / dt, np.nan]
    level = maximum_filter1d(np.where(ok, y, -np.inf), size=window)
    gap = np.where(ok, level - y, np.nan)
    return _Point(x, y, u, vy, u_next, vy_next, gap)


def foot_points(pose: PoseSeries, side: Side, t: np.ndarray, forward: int, window: int) -> tuple[_Point, _Point]:
    """Heel (the ankle where the heel is not seen) and toe of ``side`` as :class:`_Point` (velocities, height above
    the running lowest position over ``window`` rows)."""
    lm = SIDE_LANDMARKS[side]
    heel, ankle = pose.xy[:, lm["heel"]], pose.xy[:, lm["ankle"]]
    heel = np.where(np.isfinite(heel), heel, ankle)
    return _point(heel, t, forward, window), _point(pose.xy[:, lm["toe"]], t, forward, window)


def moves_with_belt(p: _Point, v: float, band: float, tol: float, *, ahead: bool = False) -> np.ndarray:
    """Rows on which the point is low (within ``band`` px of its running lowest position) and moves with the belt:
    its velocity relative to the belt, hypot(f·ẋ + V, ẏ), at most ``tol`` px/s — from this row to the next when
    ``ahead`` (a touch-down row: the foot moves with the belt from it on), else centred."""
    u, vy = (p.u_next, p.vy_next) if ahead else (p.u, p.vy)
    with np.errstate(invalid="ignore"):
        return (p.gap <= band) & (np.hypot(u + v, vy) <= tol)


def belt_speed_px_s(points: list[_Point], *, band_px: float, tolerance: float) -> float | None:
    """Belt speed (px/s, > 0) from foot points: −median(f·ẋ) over the samples within ``band_px`` of the point's
    running lowest position and moving back, refined twice on those within ``tolerance``·V of −V; None when fewer
    than :data:`MIN_BELT_SAMPLES` such samples exist."""
    u = np.concatenate([p.u[(p.gap <= band_px) & (p.u < 0)] for p in points]) if points else np.array([])
    u = u[np.isfinite(u)]
    if u.size < MIN_BELT_SAMPLES:
        return None
    v = -float(np.median(u))
    for _ in range(2):
        sel = u[np.abs(u + v) <= tolerance * v]
        if sel.size < MIN_BELT_SAMPLES:
            break
        v = -float(np.median(sel))
    return v if v > 0 else None


@dataclass(frozen=True)
class BeltMotion:
    """The belt as the feet show it: each side's heel and toe (:func:`foot_points`), the belt speed ``v`` (px/s), the
    height band (px) within which a point counts as low, and the velocity noise term (px/s) added to every speed
    tolerance (``noise_sd`` SDs of a central-difference velocity of white noise)."""

    feet: dict[str, tuple[_Point, _Point]]
    v: float
    band: float
    speed_noise: float


def belt_motion(pose: PoseSeries, *, forward: int, leg_length_px: float, noise_px: float,
                settings: BeltEventSettings) -> BeltMotion | None:
    """Feet, belt speed and tolerances of ``pose`` (steps 1–2 of the module docstring), or None when no belt speed
    of at least ``min_belt_speed_leg_s`` can be measured."""
    cfg = settings
    t = pose.time_s.astype(float)
    fs = sampling_rate_hz(pose.time_s, pose.fps)
    window = max(3, round(LEVEL_WINDOW_S * fs))
    f = 1 if forward >= 0 else -1
    feet = {side: foot_points(pose, side, t, f, window) for side in ("L", "R")}
    band = cfg.stance_band_leg * leg_length_px + cfg.noise_sd * noise_px  # heights widened by the keypoint noise
    v = belt_speed_px_s([p for pts in feet.values() for p in pts], band_px=band, tolerance=cfg.belt_speed_tolerance)
    if v is None or v < cfg.min_belt_speed_leg_s * leg_length_px:
        log.info("no belt motion found (belt speed %s px/s)", v)
        return None
    return BeltMotion(feet=feet, v=v, band=band, speed_noise=cfg.noise_sd * noise_px * fs / np.sqrt(2.0))


class BeltEventDetector:
    """IC/TO of both feet from the treadmill's physics (see module docstring); settings
    :class:`backtorun.settings.BeltEventSettings`. Implements :class:`backtorun.events.base.EventDetector`; keeps no
    state between calls."""

    name = "belt"

    def __init__(self, settings: BeltEventSettings | None = None) -> None:
        self.settings = settings or BeltEventSettings()

    def detect(self, inp: EventInput) -> GaitEvents:
        """IC/TO events of ``inp.pose`` (``inp.noise_px`` None: estimated with :func:`foot_jitter_px`)."""
        cfg, pose, leg_px = self.settings, inp.pose, inp.leg_length_px
        if pose.n_frames < 3 or not np.isfinite(leg_px) or leg_px <= 0:
            return GaitEvents(())
        noise = inp.noise_px if inp.noise_px is not None else foot_jitter_px(pose, leg_length_px=leg_px)
        noise = float(noise) if np.isfinite(noise) else 0.0
        if cfg.level_belt_line:
            pose = level_belt(pose, belt_slope(pose, leg_length_px=leg_px))
        t = pose.time_s.astype(float)
        motion = belt_motion(pose, forward=inp.forward, leg_length_px=leg_px, noise_px=noise, settings=cfg)
        if motion is None:
            return GaitEvents(())
        v, band = motion.v, motion.band
        tol = cfg.belt_speed_tolerance * v + motion.speed_noise
        tol_to = cfg.lift_off_speed_tolerance * v + motion.speed_noise
        events: list[GaitEvent] = []
        for side, (heel, toe) in motion.feet.items():
            leg = "near" if (inp.near_side is None or side == inp.near_side) else "far"
            factor = 1.0 if leg == "near" else cfg.far_leg_confidence
            lm = SIDE_LANDMARKS[side]
            vis = np.nan_to_num(pose.visibility[:, [lm["heel"], lm["toe"], lm["ankle"]]], nan=0.0).mean(axis=1)
            lift = cfg.lift_off_height_leg * leg_px + cfg.noise_sd * noise
            stances = self._stances(heel, toe, v, band, lift, tol, tol_to, vis)
            for st in self._plausible(stances, t):
                for kind, row, conf in (("IC", st.ic, st.ic_conf), ("TO", st.to, st.to_conf)):
                    if row is None:
                        continue
                    events.append(GaitEvent(side=side, leg=leg, kind=kind, frame=int(pose.frame_index[row]),
                                            time_s=float(pose.time_s[row]),
                                            confidence=float(np.clip(conf * factor, 0.0, 1.0))))
        return GaitEvents(tuple(events))

    # -- steps -------------------------------------------------------------------------------------------------
    def _stances(self, heel: _Point, toe: _Point, v: float, band: float, lift: float, tol: float, tol_to: float,
                 vis: np.ndarray) -> list[_Stance]:
        """Stances of one foot. A stance is a run of rows on which heel or toe is low (``band`` px) and moves with
        the belt from the row to the next (``tol`` px/s); IC = the run's first row; TO = the row after the toe's last
        row still on the belt: within ``lift`` px of its lowest position and its centred velocity relative to the
        belt at most ``tol_to`` px/s."""
        n = vis.size
        heel_on, toe_on = moves_with_belt(heel, v, band, tol), moves_with_belt(toe, v, band, tol)
        toe_stay = moves_with_belt(toe, v, lift, tol_to)
        out: list[_Stance] = []
        for a, b in _runs(heel_on | toe_on):
            seen = a > 0 and (np.isfinite(heel.u[a - 1]) or np.isfinite(toe.u[a - 1]))
            ic = a if seen else None
            ic_conf = 0.0 if ic is None else _sharp(heel, toe, v, a - 1, tol) * _vis(vis, a)
            to, to_conf = None, 0.0
            rows = np.flatnonzero(toe_on[a:b + 1])
            if rows.size:
                end = a + int(rows[-1])
                while end + 1 < n and toe_stay[end + 1]:
                    end += 1
                if end + 1 < n and np.isfinite(toe.u[end + 1]):
                    to = end + 1
                    to_conf = _sharp(toe, toe, v, to, tol_to) * _vis(vis, to)
            out.append(_Stance(ic, to, ic_conf, to_conf))
        return out

    def _plausible(self, stances: list[_Stance], t: np.ndarray) -> list[_Stance]:
        """Drop stances shorter than ``min_contact_s`` or whose contact time deviates from the median by more than
        ``consistency`` of it (both events of the stance go)."""
        cfg = self.settings
        ct = np.array([t[s.to] - t[s.ic] if s.ic is not None and s.to is not None else np.nan for s in stances])
        ok = np.isfinite(ct)
        med = float(np.median(ct[ok])) if ok.any() else float("nan")
        keep = []
        for s, c in zip(stances, ct):
            if np.isfinite(c) and (c < cfg.min_contact_s or abs(c - med) > cfg.consistency * med):
                continue
            keep.append(s)
        return keep


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) of each run of True, runs one False apart joined (a single frame off the belt inside a
    stance is keypoint jitter, not a swing; D)."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    out = []
    a = b = int(idx[0])
    for i in idx[1:]:
        if i - b <= 2:
            b = int(i)
        else:
            out.append((a, b))
            a = b = int(i)
    out.append((a, b))
    return out


def _sharp(p: _Point, q: _Point, v: float, row: int, tol: float) -> float:
    """How clearly the foot moved against the belt on ``row``: the slower of two points' speeds relative to the
    belt over twice the tolerance, in [0.3, 1]."""
    if row < 0 or tol <= 0:
        return 0.3
    rel = np.fmin(np.hypot(p.u[row] + v, p.vy[row]), np.hypot(q.u[row] + v, q.vy[row]))
    return float(np.clip(rel / (2.0 * tol), 0.3, 1.0)) if np.isfinite(rel) else 0.3


def _vis(vis: np.ndarray, row: int) -> float:
    return float(np.clip(vis[max(0, row - 1):row + 2].mean(), 0.0, 1.0))
