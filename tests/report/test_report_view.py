"""View model: formatting, references, tolerance of unknown or missing producer data."""

from __future__ import annotations

from pathlib import Path

from backtorun.evaluation import Evaluation
from backtorun.report.render import render_html
from backtorun.report.format import (fmt_pairs, fmt_quantity, label_of, load_ranges, load_references, readable,
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


def test_unknown_producer_fields_are_still_shown(tmp_path):
    e = Evaluation(side=make_analysis("side"),
                   plan={"custom_advice": {"walking_minutes": 30, "note": "clinic-specific step"}},
                   training={"something_new": [{"week": "2026-W44", "km_total": 12.5}]},
                   tests={"extra_scores": {"grip_kg": 41}})
    html = render_html(e, tmp_path)["report"]
    assert "clinic-specific step" in html and "2026-W44" in html and "41" in html


def test_missing_everything_but_findings(tmp_path):
    e = make_evaluation().replace(side=None, rear=None, training=None, tests=None)
    html = render_html(e, tmp_path)["report"]
    assert "Running technique not assessed" in html
    assert "Bouncing: large vertical oscillation" in html  # findings still reported
    assert Path(tmp_path).is_dir()
