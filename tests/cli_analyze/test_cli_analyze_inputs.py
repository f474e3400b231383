"""CLI `analyze`: bad inputs give exit code != 0 and one actionable line; keypoint input works end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.synthetic import synthetic_run

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
runner = CliRunner()


def _run(args: list[str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["analyze", *args])


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    text = result.output.strip()
    assert "Traceback" not in text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_non_video_file(tmp_path: Path) -> None:
    f = tmp_path / "notes.mp4"
    f.write_text("this is not a video\n" * 50)
    line = _one_line_error(_run([str(f), "--out", str(tmp_path / "o")]))
    assert "video" in line.lower()


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.mp4"
    f.write_bytes(b"")
    assert "empty" in _one_line_error(_run([str(f), "--out", str(tmp_path / "o")])).lower()


def test_truncated_mp4(tmp_path: Path) -> None:
    src = (DATA / "video" / "treadmill" / "mini_run.mp4").read_bytes()
    f = tmp_path / "cut.mp4"
    f.write_bytes(src[: len(src) // 3])
    line = _one_line_error(_run([str(f), "--out", str(tmp_path / "o"), "--no-video"]))
    assert any(w in line.lower() for w in ("truncated", "corrupt", "incomplete", "cut", "no frame", "moov"))


@pytest.mark.slow
def test_video_without_person(tmp_path: Path) -> None:
    from backtorun.pose.synth import write_video

    frames = [np.full((240, 320, 3), 40 + (i % 5), dtype=np.uint8) for i in range(45)]
    f = write_video(tmp_path / "empty_room.mp4", frames, fps=30.0)
    line = _one_line_error(_run([str(f), "--out", str(tmp_path / "o"), "--no-video"]))
    assert "person" in line.lower() or "runner" in line.lower()


def test_bad_speed_unit(tmp_path: Path) -> None:
    p = synthetic_run(duration_s=6).save(tmp_path / "pose.npz")
    line = _one_line_error(_run([str(p), "--out", str(tmp_path / "o"), "--speed", "10", "furlongs"]))
    assert "unit" in line.lower()


def test_keypoint_npz_end_to_end(tmp_path: Path) -> None:
    p = synthetic_run(duration_s=8, fps=60).save(tmp_path / "pose.npz")
    out = tmp_path / "out"
    result = _run([str(p), "--out", str(out), "--speed", "10.8", "km/h", "--height-cm", "175"])
    assert result.exit_code == 0, result.output
    assert "cadence_spm" in result.output
    data = json.loads((out / "analysis.json").read_text())
    assert data["schema"].startswith("backtorun.analysis/")
    assert abs(data["summary"]["cadence_spm"] - 170) < 2
    assert abs(data["speed_mps"] - 3.0) < 1e-9
    assert (out / "strides.csv").exists()


def test_capture_fps_option(tmp_path: Path) -> None:
    pose = synthetic_run(duration_s=8, fps=120)
    slow = pose.replace(time_s=pose.time_s * 4.0, fps=30.0)  # 120 fps footage played back at 30 fps
    p = slow.save(tmp_path / "slow.npz")
    out = tmp_path / "out"
    result = _run([str(p), "--out", str(out), "--capture-fps", "120"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "analysis.json").read_text())
    assert abs(data["summary"]["cadence_spm"] - 170) < 2
    assert "TIME_RESCALED" in result.output
    line = _one_line_error(_run([str(p), "--out", str(out), "--capture-fps", "-5"]))
    assert "capture-fps" in line
