"""Frozen dataclasses back from their ``to_dict()`` JSON form (the parts of an ``evaluation.json``).

Each producer owns its part's ``to_dict``/``from_dict``; :func:`from_plain` is the shared reader behind the
``from_dict`` of the plan, test and training dataclasses. It follows the dataclass' own type hints: nested
dataclasses (or classes with ``from_dict``), ``tuple[X, ...]``, ``list[X]``, optionals and ISO dates. Keys that
are not fields (values a producer derives for readers, such as an exercise's ``dose``) are ignored; a required
field that is missing raises :class:`~backtorun.errors.InputError` naming the class and the field, so a part
written under another field name is refused rather than read as a silent default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any, Mapping, TypeVar, Union

from backtorun.errors import InputError

T = TypeVar("T")

__all__ = ["from_plain"]


def from_plain(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of the dataclass ``cls`` from its plain JSON dictionary (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise InputError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(f"{cls.__name__}: field '{f.name}' is missing",
                                 hint="the evaluation.json was written by another version; re-run the evaluation")
            continue
        kwargs[f.name] = _convert(hints.get(f.name, Any), data[f.name])
    return cls(**kwargs)


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and (dataclasses.is_dataclass(tp) or hasattr(tp, "from_dict"))


def _record(tp: type, value: Mapping[str, Any]) -> Any:
    reader = getattr(tp, "from_dict", None)
    return reader(value) if reader is not None else from_plain(tp, value)


def _convert(tp: Any, value: Any) -> Any:
    """``value`` (plain JSON) as the annotated type ``tp``; values of other types are kept as they are."""
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        records = [a for a in options if _is_record(a)]
        if records and isinstance(value, Mapping):
            return _record(records[0], value)
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is tuple and isinstance(value, (list, tuple)):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in value)
        return tuple(value)
    if origin is list and isinstance(value, (list, tuple)):
        return [_convert(args[0], v) for v in value] if args else list(value)
    if (origin in (dict, Mapping) or tp in (dict, Mapping)) and isinstance(value, Mapping):
        return dict(value)
    if tp is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if _is_record(tp) and isinstance(value, Mapping):
        return _record(tp, value)
    return value
