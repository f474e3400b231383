"""IC/TO from a rear (or front) view: vertical foot position only (D).

Seen from behind, the stance foot is the lowest point of that leg in the image and stays near its lowest level
until push-off, while the swing foot rises toward the buttocks. Per foot: stride period from the
autocorrelation of the heel's image y; each cycle's belt level = the highest y (lowest point) in the cycle;
IC = first frame within ``contact_threshold_leg`` × leg length of that level, TO = first frame after it that
rises above the level by the same amount. Less precise than the side-view method (perspective moves the foot
during stance), so confidences are capped at 0.6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from backtorun.conventions import SIDE_LANDMARKS
from backtorun.events.detect import stride_period_frames
from backtorun.kinematics.clean import sampling_rate_hz
from backtorun.types import GaitEvent, GaitEvents, PoseSeries


@dataclass
class RearViewEventDetector:
    contact_threshold_leg: float = 0.04
    max_confidence: float = 0.6

    def detect(self, pose: PoseSeries, *, leg_length_px: float) -> GaitEvents:
        fs = sampling_rate_hz(pose.time_s, pose.fps)
        thr = self.contact_threshold_leg * leg_length_px
        events: list[GaitEvent] = []
        for side in ("L", "R"):
            lm = SIDE_LANDMARKS[side]
            y = pose.xy[:, lm["heel"], 1]
            y = np.where(np.isfinite(y), y, pose.xy[:, lm["ankle"], 1])
            period = stride_period_frames(y, min_frames=0.4 * fs, max_frames=3.0 * fs)
            if period is None or not np.isfinite(y).any():
                continue
            rng = np.nanpercentile(y, 95) - np.nanpercentile(y, 5)
            yy = np.where(np.isfinite(y), y, np.nanmin(y))
            peaks, _ = find_peaks(yy, distance=max(1, int(0.6 * period)), prominence=0.3 * rng)
            vis = np.nan_to_num(pose.visibility[:, [lm["heel"], lm["ankle"]]], nan=0.0).mean(axis=1)
            half = int(0.5 * period)
            for p in peaks:
                lo, hi = max(0, p - half), min(pose.n_frames - 1, p + half)
                on = yy[lo:hi + 1] >= yy[p] - thr
                before = np.flatnonzero(~on[: p - lo])
                after = np.flatnonzero(~on[p - lo:])
                if before.size == 0 or after.size == 0:
                    continue
                ic = lo + int(before[-1]) + 1
                to = p + int(after[0])
                for kind, r in (("IC", ic), ("TO", to)):
                    events.append(GaitEvent(side=side, leg="near", kind=kind, frame=int(pose.frame_index[r]),
                                            time_s=float(pose.time_s[r]),
                                            confidence=float(min(self.max_confidence, vis[r]))))
        return GaitEvents(tuple(events))
