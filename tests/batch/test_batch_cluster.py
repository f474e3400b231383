"""Batches on a Dask LocalCluster with the fake analysis (real decoder, no MediaPipe): failures, resume, kill."""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from backtorun.batch import BatchOptions, run_batch
from backtorun.batch._fake import fake_analyze
from backtorun.batch.outputs import DONE_FILE, ERROR_FILE, LOCK_FILE, SUMMARY_FILE
from backtorun.errors import VideoUnreadable
from backtorun.pose.video import read_video_info


@pytest.fixture(scope="module")
def cluster():
    """One small LocalCluster shared by the tests that pass ``scheduler=`` (the --scheduler path)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


@pytest.fixture()
def folder(tmp_path: Path, shared_data: Path) -> Path:
    """Three copies of mini_run and one corrupt file (random bytes with a .mp4 name)."""
    src = shared_data / "video" / "treadmill" / "mini_run.mp4"
    folder = tmp_path / "in"
    folder.mkdir()
    for i in (1, 2, 3):
        shutil.copy(src, folder / f"run{i}.mp4")
    (folder / "corrupt.mp4").write_bytes(os.urandom(20_000))
    return folder


def _summary(out: Path) -> dict[str, dict[str, str]]:
    with (out / SUMMARY_FILE).open(newline="", encoding="utf-8") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


def _calls(log: Path) -> Counter:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def test_corrupt_file_fails_alone_and_the_others_finish(folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    seen = []
    report = run_batch(folder, out, BatchOptions(workers=2), analyze=fake_analyze,
                       progress=lambda done, total, row: seen.append((done, total, row["id"], row["status"])))
    assert (report.n_ok, report.n_failed, report.n_skipped) == (3, 1, 0)
    assert report.n_workers == 2
    assert sorted(d for d, *_ in seen) == [1, 2, 3, 4] and {t for _, t, *_ in seen} == {4}
    rows = _summary(out)
    assert rows["corrupt"]["status"] == "failed"
    assert rows["corrupt"]["error_type"] == VideoUnreadable.__name__
    assert "corrupt.mp4" in rows["corrupt"]["error"]
    error = json.loads((out / "corrupt" / ERROR_FILE).read_text())
    assert error["status"] == "failed" and error["error"] == rows["corrupt"]["error"]
    assert not (out / "corrupt" / DONE_FILE).exists()
    n_frames = read_video_info(folder / "run1.mp4").n_frames
    for vid in ("run1", "run2", "run3"):
        assert rows[vid]["status"] == "ok" and rows[vid]["error"] == ""
        assert float(rows[vid]["cadence_spm"]) == n_frames  # the fake's "cadence" is the frame count
        assert rows[vid]["quality_flags"] == "fake_analysis"
        assert float(rows[vid]["worker_peak_rss_mb"]) > 0
        assert (out / vid / "analysis.json").exists() and (out / vid / "fake_output.txt").exists()
    assert not (out / LOCK_FILE).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_rerun_redoes_only_missing_and_failed_videos(folder: Path, tmp_path: Path, cluster):
    out, log = tmp_path / "out", tmp_path / "calls.log"
    analyze = functools.partial(fake_analyze, calls_log=str(log))
    run_batch(folder, out, BatchOptions(scheduler=cluster.scheduler_address), analyze=analyze)
    assert _calls(log) == Counter({"run1.mp4": 1, "run2.mp4": 1, "run3.mp4": 1, "corrupt.mp4": 1})
    finished_at = json.loads((out / "run1" / DONE_FILE).read_text())["finished_at"]

    shutil.rmtree(out / "run2")
    report = run_batch(folder, out, BatchOptions(scheduler=cluster.scheduler_address), analyze=analyze)
    assert _calls(log) == Counter({"run1.mp4": 1, "run2.mp4": 2, "run3.mp4": 1, "corrupt.mp4": 2})
    rows = _summary(out)
    assert [rows[v]["status"] for v in ("run1", "run2", "run3", "corrupt")] == ["skipped", "ok", "skipped", "failed"]
    assert rows["run1"]["cadence_spm"] == rows["run2"]["cadence_spm"] != ""  # skipped rows keep their metrics
    assert json.loads((out / "run1" / DONE_FILE).read_text())["finished_at"] == finished_at
    assert (report.n_ok, report.n_skipped, report.n_failed) == (1, 2, 1)

    # a changed video is redone; --force redoes everything
    shutil.copy(folder / "corrupt.mp4", folder / "run3.mp4")
    run_batch(folder, out, BatchOptions(scheduler=cluster.scheduler_address), analyze=analyze)
    assert _summary(out)["run3"]["status"] == "failed"
    report = run_batch(folder, out, BatchOptions(scheduler=cluster.scheduler_address, force=True), analyze=analyze)
    assert report.n_skipped == 0 and _calls(log)["run1.mp4"] == 2


_BATCH_SCRIPT = """
import functools, sys
from backtorun.batch import BatchOptions, run_batch
from backtorun.batch._fake import fake_analyze
if __name__ == "__main__":  # Dask's worker processes re-import this module
    run_batch(sys.argv[1], sys.argv[2], BatchOptions(workers=1),
              analyze=functools.partial(fake_analyze, delay_s=float(sys.argv[3]), calls_log=sys.argv[4]))
