"""IC/TO from a rear (or front) view (D).

From behind, a foot's image height is not its height above the belt: the stance foot is carried towards the camera
at belt speed, so its image point keeps sinking through stance (``y − c_y = f·H/z`` grows as the depth ``z``
falls). The lowest image point of a cycle is therefore near toe-off, not initial contact, and a "near the lowest
level" rule calls IC about 100 ms late (RBDS002, projected). Two signals that perspective does not bend are used
instead (``method = "load"``):

* TO (``to_signal = "toe"``) — the toe's lowest image point of the stance: while the toe rests on the belt it only
  comes towards the camera (image y rises); once it lifts, the lift dominates (image y falls).
* IC — the body's loading (:mod:`backtorun.events.loading`): the fastest descent of the hip centre, whose depth
  stays nearly constant so its image height is its true height, minus the spring-mass loading delay (Morin 2005).
  ``to_signal = "hip"`` takes TO = fastest rise + the same delay instead of the toe (depth-proof, but the real
  force of a slow runner is not symmetric: ≈ 35 ms early at 2.5 m/s on RBDS002).

The stride period comes from the autocorrelation of each heel's image y; the stance foot of a step is the one lower
in the image between the hip's fastest descent and rise; its toe's lowest image point is searched from the fastest
rise to one step after the fastest descent. ``method = "level"`` keeps the earlier rule: IC = first frame within
``contact_threshold_leg`` × leg length of the cycle's lowest level, TO = first frame after it above that level.
Confidences are capped at ``max_confidence`` (perspective makes the rear view less precise than the side view).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from backtorun.conventions import SIDE_LANDMARKS
from backtorun.events.base import EventInput
from backtorun.events.detect import stride_period_frames
from backtorun.events.loading import loading_steps, peak_time_s
from backtorun.kinematics.clean import sampling_rate_hz
from backtorun.settings import RearEventSettings
from backtorun.types import GaitEvent, GaitEvents, PoseSeries


class RearViewEventDetector:
    """IC/TO from the hip's loading and the toe's last approach (see module docstring); settings
    :class:`RearEventSettings`. Implements :class:`backtorun.events.base.EventDetector` (``forward``, ``near_side``
    and ``noise_px`` of the input are not used: every event is on the "near" leg)."""

    name = "rear"

    def __init__(self, settings: RearEventSettings | None = None) -> None:
        self.settings = settings or RearEventSettings()

    def detect(self, inp: EventInput) -> GaitEvents:
        """IC/TO events of ``inp.pose``."""
        pose, cfg = inp.pose, self.settings
        fs = sampling_rate_hz(pose.time_s, pose.fps)
        heel: dict[str, np.ndarray] = {}
        periods: dict[str, float] = {}
        for side in ("L", "R"):
            lm = SIDE_LANDMARKS[side]
            y = pose.xy[:, lm["heel"], 1]
            y = np.where(np.isfinite(y), y, pose.xy[:, lm["ankle"], 1])
            period = stride_period_frames(y, min_frames=cfg.min_stride_s * fs, max_frames=cfg.max_stride_s * fs)
            if period is None or not np.isfinite(y).any():
                continue
            heel[side], periods[side] = np.where(np.isfinite(y), y, np.nanmin(y)), float(period)
        if cfg.method == "load":
            return self._detect_load(pose, heel, periods, fs)
        events: list[GaitEvent] = []
        for side, yy in heel.items():
            period = periods[side]
            rng = np.nanpercentile(yy, 95) - np.nanpercentile(yy, 5)
            peaks, _ = find_peaks(yy, distance=max(1, int(0.6 * period)), prominence=0.3 * rng)
            half = int(0.5 * period)
            for p in peaks:
                lo, hi = max(0, p - half), min(pose.n_frames - 1, p + half)
                pair = self._level_events(yy, p, lo, hi, cfg.contact_threshold_leg * inp.leg_length_px)
                if pair is not None:
                    events.extend(self._pair(pose, side, pair))
        return GaitEvents(tuple(events))

    def _pair(self, pose: PoseSeries, side: str, rows: tuple[int, int]) -> list[GaitEvent]:
        """The IC and TO events at ``rows`` of foot ``side``, confidence = heel/ankle visibility capped."""
        lm = SIDE_LANDMARKS[side]
        out = []
        for kind, r in zip(("IC", "TO"), rows):
            vis = float(np.nan_to_num(pose.visibility[r, [lm["heel"], lm["ankle"]]], nan=0.0).mean())
            out.append(GaitEvent(side=side, leg="near", kind=kind, frame=int(pose.frame_index[r]),
                                 time_s=float(pose.time_s[r]), confidence=float(min(self.settings.max_confidence,
                                                                                     vis))))
        return out

    def _detect_load(self, pose: PoseSeries, heel: dict[str, np.ndarray], periods: dict[str, float],
                     fs: float) -> GaitEvents:
        """``method = "load"``: one stance per step, bracketed by the hip's fastest descent (k) and fastest rise
        (m, within a step after k); the stance foot is the one lower in the image between them. The contact time
        solves ``t_c = D + 2·τ(t_c)`` (D = t_m − t_k, fixed-point iteration); IC = t_k − τ; TO = t_m + τ
        (``to_signal = hip``) or the stance toe's lowest image point from m to a step after k (``toe``)."""
        if len(heel) < 2:
            return GaitEvents(())
        t = np.asarray(pose.time_s, float)
        step_f = 0.5 * float(np.median(list(periods.values())))
        events: list[GaitEvent] = []
        for step in loading_steps(pose, step_frames=step_f, fs=fs, iterations=self.settings.load_iterations):
            k, m = step.descent_row, step.rise_row
            end = min(pose.n_frames - 1, k + int(round(step_f)))
            mid = (k + m) // 2
            side = "L" if heel["L"][mid] > heel["R"][mid] else "R"  # image y down: the lower foot is on the belt
            t_ic, t_to = step.ic_s, step.to_s
            if self.settings.to_signal == "toe":
                toe = pose.xy[:, SIDE_LANDMARKS[side]["toe"], 1]
                seg = toe[m:end + 1]
                if not np.isfinite(seg).any():
                    continue
                r_toe = m + int(np.nanargmax(seg))
                t_to = peak_time_s(toe, t, r_toe)
            r_ic, r_to = int(np.argmin(np.abs(t - t_ic))), int(np.argmin(np.abs(t - t_to)))
            if r_ic < r_to:
                events.extend(self._pair(pose, side, (r_ic, r_to)))
        return GaitEvents(tuple(events))

    @staticmethod
    def _level_events(yy: np.ndarray, p: int, lo: int, hi: int, thr: float) -> tuple[int, int] | None:
        """(IC, TO) rows by the cycle's lowest image level (``method = "level"``)."""
        on = yy[lo:hi + 1] >= yy[p] - thr
        before = np.flatnonzero(~on[: p - lo])
        after = np.flatnonzero(~on[p - lo:])
        if before.size == 0 or after.size == 0:
            return None
        return lo + int(before[-1]) + 1, p + int(after[0])
