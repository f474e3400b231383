"""Output folders: atomic publication, the finished marker (checksum + options), the batch lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backtorun.batch import VideoJob
from backtorun.batch.outputs import (
    DONE_FILE, DONE_SCHEMA, LOCK_FILE, batch_lock, file_stat, finished_marker, is_complete, new_work_dir, params_for,
    publish, remove_leftovers, seal, sha256_of,
)
from backtorun.errors import InputError
from backtorun.settings import AnalysisSettings


def _job(tmp_path: Path, content: bytes = b"video bytes") -> VideoJob:
    video = tmp_path / "v.mp4"
    video.write_bytes(content)
    return VideoJob(id="v", video=video, view="side", height_cm=170.0)


def _mark(final: Path, job: VideoJob, settings=None) -> dict:
    final.mkdir(parents=True, exist_ok=True)
    marker = {"schema": DONE_SCHEMA, "video": str(job.video), "sha256": sha256_of(job.video),
              **file_stat(job.video), "params": params_for(job, settings), "status": "ok"}
    (final / "analysis.json").write_text("{}")
    seal(final, DONE_FILE, marker)
    return marker


def test_a_folder_without_a_complete_manifest_is_never_finished(tmp_path: Path):
    job = _job(tmp_path)
    final = tmp_path / "out" / "v"
    _mark(final, job)
    assert is_complete(final) and finished_marker(final, job) is not None
    manifest = json.loads((final / "run.json").read_text())
    assert {f["path"] for f in manifest["files"]} == {"analysis.json", DONE_FILE}
    assert manifest["kind"] == "batch-video" and manifest["inputs"][0]["sha256"] == sha256_of(job.video)
    (final / "analysis.json").write_text("[]")  # same size, other content: another run's file
    assert finished_marker(final, job) is None
    _mark(final, job)
    (final / "run.json").unlink()  # killed before the manifest, or written by an older version
    assert finished_marker(final, job) is None
    _mark(final, job)
    (final / "analysis.json").unlink()
    assert finished_marker(final, job) is None


def test_a_previous_result_moved_aside_by_a_killed_publish_is_restored(tmp_path: Path):
    job = _job(tmp_path)
    out = tmp_path / "out"
    _mark(out / "v", job)
    os.replace(out / "v", out / ".old-v-0123456789ab")  # killed between the two renames of publish()
    new_work_dir(out, "v")  # and the new work folder, never sealed
    assert remove_leftovers(out) == 1
    assert sorted(p.name for p in out.iterdir()) == ["v"] and finished_marker(out / "v", job) is not None
    # an incomplete one is not restored
    (out / "v" / "run.json").unlink()
    os.replace(out / "v", out / ".old-v-0123456789ab")
    assert remove_leftovers(out) == 1 and not list(out.iterdir())


def test_publish_replaces_an_older_result_completely(tmp_path: Path):
    final = tmp_path / "out" / "v"
    final.mkdir(parents=True)
    (final / "stale.txt").write_text("old")
    work = new_work_dir(tmp_path / "out", "v")
    (work / "analysis.json").write_text("{}")
    publish(work, final)
    assert sorted(p.name for p in final.iterdir()) == ["analysis.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["v"]


def test_leftover_work_folders_are_removed(tmp_path: Path):
    out = tmp_path / "out"
    new_work_dir(out, "a")
    (out / "kept").mkdir()
    assert remove_leftovers(out) == 1
    assert [p.name for p in out.iterdir()] == ["kept"]


def test_marker_matches_only_the_same_bytes_and_options(tmp_path: Path):
    job = _job(tmp_path)
    final = tmp_path / "out" / "v"
    assert finished_marker(final, job) is None
    _mark(final, job)
    assert finished_marker(final, job) is not None
    assert finished_marker(final, job, force=True) is None
    # other options or settings: redo
    assert finished_marker(final, VideoJob(id="v", video=job.video, view="side", height_cm=180.0)) is None
    assert finished_marker(final, job, settings=AnalysisSettings(lowpass_cutoff_hz=8.0)) is None
    # touched but same bytes: still finished (the checksum decides)
    os.utime(job.video, ns=(1, 1))
    assert finished_marker(final, job) is not None
    # same size, different bytes: redo
    job.video.write_bytes(b"video BYTES")
    assert finished_marker(final, job) is None


def test_marker_with_settings_matches_same_settings(tmp_path: Path):
    job = _job(tmp_path)
    final = tmp_path / "out" / "v"
    _mark(final, job, AnalysisSettings(lowpass_cutoff_hz=8.0))
    assert finished_marker(final, job, settings=AnalysisSettings(lowpass_cutoff_hz=8.0)) is not None
    assert finished_marker(final, job) is None


def test_unreadable_marker_means_not_finished(tmp_path: Path):
    job = _job(tmp_path)
    final = tmp_path / "out" / "v"
    final.mkdir(parents=True)
    (final / DONE_FILE).write_text('{"schema": "backtorun.batch.done/1", "sha2')
    assert finished_marker(final, job) is None


def test_lock_blocks_a_second_batch_and_is_released(tmp_path: Path):
    with batch_lock(tmp_path):
        assert (tmp_path / LOCK_FILE).exists()
        with pytest.raises(InputError, match="another batch"):
            with batch_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_FILE).exists()


def test_lock_of_a_dead_process_is_taken_over(tmp_path: Path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    with batch_lock(tmp_path):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
