"""Import training logs (FIT, TCX, GPX, Strava/Garmin CSV) from files or folders into a :class:`TrainingHistory`.

Format is decided by content, not by extension (a mismatch is noted). Every file either yields sessions or is
refused with a one-line reason. Duplicates are skipped: the same file content (SHA-256), or a session of the
same kind starting within ±60 s of another with a similar distance (within 5 % or 50 m); the richer record is
kept (running dynamics > GPS > format FIT > TCX > GPX > CSV).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterable, Sequence

from backtorun.errors import BadLogFile
from backtorun.training._csv import CsvReadError, parse_csv
from backtorun.training._fit import FitReadError, parse_fit
from backtorun.training._xml import XmlReadError, parse_gpx, parse_tcx
from backtorun.training.model import DuplicateSession, RefusedFile, Session, TrainingHistory
from backtorun.training.sanity import SessionBounds, implausible_reason, load_session_bounds

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024
DUPLICATE_START_TOLERANCE_S = 60.0
DUPLICATE_DISTANCE_REL = 0.05
DUPLICATE_DISTANCE_ABS_M = 50.0
FUTURE_TOLERANCE = timedelta(minutes=10)
_FORMAT_RANK = {"fit": 4, "tcx": 3, "gpx": 2, "csv_garmin": 1, "csv_strava": 1}
_EXTENSIONS = {"fit": {".fit"}, "tcx": {".tcx"}, "gpx": {".gpx"}, "csv": {".csv"}}


#: Leading bytes of files often exported or renamed by mistake, with the one-line advice for each.
_KNOWN_NOT_LOGS = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or ZIP archive, not a CSV text file: in Excel use 'Save As' → "
                     "'CSV UTF-8', or unzip the archive"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel workbook (.xls), not a CSV text file: in Excel use 'Save As' → 'CSV UTF-8'"),
    (b"\x1f\x8b", "gzip-compressed (e.g. Strava's .fit.gz/.gpx.gz): unpack it first, then import the file inside"),
    (b"%PDF", "a PDF document, not a training log: export the activity as FIT, TCX, GPX or CSV"),
    (b"\x89PNG", "a PNG image, not a training log: export the activity as FIT, TCX, GPX or CSV"),
    (b"\xff\xd8\xff", "a JPEG image, not a training log: export the activity as FIT, TCX, GPX or CSV"),
)


def _utf16(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = data[:200]
    return len(head) >= 8 and (head[1::2].count(0) > 0.8 * len(head[1::2]) or head[0::2].count(0) > 0.8 * len(head[0::2]))


def _truncated_fit(data: bytes) -> bool:
    """A FIT header cut short: first byte is the header size (12 or 14) and the '.FIT' tag is incomplete."""
    if not data or data[0] not in (12, 14) or len(data) >= 12:
        return False
    tail = data[8:12]
    return b".FIT".startswith(tail)


def sniff_format(data: bytes) -> str:
    """'fit', 'tcx', 'gpx' or 'csv' from the bytes; raise BadLogFile-style ValueError with the reason."""
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    if _truncated_fit(data):
        raise ValueError(f"FIT file is truncated (only {len(data)} bytes, the header alone is 12–14): re-export it "
                         "from the watch or app")
    for magic, what in _KNOWN_NOT_LOGS:
        if data.startswith(magic):
            raise ValueError(f"file is {what}")
    if _utf16(data):
        raise ValueError("text is UTF-16 encoded (e.g. Excel 'Unicode Text'): save the CSV as 'CSV UTF-8' and import "
                         "it again")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"<TrainingCenterDatabase" in head:
            return "tcx"
        if b"<gpx" in head:
            return "gpx"
        raise ValueError("XML file is neither TCX (TrainingCenterDatabase) nor GPX")
    if b"\x00" in head:
        raise ValueError("binary file that is not FIT (no '.FIT' signature): not a training log")
    try:
        first = head.decode("utf-8").splitlines()[0] if head else ""
    except UnicodeDecodeError:
        first = head.decode("latin-1").splitlines()[0] if head else ""
    if "," in first or ";" in first:
        return "csv"
    raise ValueError("not a training log (FIT, TCX, GPX or CSV): content not recognised")


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given plus every non-hidden file under given folders (sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not any(part.startswith(".")
                                                                                   for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    return out


def _read_bytes(p: Path) -> bytes:
    if not p.is_file():
        raise BadLogFile(f"{p}: file not found", hint="check the path")
    size = p.stat().st_size
    if size == 0:
        raise BadLogFile(f"{p.name}: empty file")
    if size > MAX_FILE_BYTES:
        raise BadLogFile(f"{p.name}: file larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise BadLogFile(f"{p.name}: cannot read ({exc.__class__.__name__})") from None


def read_log_file(path: str | Path, *, tz: tzinfo | None = None) -> tuple[list[Session], list[str]]:
    """Sessions of one file plus per-row problems; raise :class:`BadLogFile` with a one-line reason."""
    p = Path(path)
    return _parse_bytes(_read_bytes(p), str(p), tz=tz)


def _parse_bytes(data: bytes, name: str, *, tz: tzinfo | None) -> tuple[list[Session], list[str]]:
    sha = hashlib.sha256(data).hexdigest()
    short = Path(name).name
    try:
        fmt = sniff_format(data)
    except ValueError as exc:
        raise BadLogFile(f"{short}: {exc}") from None
    notes: list[str] = []
    ext = Path(name).suffix.lower()
    if ext not in _EXTENSIONS[fmt]:
        notes.append(f"file extension '{ext or '(none)'}' does not match its content ({fmt.upper()}): read as {fmt.upper()}")
        log.warning("%s: %s", short, notes[-1])
    try:
        if fmt == "fit":
            sessions, problems = parse_fit(data, source_file=name, sha256=sha), []
        elif fmt == "tcx":
            sessions, problems = parse_tcx(data, source_file=name, sha256=sha), []
        elif fmt == "gpx":
            sessions, problems = parse_gpx(data, source_file=name, sha256=sha), []
        else:
            sessions, problems = parse_csv(data, source_file=name, sha256=sha, tz=tz)
    except (FitReadError, XmlReadError, CsvReadError) as exc:
        raise BadLogFile(f"{short}: {exc}") from None
    if notes:
        sessions = [dataclasses.replace(s, notes=s.notes + tuple(notes)) for s in sessions]
    return sessions, problems


def _richness(s: Session) -> tuple[int, int, int]:
    return (1 if s.dynamics else 0, 1 if s.has_gps else 0, _FORMAT_RANK.get(s.source_format, 0))


def _same_activity(a: Session, b: Session) -> bool:
    if a.activity != b.activity:
        return False
    if abs((a.start_time - b.start_time).total_seconds()) > DUPLICATE_START_TOLERANCE_S:
        return False
    if a.distance_m is None or b.distance_m is None:
        return a.distance_m is None and b.distance_m is None
    tol = max(DUPLICATE_DISTANCE_ABS_M, DUPLICATE_DISTANCE_REL * max(a.distance_m, b.distance_m))
    return abs(a.distance_m - b.distance_m) <= tol


def import_logs(paths: Sequence[str | Path] | str | Path, *, now: datetime | None = None,
                tz: tzinfo | None = None, bounds: SessionBounds | None = None) -> TrainingHistory:
    """Import files and folders; refuse unusable files with one-line reasons; de-duplicate sessions.

    ``now`` (default: the current time) is used to refuse sessions from the future (device clock wrong);
    ``tz`` is the time zone for CSV exports whose dates carry none (Garmin Connect). Physically impossible
    sessions (``bounds``, see :mod:`backtorun.training.sanity`) and unreadable CSV rows are listed in
    ``skipped`` with the reason.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    now = now or datetime.now(timezone.utc)
    bounds = bounds or load_session_bounds()
    skipped: list[RefusedFile] = []
    refused: list[RefusedFile] = []
    duplicates: list[DuplicateSession] = []
    kept: list[Session] = []
    notes: list[str] = []
    seen_hash: dict[str, str] = {}
    for path in expand_paths(paths):
        try:
            data = _read_bytes(path)
        except BadLogFile as exc:
            refused.append(RefusedFile(str(path), exc.message))
            continue
        data_hash = hashlib.sha256(data).hexdigest()
        if data_hash in seen_hash:
            duplicates.append(DuplicateSession(str(path), "", seen_hash[data_hash],
                                               f"{path.name}: same file content as {Path(seen_hash[data_hash]).name}"))
            continue
        try:
            sessions, problems = _parse_bytes(data, str(path), tz=tz)
        except BadLogFile as exc:
            refused.append(RefusedFile(str(path), exc.message))
            continue
        seen_hash[data_hash] = str(path)
        notes.extend(f"{path.name}: {p}" for p in problems)
        skipped.extend(RefusedFile(str(path), f"{path.name}: {p}") for p in problems)
        for s in sessions:
            if s.start_time > now + FUTURE_TOLERANCE:
                refused.append(RefusedFile(str(path), f"{path.name}: session starts {s.start_time.isoformat()}, in "
                                                      "the future: check the device clock"))
                continue
            reason = implausible_reason(s, bounds, now=now)
            if reason is not None:
                where = f"row {s.source_row}" if s.source_row else f"session {s.start_time.isoformat()}"
                skipped.append(RefusedFile(str(path), f"{path.name}: {where} skipped: {reason}"))
                continue
            match = next((k for k in kept if _same_activity(k, s)), None)
            if match is None:
                kept.append(s)
                continue
            winner, loser = (s, match) if _richness(s) > _richness(match) else (match, s)
            if winner is s:
                kept[kept.index(match)] = s
            duplicates.append(DuplicateSession(
                loser.source_file, loser.start_time.isoformat(), winner.session_id,
                f"{Path(loser.source_file).name}: same {loser.activity} as {Path(winner.source_file).name} "
                f"(start within ±{DUPLICATE_START_TOLERANCE_S:.0f} s, similar distance)"))
    kept.sort(key=lambda s: s.start_time)
    return TrainingHistory(sessions=tuple(kept), refused=tuple(refused), duplicates=tuple(duplicates),
                           notes=tuple(notes), skipped=tuple(skipped))
