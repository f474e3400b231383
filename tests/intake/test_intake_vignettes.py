"""Clinical vignettes for the red-flag screen (domain.md §7.3, revised 2026-12-05), run through the CLI as a user
would (``backtorun intake check FILE --json``).

The vignettes are data in ``tests/intake/vignettes/*.yaml``; each expected level and rule code was derived from the
text of §7.3 alone, before the implementation was read. ``expect`` keys:

- ``level``: the screen's level (highest hit, cleared or not); ``level_in``: allowed levels where §7.3 is ambiguous;
- ``hits``: every rule code that must fire, with its level — no other code may fire;
- ``code_levels_in``: allowed levels of one code (``absent`` = must not fire), where §7.3 is ambiguous;
- ``plan_blocked``: an EMERGENCY/URGENT/NON_URGENT hit withholds the running plan (not cleared); this also fixes
  the exit code (1 when blocked, else 0);
- ``stop_evaluation``: an uncleared EMERGENCY (referral letter and short summary only);
- ``yellow``: a yellow flag is shown (STarT Back psychosocial subscale ≥ 4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.intake.model import Intake
from backtorun.intake.redflag_facts import known_facts
from backtorun.intake.redflags import load_red_flag_rules
from backtorun.types import RED_FLAG_LEVELS, red_flag_rank

VIGNETTE_DIR = Path(__file__).parent / "vignettes"
_EXPECT_KEYS = {"level", "level_in", "hits", "code_levels_in", "plan_blocked", "stop_evaluation", "yellow"}


def _load() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted(VIGNETTE_DIR.glob("*.yaml")):
        for v in yaml.safe_load(f.read_text(encoding="utf-8")):
            out.append({**v, "file": f.name})
    return out


VIGNETTES = _load()


def _code_levels(hits: list[dict[str, Any]]) -> dict[str, str]:
    """Highest level of each rule code that fired."""
    out: dict[str, str] = {}
    for h in hits:
        if h["code"] not in out or red_flag_rank(h["level"]) > red_flag_rank(out[h["code"]]):
            out[h["code"]] = h["level"]
    return out


def _check(tmp_path: Path, intake: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    p = tmp_path / "intake.yaml"
    p.write_text(yaml.safe_dump(intake, sort_keys=False), encoding="utf-8")
    res = CliRunner().invoke(app, ["intake", "check", str(p), "--json"])
    return res.exit_code, json.loads(res.output)


def test_vignette_files_are_well_formed():
    ids = [v["id"] for v in VIGNETTES]
    assert len(ids) >= 40 and len(ids) == len(set(ids)), "vignette ids must be unique"
    for v in VIGNETTES:
        assert set(v) == {"id", "says", "expect", "intake", "file"}, v["id"]
        e = v["expect"]
        assert set(e) <= _EXPECT_KEYS and ("level" in e or "level_in" in e), v["id"]
        levels = [e["level"]] if "level" in e else e["level_in"]
        assert set(levels) <= set(RED_FLAG_LEVELS), v["id"]
        for allowed in [*e.get("hits", {}).values(), *(x for a in e.get("code_levels_in", {}).values() for x in a)]:
            assert allowed in (*RED_FLAG_LEVELS, "absent"), v["id"]
        Intake.model_validate(v["intake"])  # every vignette is a valid intake


def test_every_rule_tier_has_a_vignette():
    """Each level of each rule in the packaged rule file is demanded exactly by at least one vignette."""
    demanded = {(c, lvl) for v in VIGNETTES for c, lvl in v["expect"].get("hits", {}).items()}
    rules = load_red_flag_rules()
    missing = [(r.code, t.level) for r in rules.rules for t in r.tiers if (r.code, t.level) not in demanded]
    assert not missing, f"rule tiers without a vignette: {missing}"
    # and the other side of the boundaries: vignettes where nothing may fire
    assert sum(v["expect"].get("hits") == {} for v in VIGNETTES) >= 10


@pytest.mark.parametrize("v", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
def test_vignette(tmp_path, v):
    exit_code, out = _check(tmp_path, v["intake"])
    assert out["valid"] is True, out
    s, e = out["screen"], v["expect"]
    got = _code_levels(s["hits"])
    blocked = any(h["blocks_plan"] and h["clearance"] is None for h in s["hits"])
    where = f"{v['file']}:{v['id']} ({v['says']}) → level {s['level']}, hits {got}"
    if "level" in e:
        assert s["level"] == e["level"], where
    if "level_in" in e:
        assert s["level"] in e["level_in"], where
    if "hits" in e:
        assert got == e["hits"], where
    for code, allowed in e.get("code_levels_in", {}).items():
        assert got.get(code, "absent") in allowed, where
    if "plan_blocked" in e:
        assert blocked is e["plan_blocked"], where
    if "stop_evaluation" in e:
        assert s["stop_evaluation"] is e["stop_evaluation"], where
    if "yellow" in e:
        assert bool(s["yellow_flags"]) is e["yellow"], where
    # the screen level is the highest hit; the exit code and "refer" follow what still withholds the plan
    assert s["level"] == (max((h["level"] for h in s["hits"]), key=red_flag_rank) if s["hits"] else "none"), where
    assert s["refer"] is blocked and exit_code == out["exit_code"] == (1 if blocked else 0), where
    # decision support: every hit names the answers that fired it, and they are real intake facts
    facts = known_facts()
    for h in s["hits"]:
        assert h["answers"] and set(h["answers"]) <= facts, where
        assert h["reason"] and h["action"] and h["title"], where


@pytest.mark.parametrize("v", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
def test_vignette_human_output(tmp_path, v):
    """The text a clinician reads says the same as the JSON: the level line, each rule with its title, and no raw
    ``None`` or field values."""
    _, out = _check(tmp_path, v["intake"])
    p = tmp_path / "intake.yaml"
    res = CliRunner().invoke(app, ["intake", "check", str(p)])
    text = res.output
    assert res.exit_code == out["exit_code"], text
    assert f"Red-flag screen: {out['screen']['level'].upper()} — " in text, text
    for h in out["screen"]["hits"]:
        assert f"{h['code']} ({h['level'].replace('_', '-')}) {h['title']}: " in text, text
        if h["clearance"]:
            assert f"cleared by {h['clearance']['who']} on {h['clearance']['when']}" in text, text
    assert "None" not in text and "treadmill_" not in text and "outside_only" not in text, text
    if out["screen"]["yellow_flags"]:
        assert "yellow flag: STarT Back psychosocial subscale" in text, text
