"""Initial contact (IC) and toe-off (TO) of both feet for treadmill running (domain.md §2).

Method (D, built from Zeni 2008 [7], Fellin 2010 [8], Young 2023 [14]):

1. Forward sign ``f`` (+1 facing image right) and the stride period from the autocorrelation of the heel's
   horizontal position relative to the pelvis.
2. Zeni candidates per foot: IC = local maxima of ``d_heel = f·(x_heel − x_HIPMID)`` (foot furthest forward),
   TO = local minima of ``d_toe = f·(x_toe − x_HIPMID)`` (foot furthest back). On a treadmill these bracket each
   stance, but in running Zeni's TO lags the true toe-off (the foot keeps travelling back in early swing) and
   Zeni's IC precedes touch-down (the foot is pulled back before landing).
3. Refinement on the vertical (image y is down), measured from the belt line (fitted from the toes' stance
   positions, so a camera yawed off perpendicular, which tilts the belt in the image, does not bias TO): heel and
   toe each get a per-stance belt level (their lowest image position in the stance window; the heel landmark sits
   above the sole). IC = touch-down of the foot's lowest part (``_landing``): the first frame on which it is within
   its stopping distance v²/(2a) (+ keypoint noise) of its level, or within a small tolerance of the lowest level
   it reaches next — so a foot hovering just above the belt is not yet "on" it, and a heel that keeps sinking
   after a fast touch-down (shoe compression) is "on" it from the touch-down. TO = the frame after the last one
   on which the toe is within ``toe_off_threshold`` of its stance level ("first frame off the belt") — the
   heel-lowest idea of Fellin [8] made into a threshold. Thresholds scale with the leg length in pixels and the
   keypoint noise, so they work at any image size, frame rate and pose quality.
   On marker-like keypoints (``ic_from_loading: clean``, the default: certain visibilities, ≥ 100 Hz, tiny foot
   jitter, a moving hip) each IC is then replaced by the body's loading IC (:mod:`backtorun.events.loading`, read
   from the unfiltered hip), which does not depend on how far the runner's heel sinks after contact; pose-model video
   keeps the touch-down (docs/validation.md §6e).
4. Alternation (IC, TO, IC … per foot; left and right ICs interleave) and plausibility (step time and contact
   time consistent with the clip's own median, ±``consistency``) — events that fail are dropped. With a known near
   leg, the far leg (often hidden behind the near one) must keep the near leg's rhythm
   (:func:`backtorun.events.rhythm.far_ic_keeps_rhythm`): one far contact between two near contacts, within
   ±(``far_ic_window_stride`` of a stride + ``far_ic_window_frames``) of their midpoint.
5. Confidence per event from landmark visibility, the leg (near/far), and how clean the refinement was.
   The uncertainty is ±1 frame (§2 step 6).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.signal import find_peaks

from backtorun.conventions import L_HIP, R_HIP, SIDE_LANDMARKS, Side
from backtorun.events.base import EventInput
from backtorun.events.loading import loading_steps
from backtorun.events.rhythm import far_ic_keeps_rhythm
from backtorun.kinematics.clean import sampling_rate_hz
from backtorun.settings import SideEventSettings
from backtorun.types import GaitEvent, GaitEvents, PoseSeries

log = logging.getLogger(__name__)

#: Hip, knee, ankle, heel and toe landmarks of both legs (BlazePose indices), whose visibility tells marker-derived
#: keypoints (all certain) from a pose model's.
LEG_LANDMARKS: Final = [SIDE_LANDMARKS[s][p] for s in ("L", "R") for p in ("hip", "knee", "ankle", "heel", "toe")]
#: Visibility from which a keypoint counts as certain (motion capture and marker imports give 1; D).
CERTAIN_VISIBILITY: Final = 0.99


@dataclass(frozen=True)
class FootEvents:
    """Stances of one foot: arrays of row indices (into the pose) of IC and TO, one pair per stance, with confidences."""

    side: Side
    ic_rows: np.ndarray
    to_rows: np.ndarray
    ic_conf: np.ndarray
    to_conf: np.ndarray


@dataclass(frozen=True)
class _Stance:
    """What the per-foot search of one detect() call shares: levelled pose, pelvis x/y, forward sign, stride period
    (frames), leg length (px), sampling rate (Hz) and foot-height noise SD (px)."""

    pose: PoseSeries
    hip: np.ndarray
    forward: int
    period: float
    leg_px: float
    fs: float
    noise_px: float


def _nan_interp(a: np.ndarray) -> np.ndarray:
    a = a.astype(float).copy()
    ok = np.isfinite(a)
    if ok.sum() >= 2 and not ok.all():
        idx = np.arange(a.size)
        a[~ok] = np.interp(idx[~ok], idx[ok], a[ok])
    return a


def stride_period_frames(signal: np.ndarray, *, min_frames: float, max_frames: float) -> float | None:
    """Dominant period (in frames) of a quasi-periodic signal from its autocorrelation, or None."""
    x = _nan_interp(signal)
    if not np.isfinite(x).all() or x.size < 3 * min_frames:
        return None
    x = x - np.mean(x)
    n = x.size
    ac = np.correlate(x, x, mode="full")[n - 1:]
    ac = ac / (ac[0] if ac[0] else 1.0)
    lo, hi = max(1, int(np.floor(min_frames))), min(n - 2, int(np.ceil(max_frames)))
    if hi <= lo + 1:
        return None
    peaks, props = find_peaks(ac[lo:hi + 1], height=0.2)
    if peaks.size == 0:
        return None
    # the first strong peak: multiples of the period have similar heights, the fundamental comes first
    strong = peaks[props["peak_heights"] >= 0.7 * props["peak_heights"].max()]
    k = int(strong[0]) + lo
    # parabolic refinement
    if 0 < k < n - 1:
        y0, y1, y2 = ac[k - 1], ac[k], ac[k + 1]
        den = y0 - 2 * y1 + y2
        if den != 0:
            return float(k + 0.5 * (y0 - y2) / den)
    return float(k)


def foot_jitter_px(pose: PoseSeries, *, leg_length_px: float, on_belt_leg: float = 0.02,
                   sides: tuple[Side, ...] = ("L", "R")) -> float:
    """Frame-to-frame jitter (px, 1 SD) of the foot landmarks' height while the foot is on the belt.

    On the belt a foot's image height is nearly constant, so the second difference of its y is measurement noise:
    for white noise of SD σ, Δ²y has SD σ·√6. Robust (MAD) over the frames on which each heel/toe is within
    ``on_belt_leg`` leg lengths of its 1-s running lowest position, median over the heel and toe of ``sides``
    (both feet by default). (D)
    """
    from scipy.ndimage import maximum_filter1d

    fs = sampling_rate_hz(pose.time_s, pose.fps)
    size = max(3, round(fs))
    out = []
    for side in sides:
        for part in ("heel", "toe"):
            y = pose.xy[:, SIDE_LANDMARKS[side][part], 1]
            if np.isfinite(y).sum() < 10:
                continue
            level = maximum_filter1d(np.nan_to_num(y, nan=-np.inf), size=size)
            d2 = np.diff(y, 2)
            on = ((level - y)[1:-1] < on_belt_leg * leg_length_px) & np.isfinite(d2)
            if on.sum() < 10:
                continue
            d = d2[on]
            out.append(1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(6.0))
    return float(np.median(out)) if out else 0.0


def belt_slope(pose: PoseSeries, *, leg_length_px: float, band_leg: float = 0.04, max_slope: float = 0.15) -> float:
    """Slope dy/dx of the belt line in the image, from the toes while they rest on the belt.

    With the camera yawed off perpendicular and below/above the belt, the belt runs towards or away from the lens
    and its image is tilted: a foot resting on it appears to rise or sink as the belt carries it back, which moves
    threshold-based toe-off by tens of ms. Fit: the toe samples within ``band_leg`` leg lengths of the toe's 1-s
    running lowest image position (on the belt), y = α_side + β·x by least squares with one intercept per foot;
    refitted once on the samples within half that band of the first line. 0 when there are too few samples or the
    fit is implausible (|β| > ``max_slope``). (D)
    """
    from scipy.ndimage import maximum_filter1d

    fs = sampling_rate_hz(pose.time_s, pose.fps)
    size = max(3, round(fs))
    xs, ys, sides = [], [], []
    for k, side in enumerate(("L", "R")):
        p = pose.xy[:, SIDE_LANDMARKS[side]["toe"]]
        ok = np.isfinite(p).all(axis=1)
        if ok.sum() < 10:
            continue
        level = maximum_filter1d(np.where(ok, p[:, 1], -np.inf), size=size)
        on = ok & (level - p[:, 1] < band_leg * leg_length_px)
        xs.append(p[on, 0])
        ys.append(p[on, 1])
        sides.append(np.full(int(on.sum()), k))
    if not xs:
        return 0.0
    x, y, sd = np.concatenate(xs), np.concatenate(ys), np.concatenate(sides)
    beta = 0.0
    keep = np.ones(x.size, bool)
    for _ in range(2):
        if keep.sum() < 20 or np.ptp(x[keep]) < 0.2 * leg_length_px:
            return 0.0
        cols = [x[keep]] + [(sd[keep] == k).astype(float) for k in np.unique(sd[keep])]
        coef, *_ = np.linalg.lstsq(np.column_stack(cols), y[keep], rcond=None)
        beta = float(coef[0])
        intercept = np.zeros(2)
        for j, k in enumerate(np.unique(sd[keep])):
            intercept[k] = coef[1 + j]
        resid = y - (beta * x + intercept[sd])
        keep = np.abs(resid) < 0.5 * band_leg * leg_length_px
    return beta if abs(beta) <= max_slope else 0.0


def level_belt(pose: PoseSeries, slope: float) -> PoseSeries:
    """The pose with image y measured from the belt line of slope ``slope`` (y − slope·(x − x̄))."""
    if slope == 0.0:
        return pose
    xy = pose.xy.copy()
    x0 = float(np.nanmedian(xy[..., 0]))
    xy[..., 1] = xy[..., 1] - slope * (xy[..., 0] - x0)
    return pose.replace(xy=xy)


class TreadmillEventDetector:
    """Detect IC/TO for both feet of a treadmill runner in a side view (see module docstring).

    Settings (:class:`backtorun.settings.SideEventSettings`, each documented there): contact_threshold_leg /
    toe_off_threshold_leg (vertical tolerance for "on the belt" at touch-down and toe-off as a fraction of leg
    length), consistency (allowed relative deviation of contact times from the clip's median),
    landing_deceleration_leg_s2 (a), landing_noise_sd, landing_window_s, landing_tolerance_leg, landing_max_sink_leg
    (the touch-down rule, :meth:`_landing`; a = 24 leg/s² fitted on RBDS 4.5 m/s and FootNet, where the heel marker
    sinks 1.5–3 % of leg length after force contact), level_belt_line (measure heights from the fitted belt line,
    :func:`belt_slope`), confidence_min_noise_px (floor of the noise scale in the event confidence),
    far_ic_window_stride / far_ic_window_frames (the far leg's rhythm gate, :mod:`backtorun.events.rhythm`).
    Implements :class:`backtorun.events.base.EventDetector`; keeps no state between calls.
    """

    name = "side"

    def __init__(self, settings: SideEventSettings | None = None) -> None:
        self.settings = settings or SideEventSettings()

    def detect(self, inp: EventInput) -> GaitEvents:
        """IC/TO events of ``inp.pose``. ``inp.noise_px``: SD of the foot landmarks' height noise in the pose
        (None: estimated from the pose with :func:`foot_jitter_px`); it widens the landing tolerance for noisy
        keypoints."""
        pose, forward, near_side, leg_length_px = inp.pose, inp.forward, inp.near_side, inp.leg_length_px
        fs = sampling_rate_hz(pose.time_s, pose.fps)
        noise_px = inp.noise_px
        if noise_px is None:
            noise_px = foot_jitter_px(pose, leg_length_px=leg_length_px)
        noise_px = float(noise_px) if np.isfinite(noise_px) else 0.0
        unfiltered = inp.unfiltered_pose
        if self.settings.level_belt_line:
            slope = belt_slope(pose, leg_length_px=leg_length_px)
            pose = level_belt(pose, slope)
            unfiltered = level_belt(unfiltered, slope) if unfiltered is not None else None
        hip = (pose.xy[:, L_HIP] + pose.xy[:, R_HIP]) / 2
        period = self._period(pose, hip, forward, fs)
        if period is None:
            log.info("no periodic foot motion found")
            return GaitEvents(())
        st = _Stance(pose, hip, forward, period, leg_length_px, fs, noise_px)
        mode = self._loading_mode(st, unfiltered)
        load_rows = self._loading_rows(st, near_side, mode, unfiltered=unfiltered)
        if mode == "all":
            feet = [self._foot(st, side, load_rows.get(side)) for side in ("L", "R")]
        else:
            feet = [self._with_loading_ics(self._foot(st, side), load_rows.get(side), 0.5 * period)
                    for side in ("L", "R")]
        if self.settings.ic_from_belt:
            from backtorun.events.belt_contact import belt_moving_rows, first_belt_rows  # imports detect_belt → here
            from backtorun.events.detect_belt import belt_motion
            from backtorun.settings import BeltEventSettings

            motion = belt_motion(pose, forward=forward, leg_length_px=leg_length_px, noise_px=noise_px,
                                 settings=BeltEventSettings())
            back = max(2, int(0.1 * period))
            feet = [FootEvents(f.side, first_belt_rows(belt_moving_rows(motion, f.side) if motion else None,
                                                       f.ic_rows, f.to_rows, back_frames=back),
                               f.to_rows, f.ic_conf, f.to_conf) for f in feet]
        feet = self._plausible(feet, pose, period)
        events: list[GaitEvent] = []
        for foot in feet:
            leg = "near" if (near_side is None or foot.side == near_side) else "far"
            leg_factor = 1.0 if leg == "near" else 0.75
            for kind, rows, conf in (("IC", foot.ic_rows, foot.ic_conf), ("TO", foot.to_rows, foot.to_conf)):
                for r, c in zip(rows, conf):
                    events.append(GaitEvent(side=foot.side, leg=leg, kind=kind, frame=int(pose.frame_index[r]),
                                            time_s=float(pose.time_s[r]), confidence=float(np.clip(c * leg_factor, 0, 1))))
        if near_side is None:
            return GaitEvents(tuple(events))
        return far_ic_keeps_rhythm(GaitEvents(tuple(events)), near_side=near_side,
                                   window_stride=self.settings.far_ic_window_stride,
                                   window_frames=self.settings.far_ic_window_frames, frame_s=1.0 / fs)

    # -- steps -------------------------------------------------------------------------------------------------
    def _period(self, pose: PoseSeries, hip: np.ndarray, forward: int, fs: float) -> float | None:
        periods = []
        for side in ("L", "R"):
            heel = pose.xy[:, SIDE_LANDMARKS[side]["heel"], 0]
            ankle = pose.xy[:, SIDE_LANDMARKS[side]["ankle"], 0]
            x = np.where(np.isfinite(heel), heel, ankle)
            p = stride_period_frames(forward * (x - hip[:, 0]), min_frames=self.settings.min_stride_s * fs,
                                     max_frames=self.settings.max_stride_s * fs)
            if p is not None:
                periods.append(p)
        return float(np.median(periods)) if periods else None

    def _loading_mode(self, st: _Stance, unfiltered: PoseSeries | None) -> str:
        """The ``ic_from_loading`` mode in force. "clean" becomes "every" (each touch-down IC replaced by its
        loading IC) on clean high-rate keypoints — at least ``clean_min_certain_fraction`` of the legs' visibilities
        certain (marker data, not a pose model), at least ``clean_min_fps``, a foot jitter of at most
        ``clean_max_noise_leg`` leg lengths and a hip that rises and falls by at least ``clean_min_hip_travel_leg``
        (a loading signal to read) — where the loading IC is the more accurate and does not depend on how far the
        runner's heel sinks after contact (docs/validation.md §6e); "none" otherwise (video)."""
        mode = self.settings.ic_from_loading
        if mode != "clean":
            return mode
        cfg, leg = self.settings, st.leg_px
        raw = unfiltered if unfiltered is not None else st.pose
        jitter = foot_jitter_px(raw, leg_length_px=leg)  # of the keypoints as given: the loading IC reads them so
        hip_y = st.hip[:, 1]
        travel = float(np.nanpercentile(hip_y, 95) - np.nanpercentile(hip_y, 5)) if np.isfinite(hip_y).any() else 0.0
        vis = st.pose.visibility[:, LEG_LANDMARKS]
        certain = float(np.mean(np.nan_to_num(vis, nan=0.0) >= CERTAIN_VISIBILITY))
        clean = (certain >= cfg.clean_min_certain_fraction and st.fs >= cfg.clean_min_fps
                 and jitter <= cfg.clean_max_noise_leg * leg and travel >= cfg.clean_min_hip_travel_leg * leg)
        log.info("keypoints %s (%.0f %% certain, %.0f Hz, foot jitter %.2f‰ and hip travel %.1f %% of the leg): IC "
                 "from %s", "clean" if clean else "not clean", 100.0 * certain, st.fs, 1000.0 * jitter / leg,
                 100.0 * travel / leg, "the body's loading" if clean else "the foot's touch-down")
        return "every" if clean else "none"

    def _loading_rows(self, st: _Stance, near_side: Side | None, mode: str, *,
                      unfiltered: PoseSeries | None = None) -> dict[str, np.ndarray]:
        """Rows of the loading ICs (:func:`backtorun.events.loading.loading_steps`) of each foot that takes its IC
        from loading (``ic_from_loading``; "far" needs a known near leg). Each loading IC belongs to the landing
        foot: the one further forward of the pelvis at that instant (the other is behind it, in late stance)."""
        if mode == "none" or (mode == "far" and near_side is None):
            return {}
        pose, t = st.pose, np.asarray(st.pose.time_s, float)
        ahead = {}
        for side in ("L", "R"):
            lm = SIDE_LANDMARKS[side]
            heel = pose.xy[:, lm["heel"], 0]
            x = np.where(np.isfinite(heel), heel, pose.xy[:, lm["ankle"], 0])
            ahead[side] = st.forward * (x - st.hip[:, 0])
        rows: dict[str, list[int]] = {"L": [], "R": []}
        # on clean keypoints ("every") the hip is read unfiltered: the events low-pass widens its descent-to-rise
        # interval and moves the loading IC earlier (docs/validation.md §6e)
        hip_pose = unfiltered if (mode == "every" and unfiltered is not None) else pose
        steps = loading_steps(hip_pose, step_frames=0.5 * st.period, fs=st.fs,
                              iterations=self.settings.load_iterations)
        for step in steps:
            r = int(np.argmin(np.abs(t - step.ic_s)))
            if not (np.isfinite(ahead["L"][r]) and np.isfinite(ahead["R"][r])):
                continue
            side = "L" if ahead["L"][r] > ahead["R"][r] else "R"
            if mode in ("all", "every") or side != near_side:
                rows[side].append(r)
        return {k: np.array(v, dtype=int) for k, v in rows.items() if v}

    @staticmethod
    def _with_loading_ics(foot: FootEvents, load_rows: np.ndarray | None, step_frames: float) -> FootEvents:
        """``foot`` with each IC replaced by the nearest loading IC of the same foot within half a step (the same
        contact; any further is another foot's) that still precedes the stance's toe-off."""
        if load_rows is None or load_rows.size == 0 or foot.ic_rows.size == 0:
            return foot
        ic = foot.ic_rows.copy()
        for k, (r, to) in enumerate(zip(foot.ic_rows, foot.to_rows)):
            j = int(np.argmin(np.abs(load_rows - r)))
            if abs(int(load_rows[j]) - int(r)) < 0.5 * step_frames and load_rows[j] < to:
                ic[k] = int(load_rows[j])
        return FootEvents(foot.side, ic, foot.to_rows, foot.ic_conf, foot.to_conf)

    def _foot(self, st: _Stance, side: Side, load_rows: np.ndarray | None = None) -> FootEvents:
        pose, hip, forward, period, leg_px, fs = st.pose, st.hip, st.forward, st.period, st.leg_px, st.fs
        lm = SIDE_LANDMARKS[side]
        heel, toe, ankle = pose.xy[:, lm["heel"]], pose.xy[:, lm["toe"]], pose.xy[:, lm["ankle"]]
        heel = np.where(np.isfinite(heel), heel, ankle)
        toe = np.where(np.isfinite(toe), toe, heel)
        d_heel = _nan_interp(forward * (heel[:, 0] - hip[:, 0]))
        d_toe = _nan_interp(forward * (toe[:, 0] - hip[:, 0]))
        y_toe = toe[:, 1]
        vis = np.nan_to_num(pose.visibility[:, [lm["heel"], lm["toe"], lm["ankle"]]], nan=0.0).mean(axis=1)
        if not np.isfinite(d_heel).all():
            return FootEvents(side, *(np.array([], dtype=int),) * 2, *(np.array([]),) * 2)
        dist = max(1, int(0.6 * period))
        rng = np.nanpercentile(d_heel, 95) - np.nanpercentile(d_heel, 5)
        ic_z, _ = find_peaks(d_heel, distance=dist, prominence=0.3 * rng)
        to_z, _ = find_peaks(-d_toe, distance=dist, prominence=0.3 * rng)
        thr = self.settings.contact_threshold_leg * leg_px
        thr_to = self.settings.toe_off_threshold_leg * leg_px
        n = pose.n_frames
        ics, tos, icc, toc = [], [], [], []
        if load_rows is not None:  # ic_from_loading "all" (the only mode that passes them here)
            # every stance starts at a loading IC; its toe-off lies within half a stride (duty factor < 0.5)
            windows = [(int(r), min(n - 1, int(r + 0.5 * period))) for r in load_rows]
        else:
            windows = self._stance_windows(ic_z, to_z, n, period)
        for i0, t0 in windows:
            lo, hi = max(0, i0 - max(2, int(0.1 * period))), min(n - 1, t0 + max(2, int(0.1 * period)))
            heel_seg, toe_seg = heel[lo:t0 + 1, 1], toe[lo:t0 + 1, 1]
            if np.isfinite(heel_seg).sum() < 2 or np.isfinite(toe_seg).sum() < 2:
                continue
            # the heel landmark sits above the sole, so heel and toe each get their own belt level
            heel_ground, toe_ground = np.nanmax(heel_seg), np.nanmax(toe_seg)
            gap = np.fmin(heel_ground - heel[:, 1], toe_ground - toe[:, 1])
            # IC: the touch-down (see _landing), searched from the Zeni candidate's neighbourhood; the foot must have
            # been seen in the air (heel or toe above the contact threshold, within half a stride) before it, otherwise the touch-down was not seen
            loaded = load_rows[(load_rows > lo) & (load_rows < t0)] if load_rows is not None else np.array([], int)
            if loaded.size:  # the body's loading (ic_from_loading): the one nearest the Zeni candidate
                ic = int(loaded[np.argmin(np.abs(loaded - i0))])
            else:
                ic = self._landing(gap, lo, t0, fs, leg_px, noise_px=st.noise_px)
                if ic is None or ic <= lo:
                    continue
                before = np.fmax(heel_ground - heel[:, 1], toe_ground - toe[:, 1])[max(0, ic - int(0.5 * period)):ic]
                if not (np.isfinite(before).any() and np.nanmax(before) > thr):
                    continue
            heel_first = np.isfinite(heel[ic, 1]) and heel_ground - heel[ic, 1] <= toe_ground - toe[ic, 1]
            ground = heel_ground if heel_first else toe_ground
            y_ic = heel[:, 1] if heel_first else toe[:, 1]
            # TO: scanning back from the Zeni candidate (toe already in the air), the frame after the last one on which
            # the toe is within the threshold of its stance level (75th percentile of toe y over the stance window:
            # robust to the toe landmark wandering while the foot rolls over)
            toe_win = y_toe[ic:t0 + 1]
            if np.isfinite(toe_win).sum() < 2:
                continue
            level = float(np.nanpercentile(toe_win, self.settings.toe_level_percentile))
            last_on = None
            for t in range(hi, ic, -1):
                if np.isfinite(y_toe[t]) and y_toe[t] >= level - thr_to:
                    last_on = t
                    break
            if last_on is None or last_on >= hi:
                continue  # the toe-off itself was not seen
            to = last_on + 1
            toe_ground = level
            ics.append(ic)
            tos.append(to)
            icc.append(self._confidence(vis, y_ic, ic, ground, noise_px=st.noise_px))
            toc.append(self._confidence(vis, y_toe, to, toe_ground, noise_px=st.noise_px))
        return FootEvents(side, np.array(ics, dtype=int), np.array(tos, dtype=int), np.array(icc), np.array(toc))

    def _landing(self, gap: np.ndarray, start: int, last: int, fs: float, leg_px: float, *,
                 noise_px: float) -> int | None:
        """Touch-down frame of one stance (first frame on the belt), or None.

        ``gap`` is the height (px) of the foot's lowest part (heel or toe) above its own stance level. The foot has
        landed on the first frame from ``start`` on which either

        (a) ``gap ≤ v²/(2·a) + k·σ``: the foot, descending at ``v`` (px/s), is within its stopping distance of the
            stance level when decelerated at ``a = landing_deceleration_leg_s2`` leg lengths/s² — the heel landmark
            sits on the shoe and keeps sinking (shoe and heel pad compress) for a few frames after a fast touch-down,
            so it touches the belt while still a little above its final level; ``σ`` is the keypoint noise
            (``landing_noise_sd`` SDs of ``noise_px``), or
        (b) ``gap`` is within ``max(landing_tolerance_leg·leg, k·σ)`` of the lowest level the foot reaches over the
            next ``landing_window_s`` (a slowly descending foot: the heel-lowest idea of Fellin 2010 [8]).

        A foot hovering just above the belt before touching down (slow running: 1–1.5 % of leg length for 50–100 ms)
        satisfies neither. Tuned on Fukuchi RBDS 2.5/4.5 m/s, FootNet, Hamner and mini_run (docs/validation.md). (D)
        """
        k = max(1, round(self.settings.landing_window_s * fs))
        thr = self.settings.contact_threshold_leg * leg_px
        eps_noise = self.settings.landing_noise_sd * noise_px
        eps = max(self.settings.landing_tolerance_leg * leg_px, eps_noise)
        a_px = self.settings.landing_deceleration_leg_s2 * leg_px  # px/s²
        # descent speed (px/s, + = descending; central difference) and the distance the foot needs to stop at
        # the landing deceleration
        stop = np.maximum(np.gradient(-_nan_interp(gap)) * fs, 0.0) ** 2 / (2.0 * a_px)
        for t in range(start, last + 1):
            if not np.isfinite(gap[t]):
                continue
            if gap[t] <= min(stop[t], self.settings.landing_max_sink_leg * leg_px) + eps_noise:
                return t
            fut = gap[t + 1:t + 1 + k]
            fut = fut[np.isfinite(fut)]
            if fut.size and gap[t] - fut.min() <= eps and gap[t] <= thr:
                return t
        return None

    @staticmethod
    def _stance_windows(ic_z: np.ndarray, to_z: np.ndarray, n: int, period: float) -> list[tuple[int, int]]:
        """(Zeni IC, Zeni TO) row pairs bracketing each stance; clip edges stand in for a candidate cut off there."""
        out = []
        if to_z.size and (ic_z.size == 0 or to_z[0] < ic_z[0]) and to_z[0] < 0.8 * period:
            out.append((0, int(to_z[0])))
        for i0 in ic_z:
            later = to_z[(to_z > i0) & (to_z < i0 + 0.8 * period)]
            if later.size:
                out.append((int(i0), int(later[0])))
            elif i0 + 0.8 * period > n - 1:
                out.append((int(i0), n - 1))
        return out

    def _confidence(self, vis: np.ndarray, y: np.ndarray, t: int, ground: float, *, noise_px: float) -> float:
        """Visibility at the event × sharpness: how far the foot was from the belt one frame away from the event,
        relative to the keypoint noise (3 noise SDs, at least ``confidence_min_noise_px``, give full sharpness)."""
        v = float(np.clip(vis[max(0, t - 1):t + 2].mean(), 0, 1))
        before = y[t - 1] if t > 0 else np.nan
        after = y[t + 1] if t + 1 < y.size else np.nan
        gap = np.nanmax([abs(ground - before) if np.isfinite(before) else 0.0,
                         abs(ground - after) if np.isfinite(after) else 0.0])
        scale = 3.0 * max(noise_px, self.settings.confidence_min_noise_px)
        sharp = float(np.clip(gap / scale, 0.3, 1.0))
        return v * sharp

    def _plausible(self, feet: list[FootEvents], pose: PoseSeries, period: float) -> list[FootEvents]:
        """Drop stances whose contact time, or IC spacing, is inconsistent with the clip's own medians."""
        t = pose.time_s
        out = []
        for f in feet:
            c = t[f.to_rows] - t[f.ic_rows]
            if c.size == 0:
                out.append(f)
                continue
            med_c = float(np.median(c))
            ok = np.abs(c - med_c) <= self.settings.consistency * med_c
            # no overlapping stances of one foot
            keep = np.flatnonzero(ok)
            sel: list[int] = []
            for k in keep:
                if sel and f.ic_rows[k] <= f.to_rows[sel[-1]]:
                    continue
                sel.append(int(k))
            idx = np.array(sel, dtype=int)
            out.append(FootEvents(f.side, f.ic_rows[idx], f.to_rows[idx], f.ic_conf[idx], f.to_conf[idx]))
        return out
