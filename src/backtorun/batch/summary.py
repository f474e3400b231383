"""The batch summary: one row per video with its status, error, key metrics (summary means) and quality flags."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from backtorun.batch.manifest import VideoJob
from backtorun.conventions import REAR_VIEW_METRICS, SIDE_VIEW_METRICS
from backtorun.outputs import atomic_write

#: Metric columns, in this order (side-view metrics first, then the rear-view ones); any further metric an
#: analysis reports is appended in alphabetical order.
METRIC_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(SIDE_VIEW_METRICS + REAR_VIEW_METRICS))
BASE_COLUMNS: tuple[str, ...] = (
    "id", "video", "patient_id", "status", "error_type", "error", "view_requested", "view", "height_cm",
    "speed_mps", "quality_flags", "quality_errors", "elapsed_s", "cpu_s", "worker", "worker_peak_rss_mb", "finished_at",
    "sha256",
)
#: Status values: ``ok`` analysed in this run, ``skipped`` finished in an earlier run with the same input and
#: options (its metrics are repeated), ``failed`` see ``error``, ``pending`` not finished (the run was interrupted).
STATUSES: tuple[str, ...] = ("ok", "skipped", "failed", "pending")


def summary_row(job: VideoJob, record: Mapping[str, Any] | None, status: str) -> dict[str, Any]:
    """One summary row from a job and its record (``done.json`` / ``error.json`` content, or None if pending)."""
    rec = record or {}
    flags = rec.get("quality_flags") or []
    row: dict[str, Any] = {
        "id": job.id,
        "video": str(job.video),
        "patient_id": job.patient_id or "",
        "status": status,
        "error_type": rec.get("error_type", ""),
        "error": rec.get("error", ""),
        "view_requested": job.view,
        "view": rec.get("view", ""),
        "height_cm": job.height_cm if job.height_cm is not None else "",
        "speed_mps": round(job.speed_mps, 4) if job.speed_mps is not None else "",
        "quality_flags": ";".join(f["code"] for f in flags),
        "quality_errors": ";".join(f["code"] for f in flags if f.get("severity") == "error"),
        "elapsed_s": rec.get("elapsed_s", ""),
        "cpu_s": rec.get("cpu_s", ""),
        "worker": rec.get("worker", ""),
        "worker_peak_rss_mb": rec.get("worker_peak_rss_mb", ""),
        "finished_at": rec.get("finished_at", ""),
        "sha256": rec.get("sha256", ""),
    }
    for name, value in (rec.get("metrics") or {}).items():
        row[name] = "" if value is None else value
    for name, value in job.extra.items():
        row.setdefault(name, value)
    return row


def columns_for(rows: Sequence[Mapping[str, Any]], extra_columns: Iterable[str]) -> list[str]:
    """Header: base columns, known metric columns, further metrics, then the manifest's extra columns."""
    extras = list(dict.fromkeys(extra_columns))
    seen = set(BASE_COLUMNS) | set(METRIC_COLUMNS) | set(extras)
    further = sorted({k for r in rows for k in r if k not in seen})
    return [*BASE_COLUMNS, *METRIC_COLUMNS, *further, *extras]


def write_summary_csv(path: Path, rows: Sequence[Mapping[str, Any]], extra_columns: Iterable[str] = ()) -> Path:
    """Write the summary CSV with the project's atomic writer (:func:`backtorun.outputs.atomic_write`): a full disk
    or a read-only folder is one :class:`~backtorun.outputs.OutputError` line and the previous summary stays intact;
    empty cell = not available."""
    header = columns_for(rows, extra_columns)

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, restval="", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)
