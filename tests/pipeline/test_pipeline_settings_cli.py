"""``--settings FILE`` on analyze, evaluate and batch: the file's tree acts and is recorded; an analysis.json given
as the settings file reproduces its events and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.synthetic import RunnerSpec, synthetic_run

runner = CliRunner()


@pytest.fixture(scope="module")
def pose_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pose") / "pose.npz"
    synthetic_run(RunnerSpec(), fps=60.0, duration_s=8, noise_px=1.0, seed=5).save(path)
    return path


def _analyze(pose: Path, out: Path, *extra: str) -> dict:
    res = runner.invoke(app, ["analyze", str(pose), "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    return json.loads((out / "analysis.json").read_text(encoding="utf-8"))


def test_analyze_records_and_reuses_its_settings(tmp_path: Path, pose_npz: Path) -> None:
    plain = _analyze(pose_npz, tmp_path / "a")
    cfg = tmp_path / "s.yaml"
    cfg.write_text("strides:\n  min_confidence: 0.99\nfiltering:\n  lowpass_cutoff_hz: 7\n", encoding="utf-8")
    tuned = _analyze(pose_npz, tmp_path / "b", "--settings", str(cfg))
    assert tuned["settings"]["strides"]["min_confidence"] == 0.99
    assert tuned["settings"]["filtering"]["lowpass_cutoff_hz"] == 7.0
    assert [r["valid"] for r in tuned["strides"]] != [r["valid"] for r in plain["strides"]]
    again = _analyze(pose_npz, tmp_path / "c", "--settings", str(tmp_path / "b" / "analysis.json"))
    for key in ("settings", "events", "strides", "summary"):
        assert again[key] == tuned[key], key


def test_a_bad_settings_file_is_one_line(tmp_path: Path, pose_npz: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("events:\n  side:\n    landing_window_s: -1\n", encoding="utf-8")
    res = runner.invoke(app, ["analyze", str(pose_npz), "--out", str(tmp_path / "o"), "--settings", str(cfg)])
    assert res.exit_code != 0
    assert "events.side.landing_window_s" in res.output and "Traceback" not in res.output


def test_evaluate_passes_settings_to_the_analysis(tmp_path: Path, pose_npz: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("events:\n  detector: rear\n", encoding="utf-8")
    res = runner.invoke(app, ["evaluate", "--side-keypoints", str(pose_npz), "--out", str(tmp_path / "ev"),
                              "--no-pdf", "--settings", str(cfg)])
    assert res.exit_code == 0, res.output
    side = json.loads((tmp_path / "ev" / "side" / "analysis.json").read_text(encoding="utf-8"))
    assert side["settings"]["events"]["detector"] == "rear"
    assert side["settings"]["run"]["event_detector"] == "rear"
