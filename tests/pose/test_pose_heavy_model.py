"""The optional BlazePose heavy model (``pose.model_complexity: 2``): the setting, the one-line error when the model
is not installed (CLI included), the validation pose cache keyed on the model, and the install script's checks.

Nothing here needs the heavy model installed or the network: the model's location is pointed at a temporary
folder, and the install script runs against a fake ``npm``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import backtorun.pose as pose_pkg
from backtorun.cli import app
from backtorun.errors import ConfigError, MissingDependency
from backtorun.pose import _mediapipe
from backtorun.pose._fake import FakePoseEstimator
from backtorun.pose.synth import write_video
from backtorun.settings import AnalysisSettings, load_settings
from backtorun.synthetic import synthetic_run
from backtorun.types import PoseSeries
from validation import pose_cache

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install_heavy_pose.sh"
runner = CliRunner()


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for mediapipe's ``modules/pose_landmark`` folder, holding only the full model."""
    folder = tmp_path / "pose_landmark"
    folder.mkdir()
    (folder / _mediapipe.LANDMARK_MODEL_FILES[1]).write_bytes(b"full")
    monkeypatch.setattr(_mediapipe, "landmark_model_path",
                        lambda mc: folder / _mediapipe.LANDMARK_MODEL_FILES[mc])
    return folder


def _one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


# ------------------------------------------------------------------------------------------------ the setting


def test_model_complexity_defaults_to_full_and_accepts_heavy() -> None:
    assert AnalysisSettings().pose.model_complexity == 1
    assert load_settings(None, pose={"model_complexity": 2}).pose.model_complexity == 2


@pytest.mark.parametrize("value", [0, 3, "heavy"])
def test_model_complexity_other_than_1_or_2_is_refused(value: Any) -> None:
    with pytest.raises(ConfigError, match="pose.model_complexity") as err:
        load_settings(None, pose={"model_complexity": value})
    assert "\n" not in str(err.value)


def test_settings_file_with_heavy_model(tmp_path: Path) -> None:
    f = tmp_path / "heavy.yaml"
    f.write_text("pose:\n  model_complexity: 2\n", encoding="utf-8")
    s = load_settings(f)
    assert s.pose.model_complexity == 2 and s.changed() == {"pose": {"model_complexity": 2}}


# ------------------------------------------------------------------------------------------ missing model file


def test_missing_heavy_model_is_one_clear_line(model_dir: Path) -> None:
    _mediapipe.check_landmark_model(1)  # the full model is there
    with pytest.raises(MissingDependency) as err:
        _mediapipe.check_landmark_model(2)
    msg = str(err.value)
    assert "\n" not in msg and "pose_landmark_heavy.tflite" in msg and "scripts/install_heavy_pose.sh" in msg
    with pytest.raises(MissingDependency):
        _mediapipe.MediaPipePoseEstimator(model_complexity=2)
    with pytest.raises(MissingDependency):
        _mediapipe.MediaPipePeopleDetector(model_complexity=2)


def test_unsupported_complexity_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="1 .*or 2"):
        _mediapipe.check_landmark_model(0)


def test_installed_heavy_model_is_named_in_the_estimator(model_dir: Path) -> None:
    (model_dir / _mediapipe.LANDMARK_MODEL_FILES[2]).write_bytes(b"heavy")
    heavy = _mediapipe.MediaPipePoseEstimator(model_complexity=2)  # the graph is built on the first frame only
    full = _mediapipe.MediaPipePoseEstimator()
    assert heavy.name.endswith("blazepose-complexity2") and full.name.endswith("blazepose-complexity1")


def test_real_landmark_model_path_is_inside_mediapipe() -> None:
    path = _mediapipe.landmark_model_path(1)
    assert path is not None and path.is_file() and path.parent.name == "pose_landmark"
    assert _mediapipe.landmark_model_path(2).parent == path.parent  # where the install script puts it


def test_estimate_pose_refuses_before_decoding(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingDependency, match="install_heavy_pose"):
        pose_pkg.estimate_pose(tmp_path / "not-even-a-video.mp4", model_complexity=2)


def _fake_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[dict[str, Any]]]:
    """A small real video whose pose comes from the fake estimator; records the keywords of each pose pass."""
    series: PoseSeries = synthetic_run(duration_s=6, fps=30, width=320, height=240)
    video = write_video(tmp_path / "run.mp4", [np.full((240, 320, 3), 70, np.uint8)] * series.n_frames, fps=30.0)
    calls: list[dict[str, Any]] = []
    real = pose_pkg.estimate_pose

    def estimate(path: Any, **kw: Any) -> PoseSeries:
        calls.append(dict(kw))
        if kw.get("model_complexity", 1) == 2:
            _mediapipe.check_landmark_model(2)
        kw.pop("model_complexity", None)
        return real(path, estimator=FakePoseEstimator(series), **kw)

    monkeypatch.setattr(pose_pkg, "estimate_pose", estimate)
    return video, calls


def test_cli_analyze_with_heavy_settings_but_no_model(model_dir: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "run.mp4", [np.full((240, 320, 3), 70, np.uint8)] * 4, fps=30.0)
    settings = tmp_path / "heavy.yaml"
    settings.write_text("pose: {model_complexity: 2}\n", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(video), "--out", str(tmp_path / "o"), "--settings", str(settings),
                                 "--no-video"])
    assert result.exit_code == MissingDependency.exit_code
    assert "install_heavy_pose.sh" in _one_line(result.output)
    assert not (tmp_path / "o" / "analysis.json").exists()