"""


def test_killed_batch_resumes_without_redoing_finished_videos(folder: Path, tmp_path: Path, cluster):
    (folder / "corrupt.mp4").unlink()
    for i in (4, 5):
        shutil.copy(folder / "run1.mp4", folder / f"run{i}.mp4")
    out, log = tmp_path / "out", tmp_path / "calls.log"
    script = tmp_path / "batch_script.py"
    script.write_text(_BATCH_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(folder), str(out), "1.5", str(log)],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(out.glob(f"*/{DONE_FILE}"))) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its Dask workers: a crash, not a clean stop
        proc.communicate(timeout=30)
    finished_before = {p.parent.name for p in out.glob(f"*/{DONE_FILE}")}
    assert 2 <= len(finished_before) < 5, finished_before
    assert (out / LOCK_FILE).exists()  # left behind by the killed process

    report = run_batch(folder, out, BatchOptions(scheduler=cluster.scheduler_address),
                       analyze=functools.partial(fake_analyze, calls_log=str(log)))
    rows = _summary(out)
    assert {v for v, r in rows.items() if r["status"] == "skipped"} == finished_before
    assert {v for v, r in rows.items() if r["status"] == "ok"} == {f"run{i}" for i in range(1, 6)} - finished_before
    calls = _calls(log)
    assert all(calls[f"{v}.mp4"] == 1 for v in finished_before), calls
    assert report.n_failed == 0 and report.n_ok + report.n_skipped == 5
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert not (out / LOCK_FILE).exists()

    again = run_batch(folder, out, analyze=functools.partial(fake_analyze, calls_log=str(log)))
    assert again.n_skipped == 5 and again.n_workers == 0  # nothing left to do: no cluster is even started
    assert _calls(log) == calls


def test_dask_submit_runs_one_analysis_with_progress_and_errors(folder: Path, tmp_path: Path, cluster):
    from backtorun.batch import DaskAnalysisClient
    from backtorun.types import GaitAnalysis

    events: list[tuple[int, int]] = []
    with DaskAnalysisClient(cluster.scheduler_address) as client:
        future = client.submit(folder / "run1.mp4", tmp_path / "web" / "a1", view="side", height_cm=170.0,
                               analyze=fake_analyze, progress=lambda done, total: events.append((done, total)))
        analysis = future.result(timeout=60)
        bad = client.submit(folder / "corrupt.mp4", tmp_path / "web" / "a2", analyze=fake_analyze)
        with pytest.raises(VideoUnreadable, match="corrupt.mp4"):
            bad.result(timeout=60)
    assert isinstance(analysis, GaitAnalysis)
    assert analysis.view == "side" and analysis.height_cm == 170.0
    assert (tmp_path / "web" / "a1" / "fake_output.txt").exists()
    n = read_video_info(folder / "run1.mp4").n_frames
    deadline = time.monotonic() + 10
    while (n, n) not in events and time.monotonic() < deadline:  # events arrive on the client's event loop
        time.sleep(0.05)
    assert events[0] == (0, n) and events[-1] == (n, n)


def test_unreachable_scheduler_is_a_config_error(folder: Path, tmp_path: Path, monkeypatch):
    from backtorun.batch import DaskAnalysisClient, runner
    from backtorun.errors import ConfigError

    monkeypatch.setattr(runner, "SCHEDULER_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_batch(folder, tmp_path / "out", BatchOptions(scheduler="tcp://127.0.0.1:9"), analyze=fake_analyze)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        DaskAnalysisClient("tcp://127.0.0.1:9", connect_timeout_s=1)
    assert _summary(tmp_path / "out")["run1"]["status"] == "pending"


def test_a_worker_that_dies_fails_its_video_only(folder: Path, tmp_path: Path):
    import dask

    out, log = tmp_path / "out", tmp_path / "calls.log"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # no retries on other workers
        report = run_batch(folder, out, BatchOptions(workers=1),
                           analyze=functools.partial(fake_analyze, crash_on="run2.mp4", calls_log=str(log)))
    rows = _summary(out)
    assert rows["run2"]["status"] == "failed" and rows["run2"]["error_type"] == "KilledWorker"
    assert json.loads((out / "run2" / ERROR_FILE).read_text())["error_type"] == "KilledWorker"
    assert rows["run1"]["status"] == rows["run3"]["status"] == "ok"  # the nanny restarted the worker
    assert (report.n_ok, report.n_failed) == (2, 2)
    # results lost with the dead worker are recomputed by Dask, but finished videos are not analysed again
    assert _calls(log)["run1.mp4"] == 1 and _calls(log)["run3.mp4"] == 1
