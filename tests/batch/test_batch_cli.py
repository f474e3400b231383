"""``backtorun batch`` through its public command line: argument and manifest errors are one line, exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backtorun.cli import app


@pytest.fixture()
def manifest(tmp_path: Path, shared_data: Path) -> Path:
    shutil.copy(shared_data / "video" / "treadmill" / "mini_run.mp4", tmp_path / "a.mp4")
    path = tmp_path / "m.csv"
    path.write_text("video,height_cm,speed\na.mp4,170,10 km/h\nb.mp4,,\na.mp4,40,\n", encoding="utf-8")
    return path


def _run(*args: str):
    return CliRunner().invoke(app, ["batch", *args])


def test_invalid_manifest_rows_stop_before_any_work(manifest: Path, tmp_path: Path):
    result = _run(str(manifest), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "m.csv: 2 invalid row(s): line 3: video 'b.mp4' not found" in result.output
    assert "line 4: height_cm" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "give either --workers or --scheduler"),
        (["--view", "top"], "--view 'top' is not one of auto, side, rear, front"),
        (["--speed", "10", "knots"], "--speed: unknown speed unit 'knots'"),
    ],
)
def test_bad_options_are_one_line_errors(manifest: Path, tmp_path: Path, args: list[str], message: str):
    result = _run(str(manifest), "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_batch_is_registered_with_its_options():
    result = _run("--help")
    assert result.exit_code == 0
    for option in ("--out", "--workers", "--scheduler", "--force", "--view", "--height-cm", "--speed"):
        assert option in result.output
