"""Run folders: every run is written into a fresh staging folder and published with a manifest written last.

A run (``analyze``, ``evaluate``, ``demo``, ``report --out``) writes its files into a hidden staging folder inside
``--out`` (``.backtorun-staging-<pid>-…``). Publishing removes the old run's manifest first, moves the old run's
own entries aside (those its ``run.json`` lists, or the known output names of a run without one), moves the new
entries in, writes ``run.json`` (schema ``backtorun.run/1``: kind, command, version, inputs' and files' SHA-256)
last, then deletes the old entries. So a folder never mixes two runs, files the run did not write are never
listed, and a folder without a complete ``run.json`` is never read as a result (:func:`verify_run`). A run that
fails or is killed before publishing leaves the previous result as it was; one killed while publishing (a few
renames) is rolled back to the previous result by the next run from the journal it left (stale staging folders
of dead processes are removed then too).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from backtorun.errors import InputError
from backtorun.outputs import STAGING_PREFIX, atomic_write_text, check_output_dir, output_error

log = logging.getLogger(__name__)

MANIFEST = "run.json"
SCHEMA = "backtorun.run/1"
OLD_PREFIX = ".backtorun-old-"
JOURNAL = ".publishing.json"
#: Output names of a run written before manifests existed (removed when a new run replaces it).
LEGACY_RUN_ENTRIES = ("analysis.json", "strides.csv", "pose.npz", "annotated.mp4", "keyframes", "evaluation.json",
                      "report.html", "report.pdf", "runner.html", "runner.pdf", "plots", "side", "rear")
LEGACY_RUN_PATTERNS = ("metronome_*.wav",)
_CHUNK = 1 << 20


class IncompleteRun(InputError):
    """A folder that is not a complete, unchanged run (no manifest, or files differ from it)."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_staging(out: Path) -> None:
    """Clean up after processes that no longer run (killed runs): an interrupted publish is rolled back to the
    previous run (:func:`_roll_back`), then their staging and old folders are removed."""
    for prefix in (OLD_PREFIX, STAGING_PREFIX):
        for d in sorted(out.glob(prefix + "*")):
            pid_text = d.name[len(prefix):].split("-", 1)[0]
            if d.is_dir() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
                if prefix == OLD_PREFIX and not (out / MANIFEST).exists():
                    _roll_back(out, d)
                shutil.rmtree(d, ignore_errors=True)


def _roll_back(out: Path, trash: Path) -> None:
    """Undo a publish killed half-way: remove the new entries it had moved in (its journal lists them) and move
    the previous run's entries, manifest last, back from ``trash``."""
    try:
        journal = json.loads((trash / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # killed before anything moved
    scratch = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{os.getpid()}-", dir=out))
    old = set(journal.get("old", []))
    for name in journal.get("new", []):  # a new entry of a name the old run lacked (others: below)
        if name not in old and ((out / name).exists() or (out / name).is_symlink()):
            os.replace(out / name, scratch / name)
    for entry in sorted(trash.iterdir(), key=lambda p: p.name == MANIFEST):
        if entry.name != JOURNAL:
            if (out / entry.name).exists():
                os.replace(out / entry.name, scratch / entry.name)
            os.replace(entry, out / entry.name)
    shutil.rmtree(scratch, ignore_errors=True)
    log.warning("%s: an interrupted run was rolled back to the previous result", out)


def _swap(out: Path, stage: Path, old_names: Iterable[str], new_names: Iterable[str],
          manifest: Mapping[str, Any]) -> None:
    """Move the old entries aside (manifest first) and the staged ones in, then write the manifest last.

    A journal in the old folder lists the old and the new entries, so a kill at any point can be rolled back:
    every old entry leaves before any new one comes in."""
    old_present = sorted(n for n in set(old_names) if (out / n).exists() or (out / n).is_symlink())
    trash = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{os.getpid()}-", dir=out))
    atomic_write_text(trash / JOURNAL, json.dumps({"new": sorted(new_names), "old": old_present}))
    if (out / MANIFEST).exists():
        os.replace(out / MANIFEST, trash / MANIFEST)  # the old run stops being complete first
    for name in old_present:
        os.replace(out / name, trash / name)
    for name in sorted(new_names):
        os.replace(stage / name, out / name)
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    shutil.rmtree(trash, ignore_errors=True)


@contextlib.contextmanager
def staged_run(out_dir: str | Path, *, sibling: bool = False) -> Iterator[Path]:
    """Check ``out_dir`` (created, writable) and yield a fresh staging folder inside it; removed on failure.

    ``sibling``: stage beside ``out_dir`` instead (same parent, so links relative to the folder stay valid when
    the files move in). Call :func:`publish_run` inside the block to make the staged files the folder's run."""
    out = check_output_dir(out_dir)
    home = out.parent if sibling else out
    remove_stale_staging(out)
    if sibling:
        remove_stale_staging(home)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=home))
    except OSError as exc:
        raise output_error(exc, out) from None
    try:
        yield stage
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p != root / MANIFEST)


