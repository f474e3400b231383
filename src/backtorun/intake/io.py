"""Read and validate intake files (YAML or JSON) and web-form dictionaries, with actionable one-line errors."""

from __future__ import annotations

import difflib
import json
import re
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from backtorun.config_files import describe_non_text
from backtorun.errors import BadIntake
from backtorun.intake.model import Intake

MAX_INTAKE_BYTES = 1_000_000


ModelT = TypeVar("ModelT", bound=BaseModel)


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """Turn pydantic errors into ``field.path: what is wrong (got X)`` lines, suggesting near field names."""
    lines: list[str] = []
    # unknown (misspelt) fields first: they usually explain the "missing" errors that follow
    for err in sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden"):
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            hint = _suggest(model, err["loc"])
            msg = f"unknown field{hint}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        got = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, (dict, list)):
            msg = f"{msg} (got {got!r})"
        lines.append(f"{loc}: {msg}")
    return lines


def _suggest(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        current = _model_in(getattr(field, "annotation", None))
    names = list(getattr(current, "model_fields", {}).keys()) if current is not None else []
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.5)
    return f" — did you mean '{close[0]}'?" if close else ""


def _model_in(ann: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Model | None`` or ``tuple[Model, ...]``."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in typing.get_args(ann):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def bad_input(kind_error: type[Exception], source: str, lines: list[str]) -> Exception:
    """One line: the first problem, plus how many more."""
    more = f" (and {len(lines) - 1} more problem{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
    err = kind_error(f"{source}: {lines[0]}{more}", hint="fix the field and run the check again")
    err.problems = lines  # type: ignore[attr-defined]
    return err


def read_mapping(path: str | Path, error: type[Exception]) -> Mapping[str, Any]:
    """Read a YAML or JSON file that must hold a mapping."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: file not found", hint="check the path")
    if p.stat().st_size > MAX_INTAKE_BYTES:
        raise error(f"{p}: file is larger than {MAX_INTAKE_BYTES // 1000} kB", hint="is this the right file?")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc.__class__.__name__})",
                    hint="check the file's permissions") from exc
    kind = describe_non_text(raw)
    if kind is not None:
        raise error(f"{p} is {kind}, not a YAML or JSON text file",
                    hint="save it as UTF-8 YAML or JSON text (in a text editor: Save as, encoding UTF-8)")
    text = raw.decode("utf-8-sig")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else (f" at line {exc.lineno}" if hasattr(exc, "lineno") else "")
        raise error(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}{where}",
                    hint="check indentation and colons") from exc
    if not isinstance(data, Mapping):
        raise error(f"{p}: must contain a mapping of field: value, got {type(data).__name__}",
                    hint="see samples/sample_intake.yaml for the layout")
    return data


def validate_input(model: type[ModelT], data: Mapping[str, Any], error: type[Exception], source: str) -> ModelT:
    """``model`` validated from ``data``; a pydantic error becomes ``error`` with a field-level one-line message."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise bad_input(error, source, describe_validation_error(exc, model)) from exc


def parse_intake(data: Mapping[str, Any], *, source: str = "intake") -> Intake:
    """Validate a dictionary (web form, JSON body) as an :class:`Intake`; raise :class:`BadIntake` on problems."""
    return validate_input(Intake, data, BadIntake, source)


def load_intake(path: str | Path) -> Intake:
    """Read an intake YAML/JSON file and validate it. Raises :class:`BadIntake` with a field-level message."""
    return parse_intake(read_mapping(path, BadIntake), source=str(path))


_LIST_FIELDS = {"aggravating", "easing", "prior_running_injuries", "medications"}
_CODE_LIST_FIELDS = {"flags"}  # clearance.<i>.flags: rule codes separated by commas, spaces or lines


def intake_from_form(form: Mapping[str, Any]) -> Intake:
    """Build an :class:`Intake` from flat web-form fields.

    Keys use dots for nesting (``pain.now``, ``red_flags.saddle_numbness``); empty strings are treated as not
    given; checkbox values "on"/"true"/"1" are true; list fields (aggravating, easing, prior_running_injuries,
    medications) accept one item per line or a list; PSFS rows use ``instruments.psfs.<i>.activity/score``;
    clearance rows use ``clearance.<i>.who/when/why/flags`` (flags: rule codes separated by commas).
    Raises :class:`BadIntake` with the field path of the first problem.
    """
    nested: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
            if value.lower() in ("on", "true", "yes"):
                value = True
            elif value.lower() in ("off", "false", "no"):
                value = False
        leaf = key.rsplit(".", 1)[-1]
        if leaf in _LIST_FIELDS and isinstance(value, str):
            value = [v.strip() for v in value.splitlines() if v.strip()]
        elif leaf in _CODE_LIST_FIELDS and isinstance(value, str):
            value = [v for v in re.split(r"[\s,;]+", value) if v]
        parts = key.split(".")
        cur: dict[str, Any] = nested
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = value
    psfs = nested.get("instruments", {}).get("psfs")
    if isinstance(psfs, dict):
        nested["instruments"]["psfs"] = [r for r in _rows(psfs) if r.get("activity")]
    if isinstance(nested.get("clearance"), dict):
        nested["clearance"] = [r for r in _rows(nested["clearance"]) if r]
    return parse_intake(nested, source="form")


def _rows(indexed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Form rows ``{"0": {...}, "1": {...}}`` as a list in index order (non-mapping entries dropped)."""
    keys = sorted(indexed, key=lambda k: int(k) if str(k).isdigit() else 0)
    return [indexed[k] for k in keys if isinstance(indexed[k], dict)]
