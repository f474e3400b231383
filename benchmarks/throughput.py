"""Throughput and memory of the video analysis, all phases on the same clip, in one run.

    .venv/bin/python benchmarks/throughput.py [--video PATH] [--repeat 3] [--long-minutes 10] [--skip-long]

Each phase runs in its own subprocess so that its peak memory (ru_maxrss) and CPU time are its own; the speed
phases run ``--repeat`` times, interleaved, and the fastest run of each counts (the machine may be shared).
Every phase imports what it runs (PyAV, MediaPipe, backtorun's stages) before its clock starts, as the plain
loop always did: the figures are processing rates, not interpreter start-up (importing backtorun's analysis
with MediaPipe took 1.4–1.6 s once per process on the 2-core VM; printed on its own line).

* end_to_end   ``backtorun.services.analysis.analyze_video_file`` if it exists, else ``estimate_pose``
               (the line says which), frames per second over the clip's frames: with all outputs
               (annotated video included, as ``backtorun analyze`` does) and without the annotated video.
* pose_stage   ``backtorun.pose.estimate_pose`` alone (parallel segments, runner tracking).
* plain_loop   a plain sequential loop: PyAV decode (default settings) → rgb24 → MediaPipe Pose
               (model_complexity=1, video mode), one frame after the other. Inside it the time spent in
               MediaPipe alone gives pose_s_per_frame.
* decode_only  the pipeline's decoder (backtorun.pose.iter_frames: rgb24, rotation applied), no pose.
* ceiling      2-core ceiling = 2 / (decode_s_per_frame + pose_s_per_frame).
* long_video   the clip looped (compressed packets copied, no re-encode) to ``--long-minutes`` into a temp
               folder, analysed by ``estimate_pose``; resident memory sampled every 0.5 s: peak, and at
               each quarter of the run (flat = memory does not grow with length).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "video" / "treadmill" / "IMG_5396.mp4"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _quiet_native_logs() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ---------------------------------------------------------------------------------------------------------
# Phases (run in a child process)
# ---------------------------------------------------------------------------------------------------------


def _import_analysis() -> float:
    """Import everything ``analyze_video_file`` uses (checked: it imports nothing more while it runs); seconds."""
    t0 = time.perf_counter()
    import backtorun.outputs  # noqa: F401
    import backtorun.pipeline  # noqa: F401
    import backtorun.pose._mediapipe  # noqa: F401
    import backtorun.services.analysis  # noqa: F401
    import backtorun.visuals.preview  # noqa: F401
    import mediapipe  # noqa: F401

    return time.perf_counter() - t0


def phase_pose_stage(video: Path, workers: int | None) -> dict:
    _import_analysis()
    from backtorun.pose import estimate_pose

    t0, c0 = time.perf_counter(), _cpu_s()
    series = estimate_pose(video, workers=workers)
    wall = time.perf_counter() - t0
    return {"what": "backtorun.pose.estimate_pose", "frames": series.n_frames, "wall_s": wall,
            "fps": series.n_frames / wall, "peak_rss_mb": _peak_rss_mb(), "cpu_s": _cpu_s() - c0}


def phase_end_to_end(video: Path, workers: int | None, annotate: bool = True) -> dict:
    import_s = _import_analysis()
    try:
        from backtorun.services import analysis as svc  # type: ignore[attr-defined]

        fn = getattr(svc, "analyze_video_file")
    except (ImportError, AttributeError):
        fn = None
    from backtorun.pose import estimate_pose, read_video_info

    n = read_video_info(video).n_frames
    with tempfile.TemporaryDirectory(prefix="btr-bench-") as tmp:
        t0, c0 = time.perf_counter(), _cpu_s()
        if fn is not None:
            params = inspect.signature(fn).parameters
            kwargs: dict = {}
            for name in ("out_dir", "out"):
                if name in params:
                    kwargs[name] = Path(tmp)
                    break
            if "annotate" in params:
                kwargs["annotate"] = annotate
            fn(video, **kwargs)
            what = "analyze_video_file(" + ", ".join(f"{k}={'DIR' if k.startswith('out') else v}"
                                                     for k, v in kwargs.items()) + ")"
        else:
            estimate_pose(video, workers=workers)
            what = "backtorun.pose.estimate_pose (services.analysis.analyze_video_file not available)"
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {"what": what, "frames": n, "wall_s": wall, "fps": n / wall, "peak_rss_mb": _peak_rss_mb(),
            "import_s": import_s, "cpu_s": cpu}


def phase_plain_loop(video: Path) -> dict:
    import av
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    t_pose = 0.0
    n = 0
    t0, c0 = time.perf_counter(), _cpu_s()
    with av.open(str(video)) as container:
        for frame in container.decode(container.streams.video[0]):
            rgb = frame.to_ndarray(format="rgb24")
            a = time.perf_counter()
            pose.process(rgb)
            t_pose += time.perf_counter() - a
            n += 1
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    pose.close()
    return {"frames": n, "wall_s": wall, "fps": n / wall, "pose_s_per_frame": t_pose / n,
            "decode_in_loop_s_per_frame": (wall - t_pose) / n, "peak_rss_mb": _peak_rss_mb(), "cpu_s": cpu}


def phase_decode_only(video: Path) -> dict:
    from backtorun.pose import iter_frames

    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _frame in iter_frames(video):
        n += 1
    wall = time.perf_counter() - t0
    return {"frames": n, "wall_s": wall, "decode_s_per_frame": wall / n,
            "decode_cpu_s_per_frame": (time.process_time() - c0) / n, "peak_rss_mb": _peak_rss_mb()}


def phase_long_video(video: Path, minutes: float, workers: int | None, stage: str) -> dict:
    import psutil

    from backtorun.pose import estimate_pose, read_video_info
    from backtorun.pose.synth import loop_video

    info = read_video_info(video)
    repeats = max(1, int(round(minutes * 60.0 / max(info.duration_s, 1e-3))))
    proc = psutil.Process()
    samples: list[tuple[int, float]] = []
    done = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append((done[0], proc.memory_info().rss / 2**20))

    with tempfile.TemporaryDirectory(prefix="btr-long-") as tmp:
        long = loop_video(video, Path(tmp) / "long.mp4", repeats=repeats)
        n_total = info.n_frames * repeats
        rss_before = proc.memory_info().rss / 2**20
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t0 = time.perf_counter()
        what = "estimate_pose"
        if stage == "analyze":
            from backtorun.services.analysis import analyze_video_file

            analysis = analyze_video_file(long, Path(tmp) / "out",
                                          progress=lambda d, t: done.__setitem__(0, max(done[0], d)))
            n_done, minutes = analysis.video.n_frames, analysis.video.n_frames / analysis.video.fps / 60.0
            what = "analyze_video_file (all outputs)"
        else:
            series = estimate_pose(long, workers=workers, progress=lambda d, t: done.__setitem__(0, d))
            n_done, minutes = series.n_frames, series.duration_s / 60.0
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
    quarters = []
    for q in (0.25, 0.5, 0.75, 1.0):
        at = [rss for d, rss in samples if d <= q * n_total]
        quarters.append(round(max(at), 1) if at else None)
    return {"what": what, "repeats": repeats, "frames": n_done, "video_minutes": minutes,
            "wall_s": wall, "fps": n_done / wall, "rss_before_mb": rss_before,
            "rss_peak_by_quarter_mb": quarters, "peak_rss_mb": _peak_rss_mb()}


# ---------------------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------------------


def _run_child(phase: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--video", str(args.video),
           "--long-minutes", str(args.long_minutes), "--long-stage", args.long_stage]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        raise SystemExit(f"phase {phase} failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--long-minutes", type=float, default=10.0)
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--only-long", action="store_true", help="run only the long-video memory check")
    ap.add_argument("--long-stage", choices=("pose", "analyze"), default="analyze",
                    help="long video through estimate_pose only, or the whole analysis with all outputs")
    ap.add_argument("--workers", type=int, default=None, help="estimate_pose workers (default: one per core)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds of the speed phases; best counts")
    ap.add_argument("--loops", type=int, default=1, help="run the speed phases on the clip looped this many times")
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    _quiet_native_logs()
    if args.phase:
        fn = {"end_to_end": lambda: phase_end_to_end(args.video, args.workers),
              "end_to_end_no_video": lambda: phase_end_to_end(args.video, args.workers, annotate=False),
              "pose_stage": lambda: phase_pose_stage(args.video, args.workers),
              "plain_loop": lambda: phase_plain_loop(args.video),
              "decode_only": lambda: phase_decode_only(args.video),
              "long_video": lambda: phase_long_video(args.video, args.long_minutes, args.workers,
                                                     args.long_stage)}[args.phase]
        c0 = _cpu_s()
        res = fn()
        res.setdefault("cpu_s", _cpu_s() - c0)  # the speed phases measure their own, after their imports
        sys.stdout.write(json.dumps(res) + "\n")
        return 0

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    out = sys.stdout.write
    out(f"clip: {args.video}  cores: {cores}  load average at start: {os.getloadavg()[0]:.2f}\n")
    if not args.only_long:
        if args.loops > 1:  # the same clip played several times back to back: fixed start-up costs amortised
            sys.path.insert(0, str(ROOT / "src"))
            from backtorun.pose.synth import loop_video

            with tempfile.TemporaryDirectory(prefix="btr-loops-") as tmp:
                looped = loop_video(args.video, Path(tmp) / f"loop{args.loops}.mp4", repeats=args.loops)
                out(f"speed phases on the clip looped {args.loops} times ({looped.name})\n")
                _speed(argparse.Namespace(**{**vars(args), "video": looped}), out)
        else:
            _speed(args, out)
    if not args.skip_long:
        lv = _run_child("long_video", args)
        out(f"long video      {lv['video_minutes']:.1f} min ({lv['frames']} frames, clip × {lv['repeats']}) "
            f"through {lv['what']} in {lv['wall_s']:.0f} s = {lv['fps']:.1f} frames/s; RSS before "
            f"{lv['rss_before_mb']:.0f} MB, peak by quarter {lv['rss_peak_by_quarter_mb']} MB, "
            f"peak {lv['peak_rss_mb']:.0f} MB (limit 1536 MB)\n")
    out(f"load average at end: {os.getloadavg()[0]:.2f}\n")
    return 0


def _speed(args: argparse.Namespace, out) -> None:  # type: ignore[no-untyped-def]
    phases = ("end_to_end", "end_to_end_no_video", "pose_stage", "plain_loop", "decode_only")
    best: dict[str, dict] = {}
    for rnd in range(args.repeat):  # interleaved rounds; the fastest run of each phase counts (shared machine)
        for ph in phases:
            r = _run_child(ph, args)
            if ph not in best or r["wall_s"] < best[ph]["wall_s"]:
                best[ph] = r
        out(f"round {rnd + 1}/{args.repeat} done, load average {os.getloadavg()[0]:.2f}\n")
    e2e, e2e_nv, pst, plain, dec = (best[p] for p in phases)
    if args.repeat > 1:
        out(f"best of {args.repeat} interleaved runs per phase:\n")
    ceiling = 2.0 / (dec["decode_s_per_frame"] + plain["pose_s_per_frame"])
    for label, r in (("analyze, all outputs incl. annotated video", e2e),
                     ("analyze, no annotated video", e2e_nv), ("pose stage (estimate_pose)", pst)):
        out(f"{label}:\n{'':<15} {r['fps']:7.1f} frames/s  ({r['frames']} frames in {r['wall_s']:.2f} s, "
            f"{1000 * r['cpu_s'] / r['frames']:.1f} ms CPU/frame; {r['what']})  peak RSS {r['peak_rss_mb']:.0f} MB\n")
    out(f"plain loop      {plain['fps']:7.1f} frames/s  (sequential PyAV decode → MediaPipe; "
        f"{1000 * plain['cpu_s'] / plain['frames']:.1f} ms CPU/frame)  peak RSS {plain['peak_rss_mb']:.0f} MB\n")
    out(f"decode only     {1000 * dec['decode_s_per_frame']:7.2f} ms/frame wall "
        f"({1000 * dec['decode_cpu_s_per_frame']:.2f} ms CPU)  peak RSS {dec['peak_rss_mb']:.0f} MB\n")
    out(f"pose only       {1000 * plain['pose_s_per_frame']:7.2f} ms/frame (MediaPipe process() in the plain loop)\n")
    out(f"2-core ceiling  {ceiling:7.1f} frames/s  = 2 / (decode + pose)\n")
    out(f"imports         {e2e['import_s']:7.2f} s once per process (backtorun's analysis with MediaPipe; "
        "not in the rates above)\n")
    for label, r in (("analyze all", e2e), ("analyze no video", e2e_nv), ("pose stage", pst)):
        out(f"ratios {label:<16} / plain = {r['fps'] / plain['fps']:.2f} (target ≥ 1.40);  "
            f"/ ceiling = {r['fps'] / ceiling:.2f} (target ≥ 0.85)\n")


if __name__ == "__main__":
    raise SystemExit(main())
