"""Result types of the findings engine: per-rule outcomes, the named patterns and the whole result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from backtorun.types import Finding, RedFlagScreen, json_safe

FINDINGS_SCHEMA = "backtorun.findings/1"
PatternStatus = Literal["detected", "not_detected", "not_judged"]


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule concluded, including "not detected" and "could not be judged" with the reasons."""

    code: str
    title: str
    status: PatternStatus
    values: Mapping[str, Any] = field(default_factory=dict)
    threshold: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RuleOutcome":
        return cls(code=d["code"], title=d["title"], status=d["status"], values=d.get("values", {}),
                   threshold=d.get("threshold", {}), reasons=tuple(d.get("reasons", ())))


@dataclass(frozen=True)
class PatternResult:
    """One of the named treadmill back-pain patterns: detected / not detected / could not be judged."""

    code: str
    title: str
    status: PatternStatus
    text: str
    plain_text: str
    evidence: tuple[Mapping[str, Any], ...] = ()  # one entry per rule: code, status, values, threshold, reasons
    reasons: tuple[str, ...] = ()

    @property
    def detected(self) -> bool:
        return self.status == "detected"

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PatternResult":
        return cls(code=d["code"], title=d["title"], status=d["status"], text=d.get("text", ""),
                   plain_text=d.get("plain_text", ""), evidence=tuple(d.get("evidence", ())),
                   reasons=tuple(d.get("reasons", ())))


@dataclass(frozen=True)
class FindingsResult:
    """Detected findings (gait, test, load, red flags), the named patterns and every rule's outcome."""

    findings: list[Finding]
    patterns: list[PatternResult]
    outcomes: list[RuleOutcome] = field(default_factory=list)
    red_flags: RedFlagScreen | None = None
    rules_version: str = ""
    rules_sources: tuple[str, ...] = ()

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    @property
    def refer(self) -> bool:
        """True when a red flag means referral instead of any running plan."""
        return self.red_flags is not None and self.red_flags.refer

    def by_domain(self, domain: str) -> list[Finding]:
        return [f for f in self.findings if f.domain == domain]

    def pattern(self, code: str) -> PatternResult:
        for p in self.patterns:
            if p.code == code:
                return p
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "schema": FINDINGS_SCHEMA,
            "rules": {"version": self.rules_version, "sources": list(self.rules_sources)},
            "refer": self.refer,
            "red_flags": self.red_flags.to_dict() if self.red_flags is not None else None,
            "findings": [f.to_dict() for f in self.findings],
            "patterns": [p.to_dict() for p in self.patterns],
            "outcomes": [o.to_dict() for o in self.outcomes],
        })

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FindingsResult":
        rules = d.get("rules", {})
        return cls(
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            patterns=[PatternResult.from_dict(p) for p in d.get("patterns", [])],
            outcomes=[RuleOutcome.from_dict(o) for o in d.get("outcomes", [])],
            red_flags=RedFlagScreen.from_dict(d["red_flags"]) if d.get("red_flags") else None,
            rules_version=rules.get("version", ""),
            rules_sources=tuple(rules.get("sources", ())),
        )
