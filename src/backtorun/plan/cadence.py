"""Cadence retraining targets (domain.md §9 R1): preferred cadence × (1 + step %), +5 % first, then +10 %.

The preferred cadence is the one AT THE SPEED THE TARGETS ARE PRESCRIBED (issue #13): cadence rises with speed, so
a video filmed at 14.1 km/h gives a step rate that is already several per cent above the runner's preferred rate at
10.5 km/h. It is the watch cadence of logged runs near that speed when they exist, else the filmed cadence scaled
with the power law c(v2) = c(v1)·(v2/v1)^k of ``library.yaml`` ``cadence.speed_relation``.

Source: Heiderscheit 2011 [2] and Bramah 2019 [24] (+5/+10 %), Willy 2016 [26] (+7.5 %). Targets are rounded (half up)
to whole steps per minute because metronome apps and watches take integers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from backtorun.errors import InputError
from backtorun.plan.library import CadenceSpec
from backtorun.records import from_plain
from backtorun.types import json_safe
from backtorun.units import KMH_PER_MPS


@dataclass(frozen=True)
class CadenceTarget:
    step: int
    increase_pct: float  # above the preferred cadence at the prescribed speed
    spm: int
    metronome_file: str
    metronome_command: str
    increase_vs_filmed_pct: float | None = None  # the same target relative to the filmed cadence


@dataclass(frozen=True)
class CadencePlan:
    measured_spm: float
    targets: tuple[CadenceTarget, ...]
    metronome_minutes: float
    faded_feedback: tuple[str, ...]
    retest: str
    indicated: bool  # R1 is among the recommendations
    speed_mps: float | None = None  # filmed belt speed
    evidence_grade: str = "C"
    sources: tuple[str, ...] = ()
    prescribed_speed_mps: float | None = None
    prescribed_speed_source: str | None = None  # usual_easy_speed | pain_onset_speed | logs_usual_speed | filmed_speed
    preferred_spm: float | None = None  # preferred cadence at the prescribed speed (base of the targets)
    preferred_basis: str | None = None  # how preferred_spm was obtained, in words

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CadencePlan":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


def cadence_targets(measured_spm: float, steps_pct: Sequence[float] = (5.0, 10.0)) -> list[int]:
    """Whole-number targets: round(measured × (1 + p/100)) for each p."""
    if isinstance(measured_spm, bool) or not isinstance(measured_spm, (int, float)) or not math.isfinite(measured_spm) \
            or not 60 <= measured_spm <= 260:
        raise InputError(f"measured cadence must be between 60 and 260 steps/min, got {measured_spm!r}")
    return [int(math.floor(measured_spm * (1.0 + p / 100.0) + 0.5)) for p in steps_pct]  # half rounds up


def metronome_file_name(spm: int, suffix: str = ".ogg") -> str:
    """``metronome_<spm>spm<suffix>``; the suffix (``library.yaml`` ``cadence.metronome_suffix``) names the format."""
    return f"metronome_{spm}spm{suffix}"


def cadence_at_speed(spm: float, from_speed_mps: float, to_speed_mps: float, exponent: float) -> float:
    """Cadence at another speed: c(v2) = c(v1) · (v2 / v1) ** exponent (power law; exponent from configuration)."""
    if from_speed_mps <= 0 or to_speed_mps <= 0:
        raise InputError("speeds must be positive to scale the cadence")
    return float(spm) * (to_speed_mps / from_speed_mps) ** exponent


@dataclass(frozen=True)
class PrescribedCadence:
    """The preferred cadence at the speed where the targets are prescribed, and how it was obtained."""

    preferred_spm: float
    speed_mps: float | None
    speed_source: str | None  # usual_easy_speed | pain_onset_speed | logs_usual_speed | filmed_speed
    basis: str


def build_cadence_plan(measured_spm: float, spec: CadenceSpec, *, indicated: bool, speed_mps: float | None,
                       prescribed: PrescribedCadence | None = None) -> CadencePlan:
    """Targets = preferred cadence at the prescribed speed × (1 + p/100) for each p of ``spec.steps_pct``; without
    ``prescribed`` the preferred cadence is the filmed ``measured_spm`` at the filmed ``speed_mps``."""
    if prescribed is None:
        prescribed = PrescribedCadence(float(measured_spm), speed_mps, "filmed_speed" if speed_mps else None,
                                       "filmed cadence (same speed)")
    base = float(prescribed.preferred_spm)
    minutes = spec.metronome_minutes
    spms = cadence_targets(base, spec.steps_pct)
    targets = tuple(
        CadenceTarget(step=i + 1, increase_pct=float(p), spm=s, metronome_file=metronome_file_name(s, spec.metronome_suffix),
                      metronome_command=f"backtorun metronome --spm {s} --minutes {minutes:g} "
                                        f"-o {metronome_file_name(s, spec.metronome_suffix)} --count-in 4",
                      increase_vs_filmed_pct=round(100.0 * (s / float(measured_spm) - 1.0), 1))
        for i, (p, s) in enumerate(zip(spec.steps_pct, spms))
    )
    at = prescribed.speed_mps
    speed = f" at {at * KMH_PER_MPS:.1f} km/h" if at else ""
    retest = (f"Re-test after {spec.retest_weeks} weeks{speed}: step rate within ±{spec.retest_tolerance_pct:g} % of "
              f"the target without the metronome, and less vertical oscillation.")
    return CadencePlan(measured_spm=round(float(measured_spm), 1), targets=targets, metronome_minutes=minutes,
                       faded_feedback=tuple(spec.faded_feedback), retest=retest, indicated=indicated,
                       speed_mps=speed_mps, evidence_grade=spec.evidence_grade, sources=tuple(spec.sources),
                       prescribed_speed_mps=round(float(at), 3) if at else None,
                       prescribed_speed_source=prescribed.speed_source, preferred_spm=round(base, 1),
                       preferred_basis=prescribed.basis)
