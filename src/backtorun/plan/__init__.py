"""Plan: recommendation library (``library.yaml``, R1–R8), cadence targets, metronome, return to run.

Public interface::

    build_plan(findings, side=..., red_flags=..., intake=...) -> Plan
    next_step(max_pain, next_morning_pain_delta, completed, new_red_flag) -> "progress"|"repeat"|"regress"|"stop"
    write_metronome_wav(path, spm=..., minutes=..., accent_every=4, count_in_beats=0)
"""

from backtorun.plan.builder import PLAN_SCHEMA, Exercise, Plan, Recommendation, Referral, build_plan
from backtorun.plan.cadence import CadencePlan, CadenceTarget, cadence_targets
from backtorun.plan.intake_view import IntakeView, read_intake
from backtorun.plan.library import Library, default_library, load_library
from backtorun.plan.metronome import write_metronome, write_metronome_wav
from backtorun.plan.return_to_run import ReturnToRunPlan, WalkRunPhase, build_return_to_run, next_step

__all__ = [
    "PLAN_SCHEMA", "CadencePlan", "CadenceTarget", "Exercise", "IntakeView", "Library", "Plan", "Recommendation",
    "Referral", "ReturnToRunPlan", "WalkRunPhase", "build_plan", "build_return_to_run", "cadence_targets",
    "default_library", "load_library", "next_step", "read_intake", "write_metronome", "write_metronome_wav",
]
