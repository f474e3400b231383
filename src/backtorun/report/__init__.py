"""Report of findings: view model, plots (matplotlib), Jinja2 templates and PDF (WeasyPrint).

Public interface::

    render_report(evaluation, out_dir, *, asset_dir=None, pdf=True) -> {name: path}
        report.html / report.pdf (clinician), runner.html / runner.pdf (runner summary and exercise sheet),
        plots/*.png
"""

from backtorun.report.render import render_html, render_report

__all__ = ["render_html", "render_report"]
