"""Loading thresholds as data: packaged YAML defaults, overridden by a clinic's own YAML file, validated by pydantic.

Every stage that keeps its norms or cut-offs in a YAML file (test norms, load rules, red-flag rules, intake finding
rules, analysis settings) loads it through :func:`load_validated`, so a bad file always gives the same kind of
one-line ``ConfigError``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from backtorun.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def packaged_yaml(package: str, name: str) -> dict[str, Any]:
    """A YAML mapping shipped inside ``package`` (empty mapping for an empty file)."""
    data = yaml.safe_load(resources.files(package).joinpath(name).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):  # a packaging error, not a user error
        raise ConfigError(f"packaged file {package}/{name} must be a mapping")
    return data


def read_override(path: str | Path, what: str) -> dict[str, Any]:
    """Keys of a user's YAML override file; ConfigError naming ``what`` when unreadable or not a mapping."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.__class__.__name__}",
                          hint="check the path and YAML syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} file {path} must contain a mapping of name: value")
    return data


def validate(model: type[ModelT], data: Mapping[str, Any], what: str) -> ModelT:
    """``model(**data)``, turning the first validation error into a one-line ConfigError."""
    try:
        return model(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"invalid {what} {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def load_validated(model: type[ModelT], *, what: str, packaged: tuple[str, str] | None = None,
                   path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> ModelT:
    """Packaged defaults (``(package, file)``), then the keys of ``path``, then ``overrides``, validated by ``model``."""
    data: dict[str, Any] = packaged_yaml(*packaged) if packaged else {}
    if path is not None:
        data.update(read_override(path, what))
    if overrides:
        data.update(overrides)
    return validate(model, data, what)
