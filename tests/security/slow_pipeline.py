"""A stand-in analysis that runs for a while, writing into its output folder between progress reports: deleting
the patient meanwhile must leave nothing of the run on disk."""

from __future__ import annotations

import time
from typing import Any

RUN_S = 60.0
STEP_S = 0.2


def run(job: Any, progress: Any) -> dict:
    """``pipeline(job, progress)`` as ``backtorun.web.jobs`` calls it (job: out_dir, inputs)."""
    out_dir = job.out_dir
    steps = int(RUN_S / STEP_S)
    for i in range(steps):
        (out_dir / "frames").mkdir(parents=True, exist_ok=True)  # stages create their folders as they go
        (out_dir / "frames" / f"frame-{i:04d}.txt").write_text(f"step {i}", encoding="utf-8")
        progress(f"slow step {i}", i / steps)  # a new stage each step: every report reaches the job row
        time.sleep(STEP_S)
    return {"schema": "backtorun.evaluation/1"}
