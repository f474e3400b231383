"""CLI: ``backtorun analyze VIDEO --out DIR [--view auto|side|rear] [--height-cm N] [--speed VALUE UNIT] [--fps F]
[--capture-fps N]``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from backtorun.cli._args import HEIGHT_RANGE_CM, SpeedCommand, parse_fps, parse_height_cm, parse_speed, parse_view
from backtorun.cli._common import console, progress_bar, user_errors

_UNITS = {
    "cadence_spm": "steps/min", "step_time_ms": "ms", "contact_time_ms": "ms", "flight_time_ms": "ms",
    "duty_factor_pct": "%", "vertical_oscillation_cm": "cm", "vertical_ratio_pct": "%", "step_length_m": "m",
}


def _fmt(v: float | None, digits: int = 1) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def analyze(
    video: Optional[Path] = typer.Argument(None, help="Treadmill video, or keypoints (.npz, .csv, OpenPose JSON "
                                           "folder); or give --side-left/--side-right instead."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    view: str = typer.Option("auto", "--view", help="auto, side, rear or front."),
    height_cm: Optional[str] = typer.Option(None, "--height-cm", metavar="CM",
                                            help=f"Runner's height in cm, {HEIGHT_RANGE_CM} (for cm values)."),
    speed: Optional[str] = typer.Option(None, "--speed", show_default=False, metavar="VALUE UNIT",
                                        help="Belt speed: VALUE UNIT (km/h, mph, m/s, min/km, min/mi), e.g. 10 km/h."),
    fps: Optional[str] = typer.Option(None, "--fps", metavar="FPS",
                                      help="Frame rate of keypoint inputs that do not store one."),
    no_video: bool = typer.Option(False, "--no-video", help="Skip the annotated video."),
    capture_fps: Optional[str] = typer.Option(
        None, "--capture-fps", help="True capture frame rate of a slow-motion clip (e.g. 240): time is rescaled."),
    settings_file: Optional[Path] = typer.Option(
        None, "--settings", metavar="FILE", help="Analysis settings (YAML/JSON), or an earlier analysis.json to reuse."),
    side_left: Optional[Path] = typer.Option(None, "--side-left", help="Side video filmed from the runner's left "
                                             "(left leg nearest), instead of VIDEO."),
    side_right: Optional[Path] = typer.Option(None, "--side-right", help="Side video filmed from the runner's "
                                              "right (right leg nearest): each leg is measured where it is nearest."),
) -> None:
    """Analyse treadmill running technique: gait events, per-stride metrics, quality flags."""
    from backtorun.outputs import check_output_dir
    from backtorun.errors import InputError
    from backtorun.services.analysis import (AnalysisOptions, analyze_keypoints_file, analyze_two_sided,
                                             analyze_video_file, check_video_input, is_keypoint_input, merge_side_clips,
                                             read_settings)

    with user_errors():
        view = parse_view(view)
        capture_fps_v = parse_fps(capture_fps, option="--capture-fps")
        fps_v = parse_fps(fps)
        height_v = parse_height_cm(height_cm)
        speed_mps = parse_speed(speed)
        options = AnalysisOptions(view=view, height_cm=height_v, speed_mps=speed_mps, capture_fps=capture_fps_v,
                                  settings=read_settings(settings_file))
        if (side_left or side_right) and video is not None:
            raise InputError("give VIDEO or --side-left/--side-right, not both",
                             hint="backtorun analyze --side-left LEFT.mp4 --side-right RIGHT.mp4 --out DIR")
        if side_left or side_right:
            check_output_dir(out, create=False)
            with progress_bar("analysing") as update:
                merged = analyze_two_sided(side_left, side_right, out, options, fps=fps_v, progress=update,
                                           annotate=not no_video)
        elif video is None:
            raise InputError("no video given", hint="backtorun analyze VIDEO --out DIR (or --side-left/--side-right)")
    if side_left or side_right:
        _print_two_sided(merged, out)
        return
    assert video is not None
    with user_errors():
        check_video_input(video)
        check_output_dir(out, create=False)  # before any decoding
        if is_keypoint_input(video):
            analysis = analyze_keypoints_file(video, out, options, fps=fps_v)
        else:
            with progress_bar("analysing") as update:
                analysis = analyze_video_file(video, out, options, progress=update, annotate=not no_video)
    table = Table(title=f"{video.name}: {analysis.view} view, {len(analysis.events)} events")
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("SD", justify="right")
    table.add_column("L", justify="right")
    table.add_column("R", justify="right")
    table.add_column("n", justify="right")
    for name, s in analysis.summary.items():
        table.add_row(name, _fmt(s.mean), _fmt(s.sd), _fmt(s.by_side["L"].mean if "L" in s.by_side else None),
                      _fmt(s.by_side["R"].mean if "R" in s.by_side else None), str(s.n))
    console.print(table)
    if analysis.view == "side" and analysis.near_side is not None:  # which leg was near, the far leg's lower confidence
        sources = merge_side_clips({"side": analysis}, inputs={"side": video}).provenance_text()
        console.print(f"[bold]Leg sources[/]: {sources}", highlight=False)
    for f in analysis.quality_flags:
        console.print(f"[{'red' if f.severity == 'error' else 'yellow' if f.severity == 'warning' else 'cyan'}]"
                      f"{f.code}[/]: {f.message}", highlight=False)
    console.print(f"outputs in {out}")


def _print_two_sided(merged, out: Path) -> None:  # type: ignore[no-untyped-def]
    """The merged per-leg table (L and R each from its near-leg clip), the leg sources and the warnings."""
    table = Table(title="two side videos: each leg from the clip where it is the near leg")
    for col in ("metric", "mean", "L", "R", "asymmetry"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, s in merged.summary.items():
        table.add_row(name, _fmt(s.mean), _fmt(s.by_side["L"].mean if "L" in s.by_side else None),
                      _fmt(s.by_side["R"].mean if "R" in s.by_side else None), _fmt(s.asymmetry))
    console.print(table)
    console.print(f"[bold]Leg sources[/]: {merged.provenance_text()}", highlight=False)
    for role, a in merged.clips.items():
        for f in a.quality_flags:
            console.print(f"{role}-side [{'red' if f.severity == 'error' else 'yellow'}]{f.code}[/]: {f.message}",
                          highlight=False, soft_wrap=True)
    for f in merged.flags:
        console.print(f"[yellow]{f.code}[/]: {f.message}", highlight=False, soft_wrap=True)
    console.print(f"outputs in {out}")


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("analyze", cls=SpeedCommand)(analyze)
