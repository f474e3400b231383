"""Report-generation time for a full evaluation (the shipped demo: side + rear view, intake, tests, logs, plan).

Usage: ``.venv/bin/python benchmarks/report.py [--repeats 3]``

Builds the demo Evaluation once, then times, in the same run and on the same data:
  json   — Evaluation → evaluation.json text (baseline: serialisation only)
  html   — plots + clinician and runner HTML (no PDF)
  full   — plots + HTML + both PDFs (what ``backtorun report`` does; target < 3 s on 2 cores)
and prints the median of each with its ratio to the JSON baseline and to HTML-only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GLOG_minloglevel", "2")

from backtorun.evaluation import Evaluation  # noqa: E402
from backtorun.report.render import render_report  # noqa: E402
from backtorun.services.evaluation import run_demo  # noqa: E402

TARGET_S = 3.0


CPU: dict[str, list[float]] = {}


def _time(fn, repeats: int, name: str = "") -> list[float]:  # type: ignore[no-untyped-def]
    """Wall-clock seconds per run (CPU seconds of this process kept in CPU[name])."""
    out = []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        CPU.setdefault(name, []).append(time.process_time() - c0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        evaluation = run_demo(root / "demo", pdf=False)
        evaluation = Evaluation.load(root / "demo" / "evaluation.json")  # as `backtorun report` sees it
        asset = root / "demo"
        # warm-up: imports, font discovery, template compilation (paid once per process)
        render_report(evaluation, root / "warm", asset_dir=asset, pdf=True)

        t_json = _time(lambda: json.dumps(evaluation.to_json_dict(), allow_nan=False), args.repeats, "json")
        t_html = _time(lambda: render_report(evaluation, root / "html", asset_dir=asset, pdf=False), args.repeats,
                       "html")
        t_full = _time(lambda: render_report(evaluation, root / "full", asset_dir=asset, pdf=True), args.repeats,
                       "full")
        pages = {name: _pdf_pages(root / "full" / f"{name}.pdf") for name in ("report", "runner")}

    med = {k: statistics.median(v) for k, v in (("json", t_json), ("html", t_html), ("full", t_full))}
    print(f"report generation, demo evaluation ({pages['report']} + {pages['runner']} PDF pages), "
          f"{os.cpu_count()} CPU cores, median of {args.repeats} after one warm-up run:")
    print(f"  json  (serialise only)        {med['json'] * 1000:8.1f} ms   1.0 × baseline")
    print(f"  html  (plots + HTML)          {med['html'] * 1000:8.1f} ms   {med['html'] / med['json']:7.0f} × json")
    print(f"  full  (plots + HTML + PDFs)   {med['full'] * 1000:8.1f} ms   {med['full'] / med['json']:7.0f} × json, "
          f"{med['full'] / med['html']:.2f} × html")
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print(f"  CPU time of this process (median): json {cpu['json'] * 1000:.1f} ms, html {cpu['html'] * 1000:.0f} ms, "
          f"full {cpu['full'] * 1000:.0f} ms")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  1-min load average during the run: {load:.1f} (wall times grow when other work shares the cores)")
    verdict = "meets" if med["full"] < TARGET_S else "MISSES"
    print(f"  target < {TARGET_S:.0f} s wall for the full report: {verdict}")
    return 0


def _pdf_pages(path: Path) -> int | str:
    """Page count from poppler's pdfinfo ("?" when it is not installed)."""
    try:
        out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    m = re.search(r"^Pages:\s+(\d+)", out, flags=re.M)
    return int(m.group(1)) if m else "?"


if __name__ == "__main__":
    raise SystemExit(main())
