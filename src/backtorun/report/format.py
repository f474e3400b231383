"""Formatting for the report: units and labels from metric keys, numbers, citations, nested data for display.

Metric keys carry their unit as a suffix (``cadence_spm``, ``hip_extension_deg``; conventions.py); labels and
display bands come from ``normal_ranges.yaml`` and citations from ``references.yaml`` (both shipped here).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote_plus, urlsplit

import yaml

from backtorun.errors import ConfigError


def report_yaml(name: str) -> dict[str, Any]:
    """A YAML file shipped with the report package (``runner.yaml``, ``synthesis.yaml``); empty file = ``{}``.

    One-line ConfigError when it cannot be read or parsed (a packaging problem: reinstall)."""
    try:
        data = yaml.safe_load(resources.files("backtorun.report").joinpath(name).read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read report {name}: {exc}", hint="reinstall backtorun") from exc
    return data or {}


@lru_cache(maxsize=4)
def load_ranges(path: str | None = None) -> dict[str, Any]:
    """Display bands and curve labels (``normal_ranges.yaml`` in the package, or a clinic's own file)."""
    try:
        text = Path(path).read_text(encoding="utf-8") if path else (
            resources.files("backtorun.report").joinpath("normal_ranges.yaml").read_text(encoding="utf-8"))
        data = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read normal-range file {path or 'normal_ranges.yaml'}: {exc}",
                          hint="check the path and YAML syntax") from exc
    if not isinstance(data.get("metrics", {}), dict):
        raise ConfigError("normal-range file must have a 'metrics' mapping")
    return {"metrics": data.get("metrics", {}), "curves": data.get("curves", {}), "fields": data.get("fields", {})}


@lru_cache(maxsize=1)
def load_references() -> dict[str, dict[str, Any]]:
    """The citation list (domain reference §11), keyed by citation id ("1" … "104")."""
    text = resources.files("backtorun.report").joinpath("references.yaml").read_text(encoding="utf-8")
    return {str(k): v for k, v in (yaml.safe_load(text) or {}).get("references", {}).items()}


def reference_key(source: Any) -> str | None:
    """Citation id as used in the list: "54b" → "54"; anything without a number → None."""
    m = re.match(r"\s*\[?(\d+)", str(source))
    return m.group(1) if m else None


_UNIT_SUFFIXES = {"_Nm_per_kg": "N·m/kg", "_N_per_kg": "N/kg", "_spm": "spm", "_ms": "ms", "_s": "s", "_cm": "cm", "_m": "m", "_deg": "°", "_pct": "%",
                  "_mps": "m/s", "_kmh": "km/h", "_km": "km", "_hz": "Hz", "_kg": "kg", "_min": "min", "_days": "days", "_reps": "reps",
                  "_nm": "N·m", "_n": "N", "_bpm": "bpm"}


_KEY = re.compile(r"^([a-z][A-Za-z0-9_]*)(.*)$")


def _split_key(name: str) -> tuple[str, str]:
    """"hip_extension_deg (L)" → ("hip_extension_deg", " (L)"); "with findings" → ("with findings", "")."""
    m = _KEY.match(name)
    if m and "_" in m.group(1):
        return m.group(1), m.group(2)
    return name, ""


def unit_of(name: str, ranges: Mapping[str, Any] | None = None) -> str:
    name, rest = _split_key(name)
    if "share" in rest:
        return "%"
    if ranges and name in ranges and ranges[name].get("unit") is not None:
        return str(ranges[name]["unit"])
    for suffix, unit in _UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return ""


def label_of(name: str, ranges: Mapping[str, Any] | None = None) -> str:
    """Readable label of a metric key; extra words after the metric name are kept ("… (L)", "… L–R difference")."""
    base_name, rest = _split_key(name)
    if ranges and base_name in ranges and ranges[base_name].get("label"):
        return str(ranges[base_name]["label"]) + rest
    fields = field_labels()
    if base_name in fields:
        return str(fields[base_name]) + rest
    base = base_name
    for suffix in sorted(_UNIT_SUFFIXES, key=len, reverse=True):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("_", " ").strip().capitalize() + rest


@lru_cache(maxsize=1)
def field_labels() -> dict[str, str]:
    """Labels of non-metric value keys (test values, load figures) from the ``fields`` map of normal_ranges.yaml."""
    fields = load_ranges().get("fields") or {}
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, Mapping) else {}


def fmt_text(value: str) -> str:
    """A snake_case value ("hip_abduction", "treadmill_only") in words; other text unchanged."""
    return value.replace("_", " ") if re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", value) else value


