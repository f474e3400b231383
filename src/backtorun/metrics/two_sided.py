"""Two side videos → one per-leg summary: each leg's metrics from the clip where it is the near leg (issue #14, 5).

A *left-side* video is filmed with the camera on the runner's left, so the left leg is the near leg (seen whole)
and the right leg the far leg (partly hidden behind it); a *right-side* video the reverse. Clinics film both sides;
:func:`merge_sides` takes the analyses by camera side (``"left"``, ``"right"``; or ``"side"`` when the camera side is
not stated) and builds:

* per leg, a :class:`LegSource` — which clip its numbers came from, the clip's frame rate, the strides used, its
  measurement confidence (:mod:`backtorun.metrics.symmetry`), and whether it was measured only as a far leg
  (``lower_confidence``: with one side video the far leg's numbers are less certain);
* per metric, a :class:`MetricSummary` whose ``by_side[leg]`` is that leg's summary from its source clip, whose mean
  is the n-weighted mean of the two legs, and whose asymmetry (M15: SI = 100·(R − L)/((R + L)/2) for temporal
  metrics, R − L for angles) is computed from those two legs — withheld when a leg is a far leg or its confidence is
  below the clip's ``strides.min_leg_confidence``;
* a warning when the near leg detected in a clip (:func:`backtorun.kinematics.near_side`) is not the one its camera
  side implies (a left-side clip whose near leg is R): each leg then comes from the clip where it was detected
  nearest.

With one clip only, its summary is kept as it is (the clip's own asymmetry guard applies) and the far leg is marked
lower confidence. (D)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from backtorun.metrics.summary import TEMPORAL
from backtorun.metrics.symmetry import ARTEFACT_CODE, LOW_CONFIDENCE_CODE
from backtorun.types import GaitAnalysis, MetricSummary, QualityFlag, SideSummary

#: Camera side of a clip → the leg nearest the camera.
CAMERA_NEAR_LEG: Mapping[str, str] = {"left": "L", "right": "R"}
CLIP_ROLES = ("left", "right", "side")
MISMATCH_CODE = "CAMERA_SIDE_MISMATCH"
FAR_LEG_CODE = "FAR_LEG_LOWER_CONFIDENCE"
LEG_WORD = {"L": "left", "R": "right"}
__all__ = ["CAMERA_NEAR_LEG", "MISMATCH_CODE", "FAR_LEG_CODE", "LegSource", "TwoSidedMerge", "merge_sides"]


@dataclass(frozen=True)
class LegSource:
    """Where one leg's numbers came from: clip role (left/right/side), file name, frame rate, strides used
    (the leg's stride count in that clip), confidence (metrics.symmetry, None unknown), near or far leg there."""

    leg: str
    clip: str
    file: str
    fps: float
    strides: int
    near: bool
    confidence: float | None
    lower_confidence: bool

    def describe(self) -> str:
        """One line, e.g. "left leg: left-side video run_left.mp4 (near leg, 60 fps, 12 strides, confidence 0.82)"."""
        where = "side video" if self.clip == "side" else f"{self.clip}-side video"
        conf = f", confidence {self.confidence:.2f}" if self.confidence is not None else ""
        role = "near leg" if self.near else "far leg, partly hidden: lower confidence"
        return (f"{LEG_WORD.get(self.leg, self.leg)} leg: {where} {self.file} ({role}, {self.fps:.0f} fps, "
                f"{self.strides} strides{conf})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class TwoSidedMerge:
    """The merged per-leg summary with its provenance, the warnings of the merge and the clips merged."""

    legs: Mapping[str, LegSource]
    summary: Mapping[str, MetricSummary]
    flags: tuple[QualityFlag, ...] = ()
    clips: Mapping[str, GaitAnalysis] = field(default_factory=dict)
    curves: Mapping[str, Any] = field(default_factory=dict)

    @property
    def two_clips(self) -> bool:
        return len(self.clips) > 1

    def provenance_text(self) -> str:
        """"left leg: …; right leg: …" (:meth:`LegSource.describe` of both legs)."""
        return "; ".join(self.legs[s].describe() for s in ("L", "R") if s in self.legs)

    def analysis(self) -> GaitAnalysis:
        """The side analysis findings and the report read: the primary clip (the left leg's source) with the merged
        summary and per-leg curves. Flags: with two clips, each clip's own flags named by clip ("right-side video:
        …"), less its single-clip left/right verdict (the merged summary's asymmetry has its own), then the merge's
        flags. Events and stride rows stay the primary clip's."""
        primary = self.clips[self.legs["L"].clip] if "L" in self.legs else next(iter(self.clips.values()))
        if not self.two_clips:
            flags = [*primary.quality_flags, *(f for f in self.flags if f not in primary.quality_flags)]
        else:
            flags = [dataclasses.replace(f, message=f"{role}-side video: {f.message}")
                     for role, a in self.clips.items() for f in a.quality_flags
                     if f.code not in (ARTEFACT_CODE, LOW_CONFIDENCE_CODE)]
            flags += list(self.flags)
        return dataclasses.replace(primary, summary=dict(self.summary), curves=dict(self.curves) or primary.curves,
                                   quality_flags=tuple(flags))

    def to_dict(self, *, with_clips: bool = True) -> dict[str, Any]:
        """Plain JSON: legs (provenance), merged summary, flags, the text line, and (two clips) each clip's analysis."""
        out: dict[str, Any] = {
            "legs": {s: leg.to_dict() for s, leg in self.legs.items()},
            "provenance_text": self.provenance_text(),
            "summary": {k: v.to_dict() for k, v in self.summary.items()},
            "flags": [f.to_dict() for f in self.flags],
        }
        if with_clips and self.two_clips:
            out["clips"] = {role: a.to_json_dict() for role, a in self.clips.items()}
        return out


def _effective_near(role: str, a: GaitAnalysis) -> str | None:
    return a.near_side or CAMERA_NEAR_LEG.get(role)


def _strides(a: GaitAnalysis, leg: str) -> int:
    """Strides of ``leg`` in the clip: the largest per-side count over the summary's metrics."""
    return max((int(s.by_side[leg].n) for s in a.summary.values() if leg in s.by_side), default=0)


def _leg_confidence(a: GaitAnalysis, leg: str) -> float | None:
    return next((s.by_side[leg].confidence for s in a.summary.values()
                 if leg in s.by_side and s.by_side[leg].confidence is not None), None)


def _min_confidence(a: GaitAnalysis) -> float | None:
    value = (a.settings.get("strides") or {}).get("min_leg_confidence") if isinstance(a.settings, Mapping) else None
    return float(value) if value is not None else None


def _file_name(a: GaitAnalysis) -> str:
    return Path(a.video.path).name if a.video.path else ""


def _mismatch_flag(role: str, a: GaitAnalysis, name: str) -> QualityFlag | None:
    expected = CAMERA_NEAR_LEG.get(role)
    if expected is None or a.near_side is None or a.near_side == expected:
        return None
    name = name or "the clip"
    return QualityFlag(MISMATCH_CODE, f"{role}-side video {name}: the camera should be on the runner's {role} "
                       f"(the {LEG_WORD[expected]} leg nearest), but the nearer leg detected is the "
                       f"{LEG_WORD[a.near_side]}: check that the two videos were not swapped; each leg's numbers are "
                       "taken from the clip where it was detected nearest", "warning")


def _pick(leg: str, clips: Mapping[str, GaitAnalysis]) -> tuple[str, bool]:
    """(clip role, near?) for ``leg``: a clip where it is the near leg (the one whose camera side says so first),
    else the clip where it is measured with the highest confidence as a far leg."""
    near = [r for r, a in clips.items() if _effective_near(r, a) == leg]
    if near:
        near.sort(key=lambda r: CAMERA_NEAR_LEG.get(r) != leg)
        return near[0], True
    return max(clips, key=lambda r: _leg_confidence(clips[r], leg) or 0.0), False


def _merged_metric(name: str, left: MetricSummary | None, right: MetricSummary | None,
                   withhold: str | None) -> MetricSummary | None:
    """One metric with by_side L from ``left``'s L and R from ``right``'s R; mean n-weighted; SD pooled."""
    sides = {s: ms.by_side[s] for s, ms in (("L", left), ("R", right)) if ms is not None and s in ms.by_side}
    if not sides:
        return None
    finite = [b for b in sides.values() if b.n and math.isfinite(b.mean)]
    n = sum(b.n for b in finite)
    mean = sum(b.mean * b.n for b in finite) / n if n else float("nan")
    var = [(b.sd ** 2, b.n) for b in finite if math.isfinite(b.sd)]
    sd = math.sqrt(sum(v * k for v, k in var) / sum(k for _, k in var)) if var else float("nan")
    cvp = 100.0 * sd / abs(mean) if n > 1 and math.isfinite(sd) and mean else float("nan")
    l, r = sides.get("L"), sides.get("R")
    asym, note = None, None
    if l is not None and r is not None and l.n and r.n and math.isfinite(l.mean) and math.isfinite(r.mean):
        if withhold is not None:
            note = withhold
        elif name in TEMPORAL:
            den = (l.mean + r.mean) / 2
            asym = 100.0 * (r.mean - l.mean) / den if den else None
        else:
            asym = r.mean - l.mean
    uncs = [ms.uncertainty for ms in (left, right) if ms is not None and ms.uncertainty is not None]
    return MetricSummary(metric=name, mean=mean, sd=sd, cv_pct=cvp, n=n, by_side=sides,
                         uncertainty=max(uncs) if uncs else None, asymmetry=asym, asymmetry_note=note)


def merge_sides(clips: Mapping[str, GaitAnalysis], *, names: Mapping[str, str] | None = None) -> TwoSidedMerge:
    """Merge side-view analyses keyed by camera side (``left``, ``right``, or ``side`` when unknown); see the
    module docstring. ``names``: the input file name of each clip (default: its video's name). ValueError for an
    unknown key or no clip."""
    if not clips or any(r not in CLIP_ROLES for r in clips):
        raise ValueError(f"clips must be keyed by {CLIP_ROLES}, got {list(clips)}")
    names = {r: (names or {}).get(r) or _file_name(a) for r, a in clips.items()}
    flags = [f for f in (_mismatch_flag(r, a, names[r]) for r, a in clips.items()) if f is not None]
    legs: dict[str, LegSource] = {}
    for leg in ("L", "R"):
        role, near = _pick(leg, clips)
        a = clips[role]
        legs[leg] = LegSource(leg=leg, clip=role, file=names[role],
                              fps=float(a.video.fps), strides=_strides(a, leg), near=near,
                              confidence=_leg_confidence(a, leg), lower_confidence=not near)
    for leg in legs.values():
        if leg.lower_confidence and (len(clips) > 1 or "side" not in clips):
            flags.append(QualityFlag(FAR_LEG_CODE, f"the {LEG_WORD[leg.leg]} leg was measured only as the far leg "
                                     f"of {leg.file or 'the clip'} (partly hidden): its numbers have lower "
                                     f"confidence; film from the runner's {LEG_WORD[leg.leg]} side too", "warning"))
    if len(clips) == 1:
        only = next(iter(clips.values()))
        return TwoSidedMerge(legs=legs, summary=dict(only.summary), flags=tuple(flags), clips=dict(clips),
                             curves=dict(only.curves))
    src = {s: clips[legs[s].clip] for s in ("L", "R")}
    withhold = _withhold_reason(legs, src)
    summary: dict[str, MetricSummary] = {}
    for name in dict.fromkeys([*src["L"].summary, *src["R"].summary]):
        ms = _merged_metric(name, src["L"].summary.get(name), src["R"].summary.get(name), withhold)
        if ms is not None:
            summary[name] = ms
    curves: dict[str, Any] = {}
    for s in ("L", "R"):
        for name, per_side in (src[s].curves or {}).items():
            if isinstance(per_side, Mapping) and s in per_side:
                curves.setdefault(name, {})[s] = per_side[s]
    return TwoSidedMerge(legs=legs, summary=summary, flags=tuple(flags), clips=dict(clips), curves=curves)


def _withhold_reason(legs: Mapping[str, LegSource], src: Mapping[str, GaitAnalysis]) -> str | None:
    """Why left and right cannot be compared across the two clips (a far leg, or a leg below its clip's
    ``strides.min_leg_confidence``); None when they can."""
    for s, leg in legs.items():
        if leg.lower_confidence:
            return f"not assessable: the {LEG_WORD[s]} leg was measured only as a far leg"
        floor = _min_confidence(src[s])
        if floor is not None and leg.confidence is not None and leg.confidence < floor:
            return (f"not assessable: the {LEG_WORD[s]} leg's measurement confidence {leg.confidence:.2f} is below "
                    f"{floor:.2f}")
    return None
