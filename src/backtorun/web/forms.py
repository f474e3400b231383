"""HTML forms generated from pydantic models (intake, test results), and form data parsed back into them.

The models (``backtorun.intake.Intake``, ``backtorun.assessment.TestResults``) are the single source of field
names, types, bounds and choices; this module only maps them to inputs: numbers keep their ``min``/``max``,
``Literal`` becomes a select, ``bool`` a checkbox, nested models a fieldset, tuples of models a few rows.
How the fields are shown (human labels, units, help text, sections) is data: ``form_layout.yaml``; a field it
does not name gets its name in words, the unit of its name's suffix and its Field description as help.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROWS_FOR_LISTS = 3
LAYOUT_FILE = Path(__file__).resolve().parent / "form_layout.yaml"


@dataclass
class FormField:
    name: str  # dotted path, e.g. "pain.now" or "psfs.0.score"
    label: str
    kind: str  # number, checkbox, select, tristate, date, text, textarea, list
    help: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: str = "any"
    choices: tuple[str, ...] = ()
    value: Any = None
    unit: str = ""


@dataclass
class FormGroup:
    name: str
    label: str
    fields: list[FormField] = field(default_factory=list)
    groups: list["FormGroup"] = field(default_factory=list)
    help: str = ""
    section: bool = False  # a titled section of the page (rendered as a heading), not a fieldset of the model

    @property
    def anchor(self) -> str:
        """An id for links to this group (letters, digits and dashes)."""
        return re.sub(r"[^a-z0-9]+", "-", (self.name or self.label).lower()).strip("-") or "form"

    def count_fields(self) -> int:
        return len(self.fields) + sum(g.count_fields() for g in self.groups)


@dataclass(frozen=True)
class Layout:
    """The wording and grouping of one model's form (from ``form_layout.yaml``)."""

    labels: Mapping[str, str]
    units: Mapping[str, str]
    help: Mapping[str, str]
    rows: Mapping[str, str]
    sections: Mapping[str, list[Mapping[str, Any]]]
    suffix_units: Mapping[str, str]

    def _get(self, table: Mapping[str, str], path: str) -> str | None:
        for key in _generic_paths(path):
            if key in table:
                return table[key]
        return None

    def label(self, path: str, name: str) -> str:
        return self._get(self.labels, path) or _words(_strip_unit_suffix(name, self.suffix_units))

    def unit(self, path: str, name: str) -> str:
        given = self._get(self.units, path)
        if given is not None:
            return given
        for suffix in sorted(self.suffix_units, key=len, reverse=True):
            if name.endswith(suffix):
                return self.suffix_units[suffix]
        return ""

    def help_text(self, path: str, info: FieldInfo | None) -> str:
        given = self._get(self.help, path)
        if given is not None:
            return given
        return (info.description or "") if info is not None else ""


def _generic_paths(path: str) -> list[str]:
    """``hhd.0.left`` → [``hhd.0.left``, ``hhd.*.left``]; ``thomas.left.hip_angle_deg`` → also ``thomas.*.hip_angle_deg``."""
    parts = path.split(".")
    rows = [("*" if p.isdigit() else p) for p in parts]
    sides = [("*" if p.isdigit() or (p in ("left", "right") and i < len(parts) - 1) else p) for i, p in enumerate(parts)]
    out = [path]
    for cand in (".".join(rows), ".".join(sides)):
        if cand not in out:
            out.append(cand)
    return out


