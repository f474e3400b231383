"""run_evaluation: partial inputs, progress, checksums and artefacts; cadence targets from the plan."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import backtorun
from backtorun.errors import InputError
from backtorun.evaluation import Evaluation
from backtorun.services.evaluation import cadence_targets, run_evaluation

SAMPLES = Path(backtorun.__file__).parent / "samples"


def test_side_keypoints_only(tmp_path):
    stages: list[tuple[str, float]] = []
    e = run_evaluation(side_keypoints=SAMPLES / "demo_side.npz", out_dir=tmp_path, speed_mps=3.9, pdf=False,
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
    targets = cadence_targets(e.plan)
    assert targets and targets[0] > e.side.summary["cadence_spm"].mean
    assert (tmp_path / f"metronome_{round(targets[0])}spm.wav").is_file()


def test_missing_input_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="intake not found"):
        run_evaluation(side_keypoints=SAMPLES / "demo_side.npz", intake=tmp_path / "none.yaml", out_dir=tmp_path)
    with pytest.raises(InputError, match="nothing to evaluate"):
        run_evaluation(out_dir=tmp_path)


@pytest.mark.parametrize("plan, expected", [
    (None, []),
    ({"cadence": None}, []),
    ({"cadence": {"targets": [{"spm": 166}, {"spm": 174}]}}, [166.0, 174.0]),
    ({"cadence": {"targets_spm": [170, 178]}}, [170.0, 178.0]),
])
def test_cadence_targets(plan, expected):
    assert cadence_targets(plan) == expected
