"""run_evaluation: partial inputs, progress, checksums and artefacts; cadence targets from the plan."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import backtorun
from backtorun.errors import InputError
from backtorun.evaluation import Evaluation
from backtorun.services.evaluation import EvaluationInputs, run_evaluation, with_files

SAMPLES = Path(backtorun.__file__).parent / "samples"


def test_side_keypoints_only(tmp_path):
    stages: list[tuple[str, float]] = []
    e = run_evaluation(EvaluationInputs(side_keypoints=SAMPLES / "demo_side.npz", speed_mps=3.9), tmp_path, pdf=False,
                       progress=lambda stage, frac: stages.append((stage, frac)))
    assert e.side is not None and e.rear is None
    assert e.intake is None and e.red_flags is None and e.tests is None and e.training is None
    assert e.findings is not None and e.plan is not None and not e.refer
    # progress runs from 0 to 1 and never goes back
    fractions = [f for _, f in stages]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    # the checksum is of the file given
    digest = hashlib.sha256((SAMPLES / "demo_side.npz").read_bytes()).hexdigest()
    assert [(i.role, i.sha256) for i in e.inputs] == [("side_keypoints", digest)]
    # outputs: analysis folder, key frames recorded relative to the folder, evaluation.json equal to the object
    assert (tmp_path / "side" / "analysis.json").is_file()
    assert e.artefacts["side_keyframes"] and all((tmp_path / p).is_file() for p in e.artefacts["side_keyframes"])
    assert Evaluation.load(tmp_path / "evaluation.json").to_json_dict() == e.to_json_dict()
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Tests not assessed" in html and "Training load not assessed" in html and "Intake not assessed" in html
    # the measured cadence drives the plan's targets and the metronome file
    cadence = e.parts().plan.cadence
    assert cadence.targets and cadence.targets[0].spm > e.side.summary["cadence_spm"].mean
    assert (tmp_path / f"metronome_{cadence.targets[0].spm}spm.ogg").is_file()
    assert e.artefacts["metronome"] == f"metronome_{cadence.targets[0].spm}spm.ogg"


def test_missing_input_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="intake not found"):
        with_files(EvaluationInputs(side_keypoints=SAMPLES / "demo_side.npz"), intake=tmp_path / "none.yaml")
    with pytest.raises(InputError, match="side keypoints not found"):
        run_evaluation(EvaluationInputs(side_keypoints=tmp_path / "none.npz"), tmp_path)
    with pytest.raises(InputError, match="nothing to evaluate"):
        run_evaluation(EvaluationInputs(), tmp_path)


def test_web_job_runs_the_same_use_case(tmp_path, monkeypatch):
    """The web job hands its EvaluationInputs to run_evaluation unchanged (no YAML written, no fallback)."""
    from backtorun.errors import BacktorunError
    from backtorun.services import evaluation as service
    from backtorun.web.jobs import AnalysisJob, run_pipeline

    seen: list[tuple[EvaluationInputs, Path]] = []

    def fake(inputs: EvaluationInputs, out_dir: Path, **_kw: object) -> Evaluation:
        seen.append((inputs, out_dir))
        return Evaluation(patient=dict(inputs.patient))

    monkeypatch.setattr(service, "run_evaluation", fake)
    inputs = EvaluationInputs(side_video=tmp_path / "side.mp4", patient={"name": "A"})
    out = tmp_path / "run"
    result = run_pipeline(AnalysisJob(evaluation_id=1, out_dir=out, inputs=inputs), lambda s, f: None)
    assert seen == [(inputs, out)] and result["patient"] == {"name": "A"}
    assert sorted(p.name for p in out.iterdir()) == []  # nothing written beside the run (no intake/tests YAML)
    with pytest.raises(BacktorunError, match="no video uploaded"):
        run_pipeline(AnalysisJob(evaluation_id=1, out_dir=out, inputs=EvaluationInputs(intake=None)),
                     lambda s, f: None)
