"""Per-video output folders: atomic publication, the finished marker, and the batch lock.

Layout of ``OUT``::

    OUT/summary.csv            one row per video (written atomically at the end of every run)
    OUT/<id>/analysis.json     the analysis (plus whatever else the analysis writes: plots, annotated video…)
    OUT/<id>/done.json         finished marker: input checksum, analysis options, key metrics, timings
    OUT/<id>/error.json        instead of done.json when the video failed
    OUT/<id>/run.json          the folder's manifest (services.run_folder): every file's SHA-256, written last
    OUT/.tmp-<id>-<hex>/       work in progress (removed or replaced; left over only after a crash)
    OUT/.old-<id>-<hex>/       the previous result while a new one is moved in (restored if the move was killed)
    OUT/.batch.lock            who is writing to OUT right now

A video's folder is written in a temporary sibling folder, sealed with its ``run.json`` last and renamed into
place, so ``OUT/<id>`` is always either complete or absent — never half written. A folder is read as finished only
when its manifest verifies (:func:`finished_marker`), so a folder without a complete manifest (a crash, an older
version, an edited or mixed folder) is analysed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import psutil

from backtorun.batch.manifest import VideoJob
from backtorun.errors import InputError

log = logging.getLogger(__name__)

DONE_FILE = "done.json"
ANALYSIS_FILE = "analysis.json"
ERROR_FILE = "error.json"
LOCK_FILE = ".batch.lock"
SUMMARY_FILE = "summary.csv"
DONE_SCHEMA = "backtorun.batch.done/1"
ERROR_SCHEMA = "backtorun.batch.error/1"
#: ``kind`` of a batch video folder's run.json.
BATCH_RUN_KIND = "batch-video"
_TMP_PREFIX = ".tmp-"
_OLD_PREFIX = ".old-"
_HASH_CHUNK_BYTES = 1 << 20


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def file_stat(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` with the project's atomic writer (:func:`backtorun.outputs.atomic_write_text`: a
    full disk is one OutputError line and the previous file stays intact)."""
    from backtorun.outputs import atomic_write_text

    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when missing or unreadable (treated as not finished)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def new_work_dir(out_dir: Path, job_id: str) -> Path:
    """A fresh temporary folder next to the video's final folder (same filesystem, so rename is atomic)."""
    tmp = out_dir / f"{_TMP_PREFIX}{job_id}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir(parents=True)
    return tmp


def seal(work_dir: Path, marker_file: str, record: Mapping[str, Any]) -> None:
    """Write the video's record (``done.json`` or ``error.json``) and then its ``run.json`` (every file of the
    work folder with its SHA-256, the video as input) into the private work folder, before it is published."""
    from backtorun.services.run_folder import seal_run

    write_json_atomic(work_dir / marker_file, record)
    inputs = [{"name": Path(str(record.get("video", ""))).name, "bytes": record.get("size_bytes"),
               "sha256": record.get("sha256")}] if record.get("sha256") else None
    seal_run(work_dir, kind=BATCH_RUN_KIND, extra={"status": record.get("status"), "record": marker_file,
                                                  **({"inputs": inputs} if inputs else {})})


def is_complete(final_dir: Path, marker_file: str = DONE_FILE) -> bool:
    """True when ``final_dir`` holds a complete batch result: its ``run.json`` lists ``marker_file``, every listed
    file is present with its recorded size, and the record and ``analysis.json`` have their recorded SHA-256
    (hashing every annotated video on each resume would cost more than it protects)."""
    from backtorun.services.run_folder import IncompleteRun, read_manifest, verify_run

    manifest = read_manifest(final_dir) or {}
    files = {str(f.get("path")): f for f in manifest.get("files", []) if isinstance(f, Mapping)}
    if marker_file not in files:
        return False
    for rel, rec in files.items():
        try:
            if (final_dir / rel).stat().st_size != rec.get("bytes"):
                return False
        except OSError:
            return False
    try:
        verify_run(final_dir, paths=[p for p in (marker_file, ANALYSIS_FILE) if p in files])
    except IncompleteRun:
        return False
    return True


