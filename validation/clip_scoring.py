"""Score backtorun's gait events on a labelled treadmill clip against its consensus labels (issue #14 metrics).

Per clip (``validation/labels/clips.yaml``): the cached BlazePose pose; time rescaled to the true capture rate
(``capture_fps``, the same rescaling as ``analyze --capture-fps``); for a clip whose rate changes inside it, each
real-time segment is analysed as a clip of its own. Events come from the detector stage exactly as
``backtorun.pipeline.analyze_pose`` runs it (``prepare`` → ``make_detector`` → ``detect``), so a clip the analysis
refuses (too few strides) is still scored; cadence and step-time asymmetry come from ``analyze_pose``'s summary
when it accepts the clip, otherwise from the detected ICs by the summary's own rule
(``backtorun.metrics.summary.step_times_from_events``).

Metrics: near-leg high/medium labels within ±1 frame and far-leg labels within ±2 frames (a missed label is not a
hit); IC/TO bias and MAE (ms, matched events); contact-time bias (stances with IC and TO both matched); cadence =
60000 / mean step time; step-time symmetry index SI = 100·(R − L)/((R + L)/2), a step's side being the foot of its
first IC (as in the summary). Pairing: nearest unused detection of the same leg and kind within
``detector_match_stride_fraction`` × the labelled stride period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from backtorun import conventions as cv
from backtorun.errors import BacktorunError
from backtorun.types import GaitEvents, PoseSeries
from validation.agreement import Agreement, agreement
from validation.clip_protocol import Clip, Protocol, load_clip_set
from validation.label_agreement import LabellerAgreement, as_scoring_labels, clip_consensus

log = logging.getLogger(__name__)

#: Ankles, heels and toes (foot indices) of both feet.
FOOT_LANDMARKS = (cv.L_ANKLE, cv.R_ANKLE, cv.L_HEEL, cv.R_HEEL, cv.L_TOE, cv.R_TOE)


@dataclass
class SegmentResult:
    """The detector's events on one real-time stretch, and ``analyze_pose``'s verdict on it."""

    start: int
    end: int
    events: pd.DataFrame  # side, leg, kind, frame, time_s, confidence
    cadence_spm: float = float("nan")
    step_asymmetry_pct: float = float("nan")
    refusal: str | None = None
    foot_visibility: float = float("nan")  # mean pose visibility of ankles, heels and toes in the segment


@dataclass
class ClipScore:
    """Issue #14 metrics of one clip."""

    name: str
    fps: float  # true capture rate used
    n_labels: int
    near_hm_n: int
    near_hm_hits: int
    far_n: int
    far_hits: int
    ic_ms: Agreement
    to_ms: Agreement
    contact_time_ms: Agreement
    per_group_ms: dict[str, Agreement]
    n_missed: int
    cadence_spm: float  # backtorun (analyze's summary, or detected ICs when analyze refuses)
    cadence_labels_spm: float
    step_asymmetry_pct: float
    step_asymmetry_labels_pct: float
    asymmetry_source: str  # "analyze" or "detected ICs (analyze refused: …)"
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: list[SegmentResult] = field(default_factory=list)
    agreement: LabellerAgreement | None = None
    consensus: pd.DataFrame | None = None
    pose_current: bool = True

    @property
    def near_hm_pct(self) -> float:
        return 100.0 * self.near_hm_hits / self.near_hm_n if self.near_hm_n else float("nan")

    @property
    def far_pct(self) -> float:
        return 100.0 * self.far_hits / self.far_n if self.far_n else float("nan")


def slice_pose(pose: PoseSeries, start: int, end: int) -> PoseSeries:
    """Rows of ``pose`` whose decode-order frame index lies in [start, end) (frame indices and times kept)."""
    m = (pose.frame_index >= start) & (pose.frame_index < end)
    extra: dict[str, Any] = {}
    if pose.world_xyz is not None:
        extra["world_xyz"] = pose.world_xyz[m]
    if pose.camera_motion_px is not None:
        extra["camera_motion_px"] = pose.camera_motion_px[m]
    return pose.replace(xy=pose.xy[m], visibility=pose.visibility[m], time_s=pose.time_s[m],
                        frame_index=pose.frame_index[m], **extra)


def detect(pose: PoseSeries, *, settings: Any = None, view: str = "auto") -> GaitEvents:
    """The events ``analyze_pose`` would detect on ``pose`` (already on its true time axis)."""
    from backtorun.events import EventInput, foot_noise_px, make_detector
    from backtorun.kinematics import prepare
    from backtorun.settings import AnalysisSettings

    settings = settings or AnalysisSettings()
    kin = prepare(pose, settings=settings, view=view)
    noise_px = foot_noise_px(kin.pose, leg_length_px=kin.leg_length_px, cutoff_hz=kin.events_cutoff_hz)
    detector = make_detector(settings.events, kin.view)
    return detector.detect(EventInput(pose=kin.events_pose, leg_length_px=kin.leg_length_px, forward=kin.forward,
                                      near_side=kin.near.side if kin.near else None, noise_px=noise_px))


