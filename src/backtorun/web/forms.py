"""HTML forms generated from pydantic models (intake, test results), and form data parsed back into them.

The models (``backtorun.intake.Intake``, ``backtorun.assessment.TestResults``) are the single source of field
names, types, bounds and choices; this module only maps them to inputs: numbers keep their ``min``/``max``,
``Literal`` becomes a select, ``bool`` a checkbox, nested models a fieldset, tuples of models a few rows.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROWS_FOR_LISTS = 3


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


@dataclass
class FormGroup:
    name: str
    label: str
    fields: list[FormField] = field(default_factory=list)
    groups: list["FormGroup"] = field(default_factory=list)


def _label(name: str) -> str:
    text = name.replace("_", " ")
    for unit, word in (("pct", "%"), ("deg", "°"), (" kmh", " km/h"), (" kg", " kg"), (" cm", " cm"),
                       (" km", " km"), (" s", " s"), (" min", " min")):
        if text.endswith(" " + unit.strip()) or text.endswith(unit):
            text = text[: -len(unit.strip())].rstrip() + f" ({word.strip()})"
            break
    return text[:1].upper() + text[1:]


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


def build_form(model: type[BaseModel], values: Mapping[str, Any] | None = None, prefix: str = "",
               label: str = "") -> FormGroup:
    """The form tree for ``model``, filled with ``values`` (a dict as produced by ``model_dump``)."""
    values = values or {}
    group = FormGroup(name=prefix.rstrip("."), label=label)
    for name, info in model.model_fields.items():
        ann, optional = _unwrap_optional(info.annotation)
        path = f"{prefix}{name}"
        value = values.get(name) if isinstance(values, Mapping) else None
        origin = typing.get_origin(ann)
        if _is_model(ann):
            group.groups.append(build_form(ann, value if isinstance(value, Mapping) else {}, path + ".",
                                           info.description or _label(name)))
            continue
        if origin is tuple:
            inner = typing.get_args(ann)[0]
            if _is_model(inner):
                rows = list(value or [])
                n = max(ROWS_FOR_LISTS, len(rows))
                sub = FormGroup(name=path, label=info.description or _label(name))
                for i in range(n):
                    sub.groups.append(build_form(inner, rows[i] if i < len(rows) else {}, f"{path}.{i}.",
                                                 f"{_label(name)} {i + 1}"))
                group.groups.append(sub)
            else:
                group.fields.append(FormField(path, _label(name), "list", help="comma-separated",
                                              value=", ".join(map(str, value or []))))
            continue
        f = FormField(path, _label(name), "text", help=info.description or "", required=info.is_required(),
                      value=value)
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
        group.fields.append(f)
    return group


def parse_form(model: type[BaseModel], form: Mapping[str, str]) -> dict[str, Any]:
    """Flat form data → nested dict for ``model.model_validate`` (empty inputs and empty sub-forms left out)."""
    return _parse(model, form, "")


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
                rows = []
                i = 0
                while any(k.startswith(f"{path}.{i}.") for k in form):
                    row = _parse(inner, form, f"{path}.{i}.")
                    if row:
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
