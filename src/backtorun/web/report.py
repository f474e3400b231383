"""What the report page shows from an evaluation.json, and the PDF (the report's own, or a summary print)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from fastapi.templating import Jinja2Templates

from backtorun.errors import MissingDependency
from backtorun.web.compare import finite_float

log = logging.getLogger(__name__)


def report_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """Red flags, findings, metric means and quality flags for the on-screen summary."""
    metrics = []
    flags = []
    for view in ("side", "rear"):
        analysis = result.get(view) or {}
        for name, d in sorted((analysis.get("summary_detail") or {}).items()):
            metrics.append({"view": view, "name": name, "mean": finite_float(d.get("mean")), "sd": finite_float(d.get("sd")),
                            "n": d.get("n"), "uncertainty": finite_float(d.get("uncertainty"))})
        for f in (analysis.get("quality") or {}).get("flags", []):
            flags.append({"view": view, **f})
    findings = list((result.get("findings") or {}).get("findings", [])) if isinstance(result.get("findings"), Mapping) \
        else []
    detected = [f for f in findings if f.get("status", "detected") == "detected"]
    return {"red_flags": result.get("red_flags"), "findings": detected, "metrics": metrics, "quality": flags,
            "plan": result.get("plan"), "views": [v for v in ("side", "rear") if result.get(v)]}


def ensure_pdf(out_dir: Path, ev: Any, patient: Any, templates: Jinja2Templates) -> Path:
    """``report.pdf`` written by the evaluation; else a summary PDF rendered once with WeasyPrint."""
    pdf = out_dir / "report.pdf"
    if pdf.is_file():
        return pdf
    summary_pdf = out_dir / "summary.pdf"
    if summary_pdf.is_file():
        return summary_pdf
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - weasyprint is a dependency
        raise MissingDependency("PDF output needs WeasyPrint", hint="pip install weasyprint") from exc
    from backtorun.report.pdf_fetch import make_url_fetcher

    html = templates.get_template("report_print.html").render(
        ev=ev, patient=patient, summary=report_summary(ev.result or {}))
    tmp = summary_pdf.with_name(f".{summary_pdf.name}.{os.getpid()}.tmp")  # never a half-written PDF in place
    HTML(string=html, base_url=str(out_dir.resolve()) + "/",
         url_fetcher=make_url_fetcher([out_dir])).write_pdf(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, summary_pdf)
    return summary_pdf
