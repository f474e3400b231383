"""``backtorun batch`` end to end with the real analysis (MediaPipe) on a LocalCluster: one good video, one corrupt."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backtorun.batch.outputs import DONE_FILE, ERROR_FILE, SUMMARY_FILE
from backtorun.cli import app
from backtorun.types import GaitAnalysis


@pytest.mark.slow
def test_real_batch_analyses_the_good_video_and_records_the_corrupt_one(tmp_path: Path, shared_data: Path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    shutil.copy(shared_data / "video" / "treadmill" / "mini_run.mp4", inputs / "mini.mp4")
    (inputs / "broken.mp4").write_bytes(os.urandom(50_000))
    manifest = tmp_path / "study.csv"
    manifest.write_text("video,view,patient_id,session\nin/mini.mp4,side,P01,pre\nin/broken.mp4,,P02,pre\n")

    result = CliRunner().invoke(app, ["batch", str(manifest), "--out", str(out), "--workers", "1", "--no-annotate"])
    assert result.exit_code == 1, result.output  # one video failed; the other finished
    assert "1 analysed, 0 already finished, 1 failed" in result.output
    with (out / SUMMARY_FILE).open(newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    good, bad = rows["P01__mini"], rows["P02__broken"]
    assert bad["status"] == "failed" and bad["error_type"] == "VideoUnreadable" and "broken.mp4" in bad["error"]
    assert (out / "P02__broken" / ERROR_FILE).exists()
    assert good["status"] == "ok", good["error"]
    assert good["session"] == "pre" and good["patient_id"] == "P01" and good["view"] == "side"

    analysis = GaitAnalysis.from_json_dict(json.loads((out / "P01__mini" / "analysis.json").read_text()))
    for metric, summary in analysis.summary.items():  # the summary repeats the analysis' means
        cell = good.get(metric, "")
        if math.isnan(summary.mean):
            assert cell == ""
        else:
            assert float(cell) == pytest.approx(summary.mean)
    assert 130 <= float(good["cadence_spm"]) <= 230  # a runner's cadence, not a frame-rate artefact
    assert good["quality_flags"] == ";".join(f.code for f in analysis.quality_flags)
    assert float(good["worker_peak_rss_mb"]) > 100  # MediaPipe was loaded in the worker

    # run again: nothing finished is redone
    done_before = (out / "P01__mini" / DONE_FILE).read_text()
    again = CliRunner().invoke(app, ["batch", str(manifest), "--out", str(out), "--workers", "1", "--no-annotate"])
    assert "0 analysed, 1 already finished, 1 failed" in again.output
    assert (out / "P01__mini" / DONE_FILE).read_text() == done_before