def fmt_number(value: Any, digits: int | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return "—"
    if digits is None:
        a = abs(f)
        digits = 0 if a >= 100 else 1 if a >= 1 else 2
    return f"{f:.{digits}f}"


def fmt_quantity(name: str, value: Any, ranges: Mapping[str, Any] | None = None) -> str:
    """A value with its unit from the key's suffix; strings (e.g. thresholds "< 10°") are shown as given."""
    if isinstance(value, str):
        if "share" in _split_key(name)[1]:  # a threshold on a share written as a fraction: ">= 0.6" → ">= 60%"
            return re.sub(r"(?<![\d.])(0(?:\.\d+)?|1(?:\.0+)?)(?![\d.%])",
                          lambda m: f"{100 * float(m.group(1)):g}%", value)
        return fmt_text(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{label_of(str(k), ranges).lower()} {fmt_quantity(str(k), v, ranges)}"
                         for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        shown = [fmt_quantity(name, x, ranges) for x in value[:3]]
        more = f" (+{len(value) - 3} more)" if len(value) > 3 else ""
        return ("; " if any(isinstance(x, Mapping) for x in value) else ", ").join(shown) + more
    unit = unit_of(name, ranges)
    if unit == "%" and "share" in _split_key(name)[1] and isinstance(value, (int, float)):
        value = 100.0 * float(value)
    text = fmt_number(value)
    if text == "—" or not unit:
        return text
    return f"{text}{unit}" if unit in ("°", "%") else f"{text} {unit}"


def fmt_pairs(d: Mapping[str, Any] | None, ranges: Mapping[str, Any],
              thresholds: Mapping[str, Any] | None = None) -> list[str]:
    """{"cadence_spm": 158.2} → ["Cadence 158 spm"]; with thresholds: "Cadence 158 spm (threshold < 164 spm)"."""
    out = []
    d = dict(d or {})
    given_unit = d.pop("unit", None) if isinstance(d.get("unit"), str) else None
    has_summary = any(isinstance(v, Mapping) for v in d.values())
    for k, v in d.items():
        if v is None or k in HIDDEN_VALUE_KEYS:
            continue
        if has_summary and isinstance(v, (list, tuple)) and v and all(isinstance(x, Mapping) for x in v):
            continue  # the per-item list repeats the summary item ("worst") already shown
        if given_unit and k in ("left", "right", "value") and isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(f"{label_of(k, ranges)} {fmt_number(v)} {given_unit}")
            continue
        if isinstance(v, Mapping):
            inner = ", ".join(f"{sk} {fmt_quantity(k, sv, ranges)}" if sk in ("L", "R", "left", "right")
                              else f"{label_of(str(sk), ranges).lower()} {fmt_quantity(str(sk), sv, ranges)}"
                              for sk, sv in v.items() if sv is not None and sk not in HIDDEN_VALUE_KEYS)
            text = f"{label_of(k, ranges)}: {inner}"
        else:
            text = f"{label_of(k, ranges)} {fmt_quantity(k, v, ranges)}"
        thr = (thresholds or {}).get(k)
        if thr is not None:
            text += f" (threshold {fmt_quantity(k, thr, ranges)})"
        out.append(text)
    return out


#: Value keys not shown beside a finding (already in its title, or bookkeeping).
HIDDEN_VALUE_KEYS = frozenset({"muscle", "device", "session_id", "flag", "partial"})


def humanise(key: str) -> str:
    return label_of(str(key))


@dataclass
class Refs:
    """Collects cited ids while the view is built, so the references list holds only what the report cites."""

    table: Mapping[str, Mapping[str, Any]]
    used: set[str] = field(default_factory=set)

    def cite(self, sources: Iterable[Any]) -> list[str]:
        keys = []
        for s in sources or ():
            k = reference_key(s)
            if k is not None and k in self.table:
                self.used.add(k)
                keys.append(k)
        return sorted(set(keys), key=int)

    def note_text(self, text: str) -> None:
        """Mark the ids cited inline in free text ("… [23][24]", "[2, 24]") as used."""
        for k in cited_ids(text):
            if k in self.table:
                self.used.add(k)

    def listing(self) -> list[dict[str, Any]]:
        return [{"id": k, "citation": self.table[k].get("citation", ""), "links": reference_links(self.table[k]),
                 "note": self.table[k].get("note")} for k in sorted(self.used, key=int)]


_CITE = re.compile(r"\[(\d+[a-z]?(?:\s*[,;]\s*\d+[a-z]?)*)\]")


def cited_ids(text: str) -> list[str]:
    """Citation ids in running text: "[23]", "[2, 24, 25]", "[60][60c]" → "23", "2", "24", "25", "60" (sub-ids fold)."""
    out: list[str] = []
    for m in _CITE.finditer(text or ""):
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            k = reference_key(part)
            if k is not None and k not in out:
                out.append(k)
    return out


def reference_links(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """Links of one reference: DOI, PubMed, PubMed Central; a PubMed title search where no identifier is stored;
    an official web page for sources outside journals."""
    links: list[dict[str, str]] = []
    if entry.get("doi"):
        links.append({"label": f"doi:{entry['doi']}", "url": f"https://doi.org/{entry['doi']}"})
    if entry.get("pmid"):
        links.append({"label": f"PMID {entry['pmid']}", "url": f"https://pubmed.ncbi.nlm.nih.gov/{entry['pmid']}/"})
    for key in ("pmcid", "pmcid2"):
        if entry.get(key):
            links.append({"label": str(entry[key]), "url": f"https://pmc.ncbi.nlm.nih.gov/articles/{entry[key]}/"})
    if entry.get("pubmed_search") and not links:
        links.append({"label": "PubMed search",
                      "url": "https://pubmed.ncbi.nlm.nih.gov/?term=" + quote_plus(str(entry["pubmed_search"]))})
    if entry.get("web"):
        host = urlsplit(str(entry["web"])).hostname or str(entry["web"])
        links.append({"label": host.removeprefix("www."), "url": str(entry["web"])})
    return links


_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def readable(text: str, ranges: Mapping[str, Any] | None = None, titles: Mapping[str, str] | None = None) -> str:
    """Replace metric keys and rule codes in a sentence by their labels ("HIGH_VO not detected" → title)."""
    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if titles and tok in titles:
            return f"“{titles[tok]}”"
        if ranges and tok in ranges:
            return label_of(tok, ranges).lower()
        return tok
    return _TOKEN.sub(sub, text)
