"""Findings: rules as data (``rules.yaml``, overridable by a clinic file) evaluated by a small pure engine.

Public interface::

    evaluate_findings(side=..., rear=..., red_flags=..., other_findings=..., rules_path=...) -> FindingsResult
    load_rules(path) -> RuleSet            # packaged defaults with a clinic YAML merged over them
"""

from backtorun.findings.engine import evaluate_findings
from backtorun.findings.result import FINDINGS_SCHEMA, FindingsResult, PatternResult, RuleOutcome
from backtorun.findings.ruleset import RuleSet, default_rules_text, load_rules

__all__ = [
    "FINDINGS_SCHEMA", "FindingsResult", "PatternResult", "RuleOutcome", "RuleSet", "default_rules_text",
    "evaluate_findings", "load_rules",
]
