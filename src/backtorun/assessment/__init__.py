"""Strength and flexibility assessment: test battery T1–T9, validated input, norms, LSI, findings (domain.md §6)."""

from backtorun.assessment.assess import (Norms, TestAssessment, TestOutcome, assess_tests, load_battery, load_norms,
                                         lsi_pct)
from backtorun.assessment.model import TestResults, load_test_results, parse_test_results

__all__ = ["Norms", "TestAssessment", "TestOutcome", "TestResults", "assess_tests", "load_battery", "load_norms",
           "load_test_results", "lsi_pct", "parse_test_results"]
