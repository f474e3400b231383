"""Re-assessment: compare a patient's evaluations over time, marking changes larger than the measurement error.

A change between consecutive evaluations is *marked* when ``|Δ| > error`` where ``error`` is the configured
measurement error (``measurement_error.yaml``: Rule Q1 of domain.md §1.6 for angles, [14] for temporal metrics,
MIC/MDC for patient-reported outcomes) or, when larger, the combined uncertainty the analyses reported
(``sqrt(u1² + u2²)``). Without any known error the change is shown but never marked.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

CONFIG = Path(__file__).resolve().parent / "measurement_error.yaml"


@functools.lru_cache(maxsize=4)
def load_measurement_errors(path: str | None = None) -> dict[str, float]:
    data = yaml.safe_load(Path(path or CONFIG).read_text(encoding="utf-8")) or {}
    out: dict[str, float] = {}
    for section in ("metrics", "outcomes"):
        out.update({str(k): float(v) for k, v in (data.get(section) or {}).items()})
    return out


@dataclass
class Cell:
    value: float | None
    delta: float | None = None
    error: float | None = None
    marked: bool = False  # |delta| > error


@dataclass
class Row:
    key: str
    label: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Comparison:
    columns: list[tuple[int, str]]  # (evaluation id, heading)
    rows: list[Row]


def finite_float(v: Any) -> float | None:
    """``float(v)``, or None for anything not a finite number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def extract_values(result: Mapping[str, Any]) -> dict[str, tuple[float, float | None]]:
    """{row key: (value, reported uncertainty)} from an evaluation.json dictionary."""
    values: dict[str, tuple[float, float | None]] = {}
    for view in ("side", "rear"):
        analysis = result.get(view) or {}
        for metric, d in (analysis.get("summary_detail") or {}).items():
            mean = finite_float(d.get("mean"))
            if mean is not None:
                values[f"{view}:{metric}"] = (mean, finite_float(d.get("uncertainty")))
    intake = result.get("intake") or {}
    pain = intake.get("pain") or {}
    for k in ("now", "worst_24h", "during_run"):
        v = finite_float(pain.get(k))
        if v is not None:
            values[f"outcome:pain_{k}_nrs"] = (v, None)
    inst = intake.get("instruments") or {}
    psfs = [finite_float(a.get("score")) for a in inst.get("psfs") or []]
    psfs = [p for p in psfs if p is not None]
    if psfs:
        values["outcome:psfs_mean"] = (sum(psfs) / len(psfs), None)
    for k in ("odi_percent", "rmdq_score"):
        v = finite_float(inst.get(k))
        if v is not None:
            values[f"outcome:{k}"] = (v, None)
    return values


def _label(key: str) -> str:
    view, _, name = key.partition(":")
    return f"{name.replace('_', ' ')} ({view})"


def compare_evaluations(evaluations: Sequence[tuple[int, dt.datetime, str, Mapping[str, Any] | None]],
                        errors: Mapping[str, float] | None = None) -> Comparison:
    """One row per metric, one column per evaluation (oldest first); each cell against the previous one."""
    errors = dict(load_measurement_errors()) if errors is None else dict(errors)
    extracted = [extract_values(res or {}) for _, _, _, res in evaluations]
    keys = sorted({k for e in extracted for k in e}, key=lambda k: (not k.startswith("outcome"), k))
    rows: list[Row] = []
    for key in keys:
        row = Row(key=key, label=_label(key))
        prev: tuple[float, float | None] | None = None
        for vals in extracted:
            cur = vals.get(key)
            if cur is None:
                row.cells.append(Cell(None))
                continue
            cell = Cell(cur[0])
            if prev is not None:
                cell.delta = cur[0] - prev[0]
                configured = errors.get(key.partition(":")[2])
                reported = (math.hypot(prev[1], cur[1]) if prev[1] is not None and cur[1] is not None else None)
                known = [e for e in (configured, reported) if e is not None]
                cell.error = max(known) if known else None
                cell.marked = cell.error is not None and abs(cell.delta) > cell.error
            row.cells.append(cell)
            prev = cur
        rows.append(row)
    columns = [(eid, f"{created:%Y-%m-%d}" + (f" · {label}" if label else "")) for eid, created, label, _ in evaluations]
    return Comparison(columns=columns, rows=rows)
