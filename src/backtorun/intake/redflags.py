"""Red-flag screen (domain.md §7.3, revised 2026-12-05): every rule is data in ``intake/redflags.yaml``.

Levels, highest first: EMERGENCY > URGENT > NON_URGENT > CONSIDER > NONE. Each rule has tiers (highest first); the
first tier whose condition holds gives the rule's level, and the hit lists the answers that fired it (also those of
lower tiers that hold). Single red flags have poor diagnostic accuracy and raise suspicion within clinical reasoning
rather than decide alone (IFOMPT framework [61]): the screen is decision support and the clinician makes the call.

The levels in ``blocking_levels`` (EMERGENCY, URGENT, NON_URGENT) withhold the running programme until a clinician
records clearance (who, when, why, which flags) of a hit whose level is in ``clearable_levels``; CONSIDER shows the
flag prominently and never blocks.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backtorun.config_files import packaged_yaml, read_override, validate
from backtorun.intake.model import Clearance, Intake
from backtorun.intake.redflag_conditions import Condition, ConditionError, compile_condition
from backtorun.intake.redflag_facts import intake_facts, known_facts
from backtorun.types import (RED_FLAG_LEVELS, RedFlagClearance, RedFlagHit, RedFlagLevel, RedFlagScreen,
                             red_flag_rank)

log = logging.getLogger(__name__)

HitLevel = Literal["consider", "non_urgent", "urgent", "emergency"]


class RedFlagTier(BaseModel):
    """One level of a rule: the condition that gives it, and optional overrides of the rule's action and evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: HitLevel
    when: dict[str, Any]
    action: str | None = None
    evidence_grade: str | None = None
    sources: tuple[str, ...] | None = None