def test_cli_analyze_passes_the_model_to_the_pose_stage(model_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (model_dir / _mediapipe.LANDMARK_MODEL_FILES[2]).write_bytes(b"heavy")
    video, calls = _fake_video(tmp_path, monkeypatch)
    settings = tmp_path / "heavy.yaml"
    settings.write_text("pose: {model_complexity: 2}\n", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(video), "--out", str(tmp_path / "o"), "--settings", str(settings),
                                 "--no-video"])
    assert result.exit_code == 0, result.output
    assert [c["model_complexity"] for c in calls] == [2]
    doc = json.loads((tmp_path / "o" / "analysis.json").read_text(encoding="utf-8"))
    assert doc["settings"]["pose"]["model_complexity"] == 2  # provenance: the model that was asked for
    result = runner.invoke(app, ["analyze", str(video), "--out", str(tmp_path / "o1"), "--no-video"])
    assert result.exit_code == 0, result.output
    assert [c["model_complexity"] for c in calls] == [2, 1]


# --------------------------------------------------------------------------------------- validation pose cache


def test_cache_key_differs_by_model(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded here")
    full = pose_cache.cache_path(video, tmp_path, model_complexity=1)
    heavy = pose_cache.cache_path(video, tmp_path, model_complexity=2)
    assert full != heavy and "heavy-" in heavy.name and "heavy" not in full.name
    assert pose_cache.pose_stage_fingerprint(1) != pose_cache.pose_stage_fingerprint(2)


def test_cached_full_pose_is_never_used_for_heavy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full-model estimate of other pose code is reused for the full model only; heavy is estimated afresh."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded here")
    full_pose = synthetic_run(duration_s=1, fps=30)
    stale = pose_cache.cache_path(video, tmp_path, model_complexity=1).name.rsplit("-", 1)[0] + "-0123456789abcdef.npz"
    full_pose.save(tmp_path / stale)
    assert pose_cache.find_cached(video, tmp_path, model_complexity=1) == (tmp_path / stale, False)
    assert pose_cache.find_cached(video, tmp_path, model_complexity=2) == (None, False)
    asked: list[int] = []

    def estimate(path: Any, *, model_complexity: int = 1, **kw: Any) -> PoseSeries:
        asked.append(model_complexity)
        return synthetic_run(duration_s=2, fps=30)

    monkeypatch.setattr(pose_pkg, "estimate_pose", estimate)
    assert pose_cache.cached_pose(video, tmp_path, accept_other_pose_code=True).n_frames == full_pose.n_frames
    heavy = pose_cache.cached_pose(video, tmp_path, accept_other_pose_code=True, model_complexity=2)
    assert asked == [2] and heavy.n_frames != full_pose.n_frames
    assert pose_cache.find_cached(video, tmp_path, model_complexity=2) == (
        pose_cache.cache_path(video, tmp_path, model_complexity=2), True)
    assert pose_cache.find_cached(video, tmp_path, model_complexity=1)[0] == tmp_path / stale


# ------------------------------------------------------------------------------------------ the install script


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def _recorded_sha256() -> str:
    line = next(ln for ln in SCRIPT.read_text(encoding="utf-8").splitlines() if ln.startswith("MODEL_SHA256="))
    return line.split("=", 1)[1].strip('"')


def test_script_verify_refuses_a_file_with_another_hash(tmp_path: Path) -> None:
    fake = tmp_path / "pose_landmark_heavy.tflite"
    fake.write_bytes(b"not the heavy model")
    res = _script("--verify", str(fake))
    assert res.returncode != 0
    line = _one_line(res.stderr)
    assert "SHA-256" in line and _recorded_sha256() in line and len(_recorded_sha256()) == 64


def test_script_names_missing_npm(tmp_path: Path) -> None:
    res = _script("--target", str(tmp_path), env={"NPM": str(tmp_path / "no-such-npm")})
    assert res.returncode != 0
    assert "npm is not installed" in _one_line(res.stderr)
    assert not (tmp_path / "pose_landmark_heavy.tflite").exists()


def test_script_installs_nothing_when_the_package_hash_differs(tmp_path: Path) -> None:
    """A fake ``npm pack`` hands over a tarball whose heavy model is not the recorded one."""
    pkg = tmp_path / "pkg"
    (pkg / "package").mkdir(parents=True)
    (pkg / "package" / "pose_landmark_heavy.tflite").write_bytes(b"tampered model")
    tgz = tmp_path / "mediapipe-pose-fake.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(pkg / "package", arcname="package")
    npm = tmp_path / "npm"
    npm.write_text(f"#!/usr/bin/env bash\ncp '{tgz}' .\n", encoding="utf-8")
    npm.chmod(0o755)
    target = tmp_path / "pose_landmark"
    target.mkdir()
    res = _script("--target", str(target), env={"NPM": str(npm)})
    assert res.returncode != 0
    assert "SHA-256" in _one_line(res.stderr)
    assert list(target.iterdir()) == []


def test_default_setup_calls_the_script_only_when_asked() -> None:
    lines = (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8").splitlines()
    calls = [ln for ln in lines if "install_heavy_pose.sh" in ln]
    assert len(calls) == 1 and 'BACKTORUN_POSE_HEAVY:-0}" = "1"' in calls[0]
