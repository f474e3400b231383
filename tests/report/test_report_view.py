"""View model: formatting, references, tolerance of unknown or missing producer data."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtorun.errors import InputError
from backtorun.evaluation import Evaluation
from backtorun.report.render import render_html
from backtorun.report.format import (fmt_number, fmt_pairs, fmt_quantity, label_of, load_ranges, load_references, readable,
                                     reference_key)
from backtorun.report.view import build_view
from tests.report.evaluation_factory import make_analysis, make_evaluation

RANGES = load_ranges()["metrics"]


def test_quantities_carry_units_and_labels():
    assert fmt_quantity("cadence_spm", 158.24, RANGES) == "158 spm"
    assert fmt_quantity("vertical_oscillation_cm", 10.84, RANGES) == "10.8 cm"
    assert fmt_quantity("hip_extension_deg (L)", 6.53, RANGES) == "6.5°"
    assert fmt_quantity("trunk_extension_at_pushoff_deg > 5° (share of strides)", 0.25, RANGES) == "25.0%"
    assert fmt_quantity("cadence_spm", "< 164 spm", RANGES) == "< 164 spm"  # thresholds are shown as given
    assert fmt_quantity("cadence_spm", float("nan"), RANGES) == "—"
    assert label_of("hip_extension_deg (L)", RANGES) == "Peak hip extension (relative to trunk) (L)"
    assert label_of("step_width_cm") == "Step width"
    assert fmt_pairs({"cadence_spm": 158.0}, RANGES, {"cadence_spm": "< 164 spm"}) == [
        "Cadence 158 spm (threshold < 164 spm)"]


def test_codes_and_keys_in_sentences_become_words():
    text = readable("HIGH_VO not detected; vertical_oscillation_cm below band", RANGES, {"HIGH_VO": "Bouncing"})
    assert text == "“Bouncing” not detected; vertical oscillation (pelvis) below band"


def test_references_cover_the_citation_list():
    refs = load_references()
    assert len(refs) >= 100 and "Souza" in refs["22"]["citation"]
    assert reference_key("54b") == "54" and reference_key("[7]") == "7" and reference_key("D") is None


def test_only_cited_references_are_listed(tmp_path):
    v = build_view(make_evaluation(), out_dir=tmp_path, asset_dir=tmp_path, plots={})
    ids = [r["id"] for r in v["references"]]
    assert ids == sorted(ids, key=int)
    assert {"22", "31", "33", "1", "57"} <= set(ids)  # cited by the factory's findings
    assert "104" not in ids


def test_a_part_its_producer_cannot_read_is_refused_not_shown_blank(tmp_path):
    """The report reads typed parts: a part written under field names its producer no longer has is an InputError
    naming the field, never an empty section or a silent default (issue #12 item 3)."""
    e = Evaluation(side=make_analysis("side"), tests={"extra_scores": {"grip_kg": 41}})
    with pytest.raises(InputError, match="outcomes"):
        render_html(e, tmp_path)
    plan = make_evaluation().plan
    cadence = {k: v for k, v in plan["cadence"].items() if k != "metronome_minutes"}
    renamed = make_evaluation().replace(plan={**plan, "cadence": {**cadence, "metronome_min": 20}})
    with pytest.raises(InputError, match="metronome_minutes"):
        render_html(renamed, tmp_path)


def test_view_shows_the_typed_parts(tmp_path):
    """Values the report takes from each typed part reach the view (a renamed attribute fails here)."""
    e = make_evaluation()
    parts = e.parts()
    v = build_view(e, out_dir=tmp_path, asset_dir=tmp_path, plots={}, parts=parts)
    cad = parts.plan.cadence
    assert v["plan"]["cadence"]["minutes"] == fmt_number(cad.metronome_minutes)
    assert [t["spm"] for t in v["plan"]["cadence"]["targets"]] == [t.spm for t in cad.targets]
    assert v["plan"]["recommendations"][0]["exercises"][0]["dose"] == parts.plan.recommendations[0].exercises[0].dose
    assert [p["phase"] for p in v["plan"]["rtr"]["phases"]] == [p.phase for p in parts.plan.return_to_run.phases]
    outcome = parts.tests.outcomes[0]
    assert v["tests"]["rows"][0]["test"] == outcome.name and v["tests"]["rows"][0]["reference"] == outcome.norm
    assert [w["week"] for w in v["training"]["weeks"]] == [w.week_start.isoformat() for w in parts.training.weeks]
    assert [p["code"] for p in v["patterns"]] == [p.code for p in parts.findings.patterns]
    assert ("Runner ID", "T-1") in v["patient"] and parts.intake.runner_id == "T-1"
    assert any(f"{fmt(parts.intake.pain.during_run)}/10 during running" in text for _, text in v["synthesis"]["context"])
    assert any(f"{cad.metronome_minutes:g} min at {cad.targets[0].spm} steps a minute" in r["much"]
               for r in v["runner"]["week"])


def fmt(x: float) -> str:
    return f"{x:g}"


def test_missing_everything_but_findings(tmp_path):
    e = make_evaluation().replace(side=None, rear=None, training=None, tests=None)
    html = render_html(e, tmp_path)["report"]
    assert "Running technique not assessed" in html
    assert "Bouncing: large vertical oscillation" in html  # findings still reported
    assert Path(tmp_path).is_dir()
