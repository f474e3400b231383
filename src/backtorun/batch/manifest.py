"""The list of videos a batch analyses: from a folder of videos or from a CSV manifest.

Manifest columns (CSV, UTF-8, header row; one row per video; empty cell = not given):

``video`` (required)
    Path of the video file; relative paths are relative to the manifest's folder.
``view``
    ``auto`` (default), ``side``, ``rear`` or ``front``.
``height_cm``
    Runner height in cm (``settings.HEIGHT_CM_MIN``–``HEIGHT_CM_MAX``); sets the pixel→metre scale (domain.md §1.4).
``speed``
    Belt speed with its unit, e.g. ``10 km/h``, ``6.2 mph``, ``2.8 m/s``, ``5:30 min/km``.
``speed_mps``
    Belt speed in m/s (give ``speed`` or ``speed_mps``, not both).
``patient_id``
    Free text (letters, digits, ``.``, ``_``, ``-``); prefixes the output folder and is copied to the summary.

Any other column (e.g. ``session``, ``condition``) is copied unchanged into the summary CSV. A column whose name
is close to a known one (``height`` for ``height_cm``) is rejected as a probable typo.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backtorun.errors import InputError
from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN
from backtorun.units import parse_pace, speed_to_mps

ViewChoice = Literal["auto", "side", "rear", "front"]

#: Video file name endings found when INPUT is a folder (case-insensitive).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mts", ".3gp")
MANIFEST_COLUMNS: tuple[str, ...] = ("video", "view", "height_cm", "speed", "speed_mps", "patient_id")
#: At most this many row errors are listed in one manifest error message.
_MAX_ROW_ERRORS_SHOWN = 5

_SPEED_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?|\d+:[0-5]\d)\s*([A-Za-z/ ]+?)\s*$")
_SAFE_ID_RE = re.compile(r"[^A-Za-z0-9._-]+")


class BadManifest(InputError):
    """A batch manifest (CSV) or input folder that cannot be used."""


@dataclass(frozen=True)
class VideoJob:
    """One video to analyse, with its analysis options and the name of its output folder (``id``)."""

    id: str
    video: Path
    view: ViewChoice = "auto"
    height_cm: float | None = None
    speed_mps: float | None = None
    patient_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def analysis_params(self) -> dict[str, object]:
        """The options that change the analysis result (a finished output is reused only if they match)."""
        return {"view": self.view, "height_cm": self.height_cm, "speed_mps": self.speed_mps}


@dataclass(frozen=True)
class JobDefaults:
    """Options from the command line, used where a manifest row leaves a cell empty (and for folder input)."""

    view: ViewChoice = "auto"
    height_cm: float | None = None
    speed_mps: float | None = None


def parse_speed(text: str) -> float:
    """Belt speed in m/s from text such as ``10 km/h``, ``6.2mph`` or ``5:30 min/km``."""
    m = _SPEED_RE.match(text)
    if not m:
        raise ValueError(f"speed {text!r} is not '<number> <unit>' (e.g. '10 km/h', '5:30 min/km')")
    number, unit = m.group(1).replace(",", "."), m.group(2)
    value = parse_pace(number) if ":" in number else float(number)
    try:
        return speed_to_mps(value, unit)
    except InputError as exc:
        raise ValueError(str(exc)) from None


class ManifestRow(BaseModel):
    """One validated manifest row (see the module docstring for the columns)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    video: str = Field(min_length=1)
    view: ViewChoice | None = None
    height_cm: float | None = Field(None, ge=HEIGHT_CM_MIN, le=HEIGHT_CM_MAX)
    speed: str | None = None
    speed_mps: float | None = Field(None, gt=0, le=12)
    patient_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")

    @field_validator("view", mode="before")
    @classmethod
    def _lower_view(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_speed(self) -> "ManifestRow":
        if self.speed is not None and self.speed_mps is not None:
            raise ValueError("give either speed or speed_mps, not both")
        if self.speed is not None:
            mps = parse_speed(self.speed)
            if not 0 < mps <= 12:
                raise ValueError(f"speed {self.speed!r} is {mps:.2f} m/s, outside 0–12 m/s")
        return self

    def resolved_speed_mps(self) -> float | None:
        return parse_speed(self.speed) if self.speed is not None else self.speed_mps


def _safe(text: str) -> str:
    return _SAFE_ID_RE.sub("_", text).strip("._") or "video"


def _unique_ids(jobs: list[VideoJob]) -> list[VideoJob]:
    """Make output-folder names unique and stable: colliding names get a short hash of the video's path."""
    counts: dict[str, int] = {}
    for j in jobs:
        counts[j.id.lower()] = counts.get(j.id.lower(), 0) + 1
    out = []
    for j in jobs:
        if counts[j.id.lower()] > 1:
            tag = hashlib.sha1(str(j.video).encode("utf-8")).hexdigest()[:8]
            j = VideoJob(j.id + "-" + tag, j.video, j.view, j.height_cm, j.speed_mps, j.patient_id, j.extra)
        out.append(j)
    return out


def jobs_from_folder(folder: Path, defaults: JobDefaults = JobDefaults(), *, exclude: Path | None = None
                     ) -> list[VideoJob]:
    """Every video file under ``folder`` (recursively, hidden files and folders excluded), sorted by path.

    ``exclude``: a folder whose files are never inputs (the batch's output folder, e.g. its annotated videos).
    """
    skip = exclude.resolve() if exclude is not None else None
    videos = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not (skip is not None and p.resolve().is_relative_to(skip))
    )
    if not videos:
        raise BadManifest(f"no video files in {folder}", hint=f"expected files ending in {', '.join(VIDEO_SUFFIXES)}")
    jobs = [
        VideoJob(
            id="__".join(_safe(part) for part in p.relative_to(folder).with_suffix("").parts),
            video=p.resolve(), view=defaults.view, height_cm=defaults.height_cm, speed_mps=defaults.speed_mps,
        )
        for p in videos
    ]
    return _unique_ids(jobs)


