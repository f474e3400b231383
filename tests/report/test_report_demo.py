"""End to end through the CLI: `backtorun demo`, `report` (re-render) and `evaluate` with a red-flag intake."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.evaluation import Evaluation
from tests.report.test_report_render import ink_fraction, pdf_pages, pdf_text, validate_html

runner = CliRunner()


def samples() -> Path:
    import backtorun

    return Path(backtorun.__file__).parent / "samples"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_writes_every_output(demo):
    out, output = demo
    for name in ("evaluation.json", "report.html", "report.pdf", "runner.html", "runner.pdf"):
        assert (out / name).is_file(), name
        assert str(out / name) in output.replace("\n", "")
    e = Evaluation.load(out / "evaluation.json")
    assert e.side is not None and e.rear is not None and e.intake and e.tests and e.training and e.plan
    assert {i.role for i in e.inputs} >= {"side_keypoints", "rear_keypoints", "intake", "tests", "log"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", i.sha256) for i in e.inputs)
    assert not e.refer and e.plan.get("return_to_run")
    # the metronome track is at the plan's first cadence target
    first = e.plan["cadence"]["targets"][0]["spm"]
    wav = out / e.artefacts["metronome"]
    assert wav.name == f"metronome_{first}spm.wav"
    with wave.open(str(wav)) as w:
        assert w.getnframes() / w.getframerate() > 60


def test_demo_pdf_has_findings_and_no_blank_pages(demo, tmp_path):
    out, _ = demo
    e = Evaluation.load(out / "evaluation.json")
    pages = pdf_pages(out / "report.pdf", tmp_path)
    assert len(pages) >= 5
    for i, page in enumerate(pages):
        assert ink_fraction(page) > 0.001, f"page {i + 1} looks blank"
    text = pdf_text(out / "report.pdf")
    detected = [f for f in e.finding_list() if f.status == "detected"]
    assert detected, "the demo should show at least one finding"
    for f in detected:
        assert f.title in text, f.title
    for p in e.findings["patterns"]:
        assert p["title"] in text
    # the shipped motion capture is credited, and key frames with the skeleton are shown
    assert "Hamner" in text and "Apache" in text
    assert "Key frames" in text and "initial contact" in text
    runner_pages = pdf_pages(out / "runner.pdf", tmp_path)
    assert all(ink_fraction(p) > 0.001 for p in runner_pages)


def test_demo_html_is_valid(demo):
    out, _ = demo
    result = validate_html(out / "report.html", out / "runner.html")
    assert result.returncode == 0, result.stdout + result.stderr


def test_report_command_rerenders_elsewhere(demo, tmp_path):
    out, _ = demo
    target = tmp_path / "again"
    result = runner.invoke(app, ["report", str(out / "evaluation.json"), "--out", str(target), "--no-pdf"])
    assert result.exit_code == 0, result.output
    html = (target / "report.html").read_text(encoding="utf-8")
    # key frames stay in the evaluation's folder and are linked from the new one
    links = re.findall(r'<img src="([^"]+keyframes[^"]+)"', html)
    assert links and all((target / link).resolve().is_file() for link in links)
    assert not (target / "report.pdf").exists()


def test_evaluate_with_red_flag_gives_referral_and_no_running_plan(tmp_path):
    s = samples()
    out = tmp_path / "rf"
    result = runner.invoke(app, ["evaluate", "--side", str(s / "demo_side.npz"),
                                 "--intake", str(s / "sample_intake_redflag.yaml"), "--speed", "14", "km/h",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    e = Evaluation.load(out / "evaluation.json")
    assert [i.role for i in e.inputs] == ["side_keypoints", "intake"]  # a keypoint file given as --side
    assert e.refer and e.plan["referral"] and not e.plan.get("return_to_run") and not e.plan.get("recommendations")
    assert not list(out.glob("metronome_*.wav"))
    text = pdf_text(out / "report.pdf")
    assert text.index("Referral") < text.index("Summary of findings")
    assert "No running plan is given" in text and "Graded return to running" not in text
    runner_text = pdf_text(out / "runner.pdf")
    assert "Your plan" not in runner_text and "doctor" in runner_text


def test_cli_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "not found" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["evaluate", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no running recording" in result.output
    result = runner.invoke(app, ["evaluate", "--side", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "not found" in result.output
    bad = tmp_path / "evaluation.json"
    bad.write_text(json.dumps({"schema": "other/1"}), encoding="utf-8")
    result = runner.invoke(app, ["report", str(bad)])
    assert result.exit_code == 2 and "not a backtorun evaluation" in result.output