def _words(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _strip_unit_suffix(name: str, suffix_units: Mapping[str, str]) -> str:
    for suffix in sorted(suffix_units, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@functools.lru_cache(maxsize=4)
def _layout_data(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def load_layout(model: type[BaseModel], path: Path | None = None) -> Layout:
    """The layout of ``model`` (by class name) from ``form_layout.yaml``; an empty layout for other models."""
    data = _layout_data(str(path or LAYOUT_FILE))
    spec = (data.get("models") or {}).get(model.__name__) or {}
    return Layout(labels=spec.get("labels") or {}, units=spec.get("units") or {}, help=spec.get("help") or {},
                  rows=spec.get("rows") or {}, sections=spec.get("sections") or {},
                  suffix_units=data.get("units") or {})


def _unwrap_optional(ann: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return ann, False


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = float(m.ge)
        elif isinstance(m, annotated_types.Gt):
            lo = float(m.gt)
        elif isinstance(m, annotated_types.Le):
            hi = float(m.le)
        elif isinstance(m, annotated_types.Lt):
            hi = float(m.lt)
    return lo, hi


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _plain(text: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split()
    return " ".join(words[1:] if words and words[0] in ("a", "an", "the") else words)


def _says_no_more(help_text: str, label: str, slack_chars: int = 12) -> bool:
    """True when a Field description only repeats the label (give or take an article, punctuation, a unit)."""
    h, lab = _plain(help_text), _plain(label)
    return bool(h) and lab in h and len(h) - len(lab) <= slack_chars


def _docstring_title(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip().split("\n", 1)[0].rstrip(".")
    return doc if doc and len(doc) <= 60 else ""


def build_form(model: type[BaseModel], values: Mapping[str, Any] | None = None, prefix: str = "",
               label: str = "", *, layout: Layout | None = None) -> FormGroup:
    """The form tree for ``model``, filled with ``values`` (a dict as produced by ``model_dump``), its fields
    worded and grouped in sections by ``layout`` (default: the model's entry in ``form_layout.yaml``)."""
    top = layout is None
    layout = layout or load_layout(model)
    group = _build(model, values or {}, prefix, label, layout)
    return _sectioned(group, layout) if top else group


def _build(model: type[BaseModel], values: Mapping[str, Any], prefix: str, label: str, layout: Layout) -> FormGroup:
    group = FormGroup(name=prefix.rstrip("."), label=label)
    for name, info in model.model_fields.items():
        ann, optional = _unwrap_optional(info.annotation)
        path = f"{prefix}{name}"
        value = values.get(name) if isinstance(values, Mapping) else None
        origin = typing.get_origin(ann)
        if _is_model(ann):
            sub = _build(ann, value if isinstance(value, Mapping) else {}, path + ".",
                         layout._get(layout.labels, path) or info.description or _docstring_title(ann)
                         or _words(name), layout)
            sub.help = layout._get(layout.help, path) or ""
            group.groups.append(sub)
            continue
        if origin is tuple:
            inner = typing.get_args(ann)[0]
            if _is_model(inner):
                rows = list(value or [])
                n = max(ROWS_FOR_LISTS, len(rows))
                sub = FormGroup(name=path, label=layout._get(layout.labels, path) or info.description or _words(name),
                                help=layout._get(layout.help, path) or "")
                row_label = layout._get(layout.rows, path) or _words(name)
                for i in range(n):
                    sub.groups.append(_build(inner, rows[i] if i < len(rows) else {}, f"{path}.{i}.",
                                             f"{row_label} {i + 1}", layout))
                group.groups.append(sub)
            else:
                group.fields.append(FormField(path, layout.label(path, name), "list",
                                              help=layout.help_text(path, None) or "Separate several with commas.",
                                              value=", ".join(map(str, value or []))))
            continue
        f = FormField(path, layout.label(path, name), "text", help=layout.help_text(path, info),
                      required=info.is_required(), value=value, unit=layout.unit(path, name))
        if origin is Literal:
            f.kind = "select"
            f.choices = tuple(str(a) for a in typing.get_args(ann))
        elif ann is bool:
            f.kind = "tristate" if optional else "checkbox"
        elif ann in (int, float):
            f.kind = "number"
            f.minimum, f.maximum = _bounds(info)
            f.step = "1" if ann is int else "any"
        elif ann is dt.date:
            f.kind = "date"
        elif ann is str and name in ("notes",):
            f.kind = "textarea"
        if f.kind not in ("number",):
            f.unit = layout._get(layout.units, path) or ""
        if _says_no_more(f.help, f.label):
            f.help = ""
        group.fields.append(f)
    return group


def _sectioned(group: FormGroup, layout: Layout) -> FormGroup:
    """Regroup the fields and sub-groups of ``group`` (and of nested groups named in the layout) into sections."""
    for sub in group.groups:
        _sectioned(sub, layout)
    specs = layout.sections.get(group.name)
    if not specs:
        return group
    by_name: dict[str, FormField | FormGroup] = {}
    order: list[str] = []
    for item in [*group.fields, *group.groups]:
        short = item.name.rsplit(".", 1)[-1]
        by_name[short] = item
        order.append(short)
    sections: list[FormGroup] = []
    for i, spec in enumerate(specs):
        sec = FormGroup(name=f"{group.name + '.' if group.name else ''}section-{i + 1}", label=str(spec["title"]),
                        help=str(spec.get("help") or ""), section=not group.name)
        for short in spec.get("fields") or []:
            item = by_name.pop(str(short), None)
            if isinstance(item, FormGroup):
                sec.groups.append(item)
            elif item is not None:
                sec.fields.append(item)
        if sec.fields or sec.groups:
            sections.append(sec)
    left = [by_name[s] for s in order if s in by_name]
    if left:
        other = FormGroup(name=f"{group.name + '.' if group.name else ''}section-other", label="Other",
                          section=not group.name)
        other.fields = [x for x in left if isinstance(x, FormField)]
        other.groups = [x for x in left if isinstance(x, FormGroup)]
        sections.append(other)
    group.fields, group.groups = [], sections
    return group


def parse_form(model: type[BaseModel], form: Mapping[str, str]) -> dict[str, Any]:
    """Flat form data → nested dict for ``model.model_validate`` (empty inputs and empty sub-forms left out; a row
    of a list whose required numbers are all empty, e.g. a PSFS activity without a score, is left out too)."""
    return _parse(model, form, "")


def _required_numbers(model: type[BaseModel]) -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        ann, _ = _unwrap_optional(info.annotation)
        if info.is_required() and ann in (int, float):
            out.append(name)
    return out


def _parse(model: type[BaseModel], form: Mapping[str, str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ann, _optional = _unwrap_optional(info.annotation)
        path = f"{prefix}{name}"
        origin = typing.get_origin(ann)
        if _is_model(ann):
            sub = _parse(ann, form, path + ".")
            if sub:
                out[name] = sub
            continue
        if origin is tuple:
            inner = typing.get_args(ann)[0]
            if _is_model(inner):
                needed = _required_numbers(inner)
                rows = []
                i = 0
                while any(k.startswith(f"{path}.{i}.") for k in form):
                    row = _parse(inner, form, f"{path}.{i}.")
                    if row and (not needed or any(n in row for n in needed)):
                        rows.append(row)
                    i += 1
                if rows:
                    out[name] = rows
            else:
                raw = form.get(path, "")
                items = [p.strip() for p in raw.split(",") if p.strip()]
                if items:
                    out[name] = items
            continue
        if ann is bool and not _optional:
            if form.get(path) in ("on", "true", "1", "yes"):
                out[name] = True
            continue
        raw = form.get(path)
        if raw is None or str(raw).strip() == "":
            continue
        raw = str(raw).strip()
        if ann is bool:
            out[name] = raw in ("on", "true", "1", "yes")
        else:
            out[name] = raw
    return out


def error_lines(exc: Exception) -> list[str]:
    """Field-level problems from a validation error (uses the intake area's wording when available)."""
    problems = getattr(exc, "problems", None)
    if problems:
        return list(problems)
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors()]
    return [str(exc)]
