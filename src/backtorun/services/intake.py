"""Use case: check an intake file (validate + red-flag screen) and assess strength/flexibility test results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from backtorun.assessment import TestAssessment, assess_tests, load_test_results
from backtorun.intake import Intake, load_intake, screen_red_flags
from backtorun.types import RedFlagScreen


@dataclass(frozen=True)
class IntakeCheck:
    intake: Intake
    screen: RedFlagScreen


def check_intake(path: str | Path, *, today: date | None = None) -> IntakeCheck:
    """Load and validate an intake file and run the red-flag screen (raises BadIntake when invalid)."""
    intake = load_intake(path)
    return IntakeCheck(intake=intake, screen=screen_red_flags(intake, today=today))


def assess_test_file(path: str | Path, *, gait_findings_codes: set[str] | frozenset[str] = frozenset()) -> TestAssessment:
    """Load test results (raises BadTestResults when invalid) and judge them against the norms."""
    return assess_tests(load_test_results(path), gait_findings_codes=gait_findings_codes)
