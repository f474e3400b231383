"""CLI: ``backtorun analyze VIDEO --out DIR [--view auto|side|rear] [--height-cm N] [--speed VALUE UNIT] [--fps F]
[--capture-fps N]``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Tuple

import typer
from rich.table import Table

from backtorun.cli._common import console, progress_bar, user_errors
from backtorun.errors import InputError

_UNITS = {
    "cadence_spm": "steps/min", "step_time_ms": "ms", "contact_time_ms": "ms", "flight_time_ms": "ms",
    "duty_factor_pct": "%", "vertical_oscillation_cm": "cm", "vertical_ratio_pct": "%", "step_length_m": "m",
}


def _speed(values: Optional[Tuple[Optional[str], Optional[str]]]) -> float | None:
    from backtorun.units import speed_to_mps

    if not values or values[0] is None or values[1] is None:
        return None
    from backtorun.units import parse_pace

    try:
        value = parse_pace(values[0]) if ":" in values[0] else float(values[0])
    except ValueError:
        raise InputError(f"--speed value {values[0]!r} is not a number", hint="e.g. --speed 10 km/h") from None
    return speed_to_mps(value, str(values[1]))


def _fmt(v: float | None, digits: int = 1) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def analyze(
    video: Path = typer.Argument(..., help="Treadmill video, or keypoints (.npz, .csv, OpenPose JSON folder)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    view: str = typer.Option("auto", "--view", help="auto, side or rear."),
    height_cm: Optional[float] = typer.Option(None, "--height-cm", help="Runner's height in cm (for cm values)."),
    speed: Optional[Tuple[str, str]] = typer.Option(None, "--speed", show_default=False,
                                          help="Belt speed: VALUE UNIT (km/h, mph, m/s, min/km, min/mi)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate of keypoint inputs that do not store one."),
    no_video: bool = typer.Option(False, "--no-video", help="Skip the annotated video."),
    capture_fps: Optional[float] = typer.Option(
        None, "--capture-fps", help="True capture frame rate of a slow-motion clip (e.g. 240): time is rescaled."),
) -> None:
    """Analyse treadmill running technique: gait events, per-stride metrics, quality flags."""
    from backtorun.services.analysis import analyze_keypoints_file, analyze_video_file, is_keypoint_input

    with user_errors():
        if view not in ("auto", "side", "rear"):
            raise InputError(f"unknown view {view!r}", hint="use --view auto, side or rear")
        if capture_fps is not None and not capture_fps > 0:
            raise InputError(f"--capture-fps {capture_fps} is not positive", hint="e.g. --capture-fps 240")
        if not video.exists():
            raise InputError(f"{video}: file not found", hint="check the path")
        speed_mps = _speed(speed)
        if is_keypoint_input(video):
            analysis = analyze_keypoints_file(video, out, fps=fps, view=view, height_cm=height_cm, speed_mps=speed_mps,
                                              capture_fps=capture_fps)
        else:
            with progress_bar("analysing") as update:
                analysis = analyze_video_file(video, out, view=view, height_cm=height_cm, speed_mps=speed_mps,
                                              progress=update, annotate=not no_video, capture_fps=capture_fps)
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
    for f in analysis.quality_flags:
        console.print(f"[{'red' if f.severity == 'error' else 'yellow' if f.severity == 'warning' else 'cyan'}]"
                      f"{f.code}[/]: {f.message}", highlight=False)
    console.print(f"outputs in {out}")


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("analyze")(analyze)
