"""Cadence retraining targets (domain.md §9 R1): preferred cadence × (1 + step %), +5 % first, then +10 %.

Source: Heiderscheit 2011 [2] and Bramah 2019 [24] (+5/+10 %), Willy 2016 [26] (+7.5 %). Targets are rounded (half up)
to whole steps per minute because metronome apps and watches take integers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

from backtorun.errors import InputError
from backtorun.types import json_safe


@dataclass(frozen=True)
class CadenceTarget:
    step: int
    increase_pct: float
    spm: int
    metronome_file: str
    metronome_command: str


@dataclass(frozen=True)
class CadencePlan:
    measured_spm: float
    targets: tuple[CadenceTarget, ...]
    metronome_minutes: float
    faded_feedback: tuple[str, ...]
    retest: str
    indicated: bool  # R1 is among the recommendations
    speed_mps: float | None = None
    evidence_grade: str = "C"
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))


def cadence_targets(measured_spm: float, steps_pct: Sequence[float] = (5.0, 10.0)) -> list[int]:
    """Whole-number targets: round(measured × (1 + p/100)) for each p."""
    if isinstance(measured_spm, bool) or not isinstance(measured_spm, (int, float)) or not math.isfinite(measured_spm) \
            or not 60 <= measured_spm <= 260:
        raise InputError(f"measured cadence must be between 60 and 260 steps/min, got {measured_spm!r}")
    return [int(math.floor(measured_spm * (1.0 + p / 100.0) + 0.5)) for p in steps_pct]  # half rounds up


def metronome_file_name(spm: int) -> str:
    return f"metronome_{spm}spm.wav"


def build_cadence_plan(measured_spm: float, *, steps_pct: Sequence[float], minutes: float, faded_feedback: Sequence[str],
                       retest_weeks: int, retest_tolerance_pct: float, indicated: bool, speed_mps: float | None,
                       evidence_grade: str, sources: Sequence[str]) -> CadencePlan:
    spms = cadence_targets(measured_spm, steps_pct)
    targets = tuple(
        CadenceTarget(step=i + 1, increase_pct=float(p), spm=s, metronome_file=metronome_file_name(s),
                      metronome_command=f"backtorun metronome --spm {s} --minutes {minutes:g} "
                                        f"-o {metronome_file_name(s)} --count-in 4")
        for i, (p, s) in enumerate(zip(steps_pct, spms))
    )
    speed = f" at {speed_mps * 3.6:.1f} km/h" if speed_mps else ""
    retest = (f"Re-test after {retest_weeks} weeks{speed}: step rate within ±{retest_tolerance_pct:g} % of the "
              f"target without the metronome, and less vertical oscillation.")
    return CadencePlan(measured_spm=round(float(measured_spm), 1), targets=targets, metronome_minutes=minutes,
                       faded_feedback=tuple(faded_feedback), retest=retest, indicated=indicated, speed_mps=speed_mps,
                       evidence_grade=evidence_grade, sources=tuple(sources))
