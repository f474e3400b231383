"""Intake model: loading, validation and actionable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.errors import BadIntake
from backtorun.intake import Intake, load_intake, parse_intake

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"


def test_sample_intake_loads_with_treadmill_only_pain():
    intake = load_intake(SAMPLES / "sample_intake.yaml")
    assert intake.timing.surfaces == "treadmill_only"
    assert intake.pain.during_run == 5
    assert intake.bmi == pytest.approx(61 / 1.68**2)
    assert intake.instruments.psfs_mean == pytest.approx((4 + 8 + 7) / 3)


def test_json_intake_and_web_form_dict(tmp_path):
    data = {"age_years": 30, "sex": "male", "pain": {"now": 2, "during_run": 6}}
    p = tmp_path / "i.json"
    p.write_text(json.dumps(data))
    assert load_intake(p).pain.during_run == 6
    assert Intake.model_validate(data).age_years == 30
    assert parse_intake(data).to_dict()["pain"]["now"] == 2


@pytest.mark.parametrize("field,value,ok", [("now", 10, True), ("now", 11, False), ("now", -1, False),
                                            ("worst_24h", 0, True), ("after_run_24h", 10.5, False)])
def test_pain_nrs_bounds(field, value, ok):
    data = {"age_years": 40, "pain": {field: value}}
    if ok:
        assert getattr(parse_intake(data).pain, field) == value
    else:
        with pytest.raises(BadIntake, match=f"pain.{field}"):
            parse_intake(data)


def test_unknown_field_suggests_the_right_name():
    with pytest.raises(BadIntake) as exc:
        parse_intake({"age_years": 40, "pain": {"worst24h": 3}})
    assert "pain.worst24h" in str(exc.value) and "worst_24h" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_age_and_more_problems_counted():
    with pytest.raises(BadIntake) as exc:
        parse_intake({"pain": {"now": 20}, "sex": "x"})
    msg = str(exc.value)
    assert "age_years: required field is missing" in msg or "pain.now" in msg
    assert "2 more problems" in msg
    assert len(exc.value.problems) == 3


def test_startback_subscale_cannot_exceed_total():
    with pytest.raises(BadIntake, match="startback_psychosocial"):
        parse_intake({"age_years": 40, "instruments": {"startback_total": 2, "startback_psychosocial": 3}})
    ok = parse_intake({"age_years": 40, "instruments": {"startback_total": 3, "startback_psychosocial": 3}})
    assert ok.instruments.startback_psychosocial == 3


def test_psfs_at_most_five_activities_scored_0_to_10():
    acts = [{"activity": f"a{i}", "score": 5} for i in range(6)]
    with pytest.raises(BadIntake, match="psfs"):
        parse_intake({"age_years": 40, "instruments": {"psfs": acts}})
    with pytest.raises(BadIntake, match="score"):
        parse_intake({"age_years": 40, "instruments": {"psfs": [{"activity": "run", "score": 11}]}})


def test_bad_files_give_one_line_errors(tmp_path):
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("age_years: [1,\n  pain: {")
    with pytest.raises(BadIntake, match="not valid YAML at line"):
        load_intake(bad_yaml)
    lst = tmp_path / "b.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(BadIntake, match="must contain a mapping"):
        load_intake(lst)
    with pytest.raises(BadIntake, match="file not found"):
        load_intake(tmp_path / "missing.yaml")


def test_referred_leg_side_requires_leg_pain():
    with pytest.raises(BadIntake, match="referred_leg_pain"):
        parse_intake({"age_years": 40, "location": {"referred_leg_side": "left"}})


def test_cli_intake_check_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["intake", "check", str(SAMPLES / "sample_intake.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "NONE" in ok.output
    rf = runner.invoke(app, ["intake", "check", str(SAMPLES / "sample_intake_redflag.yaml")])
    assert rf.exit_code == 1 and "EMERGENCY" in rf.output and "RF-CES" in rf.output  # a red flag: exit 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("age_years: 300\n")
    res = runner.invoke(app, ["intake", "check", str(bad)])
    assert res.exit_code == 2
    assert "age_years" in res.output


def test_intake_from_flat_web_form():
    from backtorun.intake import intake_from_form

    i = intake_from_form({"age_years": "40", "pain.now": "3", "pain.worst_24h": "", "red_flags.saddle_numbness": "on",
                          "modifiers.aggravating": "sitting\nrunning downhill", "instruments.psfs.0.activity": "run 5k",
                          "instruments.psfs.0.score": "4", "instruments.psfs.1.activity": ""})
    assert i.pain.now == 3 and i.pain.worst_24h is None
    assert i.red_flags.saddle_numbness is True
    assert i.modifiers.aggravating == ("sitting", "running downhill")
    assert [a.activity for a in i.instruments.psfs] == ["run 5k"]
    with pytest.raises(BadIntake, match="form: pain.now"):
        intake_from_form({"age_years": "40", "pain.now": "eleven"})
