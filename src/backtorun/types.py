"""Frozen contracts between the stages (see docs/architecture.md).

``PoseSeries`` ─kinematics→ ``PoseSeries`` ─events→ ``GaitEvents`` ─metrics→ ``StrideTable`` + ``Summary``
— bundled, with the capture check, into ``GaitAnalysis``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd

from backtorun.conventions import ANALYSIS_SCHEMA, BLAZEPOSE_LANDMARKS, EventKind, Leg, Side, View

# ---------------------------------------------------------------------------------------------------------
# Pose
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PoseSeries:
    """Landmark trajectories of one runner in one recording.

    xy: (n_frames, n_landmarks, 2) float pixels, origin top-left, y down; NaN where missing.
    visibility: (n_frames, n_landmarks) in [0, 1]; NaN/0 where missing.
    time_s: (n_frames,) presentation time of each frame from the container (handles variable frame rate).
    frame_index: (n_frames,) 0-based decode-order index of each row (rows may skip frames).
    fps: nominal frame rate (container average), width/height: displayed size after rotation.
    rotation_deg: rotation applied to decoded frames (0/90/180/270).
    world_xyz: optional (n_frames, n_landmarks, 3) metres, hip-centred (MediaPipe world landmarks).
    source: estimator and version, e.g. "mediapipe-0.10.21/blazepose-full".
    camera_motion_px: optional (n_frames, 2) apparent background motion (dx, dy) from the previous decoded frame,
        in displayed-frame pixels; NaN where unknown (see backtorun.pose.camera_motion).
    frames_expected: frames the video's frame index lists (those asked for, from 0); rows for fewer of them mean
        frames that could not be decoded (a quality flag). None when unknown (keypoint files).
    """

    xy: np.ndarray
    visibility: np.ndarray
    time_s: np.ndarray
    frame_index: np.ndarray
    fps: float
    width: int
    height: int
    rotation_deg: int = 0
    landmarks: tuple[str, ...] = BLAZEPOSE_LANDMARKS
    world_xyz: np.ndarray | None = None
    source: str = "unknown"
    video_path: str | None = None
    camera_motion_px: np.ndarray | None = None
    frames_expected: int | None = None

    def __post_init__(self) -> None:
        n = self.xy.shape[0]
        if self.xy.ndim != 3 or self.xy.shape[2] != 2:
            raise ValueError(f"xy must be (frames, landmarks, 2), got {self.xy.shape}")
        if self.visibility.shape != self.xy.shape[:2]:
            raise ValueError("visibility must be (frames, landmarks)")
        if self.time_s.shape != (n,) or self.frame_index.shape != (n,):
            raise ValueError("time_s and frame_index must have one entry per frame")
        if self.xy.shape[1] != len(self.landmarks):
            raise ValueError("landmark names do not match xy")
        if self.camera_motion_px is not None and self.camera_motion_px.shape != (n, 2):
            raise ValueError("camera_motion_px must be (frames, 2)")

    @property
    def n_frames(self) -> int:
        return int(self.xy.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.n_frames > 1 else 0.0

    def replace(self, **changes: Any) -> "PoseSeries":
        """A copy with some fields changed (stages never mutate their input)."""
        return dataclasses.replace(self, **changes)

    def save(self, path: str | Path) -> Path:
        """Save to a compressed ``.npz`` so the analysis can be re-run without the video."""
        path = Path(path)
        arrays: dict[str, Any] = {
            "xy": self.xy.astype(np.float32),
            "visibility": self.visibility.astype(np.float32),
            "time_s": self.time_s.astype(np.float64),
            "frame_index": self.frame_index.astype(np.int64),
            "meta": np.array(
                json.dumps(
                    {
                        "fps": self.fps,
                        "width": self.width,
                        "height": self.height,
                        "rotation_deg": self.rotation_deg,
                        "landmarks": list(self.landmarks),
                        "source": self.source,
                        "video_path": self.video_path,
                        "frames_expected": self.frames_expected,
                        "format": "backtorun.pose/1",
                    }
                )
            ),
        }
        if self.world_xyz is not None:
            arrays["world_xyz"] = self.world_xyz.astype(np.float32)
        if self.camera_motion_px is not None:
            arrays["camera_motion_px"] = self.camera_motion_px.astype(np.float32)
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PoseSeries":
        """Load a file written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                xy=data["xy"].astype(np.float64),
                visibility=data["visibility"].astype(np.float64),
                time_s=data["time_s"],
                frame_index=data["frame_index"],
                fps=float(meta["fps"]),
                width=int(meta["width"]),
                height=int(meta["height"]),
                rotation_deg=int(meta.get("rotation_deg", 0)),
                landmarks=tuple(meta["landmarks"]),
                world_xyz=data["world_xyz"].astype(np.float64) if "world_xyz" in data else None,
                source=str(meta.get("source", "unknown")),
                video_path=meta.get("video_path"),
                camera_motion_px=(data["camera_motion_px"].astype(np.float64)
                                  if "camera_motion_px" in data else None),
                frames_expected=(int(meta["frames_expected"]) if meta.get("frames_expected") is not None
                                 else None),
            )


