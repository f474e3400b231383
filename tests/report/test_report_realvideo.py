"""`backtorun evaluate` on a real treadmill video with a real watch log (MediaPipe: marked slow)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.evaluation import Evaluation


@pytest.mark.slow
def test_evaluate_real_video_with_watch_log(shared_data, tmp_path):
    video = shared_data / "video" / "treadmill" / "mini_run.mp4"
    fit = shared_data / "logs" / "fit" / "garmin-fenix-5-run.fit"
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["evaluate", "--side", str(video), "--speed", "11.4", "mph", "--logs", str(fit),
                                      "--out", str(out), "--no-pdf"])
    assert result.exit_code == 0, result.output
    e = Evaluation.load(out / "evaluation.json")
    assert e.side is not None and e.side.video.fps == pytest.approx(29.87, abs=0.05)
    assert e.session["speed_mps"] == pytest.approx(11.4 / 2.2369362920544, rel=1e-6)
    html = (out / "report.html").read_text(encoding="utf-8")
    # capture quality: 30 fps is below the contact-time frame-rate requirement, and the report says so
    assert any(f.code == "LOW_FRAME_RATE" for f in e.side.quality_flags)
    assert "LOW_FRAME_RATE" in html
    # key frames drawn on the real video frames are linked
    frames = re.findall(r'<img src="(side/keyframes/[^"]+\.png)"', html)
    assert frames and all((out / f).is_file() for f in frames)
    # watch running dynamics are shown beside the video value of the same metric
    row = re.search(r"<td>Vertical oscillation \(pelvis\)</td><td[^>]*>([\d.]+) cm</td><td[^>]*>([\d.]+) cm</td>", html)
    assert row, "vertical oscillation from watch and video should be side by side"
    watch_vo = e.training["running_dynamics"]["mean"]["vertical_oscillation_cm"]
    assert float(row.group(1)) == pytest.approx(watch_vo, abs=0.05)
    assert float(row.group(2)) == pytest.approx(e.side.summary["vertical_oscillation_cm"].mean, abs=0.05)