def _row_error_text(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _check_columns(header: list[str], path: Path) -> None:
    if "video" not in header:
        raise BadManifest(f"{path.name}: no 'video' column",
                          hint=f"the header row needs: {', '.join(MANIFEST_COLUMNS)}")
    for name in header:
        if name in MANIFEST_COLUMNS or not name:
            continue
        close = difflib.get_close_matches(name.lower(), MANIFEST_COLUMNS, n=1, cutoff=0.7)
        if close:
            raise BadManifest(f"{path.name}: unknown column {name!r}",
                              hint=f"did you mean {close[0]!r}? (rename it if it is an extra column)")
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise BadManifest(f"{path.name}: column {dupes[0]!r} appears more than once")


def jobs_from_manifest(path: Path, defaults: JobDefaults = JobDefaults()) -> list[VideoJob]:
    """Validate a CSV manifest and return its jobs; all row errors are reported together (first few shown)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadManifest(f"cannot read manifest {path}: {exc}", hint="save it as a UTF-8 CSV file") from exc
    if not rows:
        raise BadManifest(f"{path.name}: the manifest is empty",
                          hint=f"add a header row: {', '.join(MANIFEST_COLUMNS)}")
    header = [h.strip().lower() if h.strip().lower() in MANIFEST_COLUMNS else h.strip() for h in rows[0]]
    _check_columns(header, path)
    base = path.resolve().parent
    jobs: list[VideoJob] = []
    errors: list[str] = []
    seen: dict[tuple[Path, str | None], int] = {}
    for line_no, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) > len(header):
            errors.append(f"line {line_no}: {len(values)} cells but {len(header)} columns")
            continue
        cells = {h: v.strip() for h, v in zip(header, values) if h}
        known = {k: (v if v != "" else None) for k, v in cells.items() if k in MANIFEST_COLUMNS}
        extra = {k: v for k, v in cells.items() if k not in MANIFEST_COLUMNS}
        try:
            row = ManifestRow(**known)
        except ValidationError as exc:
            errors.append(f"line {line_no}: {_row_error_text(exc)}")
            continue
        video = Path(row.video).expanduser()
        video = (video if video.is_absolute() else base / video).resolve()
        if not video.is_file():
            errors.append(f"line {line_no}: video {row.video!r} not found (looked at {video})")
            continue
        key = (video, row.patient_id)
        if key in seen:
            errors.append(f"line {line_no}: same video and patient_id as line {seen[key]}")
            continue
        seen[key] = line_no
        stem = _safe(video.stem)
        speed = row.resolved_speed_mps()
        jobs.append(VideoJob(
            id=f"{_safe(row.patient_id)}__{stem}" if row.patient_id else stem,
            video=video,
            view=row.view or defaults.view,
            height_cm=row.height_cm if row.height_cm is not None else defaults.height_cm,
            speed_mps=speed if speed is not None else defaults.speed_mps,
            patient_id=row.patient_id,
            extra=extra,
        ))
    if errors:
        shown = "; ".join(errors[:_MAX_ROW_ERRORS_SHOWN])
        more = f" (and {len(errors) - _MAX_ROW_ERRORS_SHOWN} more)" if len(errors) > _MAX_ROW_ERRORS_SHOWN else ""
        raise BadManifest(f"{path.name}: {len(errors)} invalid row(s): {shown}{more}",
                          hint="fix these rows; nothing was analysed")
    if not jobs:
        raise BadManifest(f"{path.name}: no rows", hint="add one row per video below the header")
    return _unique_ids(jobs)


def load_jobs(input_path: str | Path, defaults: JobDefaults = JobDefaults(), *, out_dir: str | Path | None = None
              ) -> list[VideoJob]:
    """Jobs from a folder of videos or a ``.csv`` manifest (a folder's files under ``out_dir`` are not inputs)."""
    p = Path(input_path).expanduser()
    if p.is_dir():
        return jobs_from_folder(p, defaults, exclude=Path(out_dir).expanduser() if out_dir is not None else None)
    if p.is_file() and p.suffix.lower() == ".csv":
        return jobs_from_manifest(p, defaults)
    if p.is_file():
        raise BadManifest(f"{p.name}: INPUT must be a folder of videos or a .csv manifest",
                          hint="for a single video use `backtorun analyze`")
    raise BadManifest(f"{p}: not found", hint="give a folder of videos or a CSV manifest")