# ---------------------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaitEvent:
    side: Side
    leg: Leg
    kind: EventKind
    frame: int
    time_s: float
    confidence: float  # 0..1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GaitEvents:
    """Initial contacts (IC) and toe-offs (TO) of both feet, sorted by time."""

    events: tuple[GaitEvent, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(sorted(self.events, key=lambda e: (e.time_s, e.kind))))

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.events)

    def select(self, *, side: Side | None = None, kind: EventKind | None = None, leg: Leg | None = None
               ) -> list[GaitEvent]:
        return [e for e in self.events if (side is None or e.side == side) and (kind is None or e.kind == kind)
                and (leg is None or e.leg == leg)]

    def to_frame(self) -> pd.DataFrame:
        cols = ["side", "leg", "kind", "frame", "time_s", "confidence"]
        return pd.DataFrame([e.to_dict() for e in self.events], columns=cols)


# ---------------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideSummary:
    mean: float
    sd: float
    n: int
    #: The leg's measurement confidence in [0, 1] (occlusion, jitter, refused events; metrics.symmetry), None unknown.
    confidence: float | None = None

    @property
    def se(self) -> float | None:
        """Standard error of the mean = SD / √n (None with fewer than 2 values)."""
        return standard_error(self.sd, self.n)


@dataclass(frozen=True)
class MetricSummary:
    """Summary of one metric over all valid strides: mean, SD, CV (%), n, per side, and uncertainty."""

    metric: str
    mean: float
    sd: float
    cv_pct: float
    n: int
    by_side: Mapping[str, SideSummary] = field(default_factory=dict)
    uncertainty: float | None = None  # same unit as the metric (e.g. ±1 frame in ms), None when unknown
    asymmetry: float | None = None  # SI % for temporal metrics, R−L difference for angles (M15)
    #: Why ``asymmetry`` is withheld ("not assessable: …", metrics.symmetry); None when it is reported.
    asymmetry_note: str | None = None

    @property
    def se(self) -> float | None:
        """Standard error of the mean = SD / √n (None with fewer than 2 values)."""
        return standard_error(self.sd, self.n)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["se"] = self.se
        d["by_side"] = {k: {**dataclasses.asdict(v), "se": v.se} for k, v in self.by_side.items()}
        return _clean(d)


def standard_error(sd: float | None, n: int) -> float | None:
    """SE = SD / √n of a mean of ``n`` values (stride-to-stride SD); None when n < 2 or SD is not finite."""
    if sd is None or n < 2 or not math.isfinite(float(sd)):
        return None
    return float(sd) / math.sqrt(n)


