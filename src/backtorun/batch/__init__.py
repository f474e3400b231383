"""Batch analysis at scale on Dask distributed: one task per video, resumable, failures recorded, summary CSV.

Public interface:

- :func:`run_batch` — analyse a folder of videos or a CSV manifest (see :mod:`backtorun.batch.manifest` for the
  columns) on a LocalCluster or an existing scheduler; returns a :class:`BatchReport`.
- :func:`load_jobs`, :class:`VideoJob`, :class:`JobDefaults`, :class:`BadManifest` — the input side.
- :func:`dask_submit`, :class:`DaskAnalysisClient` — single analyses on the same cluster (web app).

Output layout and the finished marker: :mod:`backtorun.batch.outputs`. Docs: docs/batch.md.
"""

from __future__ import annotations

from backtorun.batch.manifest import MANIFEST_COLUMNS, BadManifest, JobDefaults, VideoJob, load_jobs, parse_speed
from backtorun.batch.runner import BatchOptions, BatchReport, dask_client, run_batch
from backtorun.batch.submit import DaskAnalysisClient, dask_submit

__all__ = [
    "MANIFEST_COLUMNS", "BadManifest", "BatchOptions", "BatchReport", "DaskAnalysisClient", "JobDefaults", "VideoJob",
    "dask_client", "dask_submit", "load_jobs", "parse_speed", "run_batch",
]