class RedFlagRule(BaseModel):
    """A rule of §7.3 (e.g. RF-FRACTURE) with its tiers, highest level first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^RF-[A-Z]+(-[A-Z]+)*$")
    title: str = Field(min_length=1)
    evidence_grade: str = "D"
    sources: tuple[str, ...] = ()
    action: str | None = None
    tiers: tuple[RedFlagTier, ...] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _highest_first(cls, tiers: tuple[RedFlagTier, ...]) -> tuple[RedFlagTier, ...]:
        ranks = [red_flag_rank(t.level) for t in tiers]
        if ranks != sorted(set(ranks), reverse=True):
            raise ValueError("tiers must be listed highest level first, each level once")
        return tiers


class RedFlagRules(BaseModel):
    """The screen as data; defaults in ``intake/redflags.yaml`` (see that file for each rule's source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: dict[str, float | int]
    blocking_levels: tuple[HitLevel, ...]
    clearable_levels: tuple[HitLevel, ...]
    level_actions: dict[HitLevel, str]
    conditions: dict[str, Any] = {}
    rules: tuple[RedFlagRule, ...] = Field(min_length=1)
    startback_psychosocial_high: int = Field(ge=0, le=5)

    @model_validator(mode="after")
    def _check(self) -> "RedFlagRules":
        codes = [r.code for r in self.rules]
        if len(set(codes)) != len(codes):
            raise ValueError("rule codes must be unique")
        if not set(self.clearable_levels) <= set(self.blocking_levels):
            raise ValueError("clearable_levels must be blocking levels")
        missing = set(RED_FLAG_LEVELS[1:]) - set(self.level_actions)
        if missing:
            raise ValueError(f"level_actions lacks {sorted(missing)}")
        try:
            compile_rules(self)
        except ConditionError as exc:
            raise ValueError(str(exc)) from exc
        return self


@dataclass(frozen=True)
class _CompiledRule:
    rule: RedFlagRule
    tiers: tuple[tuple[RedFlagTier, Condition], ...]


def compile_rules(rules: RedFlagRules) -> tuple[_CompiledRule, ...]:
    """Every rule's tier conditions parsed against the known facts, thresholds and named conditions."""
    facts = known_facts()
    return tuple(_CompiledRule(r, tuple(
        (t, compile_condition(t.when, where=f"{r.code}.tiers[{i}].when", thresholds=rules.thresholds,
                              named=rules.conditions, facts=facts))
        for i, t in enumerate(r.tiers))) for r in rules.rules)


def load_red_flag_rules(path: str | Path | None = None) -> RedFlagRules:
    """Rules from the packaged ``redflags.yaml``, overridden by the keys of an optional YAML file.

    A key of the override that names a threshold (top level or under ``thresholds:``) replaces that threshold only;
    any other key replaces the packaged section."""
    data = packaged_yaml("backtorun.intake", "redflags.yaml")
    if path is not None:
        thresholds = dict(data.get("thresholds") or {})
        for key, value in read_override(path, "red-flag rule").items():
            if key == "thresholds" and isinstance(value, dict):
                thresholds.update(value)
            elif key in thresholds:
                thresholds[key] = value
            else:
                data[key] = value
        data["thresholds"] = thresholds
    return validate(RedFlagRules, data, "red-flag rule")


@lru_cache(maxsize=1)
def _default() -> tuple[RedFlagRules, tuple[_CompiledRule, ...]]:
    rules = load_red_flag_rules()
    return rules, compile_rules(rules)


def screen_red_flags(intake: Intake, *, rules: RedFlagRules | None = None, today: date | None = None,
                     clearance: Iterable[Clearance] = ()) -> RedFlagScreen:
    """Screen an intake (domain.md §7.3). ``level`` = highest level of any hit; hits sorted highest first.

    Clearances come from ``intake.clearance`` plus ``clearance`` (e.g. recorded separately in the web app); a
    clearance lifts each blocking hit it names whose level is clearable, and the hit carries it."""
    if rules is None:
        rules, compiled = _default()
    else:
        compiled = compile_rules(rules)
    facts = intake_facts(intake, today=today)
    hits = [h for h in (_fire(c, facts, rules) for c in compiled) if h is not None]
    records = [_record(c) for c in (*intake.clearance, *clearance)]
    hits, notes = _apply_clearances(hits, records, rules)
    hits.sort(key=lambda h: -red_flag_rank(h.level))
    level: RedFlagLevel = hits[0].level if hits else "none"
    yellow = []
    sub = intake.instruments.startback_psychosocial
    if sub is not None and sub >= rules.startback_psychosocial_high:
        yellow.append(f"STarT Back psychosocial subscale {sub}/5 (≥ {rules.startback_psychosocial_high}): "
                      "psychosocially informed care; not a referral [67]")
    return RedFlagScreen(level=level, hits=tuple(hits), yellow_flags=tuple(yellow), clearances=tuple(records),
                         notes=tuple(notes))


def _fire(compiled: _CompiledRule, facts: dict[str, Any], rules: RedFlagRules) -> RedFlagHit | None:
    rule = compiled.rule
    held = [(tier, out) for tier, cond in compiled.tiers if (out := cond.evaluate(facts)).holds]
    if not held:
        return None
    tier = held[0][0]
    labels = list(dict.fromkeys(lab for _, out in held for lab in out.labels))
    answers = tuple(dict.fromkeys(a for _, out in held for a in out.answers))
    return RedFlagHit(
        code=rule.code, level=tier.level, title=rule.title,
        reason="; ".join(labels) or rule.title,
        action=tier.action or rule.action or rules.level_actions[tier.level],
        evidence_grade=tier.evidence_grade or rule.evidence_grade,
        sources=tier.sources if tier.sources is not None else rule.sources,
        answers=answers, blocks_plan=tier.level in rules.blocking_levels)


def _record(c: Clearance) -> RedFlagClearance:
    return RedFlagClearance(who=c.who, when=c.when.isoformat(), why=c.why, flags=tuple(c.flags))


def _apply_clearances(hits: list[RedFlagHit], records: list[RedFlagClearance], rules: RedFlagRules
                      ) -> tuple[list[RedFlagHit], list[str]]:
    """Attach to each blocking, clearable hit the latest clearance naming it; notes for clearances that lift nothing."""
    notes: list[str] = []
    out: list[RedFlagHit] = []
    for h in hits:
        naming = [r for r in records if h.code in r.flags]
        if not naming or not h.blocks_plan:
            out.append(h)
            continue
        if h.level not in rules.clearable_levels:
            notes.append(f"{h.code} is {h.level.replace('_', '-')}: a recorded clearance cannot lift it")
            out.append(h)
            continue
        latest = max(naming, key=lambda r: r.when)  # ISO dates sort as text
        out.append(dataclasses.replace(h, clearance=latest))
        log.info("red flag %s cleared by %s on %s", h.code, latest.who, latest.when)
    for r in records:
        for code in r.flags:
            if not any(h.code == code and h.blocks_plan for h in hits):
                notes.append(f"clearance by {r.who} on {r.when} names {code}, which did not fire as a blocking "
                             "flag in this screen: nothing to lift")
    return out, notes
