"""Batch throughput: videos per minute with 1 and 2 local Dask workers on the same inputs, in one run.

    .venv/bin/python benchmarks/batch.py                      # 4 copies of mini_run, 1 then 2 workers
    .venv/bin/python benchmarks/batch.py --copies 6 --workers 1 2 4 --video path/to/run.mp4

Each worker count analyses the same copies into its own fresh output folder (nothing is skipped). The wall time
includes starting the LocalCluster and loading MediaPipe in every worker, as in a real batch; the mean per-video
time (measured inside the workers) is printed too. See docs/batch.md for measured numbers and the ceiling.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "data" / "video" / "treadmill" / "mini_run.mp4"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video to copy (default: mini_run.mp4)")
    p.add_argument("--copies", type=int, default=4, help="number of copies analysed per worker count")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    p.add_argument("--repeat", type=int, default=1,
                   help="alternate the worker counts this many times (1,2,1,2…) and report the median")
    p.add_argument("--no-annotate", action="store_true", help="skip the annotated video")
    p.add_argument("--fake", action="store_true", help="use the fake analysis (checks the plumbing, no MediaPipe)")
    p.add_argument("--keep", type=Path, default=None, help="keep inputs and outputs in this folder")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from backtorun.batch import BatchOptions, run_batch

    analyze = None
    if args.fake:
        from backtorun.batch._fake import fake_analyze

        analyze = fake_analyze
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="btr-batch-bench-"))
    inputs = root / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for i in range(args.copies):
        shutil.copy(args.video, inputs / f"{args.video.stem}_{i:02d}{args.video.suffix}")
    print(f"{args.copies} copies of {args.video.name}; CPU cores: {os.cpu_count()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    results: dict[int, list[float]] = {n: [] for n in args.workers}
    busy: dict[int, list[float]] = {n: [] for n in args.workers}
    try:
        for n in [n for _ in range(args.repeat) for n in args.workers]:
            out = root / f"out_w{n}"
            shutil.rmtree(out, ignore_errors=True)
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            report = run_batch(inputs, out, BatchOptions(workers=n, annotate=not args.no_annotate), analyze=analyze)
            wall_s = time.perf_counter() - started
            per_video = [float(r["elapsed_s"]) for r in report.rows if r["elapsed_s"] != ""]
            rss = [float(r["worker_peak_rss_mb"]) for r in report.rows if r["worker_peak_rss_mb"] != ""]
            cpu = [float(r["cpu_s"]) for r in report.rows if r["cpu_s"] != ""]
            vpm = 60.0 * report.n_ok / wall_s if wall_s > 0 else float("nan")
            results[n].append(vpm)
            busy[n].append(sum(cpu) / max(sum(per_video), 1e-9))
            print(f"workers={n}: {report.n_ok} ok, {report.n_failed} failed in {wall_s:.1f} s wall "
                  f"-> {vpm:.2f} videos/min; per video {statistics.mean(per_video):.1f} s wall and "
                  f"{statistics.mean(cpu):.1f} s CPU mean inside the worker "
                  f"({sum(cpu) / max(sum(per_video), 1e-9):.2f} cores busy per video); "
                  f"worker peak RSS {max(rss):.0f} MiB; load average at start {load_before:.2f}")
            for row in report.failures:
                print(f"  failed {row['id']}: {row['error']}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    medians = {n: statistics.median(v) for n, v in results.items() if v}
    if not medians:
        return 1
    first = min(medians)
    for n, vpm in sorted(medians.items()):
        print(f"workers={n}: median {vpm:.2f} videos/min over {len(results[n])} run(s)")
        if n != first and medians[first] > 0:
            print(f"speed-up {n} vs {first} worker(s): {vpm / medians[first]:.2f}x")
    if busy.get(1):
        cores, one = os.cpu_count() or 1, max(busy[1])
        print(f"one worker kept up to {one:.2f} cores busy: CPU-bound ceiling on {cores} cores about "
              f"{cores / one:.2f}x the 1-worker throughput (if the machine is otherwise idle)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
