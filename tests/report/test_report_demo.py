"""End to end through the CLI: `backtorun demo`, `report` (re-render) and `evaluate` with a red-flag intake."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.evaluation import Evaluation
from tests.report.test_report_render import ink_fraction, pdf_page_texts, pdf_pages, pdf_text, validate_html

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
    assert not e.refer and (e.plan.get("return_to_run") or e.plan.get("load_pathway"))
    # the metronome track is at the plan's first cadence target: a small Ogg Opus file, not a ~50 MB WAV
    cadence = e.parts().plan.cadence
    assert cadence is not None and cadence.targets
    first = cadence.targets[0].spm
    track = out / e.artefacts["metronome"]
    assert track.name == f"metronome_{first}spm.ogg" and str(track) in output.replace("\n", "")
    assert track.name == cadence.targets[0].metronome_file  # the plan names the file the evaluation wrote
    assert f"-o {track.name}" in cadence.targets[0].metronome_command  # and the command that remakes it
    assert track.stat().st_size < 1_000_000
    minutes = float(cadence.metronome_minutes)  # typed: a renamed field fails here, never a silent default
    with av.open(str(track)) as c:
        stream = c.streams.audio[0]
        seconds = float(stream.duration * stream.time_base) if stream.duration else sum(
            f.samples for f in c.decode(stream)) / stream.codec_context.sample_rate
    assert seconds == pytest.approx(minutes * 60 + 4 * 60 / first, abs=0.5)


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
    # page 1 is the synthesis: the three treadmill causes with their result, ranked problems, typical, differentials
    first = pdf_page_texts(out / "report.pdf")[0]
    for needle in ("Synthesis", "The three treadmill causes of back pain", "Too little hip extension",
                   "Vertical bouncing", "Twisting from arm swing", "Ranked problems", "What looks typical",
                   "Differentials to consider", "Red-flag screen", "Filmed at"):
        assert needle in first, needle
    assert re.search(r"Vertical bouncing (Detected|Not detected|Not assessable)", first)
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
    assert not list(out.glob("metronome_*"))
    # EMERGENCY: the referral letter and a one-page summary, no gait report
    pages = pdf_page_texts(out / "report.pdf")
    assert len(pages) <= 2 and "The evaluation was stopped" in pages[0]
    text = " ".join(pages)
    assert "Referral letter" in text and "Synthesis" not in text and "Measurements" not in text
    assert "Graded return to running" not in text and "Key frames" not in text
    runner_text = pdf_text(out / "runner.pdf")
    assert "Your week" not in runner_text and "emergency department" in runner_text


# ---------------------------------------------------------------------------------------------------------
# Issue #13 "done when": page budget, citations, margins, plain labels, runner summary, audio size
# ---------------------------------------------------------------------------------------------------------


def test_demo_clinician_pdf_fits_twelve_pages_with_a_short_body(demo):
    out, _ = demo
    pages = pdf_page_texts(out / "report.pdf")
    assert len(pages) <= 12
    assert "Synthesis" in pages[0] and "Ranked problems" in pages[0]
    appendix = next(i for i, t in enumerate(pages) if re.search(r"Appendix A\. Video capture", t))
    assert appendix + 1 <= 10  # the body (page 1 up to where the appendix starts) is at most 10 pages
    # capture metadata, hashes, the "checked — not detected" list and the references are in the appendix
    tail = " ".join(pages[appendix:])
    for part in ("A. Video capture and quality", "B. Checked — not detected", "C. Inputs, hashes and software",
                 "SHA-256", "D. References"):
        assert part in tail, part
    body = " ".join(pages[:appendix]) + pages[appendix].split("Appendix A.")[0]
    assert "SHA-256" not in body and "Checked — not detected" not in body


def _reference_list(text: str) -> dict[str, str]:
    listing = text.split("D. References", 1)[1]
    entries = re.split(r"(?=\[\d+\] )", listing)
    out = {}
    for entry in entries:
        m = re.match(r"\[(\d+)\] (.*)", entry.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_demo_citation_numbers_resolve_to_the_right_reference(demo):
    from backtorun.report.format import cited_ids, load_references

    out, _ = demo
    text = re.sub(r"Back To Running Evaluation — clinician's report · [^\n]*?page \d+ of \d+", " ",
                  pdf_text(out / "report.pdf"))
    body, _ = text.split("D. References", 1)
    listed = _reference_list(text)
    table = load_references()
    cited = cited_ids(body)
    assert len(cited) >= 10
    for k in cited:
        assert k in listed, f"[{k}] is cited in the text but not in the reference list"
        want = re.sub(r"\s+", " ", table[k]["citation"])[:50]
        assert listed[k].startswith(want), f"[{k}] in the list is not the reference cited as [{k}]"
    # the studies of runners with low back pain are cited where the three causes are discussed
    for k, author in (("3", "Seay"), ("6", "Hamill")):
        assert k in cited and listed[k].startswith(author)
    # every listed reference has a DOI, PubMed or PubMed Central link, or an official page (no mirror sites)
    html = (out / "report.html").read_text(encoding="utf-8")
    for k in listed:
        entry = re.search(rf'<li id="ref-{k}">(.*?)</li>', html).group(1)
        hrefs = re.findall(r'href="([^"]+)"', entry)
        assert hrefs, k
        assert any(h.startswith(("https://doi.org/", "https://pubmed.ncbi.nlm.nih.gov/",
                                 "https://pmc.ncbi.nlm.nih.gov/")) for h in hrefs) or table[k].get("web"), k


def test_demo_bouncing_is_discussed_with_the_treadmill_conflict(demo):
    out, _ = demo
    pages = pdf_page_texts(out / "report.pdf")
    appendix = next(i for i, t in enumerate(pages) if "Appendix A." in t)
    discussed = [i for i, t in enumerate(pages[:appendix + 1]) if re.search(r"bounc", t.split("Appendix A.")[0], re.I)]
    assert 0 in discussed  # the three causes on page 1
    for i in discussed:
        assert "1.5 cm less vertical displacement than overground [1]" in pages[i], f"page {i + 1}"


def test_demo_pages_keep_inside_the_right_margin(demo, tmp_path):
    from tests.report.test_report_render import right_margin_ink

    out, _ = demo
    for name in ("report.pdf", "runner.pdf"):
        for i, page in enumerate(pdf_pages(out / name, tmp_path, dpi=50)):
            assert right_margin_ink(page, 50) == 0.0, f"{name} page {i + 1}: something runs off the right margin"


def test_demo_report_uses_labels_not_field_names(demo):
    out, _ = demo
    pages = pdf_page_texts(out / "report.pdf")
    appendix = next(i for i, t in enumerate(pages) if "Appendix A." in t)
    body = " ".join(pages[:appendix]) + pages[appendix].split("Appendix A.")[0]
    body = re.sub(r"backtorun metronome [^\n]*?count-in \d+|\S+\.(?:ogg|wav|npz|yaml|csv)\b", " ", body)
    raw = re.findall(r"\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b", body)
    assert not raw, f"raw field names in the report: {sorted(set(raw))[:10]}"
    assert "LeftN" not in body and "per_kg" not in body
    assert "Left, per body mass 2.5 N/kg" in body  # hand-held dynamometry: label, unit and side


def test_demo_runner_pdf_is_short_plain_and_safe(demo, tmp_path):
    out, _ = demo
    assert len(pdf_pages(out / "runner.pdf", tmp_path)) <= 2
    text = pdf_text(out / "runner.pdf")
    assert text.index("The good news") < text.index("What may be adding load") < text.index("Your week")
    assert "When What How much" in text and "Get help if you notice" in text
    assert "psychosocial" not in text.lower() and "High psychosocial risk" not in text
    e = Evaluation.load(out / "evaluation.json")
    assert " ".join(e.plan["pain_rule"]["text"].split()) in text  # the same pause rule as the clinician's plan
    clinician = pdf_text(out / "report.pdf")
    assert " ".join(e.plan["pain_rule"]["text"].split()) in clinician


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
