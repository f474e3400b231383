"""A stand-in analysis pipeline for fast web tests (the real one runs MediaPipe on the uploaded video).

It reads the uploaded video's container facts with the project's own decoder, so a broken upload still fails,
and writes an evaluation.json / report.html shaped like the real ones.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from backtorun.pose.video import read_video_info


def run(job: Any, progress: Callable[[str, float], None]) -> dict:
    """``pipeline(job, progress)`` as :func:`backtorun.web.jobs.run_pipeline` (job: ``web.jobs.AnalysisJob``)."""
    evaluation_id, out_dir, inputs = job.evaluation_id, job.out_dir, job.inputs
    out_dir.mkdir(parents=True, exist_ok=True)
    video = inputs.side_video or inputs.rear_video
    assert video is not None
    info = read_video_info(video)
    for i in range(1, 5):
        progress("fake analysis", i / 5)
        time.sleep(0.05)
    cadence = 150.0 + (info.n_frames % 30) + (evaluation_id % 3) * 10
    result = {
        "schema": "backtorun.evaluation/1", "patient": dict(inputs.patient),
        "intake": inputs.intake.model_dump(mode="json") if inputs.intake is not None else None,
        "tests": inputs.tests.model_dump(mode="json", exclude_none=True) if inputs.tests is not None else None,
        "side": {"summary_detail": {
            "cadence_spm": {"metric": "cadence_spm", "mean": cadence, "sd": 2.0, "cv_pct": 1.0, "n": 10,
                            "uncertainty": 1.0},
            "knee_flexion_ic_deg": {"metric": "knee_flexion_ic_deg", "mean": 10.0 + evaluation_id * 6.0, "sd": 2.0,
                                    "cv_pct": 5.0, "n": 10, "uncertainty": None}},
                 "quality": {"flags": []}, "video": {"fps": info.fps}},
        "rear": None, "red_flags": None,
        "findings": {"findings": [{"code": "F-TEST", "title": "Test finding", "text": "Shown on the report page.",
                                   "severity": "mild", "status": "detected", "evidence_grade": "C",
                                   "sources": ["2"], "confidence": 0.9}]},
    }
    (out_dir / "evaluation.json").write_text(json.dumps(result), encoding="utf-8")
    (out_dir / "report.html").write_text("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>r</title>"
                                         "</head><body><h1>Full report</h1></body></html>", encoding="utf-8")
    from backtorun.services.run_folder import seal_run

    seal_run(out_dir, kind="evaluation")  # the manifest the web's report pages check, written last as by the real run
    return result


def fail(job: Any, progress: Callable[[str, float], None]) -> dict:
    from backtorun.errors import NoRunnerFound

    progress("looking for the runner", 0.2)
    raise NoRunnerFound("no runner found in the video", hint="is the whole body in view?")
