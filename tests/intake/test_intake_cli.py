"""``backtorun intake check FILE [--json]``: the screen line, JSON output and exit codes (0 / 1 / 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from backtorun.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"


def _write(tmp_path: Path, data: dict, name: str = "i.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def _run(*args: str):
    return CliRunner().invoke(app, ["intake", "check", *args])


@pytest.mark.parametrize("red,level,code", [
    ({}, "NONE", 0),
    ({"diabetes": True}, "CONSIDER", 0),  # consider never blocks
    ({"saddle_numbness": True, "urinary_difficulty_new": True, "ces_symptoms_onset_days": 30}, "URGENT", 1),
    ({"saddle_numbness": True, "ces_symptoms_onset_days": 3}, "EMERGENCY", 1),
    ({"dermatomal_numbness": True}, "NON_URGENT", 1)])
def test_screen_line_and_exit_code(tmp_path, red, level, code):
    p = _write(tmp_path, {"age_years": 40, "pain": {"now": 4}, "red_flags": red})
    res = _run(str(p))
    assert res.exit_code == code, res.output
    assert f"Red-flag screen: {level}" in res.output


def test_samples_exit_codes():
    assert _run(str(SAMPLES / "sample_intake.yaml")).exit_code == 0
    assert _run(str(SAMPLES / "sample_intake_redflag.yaml")).exit_code == 1
    cleared = _run(str(SAMPLES / "sample_intake_cleared.yaml"))
    assert cleared.exit_code == 0, cleared.output  # the blocking flag is cleared by a clinician
    assert "Red-flag screen: URGENT" in cleared.output and "cleared by Dr A. Example" in cleared.output


def test_json_output_is_the_screen(tmp_path):
    p = _write(tmp_path, {"age_years": 70, "sex": "male", "pain": {"now": 3},
                          "red_flags": {"cancer_history": True},
                          "clearance": [{"flags": ["RF-MALIGNANCY"], "who": "Dr B", "when": "2026-11-01",
                                         "why": "remote basal-cell carcinoma"}]})
    res = _run(str(p), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["valid"] is True and out["exit_code"] == 0
    s = out["screen"]
    assert s["level"] == "urgent" and s["refer"] is False and s["referral_level"] == "none"
    hits = {h["code"]: h for h in s["hits"]}
    assert hits["RF-MALIGNANCY"]["clearance"]["who"] == "Dr B"
    assert hits["RF-FRACTURE"]["level"] == "consider" and hits["RF-FRACTURE"]["blocks_plan"] is False
    assert out["intake"]["red_flags"]["cancer_history"] is True


def test_json_red_flag_exit_code(tmp_path):
    p = _write(tmp_path, {"age_years": 40, "pain": {}, "red_flags": {"fever_or_systemically_unwell": True}})
    res = _run(str(p), "--json")
    out = json.loads(res.output)
    assert res.exit_code == 1 == out["exit_code"]
    assert out["screen"]["level"] == "urgent" and out["screen"]["refer"] is True


@pytest.mark.parametrize("as_json", [False, True])
def test_invalid_input_exit_2(tmp_path, as_json):
    bad = _write(tmp_path, {"age_years": 300})
    missing = tmp_path / "missing.yaml"
    for p in (bad, missing):
        res = _run(str(p), *(["--json"] if as_json else []))
        assert res.exit_code == 2
        if as_json:
            out = json.loads(res.output)
            assert out["valid"] is False and out["exit_code"] == 2 and out["problems"]
        assert "Traceback" not in res.output
    assert "age_years" in _run(str(bad)).output


def test_help_documents_exit_codes():
    res = CliRunner().invoke(app, ["intake", "check", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    for words in ("--json", "0 = valid", "1 = valid, a red flag", "2 = invalid input"):
        assert words in text
