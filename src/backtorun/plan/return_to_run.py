"""Graded walk–run return to running (domain.md §9 R8) and the session decision rule.

Decision per session (C, from the military return-to-run table [87] and the pain-monitoring model [88]):

    stop     a new red flag appeared
    regress  max pain during the session > acceptable (5/10) OR next-morning pain ≥ baseline + 2
    repeat   max pain 4–5/10 OR next-morning pain ≥ baseline + 1 OR the session was not completed
    progress session completed AND max pain ≤ 3/10 AND next-morning pain ≤ baseline
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from backtorun.errors import InputError
from backtorun.plan.library import Library, PainRuleSpec, default_library
from backtorun.records import from_plain
from backtorun.types import json_safe
from backtorun.units import METRES_PER_MILE

Decision = Literal["progress", "repeat", "regress", "stop"]


def next_step(
    max_pain: float,
    next_morning_pain_delta: float,
    completed: bool,
    new_red_flag: bool,
    *,
    rule: PainRuleSpec | None = None,
) -> Decision:
    """Decide the next session from the last one: "progress", "repeat", "regress" or "stop".

    max_pain: highest pain during the session (NRS 0–10). next_morning_pain_delta: next-morning pain minus the
    runner's baseline (NRS points; negative = better). Thresholds come from ``library.yaml`` ``pain_rule``.
    """
    rule = rule or default_library().pain_rule
    if isinstance(max_pain, bool) or not isinstance(max_pain, (int, float)) or not math.isfinite(max_pain) \
            or not 0 <= max_pain <= 10:
        raise InputError(f"max pain must be a number from 0 to 10, got {max_pain!r}")
    if isinstance(next_morning_pain_delta, bool) or not isinstance(next_morning_pain_delta, (int, float)) \
            or not math.isfinite(next_morning_pain_delta) or not -10 <= next_morning_pain_delta <= 10:
        raise InputError(f"next-morning pain change must be a number from -10 to 10, got {next_morning_pain_delta!r}")
    if new_red_flag:
        return "stop"
    if max_pain > rule.acceptable_max or next_morning_pain_delta >= rule.regress_delta:
        return "regress"
    if max_pain > rule.safe_max or next_morning_pain_delta >= rule.repeat_delta or not completed:
        return "repeat"
    return "progress"


@dataclass(frozen=True)
class WalkRunPhase:
    phase: int
    rpe: float
    walk_min: float
    run_min: float | None  # None = continuous running
    total_km: float
    total_mi: float

    @property
    def description(self) -> str:
        if self.run_min is None or self.walk_min == 0:
            return f"continuous easy running for {self.total_km:.1f} km at RPE {self.rpe:g}/10"
        return (f"walk {self.walk_min:g} min / run {self.run_min:g} min, repeated for {self.total_km:.1f} km "
                f"at RPE {self.rpe:g}/10")


@dataclass(frozen=True)
class ReturnToRunPlan:
    entry_criteria: tuple[str, ...]
    phases: tuple[WalkRunPhase, ...]
    rest_days_between_runs: int
    min_repeats_per_phase: int
    rules: dict[str, str]
    time_based_alternative: tuple[str, ...]
    after_continuous: str
    evidence_grade: str
    sources: tuple[str, ...]

    def phase_after(self, phase: int, decision: Decision) -> int | None:
        """The phase number of the next session after ``decision`` (None = stop and seek review)."""
        numbers = [p.phase for p in self.phases]
        if phase not in numbers:
            raise InputError(f"phase {phase} does not exist", hint=f"phases are {numbers[0]}–{numbers[-1]}")
        i = numbers.index(phase)
        if decision == "stop":
            return None
        if decision == "progress":
            return numbers[min(i + 1, len(numbers) - 1)]
        if decision == "regress":
            return numbers[max(i - 1, 0)]
        return phase

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for p, src in zip(d["phases"], self.phases):
            p["description"] = src.description
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ReturnToRunPlan":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


def build_return_to_run(library: Library | None = None) -> ReturnToRunPlan:
    lib = library or default_library()
    spec = lib.return_to_run
    pr = lib.pain_rule
    phases = tuple(
        WalkRunPhase(p.phase, p.rpe, p.walk_min, p.run_min, round(p.total_mi * METRES_PER_MILE / 1000.0, 1),
                     p.total_mi)
        for p in spec.phases
    )
    rules = {
        "progress": (f"Session completed, pain during it at most {pr.safe_max:g}/10 and next-morning pain back to "
                     f"baseline: after at least {spec.min_repeats_per_phase} sessions at a phase, move to the next."),
        "repeat": (f"Pain {pr.safe_max + 1:g}-{pr.acceptable_max:g}/10, next-morning pain up by "
                   f"{pr.repeat_delta:g} point or more, or the session not completed: repeat the phase."),
        "regress": (f"Pain above {pr.acceptable_max:g}/10, or next-morning pain up by {pr.regress_delta:g} points "
                    f"or more: step back one phase."),
        "stop": "Any new red-flag symptom: stop running and contact your clinician or doctor.",
    }
    return ReturnToRunPlan(
        entry_criteria=tuple(spec.entry_criteria), phases=phases, rest_days_between_runs=spec.rest_days_between_runs,
        min_repeats_per_phase=spec.min_repeats_per_phase, rules=rules,
        time_based_alternative=tuple(spec.time_based_alternative), after_continuous=spec.after_continuous,
        evidence_grade=spec.evidence_grade, sources=tuple(spec.sources),
    )