def run_segment(pose: PoseSeries, start: int, end: int, *, speed_mps: float | None,
                capture_fps: float | None = None, settings: Any = None) -> SegmentResult:
    """Detect events on frames [start, end) and try the full analysis for its cadence and asymmetry.

    ``pose`` is on the playback time axis; ``capture_fps`` rescales time exactly as ``analyze --capture-fps``."""
    from backtorun.pipeline import analyze_pose, slow_motion_corrected

    sub = slice_pose(pose, start, end)
    events = detect(slow_motion_corrected(sub, capture_fps) if capture_fps is not None else sub, settings=settings)
    res = SegmentResult(start=start, end=end, events=events.to_frame(),
                        foot_visibility=float(np.nanmean(sub.visibility[:, list(FOOT_LANDMARKS)]))
                        if sub.n_frames else float("nan"))
    try:
        a = analyze_pose(sub, speed_mps=speed_mps, capture_fps=capture_fps, settings=settings)
    except BacktorunError as exc:
        res.refusal = str(exc).split(" — ")[0]
        return res
    cad, st = a.summary.get("cadence_spm"), a.summary.get("step_time_ms")
    res.cadence_spm = float(cad.mean) if cad is not None else float("nan")
    res.step_asymmetry_pct = float(st.asymmetry) if st is not None and st.asymmetry is not None else float("nan")
    return res


def symmetry_index_pct(step_ms: Sequence[float], step_side: Sequence[str]) -> float:
    """SI = 100·(R − L)/((R + L)/2) of mean step times by side (docs/conventions.md, M15)."""
    st = np.asarray(step_ms, dtype=float)
    sd = np.asarray(step_side)
    if not ((sd == "L").any() and (sd == "R").any()):
        return float("nan")
    left, right = float(st[sd == "L"].mean()), float(st[sd == "R"].mean())
    return 100.0 * (right - left) / ((right + left) / 2.0)


def label_steps(labels: pd.DataFrame, fps: float, segments: Sequence[tuple[int, int]]) -> pd.DataFrame:
    """Steps between consecutive labelled ICs of alternating feet inside one segment: side (first IC), step_ms."""
    rows = []
    for start, end in segments:
        ic = labels[(labels["kind"] == "IC") & (labels["frame"] >= start) & (labels["frame"] < end)]
        ic = ic.sort_values("frame")
        for (fa, sa), (fb, sb) in zip(ic[["frame", "side"]].to_numpy()[:-1], ic[["frame", "side"]].to_numpy()[1:]):
            if sa != sb:
                rows.append({"side": sa, "step_ms": 1000.0 * (float(fb) - float(fa)) / fps})
    return pd.DataFrame(rows, columns=["side", "step_ms"])


def stride_period_frames(labels: pd.DataFrame, segments: Sequence[tuple[int, int]]) -> float:
    """Median interval between consecutive labelled ICs of the same leg inside one segment (frames)."""
    d: list[float] = []
    for start, end in segments:
        seg = labels[(labels["kind"] == "IC") & (labels["frame"] >= start) & (labels["frame"] < end)]
        for _, g in seg.groupby("leg"):
            d += np.diff(np.sort(g["frame"].to_numpy(float))).tolist()
    return float(np.median(d)) if d else float("nan")


def match_detections(labels: pd.DataFrame, detections: pd.DataFrame, *, max_frames: float) -> pd.DataFrame:
    """Greedy closest-first pairing of labels with detections of the same leg and kind within ``max_frames``.

    Returns the labels with ``det_frame`` and ``error_frames`` (detected − label; NaN when missed)."""
    out = labels.copy().reset_index(drop=True)
    out["det_frame"] = np.nan
    for (leg, kind), grp in out.groupby(["leg", "kind"]):
        cand = detections[(detections["leg"] == leg) & (detections["kind"] == kind)]["frame"].to_numpy(float)
        pairs = sorted((abs(c - f), i, j) for i, f in zip(grp.index, grp["frame"]) for j, c in enumerate(cand))
        used_i: set[int] = set()
        used_j: set[int] = set()
        for d, i, j in pairs:
            if d <= max_frames and i not in used_i and j not in used_j:
                out.loc[i, "det_frame"] = cand[j]
                used_i.add(i)
                used_j.add(j)
    out["error_frames"] = out["det_frame"] - out["frame"]
    return out


def contact_time_pairs(matched: pd.DataFrame, fps: float) -> tuple[list[float], list[float]]:
    """(detected, labelled) contact times (ms) of stances whose IC and following TO of the same leg both matched."""
    est, ref = [], []
    for _, g in matched.groupby("leg"):
        g = g.sort_values("frame")
        rows = g[["kind", "frame", "det_frame"]].to_numpy()
        for (ka, fa, da), (kb, fb, db) in zip(rows[:-1], rows[1:]):
            if ka == "IC" and kb == "TO" and np.isfinite(da) and np.isfinite(db):
                est.append(1000.0 * (db - da) / fps)
                ref.append(1000.0 * (fb - fa) / fps)
    return est, ref


