"""Render an Evaluation: plots (PNG), the clinician's report and the runner's summary (HTML and PDF)."""

from __future__ import annotations

import logging
import re
import time
from html import escape as html_escape
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import jinja2

from backtorun.errors import MissingDependency
from backtorun.evaluation import Evaluation
from backtorun.report import plots as _plots
from backtorun.report.format import load_ranges
from backtorun.report.pdf_fetch import make_url_fetcher
from backtorun.report.sections import flagged_weeks, weekly_volumes
from backtorun.report.view import build_view, finalize_references

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("backtorun.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=2)
def _css(name: str = "report.css") -> str:
    return resources.files("backtorun.report").joinpath(f"templates/{name}").read_text(encoding="utf-8")


FOOTER_MAX_CHARS = 120
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _with_page_footer(html: str, footer: str) -> str:
    """The HTML with the page footer as an escaped element right after ``<body>``.

    print.css moves that element into the page margin (``position: running(…)`` + ``content: element(…)``), so
    the footer text (which holds the patient's name) is HTML text, escaped, and never part of a stylesheet.
    """
    text = " ".join(footer.split())
    if len(text) > FOOTER_MAX_CHARS:
        text = text[:FOOTER_MAX_CHARS - 1] + "…"
    div = f'<div class="btr-page-footer">{html_escape(text, quote=True)}</div>'
    m = _BODY_OPEN.search(html)
    return html[:m.end()] + div + html[m.end():] if m else div + html


REAR_CURVES = ("pelvic_obliquity_deg", "lateral_trunk_lean_deg")


def render_plots(e: Evaluation, plots_dir: Path, *, ranges_path: str | None = None) -> dict[str, Path | None]:
    """Write the report's PNG plots; name → path (None where there was nothing to plot)."""
    ranges_all = load_ranges(ranges_path)
    ranges, curve_labels = ranges_all["metrics"], ranges_all["curves"]
    out: dict[str, Path | None] = {}
    if e.side is not None:
        out["side_strides"] = _plots.stride_plot(e.side, ranges, plots_dir / "side_strides.png",
                                                 metrics=_plots.SIDE_PLOT_METRICS, title="Side view, per step")
        out["curves"] = _plots.curves_plot(e.side.curves, curve_labels, plots_dir / "side_curves.png",
                                           title="Side view: angles over the gait cycle")
    if e.rear is not None:
        out["rear_strides"] = _plots.stride_plot(e.rear, ranges, plots_dir / "rear_strides.png",
                                                 metrics=_plots.REAR_PLOT_METRICS, title="Rear view, per step")
        # frontal-plane curves only: sagittal angles seen from behind are foreshortened
        rear_curves = {k: v for k, v in e.rear.curves.items() if k in REAR_CURVES}
        out["rear_curves"] = _plots.curves_plot(rear_curves, curve_labels, plots_dir / "rear_curves.png",
                                                title="Rear view: angles over the gait cycle")
    training = e.parts().training
    weeks = weekly_volumes(training)
    if weeks:
        flagged = flagged_weeks(training)
        out["weekly_volume"] = _plots.weekly_volume_plot(weeks, plots_dir / "weekly_volume.png", flagged=flagged)
    return out


def render_html(e: Evaluation, out_dir: Path, *, asset_dir: Path | None = None,
                plots: Mapping[str, Path | None] | None = None, ranges_path: str | None = None) -> dict[str, str]:
    """HTML text of the clinician report and the runner summary (image links relative to ``out_dir``).

    An uncleared EMERGENCY red flag gives the referral letter and a one-page summary instead of the report. The
    clinician report is rendered twice when its text cites ids that the view had not collected, so that every
    citation number in the text is in the reference list.
    """
    view = build_view(e, out_dir=out_dir, asset_dir=asset_dir or out_dir, plots=plots or {}, ranges_path=ranges_path)
    env = _environment()
    ctx: dict[str, Any] = {"v": view, "css": _css()}
    clinician = env.get_template("emergency.html.j2" if view["emergency"] else "clinician.html.j2")
    report = clinician.render(**ctx)
    if finalize_references(view, report):
        report = clinician.render(**ctx)
    return {"report": report, "runner": env.get_template("runner.html.j2").render(**ctx)}


def write_pdf(html: str, base_dir: Path, path: Path, *, footer: str = "Back To Running Evaluation",
              allowed_dirs: Iterable[Path] | None = None) -> Path:
    """HTML → PDF with WeasyPrint (relative image links resolved against ``base_dir``); A4 pages with a footer.

    The paged-media rules (page size, footer, page numbers) live in ``print.css`` and are given to WeasyPrint
    only, so the HTML itself stays valid HTML5 + CSS. No user text enters a stylesheet: the footer is an escaped
    element placed in the page margin. WeasyPrint reads only files inside ``allowed_dirs`` (default: ``base_dir``)
    and the package's assets; every other file and every other scheme (http, https, data, …) is refused.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango/Cairo system libraries missing
        raise MissingDependency(f"PDF output needs WeasyPrint and its system libraries: {exc}",
                                hint="run scripts/setup.sh, or render with pdf=False for HTML only") from exc
    fetcher = make_url_fetcher(allowed_dirs if allowed_dirs is not None else (base_dir,))
    print_css = weasyprint.CSS(string=_css("print.css"), url_fetcher=fetcher)
    weasyprint.HTML(string=_with_page_footer(html, footer), base_url=str(base_dir.resolve()) + "/",
                    url_fetcher=fetcher).write_pdf(str(path), stylesheets=[print_css])
    return path


FOOTERS = {"report": "Back To Running Evaluation — clinician's report", "runner": "Your running evaluation"}


def _footer_id(e: Evaluation) -> str:
    intake = e.parts().intake
    who = e.patient.get("name") or e.patient.get("id") or (intake.runner_id if intake is not None else None)
    return f" · {who}" if who else ""


def render_report(e: Evaluation, out_dir: str | Path, *, asset_dir: str | Path | None = None, pdf: bool = True,
                  ranges_path: str | None = None) -> dict[str, Path]:
    """Write report.html/.pdf (clinician), runner.html/.pdf (runner summary and exercise sheet) and plots/*.png.

    asset_dir: folder that holds the evaluation's artefacts (key frames; defaults to ``out_dir``).
    Returns name → path for everything written ("report_html", "report_pdf", "runner_html", "runner_pdf",
    "plot_<name>").
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    plot_paths = render_plots(e, out_dir / "plots", ranges_path=ranges_path)
    t1 = time.perf_counter()
    html = render_html(e, out_dir, asset_dir=Path(asset_dir) if asset_dir else out_dir, plots=plot_paths,
                       ranges_path=ranges_path)
    written: dict[str, Path] = {}
    for name, text in html.items():
        p = out_dir / f"{name}.html"
        p.write_text(text, encoding="utf-8")
        written[f"{name}_html"] = p
    t2 = time.perf_counter()
    if pdf:
        allowed = (out_dir, Path(asset_dir) if asset_dir else out_dir)
        for name, text in html.items():
            footer = FOOTERS.get(name, "Back To Running Evaluation") + _footer_id(e)
            written[f"{name}_pdf"] = write_pdf(text, out_dir, out_dir / f"{name}.pdf", footer=footer,
                                               allowed_dirs=allowed)
    t3 = time.perf_counter()
    written.update({f"plot_{k}": p for k, p in plot_paths.items() if p is not None})
    log.info("report rendered: plots %.2f s, html %.2f s, pdf %.2f s", t1 - t0, t2 - t1, t3 - t2)
    return written