@dataclass(frozen=True)
class QualityFlag:
    """A capture or data-quality problem. Shown in every output, never swallowed."""

    code: str
    message: str
    severity: Literal["info", "warning", "error"] = "warning"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ScaleInfo:
    """Pixel-to-metre scale and how it was obtained (§1.4)."""

    metres_per_px: float | None
    method: str  # "height", "segments", "none"
    estimated: bool = True


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    n_frames: int
    width: int
    height: int
    rotation_deg: int = 0
    duration_s: float = 0.0
    codec: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class GaitAnalysis:
    """Everything the technique analysis of one recording produces (serialised as ``analysis.json``)."""

    video: VideoInfo
    view: View
    events: GaitEvents
    strides: pd.DataFrame  # StrideTable: one row per step/stride, unit-suffixed columns
    summary: Mapping[str, MetricSummary]
    quality_flags: tuple[QualityFlag, ...]
    running_direction: Literal["left", "right", "toward", "away", "unknown"] = "unknown"
    near_side: Side | None = None
    on_treadmill: bool = True
    scale: ScaleInfo = ScaleInfo(None, "none")
    speed_mps: float | None = None
    height_cm: float | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    software: Mapping[str, str] = field(default_factory=dict)
    #: Gait-cycle-normalised curves for plots: {"knee_flexion_deg": {"L": {"mean": [101 floats], "sd": [...]}, ...}}
    #: (0–100 % of the stride from initial contact), keys e.g. knee_flexion_deg, thigh_angle_deg, trunk_lean_deg.
    curves: Mapping[str, Any] = field(default_factory=dict)

    def summary_values(self) -> dict[str, float]:
        return {k: v.mean for k, v in self.summary.items()}

    def to_json_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "schema": ANALYSIS_SCHEMA,
                "video": self.video.to_dict(),
                "view": self.view,
                "running_direction": self.running_direction,
                "near_side": self.near_side,
                "on_treadmill": self.on_treadmill,
                "speed_mps": self.speed_mps,
                "height_cm": self.height_cm,
                "scale": dataclasses.asdict(self.scale),
                "events": [e.to_dict() for e in self.events],
                "summary": {k: v.mean for k, v in self.summary.items()},
                "summary_detail": {k: v.to_dict() for k, v in self.summary.items()},
                "strides": self.strides.to_dict(orient="records"),
                "quality": {"flags": [f.to_dict() for f in self.quality_flags]},
                "settings": dict(self.settings),
                "software": dict(self.software),
                "curves": dict(self.curves),
            }
        )

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> "GaitAnalysis":
        events = GaitEvents(tuple(GaitEvent(**e) for e in d.get("events", [])))
        summary = {
            k: MetricSummary(
                metric=v["metric"], mean=_nan(v["mean"]), sd=_nan(v["sd"]), cv_pct=_nan(v["cv_pct"]), n=v["n"],
                by_side={s: SideSummary(_nan(b["mean"]), _nan(b["sd"]), b["n"], b.get("confidence"))
                         for s, b in v.get("by_side", {}).items()},
                uncertainty=v.get("uncertainty"), asymmetry=v.get("asymmetry"), asymmetry_note=v.get("asymmetry_note"),
            )
            for k, v in d.get("summary_detail", {}).items()
        }
        return cls(
            video=VideoInfo(**d["video"]),
            view=d["view"],
            events=events,
            strides=pd.DataFrame(d.get("strides", [])),
            summary=summary,
            quality_flags=tuple(QualityFlag(**f) for f in d.get("quality", {}).get("flags", [])),
            running_direction=d.get("running_direction", "unknown"),
            near_side=d.get("near_side"),
            on_treadmill=d.get("on_treadmill", True),
            scale=ScaleInfo(**d["scale"]) if d.get("scale") else ScaleInfo(None, "none"),
            speed_mps=d.get("speed_mps"),
            height_cm=d.get("height_cm"),
            settings=d.get("settings", {}),
            software=d.get("software", {}),
            curves=d.get("curves", {}),
        )


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _clean(obj: Any) -> Any:
    """Make an object JSON-safe: NaN/inf → None, numpy scalars → Python, tuples → lists."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_clean(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def json_safe(obj: Any) -> Any:
    """Public helper: see :func:`_clean`."""
    return _clean(obj)


def flags_from(items: Iterable[QualityFlag]) -> tuple[QualityFlag, ...]:
    """De-duplicate flags by code, keeping the first message."""
    seen: dict[str, QualityFlag] = {}
    for f in items:
        seen.setdefault(f.code, f)
    return tuple(seen.values())


# ---------------------------------------------------------------------------------------------------------
# Findings and recommendations (shared by intake/assessment/training, findings, plan and report)
# ---------------------------------------------------------------------------------------------------------

FindingDomain = Literal["gait", "test", "load", "red_flag", "intake"]
Severity = Literal["info", "mild", "moderate", "marked", "referral"]
FindingStatus = Literal["detected", "not_detected", "not_judged"]


@dataclass(frozen=True)
class Finding:
    """One finding for the clinician: worded as "differs from typical and may add load", never a diagnosis.

    values: the measured values used (e.g. {"cadence_spm": 158.2}); threshold: the thresholds used
    (e.g. {"cadence_spm": "< 164"}); sources: citation ids from domain.md §11 (e.g. ("2", "25"));
    confidence: 0..1 from data quality, with ``confidence_note`` saying why it is reduced;
    recommendations: recommendation codes (R1–R8) the plan turns into dosed actions.
    """

    code: str
    title: str
    text: str
    domain: FindingDomain
    severity: Severity = "mild"
    status: FindingStatus = "detected"
    side: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    threshold: Mapping[str, Any] = field(default_factory=dict)
    evidence_grade: str = "D"
    sources: tuple[str, ...] = ()
    confidence: float = 1.0
    confidence_note: str | None = None
    plain_text: str | None = None
    recommendations: tuple[str, ...] = ()
    conflicting_evidence: str | None = None
    experimental: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _clean(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Finding":
        d = dict(d)
        d["sources"] = tuple(d.get("sources", ()))
        d["recommendations"] = tuple(d.get("recommendations", ()))
        return cls(**d)


RedFlagLevel = Literal["none", "consider", "non_urgent", "urgent", "emergency"]
RED_FLAG_LEVELS: tuple[RedFlagLevel, ...] = ("none", "consider", "non_urgent", "urgent", "emergency")
"""Lowest first (domain.md §7.3: EMERGENCY > URGENT > NON_URGENT > CONSIDER > NONE)."""
RED_FLAG_NON_BLOCKING: frozenset[str] = frozenset({"none", "consider"})
"""Levels that never withhold the running plan (§7.3: CONSIDER shows the flag and asks the clinician to decide)."""


def red_flag_rank(level: str) -> int:
    """Rank of ``level`` in :data:`RED_FLAG_LEVELS` (0 = none); an unknown level ranks as "urgent" (the safe side)."""
    return RED_FLAG_LEVELS.index(level) if level in RED_FLAG_LEVELS else RED_FLAG_LEVELS.index("urgent")  # type: ignore[arg-type]


@dataclass(frozen=True)
class RedFlagClearance:
    """A clinician's recorded clearance of blocking red flags (domain.md §7.3): who, when (ISO date), why, which."""

    who: str
    when: str
    why: str
    flags: tuple[str, ...]  # rule codes, e.g. ("RF-MALIGNANCY",)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RedFlagClearance":
        return cls(who=str(d["who"]), when=str(d["when"]), why=str(d["why"]), flags=tuple(d.get("flags", ())))

    def describe(self) -> str:
        """One line for reports: "cleared by Dr A. Smith on 2026-11-21: remote basal-cell carcinoma"."""
        return f"cleared by {self.who} on {self.when}: {self.why}"


