"""Re-assessment: compare a patient's evaluations over time, marking changes larger than the measurement error.

A change between consecutive evaluations is *marked* when ``|Δ| > error`` where ``error`` is the configured
measurement error (``measurement_error.yaml``: Rule Q1 of domain.md §1.6 for angles, [14] for temporal metrics,
MIC/MDC for patient-reported outcomes, SEM-based MDC95 = 1.96·√2·SEM or engineering defaults for the tests of §6)
or, when larger, the combined uncertainty the analyses reported (``sqrt(u1² + u2²)``). Without any known error
the change is shown but never marked. A marked change is *better* or *worse* where the configuration says which
direction is better for the measure (pain lower, endurance higher, …), else only *changed*.
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
SECTIONS = (("outcome", "Patient-reported outcomes"), ("test", "Strength and flexibility tests"),
            ("side", "Running technique, side view"), ("rear", "Running technique, rear view"))


@functools.lru_cache(maxsize=4)
def _config(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


@functools.lru_cache(maxsize=4)
def load_measurement_errors(path: str | None = None) -> dict[str, float]:
    data = _config(str(path or CONFIG))
    out: dict[str, float] = {}
    for section in ("metrics", "outcomes", "tests"):
        out.update({str(k): float(v) for k, v in (data.get(section) or {}).items()})
    return out


def load_better_directions(path: str | None = None) -> dict[str, str]:
    """{measure: "higher" | "lower"}: which way a change is an improvement (``better:`` in the configuration)."""
    data = _config(str(path or CONFIG))
    out = {str(k): str(v) for k, v in (data.get("better") or {}).items()}
    bad = {k: v for k, v in out.items() if v not in ("higher", "lower")}
    if bad:
        raise ValueError(f"measurement_error.yaml: 'better' must be higher or lower, not {bad}")
    return out


@dataclass
class Cell:
    value: float | None
    delta: float | None = None
    error: float | None = None
    marked: bool = False  # |delta| > error
    verdict: str = ""  # "better", "worse" or "changed" when marked; "" otherwise


@dataclass
class Row:
    key: str
    label: str
    cells: list[Cell] = field(default_factory=list)
    section: str = ""
    better: str = ""  # "higher", "lower" or "" (direction unknown)


@dataclass
class Comparison:
    columns: list[tuple[int, str]]  # (evaluation id, heading)
    rows: list[Row]

    def sections(self) -> list[tuple[str, list[Row]]]:
        """The rows grouped under their section headings, in display order (empty sections left out)."""
        titles = dict(SECTIONS)
        out = []
        for key, title in SECTIONS:
            rows = [r for r in self.rows if r.section == key]
            if rows:
                out.append((title, rows))
        other = [r for r in self.rows if r.section not in titles]
        if other:
            out.append(("Other", other))
        return out


def finite_float(v: Any) -> float | None:
    """``float(v)``, or None for anything not a finite number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def comparable_record(result: Mapping[str, Any] | None, intake: Mapping[str, Any] | None,
                      tests: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the comparison reads of one evaluation: its analysis result, with the intake and test results as
    recorded now (they may have been entered or corrected after the analysis, or without one)."""
    record = dict(result or {})
    if intake:
        record["intake"] = intake
    if tests:
        record["tests"] = tests
    return record


def _test_values(tests: Mapping[str, Any]) -> dict[str, float]:
    """{measure key: value} of the tests of §6 (T1–T5, T7, T8); sides kept apart, e.g. ``sorensen_hold_s``,
    ``thomas_hip_angle_left_deg``, ``hhd_hip_extension_left_nm``, ``aslr_total``."""
    out: dict[str, float] = {}

    def put(key: str, v: Any) -> None:
        f = finite_float(v)
        if f is not None:
            out[key] = f

    for side in ("left", "right"):
        thomas = (tests.get("thomas") or {}).get(side) or {}
        put(f"thomas_hip_angle_{side}_deg", thomas.get("hip_angle_deg"))
        put(f"thomas_knee_flexion_{side}_deg", thomas.get("knee_flexion_deg"))
        put(f"prone_hip_extension_{side}_deg", ((tests.get("prone_hip_extension") or {}).get(side) or {}).get("rom_deg"))
        put(f"single_leg_bridge_{side}_reps", (tests.get("single_leg_bridge") or {}).get(f"{side}_reps"))
    put("sorensen_hold_s", (tests.get("sorensen") or {}).get("hold_s"))
    mcgill = tests.get("mcgill") or {}
    for k in ("flexor_s", "extensor_s", "side_bridge_left_s", "side_bridge_right_s"):
        put(f"mcgill_{k}", mcgill.get(k))
    for row in tests.get("hhd") or []:
        unit = str(row.get("unit") or "N").lower().replace("/", "_per_")
        for side in ("left", "right"):
            put(f"hhd_{row.get('muscle', 'other')}_{side}_{unit}", row.get(side))
    aslr = tests.get("aslr") or {}
    if finite_float(aslr.get("left")) is not None and finite_float(aslr.get("right")) is not None:
        out["aslr_total"] = float(aslr["left"]) + float(aslr["right"])
    return out


def error_key(key: str) -> str:
    """The configuration name of a row key: prefix left out, and for tests the side too
    (``test:mcgill_side_bridge_left_s`` → ``mcgill_side_bridge_s``; both sides share one measurement error)."""
    section, _, name = key.partition(":")
    if section == "test":
        for side in ("_left", "_right"):
            name = name.replace(side, "")
    return name


def extract_values(result: Mapping[str, Any]) -> dict[str, tuple[float, float | None]]:
    """{row key: (value, reported uncertainty)} from an evaluation.json dictionary (or ``comparable_record``)."""
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
    tests = result.get("tests")
    if isinstance(tests, Mapping):
        values.update({f"test:{k}": (v, None) for k, v in _test_values(tests).items()})
    return values


LABELS = {
    "outcome:pain_now_nrs": "Pain now (NRS 0–10)", "outcome:pain_worst_24h_nrs": "Worst pain, 24 h (NRS 0–10)",
    "outcome:pain_during_run_nrs": "Pain during running (NRS 0–10)", "outcome:psfs_mean": "PSFS mean (0–10)",
    "outcome:odi_percent": "Oswestry index (%)", "outcome:rmdq_score": "Roland-Morris (0–24)",
    "test:sorensen_hold_s": "T3 Biering-Sørensen hold (s)", "test:aslr_total": "T8 ASLR total (0–10)",
}
_TEST_NAMES = {"thomas_hip_angle": "T1 Thomas, thigh angle", "thomas_knee_flexion": "T1 Thomas, knee flexion",
               "prone_hip_extension": "T2 prone hip extension", "single_leg_bridge": "T5 single-leg bridge",
               "mcgill_flexor": "T4 McGill flexors", "mcgill_extensor": "T4 McGill extensors",
               "mcgill_side_bridge": "T4 McGill side bridge"}
_UNITS = {"deg": "°", "s": "s", "reps": "reps", "nm": "Nm", "n": "N", "n_per_kg": "N/kg", "nm_per_kg": "Nm/kg"}


def _label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    view, _, name = key.partition(":")
    if view == "test":
        side = "left" if "_left" in name else "right" if "_right" in name else ""
        base, _, unit = name.replace("_left", "").replace("_right", "").rpartition("_")
        if name.startswith("hhd_") and side:
            muscle, unit = name[4:].split(f"_{side}_", 1)
            title = f"T7 dynamometry, {muscle.replace('_', ' ')}"
        else:
            title = _TEST_NAMES.get(base, base.replace("_", " "))
        return f"{title}{', ' + side if side else ''} ({_UNITS.get(unit, unit)})"
    return f"{name.replace('_', ' ')} ({view})"


def _verdict(delta: float, better: str) -> str:
    if better == "higher":
        return "better" if delta > 0 else "worse"
    if better == "lower":
        return "better" if delta < 0 else "worse"
    return "changed"


def compare_evaluations(evaluations: Sequence[tuple[int, dt.datetime, str, Mapping[str, Any] | None]],
                        errors: Mapping[str, float] | None = None,
                        better: Mapping[str, str] | None = None) -> Comparison:
    """One row per measure, one column per evaluation (oldest first); each cell against the previous value."""
    errors = dict(load_measurement_errors()) if errors is None else dict(errors)
    better = load_better_directions() if better is None else dict(better)
    extracted = [extract_values(res or {}) for _, _, _, res in evaluations]
    order = {key: i for i, (key, _) in enumerate(SECTIONS)}
    # tests in the order of domain.md §6 (their labels start T1…T8), the other sections by key
    keys = sorted({k for e in extracted for k in e},
                  key=lambda k: (order.get(k.partition(":")[0], 99), _label(k) if k.startswith("test:") else k))
    rows: list[Row] = []
    for key in keys:
        ekey = error_key(key)
        row = Row(key=key, label=_label(key), section=key.partition(":")[0], better=better.get(ekey, ""))
        prev: tuple[float, float | None] | None = None
        for vals in extracted:
            cur = vals.get(key)
            if cur is None:
                row.cells.append(Cell(None))
                continue
            cell = Cell(cur[0])
            if prev is not None:
                cell.delta = cur[0] - prev[0]
                configured = errors.get(ekey)
                reported = (math.hypot(prev[1], cur[1]) if prev[1] is not None and cur[1] is not None else None)
                known = [e for e in (configured, reported) if e is not None]
                cell.error = max(known) if known else None
                cell.marked = cell.error is not None and abs(cell.delta) > cell.error
                cell.verdict = _verdict(cell.delta, row.better) if cell.marked else ""
            row.cells.append(cell)
            prev = cur
        rows.append(row)
    columns = [(eid, f"{created:%Y-%m-%d}" + (f" · {label}" if label else "")) for eid, created, label, _ in evaluations]
    return Comparison(columns=columns, rows=rows)