def file_records(root: Path) -> list[dict[str, Any]]:
    """``[{path, bytes, sha256}]`` for every file under ``root`` (relative POSIX paths), the top manifest excluded."""
    return [{"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in _files(root)]


def input_records(inputs: Iterable[str | Path]) -> list[dict[str, Any]]:
    """``[{name, bytes, sha256}]`` of the run's input files (every file under a given folder); names only, no
    folders, as in evaluation.json (the run folder may be shared)."""
    out: list[dict[str, Any]] = []
    for item in inputs:
        p = Path(item)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p] if p.is_file() else []
        out.extend({"name": q.name, "bytes": q.stat().st_size, "sha256": sha256_file(q)} for q in files)
    return out


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The folder's ``run.json`` as a mapping, or None when it is missing or unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def _old_entries(out: Path, old: Mapping[str, Any] | None, new_names: set[str]) -> set[str]:
    names = set(new_names)
    if old is not None:
        names |= {str(f["path"]).split("/", 1)[0] for f in old.get("files", []) if isinstance(f, Mapping)}
    elif any((out / n).exists() for n in ("analysis.json", "evaluation.json")):
        names |= {n for n in LEGACY_RUN_ENTRIES if (out / n).exists()}
        names |= {p.name for pat in LEGACY_RUN_PATTERNS for p in out.glob(pat)}
    return {n for n in names if n != MANIFEST and not n.startswith((STAGING_PREFIX, OLD_PREFIX))}


def publish_run(stage: Path, out_dir: str | Path, *, kind: str, inputs: Iterable[str | Path] = (),
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Make the files staged in ``stage`` the run of ``out_dir`` and write its manifest last; returns the manifest.

    ``kind``: analysis, evaluation, report. ``extra``: more manifest keys (e.g. settings)."""
    out = Path(out_dir)
    manifest: dict[str, Any] = {
        "schema": SCHEMA, "kind": kind, "version": _version(), "command": _command(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": input_records(inputs), "files": file_records(stage), **dict(extra or {}),
    }
    new_names = {p.name for p in stage.iterdir() if p.name != MANIFEST}
    try:
        _swap(out, stage, _old_entries(out, read_manifest(out), new_names), new_names, manifest)
    except OSError as exc:
        raise output_error(exc, out) from None
    return manifest


def seal_run(folder: str | Path, *, kind: str, inputs: Iterable[str | Path] = (),
             extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``run.json`` last into a private folder no one else reads yet (e.g. a batch video's work folder,
    renamed into place afterwards), listing every file in it; the keys of a manifest already there (an analysis
    published into it) are kept unless replaced. Returns the manifest."""
    root = Path(folder)
    previous = read_manifest(root) or {}
    manifest: dict[str, Any] = {
        **previous, "schema": SCHEMA, "kind": kind, "version": _version(), "command": _command(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": input_records(inputs) if inputs else previous.get("inputs", []), "files": file_records(root),
        **dict(extra or {}),
    }
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def update_run(stage: Path, out_dir: str | Path, names: Iterable[str]) -> dict[str, Any]:
    """Replace the top-level entries ``names`` staged in ``stage`` inside the complete run ``out_dir`` (e.g. a
    re-rendered report) and rewrite its manifest (removed first, written last)."""
    out = Path(out_dir)
    manifest = read_manifest(out)
    if manifest is None:
        raise IncompleteRun(f"{out} has no complete {MANIFEST}", hint="run `backtorun evaluate` again")
    names = set(names) - {MANIFEST}
    for p in list(stage.iterdir()):
        if p.name not in names:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    staged = file_records(stage)
    keep = [f for f in manifest.get("files", []) if str(f["path"]).split("/", 1)[0] not in names]
    manifest = {**manifest, "files": sorted(keep + staged, key=lambda f: f["path"]),
                "updated_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "update_command": _command()}
    try:
        _swap(out, stage, names, names, manifest)
    except OSError as exc:
        raise output_error(exc, out) from None
    return manifest


def verify_run(folder: str | Path, *, paths: Iterable[str] | None = None) -> dict[str, Any]:
    """The manifest of a complete run folder whose listed files (or only ``paths``) are unchanged.

    Raises :class:`IncompleteRun` (one line) when ``run.json`` is missing or a file is missing or differs:
    such a folder is an interrupted run, a mix of two runs or an edited copy, and is never read as a result."""
    root = Path(folder)
    manifest = read_manifest(root)
    if manifest is None:
        raise IncompleteRun(f"{root} is not a complete run (no {MANIFEST}): it may be interrupted or from an older "
                            "version", hint="run `backtorun evaluate` again into a new folder")
    listed = {str(f["path"]): f for f in manifest.get("files", []) if isinstance(f, Mapping)}
    wanted = list(paths) if paths is not None else list(listed)
    for rel in wanted:
        rec = listed.get(rel)
        p = root / rel
        if rec is None or not p.is_file():
            raise IncompleteRun(f"{p} is not part of the run recorded in {root / MANIFEST}",
                                hint="the folder mixes runs: run `backtorun evaluate` again into a new folder")
        if p.stat().st_size != rec.get("bytes") or sha256_file(p) != rec.get("sha256"):
            raise IncompleteRun(f"{p} differs from the file recorded in {root / MANIFEST} (another run's file?)",
                                hint="run `backtorun evaluate` again into a new folder")
    return manifest


def check_run_files(folder: str | Path, paths: Iterable[str], *, hash_max_bytes: int = 8 * 1024 * 1024) -> None:
    """For a reader that serves or re-renders single files of a run (the web app): each of ``paths`` must be listed
    in the complete run's ``run.json`` with its size, and files up to ``hash_max_bytes`` with their SHA-256 (a large
    video asked for range by range is checked by size only). Raises :class:`IncompleteRun` as :func:`verify_run`."""
    root = Path(folder)
    manifest = read_manifest(root)
    if manifest is None:
        verify_run(root)  # raises the one-line "not a complete run"
        return
    listed = {str(f["path"]): f for f in manifest.get("files", []) if isinstance(f, Mapping)}
    small = []
    for rel in paths:
        rec, p = listed.get(rel), root / rel
        if rec is None or not p.is_file() or p.stat().st_size != rec.get("bytes"):
            raise IncompleteRun(f"{p} is not part of the run recorded in {root / MANIFEST}",
                                hint="the folder mixes runs: run the evaluation again")
        if p.stat().st_size <= hash_max_bytes:
            small.append(rel)
    verify_run(root, paths=small)


def run_files(folder: str | Path) -> list[str]:
    """Relative paths of the files a complete run folder's manifest lists (empty without a manifest)."""
    manifest = read_manifest(folder)
    return [str(f["path"]) for f in manifest.get("files", [])] if manifest else []


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("backtorun")
    except metadata.PackageNotFoundError:
        return "unknown"


def _command() -> list[str]:
    """The command line, with every path reduced to its last part (no folders in a shareable manifest)."""
    return [Path(a).name if os.sep in a else a for a in sys.argv]