@dataclass(frozen=True)
class RedFlagHit:
    """One red-flag rule that fired (domain.md §7.3), with the answers that fired it and any clearance of it."""

    code: str  # e.g. "RF-CES", "RF-CES-STABLE", "RF-FRACTURE", "RF-MALIGNANCY", "RF-INFECTION", "RF-NEURO"
    level: RedFlagLevel
    reason: str  # which answers triggered it, in words
    action: str  # e.g. "same-day emergency department"
    evidence_grade: str = "C"
    sources: tuple[str, ...] = ()
    title: str = ""  # e.g. "Possible cauda equina syndrome"
    answers: tuple[str, ...] = ()  # intake fields whose answers fired the rule, e.g. ("red_flags.saddle_numbness",)
    blocks_plan: bool | None = None  # None: decided by the level (all but none/consider block, §7.3)
    clearance: RedFlagClearance | None = None  # set when a clinician's clearance lifts this hit

    def __post_init__(self) -> None:
        if self.blocks_plan is None:
            object.__setattr__(self, "blocks_plan", self.level not in RED_FLAG_NON_BLOCKING)
        if isinstance(self.clearance, Mapping):
            object.__setattr__(self, "clearance", RedFlagClearance.from_dict(self.clearance))

    @property
    def withholds_plan(self) -> bool:
        """True when this hit blocks the running plan and no clinician has cleared it."""
        return bool(self.blocks_plan) and self.clearance is None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RedFlagHit":
        d = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        d["sources"] = tuple(d.get("sources", ()))
        d["answers"] = tuple(d.get("answers", ()))
        return cls(**d)


