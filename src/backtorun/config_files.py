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


#: Leading bytes of file formats sometimes given where a YAML/JSON text file is expected.
_FORMAT_MAGIC = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF", "a PDF document"),
                 (b"PK\x03\x04", "a ZIP archive (an .xlsx or .docx document?)"),
                 (b"\xd0\xcf\x11\xe0", "a legacy Office document (.xls/.doc)"), (b"{\\rtf", "an RTF document"))


def describe_non_text(data: bytes) -> str | None:
    """What ``data`` is when it is not UTF-8 text (e.g. "UTF-16 text", "a PNG image", "a binary file"), or None.

    A UTF-16/32 byte-order mark (or the zero bytes of BOM-less UTF-16) names the encoding; known leading bytes name
    the format; anything else that does not decode as UTF-8 is "a binary file"."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32 text"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text"
    for magic, what in _FORMAT_MAGIC:
        if data.startswith(magic):
            return what
    head = data[:4096]
    if len(head) >= 4 and head.count(b"\x00") * 3 >= len(head) and (head[1::2].count(0) > len(head) // 3
                                                                     or head[0::2].count(0) > len(head) // 3):
        return "UTF-16 text (without a byte-order mark)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "a binary file (or text in an encoding other than UTF-8)"
    return "a binary file" if "\x00" in text else None


def read_text_file(path: str | Path, what: str) -> str:
    """The UTF-8 text of a user's configuration file; one-line ConfigError when it is missing, a folder,
    unreadable or not text (named by :func:`describe_non_text`: UTF-16, an image, a document, a binary file)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{what} file not found: {p}", hint="check the path")
    if p.is_dir():
        raise ConfigError(f"{what} file {p} is a folder", hint="give the YAML file itself")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {p}: {exc.strerror or exc.__class__.__name__}",
                          hint="check the file's permissions") from None
    kind = describe_non_text(data)
    if kind is not None:
        raise ConfigError(f"{what} file {p} is {kind}, not a YAML text file", hint="save it as UTF-8 YAML")
    return data.decode("utf-8-sig")


def read_override(path: str | Path, what: str) -> dict[str, Any]:
    """Keys of a user's YAML override file; ConfigError naming ``what`` when unreadable or not a mapping."""
    text = read_text_file(path, what)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
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