def _ms_agreement(err_frames: pd.Series, fps: float) -> Agreement:
    e = err_frames.to_numpy(float)
    e = e[np.isfinite(e)] * 1000.0 / fps
    return agreement(e, np.zeros(e.size))


def score_clip(name: str, *, clip: Clip | None = None, protocol: Protocol | None = None,
               pose: PoseSeries | None = None, settings: Any = None) -> ClipScore:
    """Analyse one labelled clip with backtorun (``settings``: analysis settings, None = defaults) and score it
    against its consensus labels."""
    from backtorun.metrics.summary import step_times_from_events
    from validation.pose_cache import cached_pose, find_cached

    cs = load_clip_set()
    clip = clip or cs.clips[name]
    protocol = protocol or cs.protocol
    pose_current = True
    if pose is None:
        model = settings.pose.model_complexity if settings is not None else 1  # heavy and full never mix
        _, pose_current = find_cached(clip.video_path, model_complexity=model)
        pose = cached_pose(clip.video_path, accept_other_pose_code=True, model_complexity=model)
    fps = float(clip.capture_fps or pose.fps)
    cons, ag, _ = clip_consensus(clip.label_paths, fps=fps, window_s=protocol.labeller_match_window_s,
                                 max_diff_frames=protocol.consensus_max_diff_frames)
    labels = as_scoring_labels(cons)
    n_rows = int(pose.frame_index.max()) + 1 if pose.n_frames else 0
    segments = [tuple(s) for s in clip.segments] if clip.segments else [(0, n_rows)]
    seg_results = [run_segment(pose, s, e, speed_mps=clip.belt_speed_mps, capture_fps=clip.capture_fps,
                               settings=settings)
                   for s, e in segments]
    in_seg = np.zeros(len(labels), dtype=bool)
    for s, e in segments:
        in_seg |= (labels["frame"] >= s) & (labels["frame"] < e)
    labels = labels[in_seg].reset_index(drop=True)
    dets = pd.concat([r.events for r in seg_results], ignore_index=True)
    window = protocol.detector_match_stride_fraction * stride_period_frames(labels, segments)
    matched = match_detections(labels, dets, max_frames=window)
    err = matched["error_frames"].abs()
    near = matched[(matched["leg"] == "near") & matched["confidence"].isin(list(protocol.near_confidences))]
    far = matched[matched["leg"] == "far"]
    ct_est, ct_ref = contact_time_pairs(matched, fps)
    groups = {f"{leg}-{kind}": _ms_agreement(g["error_frames"], fps) for (leg, kind), g in matched.groupby(["leg", "kind"])}
    lab_steps = label_steps(labels, fps, segments)
    # backtorun's cadence and asymmetry: analyze's summary on a single accepted segment, else detected ICs
    if len(seg_results) == 1 and seg_results[0].refusal is None:
        cad, asym, source = seg_results[0].cadence_spm, seg_results[0].step_asymmetry_pct, "analyze"
    else:
        from backtorun.types import GaitEvent

        steps = []
        for r in seg_results:
            evs = GaitEvents(tuple(GaitEvent(side=x.side, leg=x.leg, kind=x.kind, frame=int(x.frame),
                                             time_s=float(x.time_s), confidence=float(x.confidence))
                                   for x in r.events.itertuples()))
            steps.append(step_times_from_events(evs))
        st = pd.concat(steps, ignore_index=True)
        st = st[st["kept"].astype(bool)]
        cad = 60000.0 / float(st["step_time_ms"].mean()) if len(st) else float("nan")
        asym = symmetry_index_pct(st["step_time_ms"], st["side"])
        why = "; ".join(f"{r.start}–{r.end - 1}: {r.refusal}" for r in seg_results if r.refusal) or "several segments"
        source = f"detected ICs (analyze: {why})"
    return ClipScore(
        name=name, fps=fps, n_labels=len(matched), near_hm_n=len(near),
        near_hm_hits=int((near["error_frames"].abs() <= protocol.near_hit_tolerance_frames).sum()),
        far_n=len(far), far_hits=int((far["error_frames"].abs() <= protocol.far_hit_tolerance_frames).sum()),
        ic_ms=_ms_agreement(matched[matched["kind"] == "IC"]["error_frames"], fps),
        to_ms=_ms_agreement(matched[matched["kind"] == "TO"]["error_frames"], fps),
        contact_time_ms=agreement(ct_est, ct_ref), per_group_ms=groups, n_missed=int(err.isna().sum()),
        cadence_spm=cad,
        cadence_labels_spm=60000.0 / float(lab_steps["step_ms"].mean()) if len(lab_steps) else float("nan"),
        step_asymmetry_pct=asym, step_asymmetry_labels_pct=symmetry_index_pct(lab_steps["step_ms"], lab_steps["side"]),
        asymmetry_source=source, errors=matched, segments=seg_results, agreement=ag, consensus=cons,
        pose_current=pose_current)


def score_all() -> dict[str, ClipScore]:
    """Every clip of ``clips.yaml``, scored."""
    return {name: score_clip(name) for name in load_clip_set().clips}
