"""Where the web app keeps files, created private (folders 0700, files 0600), and their removal on deletion.

Layout under the data directory::

    uploads/clinic-<C>/evaluation-<E>/…            videos, logs/…, partial uploads
    results/clinic-<C>/evaluation-<E>/job-<J>-attempt-<A>/…   every analysis run, interrupted ones included
    results/dask-scratch/job-<J>/…                  scratch of the Dask backend
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Iterable

from backtorun.store.repo import PatientErasure

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (whatever the umask); ``path`` itself is set 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:  # created meanwhile by another request or worker
            continue
        os.chmod(p, DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Set an existing file to mode 0600 (no-op when it is missing)."""
    if path.is_file():
        os.chmod(path, FILE_MODE)


def private_tree(root: Path) -> None:
    """Set every folder under ``root`` (itself included) to 0700 and every file to 0600: outputs written with
    explicit modes (e.g. atomic writes at 0644) become private too."""
    if not root.is_dir():
        return
    os.chmod(root, DIR_MODE)
    for p in root.rglob("*"):
        if p.is_symlink():
            continue
        os.chmod(p, DIR_MODE if p.is_dir() else FILE_MODE)


def restrict_process_umask() -> int:
    """Make files this process creates from now on private (umask 077); returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def upload_dir(data_dir: Path, clinic_id: int, evaluation_id: int) -> Path:
    return data_dir / "uploads" / f"clinic-{clinic_id}" / f"evaluation-{evaluation_id}"


def evaluation_results_dir(data_dir: Path, clinic_id: int, evaluation_id: int) -> Path:
    return data_dir / "results" / f"clinic-{clinic_id}" / f"evaluation-{evaluation_id}"


def run_dir(data_dir: Path, clinic_id: int, evaluation_id: int, job_id: int, attempt: int) -> Path:
    return evaluation_results_dir(data_dir, clinic_id, evaluation_id) / f"job-{job_id}-attempt-{attempt}"


def dask_scratch_dir(data_dir: Path, job_id: int) -> Path:
    return data_dir / "results" / "dask-scratch" / f"job-{job_id}"


def patient_paths(data_dir: Path, erasure: PatientErasure) -> list[Path]:
    """Every folder and file of an erased patient: per-evaluation folders, Dask scratch, and recorded paths."""
    paths = [p for e in erasure.evaluation_ids for p in (upload_dir(data_dir, erasure.clinic_id, e),
                                                          evaluation_results_dir(data_dir, erasure.clinic_id, e))]
    paths += [dask_scratch_dir(data_dir, j) for j in erasure.job_ids]
    paths += [Path(p) for p in erasure.paths]
    return paths


def remove_inside(root: Path, paths: Iterable[Path]) -> int:
    """Remove files and folders that lie inside ``root`` (anything outside is left alone); returns the count."""
    root = root.resolve()
    removed = 0
    for p in paths:
        path = Path(p).resolve()
        if root not in path.parents:
            log.warning("not removing %s: outside the data directory", path)
            continue
        try:
            if path.is_dir():
                shutil.rmtree(path)
                removed += 1
            elif path.exists():
                path.unlink()
                removed += 1
        except OSError as exc:
            log.error("could not remove %s: %s", path, exc)
    return removed