def publish(work_dir: Path, final_dir: Path) -> None:
    """Move a finished work folder into place, replacing an older result.

    ``rename`` cannot replace a non-empty folder, so an older folder is first renamed aside and deleted after; an
    interruption in between leaves the video without a folder, and the next run simply redoes it.
    """
    old: Path | None = None
    if final_dir.exists():
        old = final_dir.with_name(f"{_OLD_PREFIX}{final_dir.name}-{uuid.uuid4().hex[:12]}")
        os.replace(final_dir, old)
    os.replace(work_dir, final_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(out_dir: Path) -> int:
    """Delete work folders left by an interrupted run; returns how many were removed.

    A previous result moved aside by a publish that was killed before the new folder came in (``.old-<id>-…``
    while ``<id>`` is missing) is put back when it is complete, so the kill loses nothing."""
    n = 0
    for p in sorted(out_dir.iterdir()):
        if p.is_dir() and p.name.startswith(_OLD_PREFIX):
            final = out_dir / p.name[len(_OLD_PREFIX):].rsplit("-", 1)[0]
            if not final.exists() and (is_complete(p) or is_complete(p, ERROR_FILE)):
                os.replace(p, final)
                log.info("%s: restored the previous result (its replacement was interrupted)", final.name)
                continue
        if p.is_dir() and (p.name.startswith(_TMP_PREFIX) or p.name.startswith(_OLD_PREFIX)):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    if n:
        log.info("removed %d unfinished work folder(s) from an interrupted run in %s", n, out_dir)
    return n


def settings_digest(settings: Any) -> str | None:
    """A short fingerprint of the analysis settings (None = defaults), stored with each result."""
    if settings is None:
        return None
    dump = settings.model_dump_json() if hasattr(settings, "model_dump_json") else json.dumps(settings, sort_keys=True)
    return hashlib.sha256(dump.encode("utf-8")).hexdigest()[:16]


def params_for(job: VideoJob, settings: Any = None) -> dict[str, Any]:
    """Everything that changes a video's result: its options and the settings fingerprint."""
    return {**job.analysis_params(), "settings": settings_digest(settings)}


def finished_marker(final_dir: Path, job: VideoJob, *, settings: Any = None, force: bool = False
                    ) -> dict[str, Any] | None:
    """The finished marker of ``job`` if its output is complete (its ``run.json`` verifies, see
    :func:`is_complete`) and still matches the input, else None.

    It matches when the analysis options and settings are the same and the video's bytes are unchanged: the
    marker's size and modification time are trusted as they are; if they differ, the SHA-256 decides (a copied or
    touched file with the same content is not redone).
    """
    if force:
        return None
    marker = read_json(final_dir / DONE_FILE)
    if marker is None or marker.get("schema") != DONE_SCHEMA:
        return None
    if not is_complete(final_dir):
        log.info("%s: no complete run.json (interrupted, older version or edited); redoing it", job.id)
        return None
    if marker.get("params") != params_for(job, settings):
        log.info("%s: analysis options changed since the last run; redoing it", job.id)
        return None
    try:
        stat = file_stat(job.video)
    except OSError:
        return None
    if stat["size_bytes"] != marker.get("size_bytes"):
        return None
    if stat["mtime_ns"] == marker.get("mtime_ns"):
        return marker
    return marker if sha256_of(job.video) == marker.get("sha256") else None


@contextlib.contextmanager
def batch_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``OUT/.batch.lock`` so two batches never write to the same output folder at once.

    A lock left by a process that no longer runs on this host (a crash, a kill) is taken over.
    """
    path = out_dir / LOCK_FILE
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_json(path) or {}
            if holder.get("host") == me["host"] and isinstance(holder.get("pid"), int) \
                    and not psutil.pid_exists(holder["pid"]):
                log.info("taking over the lock of an earlier batch (pid %s) that no longer runs", holder["pid"])
                path.unlink(missing_ok=True)
                continue
            raise InputError(
                f"another batch (pid {holder.get('pid', '?')} on {holder.get('host', '?')}) is writing to {out_dir}",
                hint=f"wait for it to finish, or delete {path} if it is no longer running",
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        break
    try:
        yield
    finally:
        holder = read_json(path) or {}
        if holder.get("pid") == me["pid"] and holder.get("host") == me["host"]:
            path.unlink(missing_ok=True)
