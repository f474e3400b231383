"""Use case: check an intake file (validate + red-flag screen) and assess strength/flexibility test results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from backtorun.assessment import TestAssessment, TestResults, assess_tests, load_test_results, parse_test_results
from backtorun.intake import Intake, load_intake, parse_intake, screen_red_flags
from backtorun.types import RedFlagScreen

__all__ = ["Intake", "TestResults", "IntakeCheck", "check_intake", "check_intake_data", "load_intake", "parse_tests",
           "assess_test_file"]


@dataclass(frozen=True)
class IntakeCheck:
    intake: Intake
    screen: RedFlagScreen


def check_intake(path: str | Path, *, today: date | None = None) -> IntakeCheck:
    """Load and validate an intake file and run the red-flag screen (raises BadIntake when invalid)."""
    intake = load_intake(path)
    return IntakeCheck(intake=intake, screen=screen_red_flags(intake, today=today))


def check_intake_data(data: Mapping[str, Any], *, source: str = "intake", today: date | None = None) -> IntakeCheck:
    """Validate intake data (a web form, a stored record) and run the red-flag screen (BadIntake when invalid)."""
    intake = parse_intake(data, source=source)
    return IntakeCheck(intake=intake, screen=screen_red_flags(intake, today=today))


def parse_tests(data: Mapping[str, Any], *, source: str = "test results") -> TestResults:
    """Validate test-result data (a web form, a stored record); BadTestResults naming each bad field."""
    return parse_test_results(data, source=source)


def assess_test_file(path: str | Path, *, gait_findings_codes: set[str] | frozenset[str] = frozenset()) -> TestAssessment:
    """Load test results (raises BadTestResults when invalid) and judge them against the norms."""
    return assess_tests(load_test_results(path), gait_findings_codes=gait_findings_codes)