@dataclass(frozen=True)
class RedFlagScreen:
    """Result of the red-flag screen: ``level`` is the highest level of any hit (cleared or not); the running plan
    is withheld (``refer``) while any EMERGENCY/URGENT/NON_URGENT hit is not cleared by a clinician (§7.3)."""

    level: RedFlagLevel
    hits: tuple[RedFlagHit, ...] = ()
    yellow_flags: tuple[str, ...] = ()  # not referral; modify the plan (e.g. STarT Back high psychosocial subscale)
    clearances: tuple[RedFlagClearance, ...] = ()  # every clearance recorded, whether or not it lifted a hit
    notes: tuple[str, ...] = ()  # e.g. a clearance that names a flag which did not fire

    @property
    def refer(self) -> bool:
        """True when a red flag withholds the running plan (referral instead of any plan)."""
        return self.referral_level != "none"

    @property
    def referral_level(self) -> RedFlagLevel:
        """Highest level among the hits that still withhold the plan; "none" when nothing does."""
        if not self.hits:
            return "none" if self.level in RED_FLAG_NON_BLOCKING else self.level
        open_levels = [h.level for h in self.hits if h.withholds_plan]
        return max(open_levels, key=red_flag_rank) if open_levels else "none"

    @property
    def stop_evaluation(self) -> bool:
        """True when an uncleared EMERGENCY hit means: referral letter and a short summary only (§7.3)."""
        return self.referral_level == "emergency"

    @property
    def blocking_hits(self) -> tuple[RedFlagHit, ...]:
        return tuple(h for h in self.hits if h.withholds_plan)

    @property
    def cleared_hits(self) -> tuple[RedFlagHit, ...]:
        return tuple(h for h in self.hits if h.clearance is not None)

    @property
    def consider_hits(self) -> tuple[RedFlagHit, ...]:
        return tuple(h for h in self.hits if h.level == "consider")

    def to_dict(self) -> dict[str, Any]:
        d = _clean(dataclasses.asdict(self))
        d["refer"] = self.refer
        d["referral_level"] = self.referral_level
        d["stop_evaluation"] = self.stop_evaluation
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RedFlagScreen":
        return cls(level=d["level"], hits=tuple(RedFlagHit.from_dict(h) for h in d.get("hits", ())),
                   yellow_flags=tuple(d.get("yellow_flags", ())),
                   clearances=tuple(RedFlagClearance.from_dict(c) for c in d.get("clearances", ())),
                   notes=tuple(d.get("notes", ())))
