"""CLI commands: ``evaluate`` (the whole evaluation), ``report`` (re-render an evaluation.json) and ``demo``."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, List, Optional

import typer

from backtorun.cli._args import HEIGHT_RANGE_CM, SpeedCommand, parse_fps, parse_height_cm, parse_speed
from backtorun.cli._common import console, err_console, user_errors
from backtorun.errors import InputError


def _stage_printer() -> Callable[[str, float], None]:
    """Progress callback that prints each new stage once (frame-level updates are not repeated)."""
    last: list[str] = [""]
    t0 = time.perf_counter()

    def show(stage: str, fraction: float) -> None:
        if stage != last[0]:
            last[0] = stage
            err_console.print(f"[dim]{time.perf_counter() - t0:6.1f} s[/]  {stage} …", highlight=False)

    return show


def _print_skipped(evaluation: object) -> None:
    """The training-log files and rows the import refused or skipped, with the reason (from evaluation.json)."""
    training = getattr(evaluation, "training", None) or {}
    for key, label in (("refused", "training log refused"), ("skipped", "training row skipped")):
        for item in training.get(key, []) or []:
            err_console.print(f"[yellow]{label}[/]: {item.get('reason')}", highlight=False, soft_wrap=True)
    for flag in (getattr(evaluation, "session", None) or {}).get("quality_flags", []) or []:
        err_console.print(f"[yellow]{flag.get('code')}[/]: {flag.get('message')}", highlight=False, soft_wrap=True)


def _print_leg_sources(evaluation: object) -> None:
    """Which clip each leg's side-view numbers came from, and the merge's warnings (a mis-sided clip)."""
    merge = getattr(evaluation, "side_merge", None) or {}
    if merge.get("provenance_text"):
        console.print(f"[bold]Leg sources[/]: {merge['provenance_text']}", highlight=False)
    for flag in merge.get("flags", []) or []:
        err_console.print(f"[yellow]{flag.get('code')}[/]: {flag.get('message')}", highlight=False, soft_wrap=True)


def _print_outputs(out: Path) -> None:
    """The top-level files of the run just published, as its run.json lists them (nothing else in the folder)."""
    from backtorun.services.run_folder import run_files

    console.print(f"[bold]Evaluation written to[/] {out}")
    for name in sorted(f for f in run_files(out) if "/" not in f and not f.startswith(".")):
        console.print(f"  {out / name}")


def evaluate(
    side: Optional[Path] = typer.Option(None, "--side", help="Side-view treadmill video (or keypoint file)."),
    rear: Optional[Path] = typer.Option(None, "--rear", help="Rear-view treadmill video (or keypoint file)."),
    side_left: Optional[Path] = typer.Option(None, "--side-left", help="Side video filmed from the runner's left "
                                             "(left leg nearest); with --side-right each leg is measured where "
                                             "it is the near leg."),
    side_right: Optional[Path] = typer.Option(None, "--side-right", help="Side video filmed from the runner's "
                                              "right (right leg nearest)."),
    side_keypoints: Optional[Path] = typer.Option(None, "--side-keypoints",
                                                  help="Side-view keypoints (.npz/.json/.csv) instead of a video."),
    rear_keypoints: Optional[Path] = typer.Option(None, "--rear-keypoints",
                                                  help="Rear-view keypoints instead of a video."),
    intake: Optional[Path] = typer.Option(None, "--intake", help="Intake YAML/JSON (pain, history, red flags)."),
    tests: Optional[Path] = typer.Option(None, "--tests", help="Strength and flexibility test results YAML/JSON."),
    logs: Optional[List[Path]] = typer.Option(None, "--logs", help="Training log file or folder (FIT/TCX/GPX/CSV); "
                                              "repeat for several."),
    height_cm: Optional[str] = typer.Option(None, "--height-cm", metavar="CM", help=f"Runner height in cm, {HEIGHT_RANGE_CM}."),
    speed: Optional[str] = typer.Option(None, "--speed", metavar="VALUE UNIT",
                                        help="Belt speed, e.g. --speed 10 km/h, 6.2 mph, 5:30 min/km."),
    fps: Optional[str] = typer.Option(None, "--fps", metavar="FPS",
                                      help="Frame rate of keypoint files without timestamps."),
    patient_name: Optional[str] = typer.Option(None, "--patient-name", help="Runner's name for the report."),
    patient_id: Optional[str] = typer.Option(None, "--patient-id", help="Runner's ID for the report."),
    clinician: Optional[str] = typer.Option(None, "--clinician", help="Clinician's name for the report."),
    incline_pct: Optional[float] = typer.Option(None, "--incline", help="Treadmill incline in %."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Clinic rules YAML merged over the defaults."),
    settings_file: Optional[Path] = typer.Option(
        None, "--settings", metavar="FILE", help="Analysis settings (YAML/JSON), or an earlier analysis.json to reuse."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF reports."),
) -> None:
    """Run the whole Back To Running Evaluation and write evaluation.json, the report (HTML + PDF) and plots."""
    with user_errors():
        from backtorun.outputs import check_output_dir

        from backtorun.services.analysis import is_keypoint_input, read_settings
        from backtorun.services.evaluation import EvaluationInputs, run_evaluation, with_files

        if all(p is None for p in (side, side_keypoints, rear, rear_keypoints, side_left, side_right)):
            raise InputError("no running recording given", hint="add --side VIDEO (and optionally --rear VIDEO)")
        if (side_left or side_right) and (side or side_keypoints):
            raise InputError("--side cannot be combined with --side-left/--side-right",
                             hint="give one side video (--side) or the two side videos (--side-left, --side-right)")
        # a keypoint file given as --side/--rear is analysed as keypoints
        if side is not None and side_keypoints is None and is_keypoint_input(side):
            side, side_keypoints = None, side
        if rear is not None and rear_keypoints is None and is_keypoint_input(rear):
            rear, rear_keypoints = None, rear
        height_v, speed_mps, fps_v = parse_height_cm(height_cm), parse_speed(speed), parse_fps(fps)
        analysis_settings = read_settings(settings_file)
        if incline_pct is not None and not math.isfinite(incline_pct):
            raise InputError(f"--incline {incline_pct} is not a finite number", hint="e.g. --incline 1")
        check_output_dir(out, create=False)  # a bad --out is reported before the intake and tests are read
        inputs = with_files(EvaluationInputs(
            side_video=side, rear_video=rear, side_keypoints=side_keypoints, rear_keypoints=rear_keypoints,
            side_left=side_left, side_right=side_right,
            keypoints_fps=fps_v, logs=tuple(logs or ()), height_cm=height_v, speed_mps=speed_mps,
            patient={k: v for k, v in (("name", patient_name), ("id", patient_id)) if v},
            session={k: v for k, v in (("clinician", clinician), ("incline_pct", incline_pct)) if v is not None},
            rules_path=rules, analysis_settings=analysis_settings), intake=intake, tests=tests)
        evaluation = run_evaluation(inputs, out, pdf=pdf, progress=_stage_printer())
        _print_skipped(evaluation)
        _print_leg_sources(evaluation)
        _print_outputs(out)


def report(
    evaluation_json: Path = typer.Argument(..., metavar="EVALUATION.json", help="evaluation.json to re-render."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: the file's folder)."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF reports."),
) -> None:
    """Re-render the report (HTML, PDF, plots) from an evaluation.json."""
    with user_errors():
        from backtorun.outputs import check_output_dir

        from backtorun.services.evaluation import rerender_report

        if out is not None:
            check_output_dir(out)  # before anything is rendered
        target, written = rerender_report(evaluation_json, out, pdf=pdf)
        console.print(f"[bold]Report written to[/] {target}")
        for key in ("report_html", "report_pdf", "runner_html", "runner_pdf"):
            if key in written:
                console.print(f"  {written[key]}")


def demo(
    out: Path = typer.Option(Path("backtorun-demo"), "--out", "-o", help="Output folder."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF reports."),
) -> None:
    """Run the whole evaluation end to end on the samples shipped with backtorun (no video needed)."""
    with user_errors():
        from backtorun.services.evaluation import run_demo

        err_console.print("Demo: sample gait keypoints, intake, test results and training log shipped with backtorun.")
        run_demo(out, pdf=pdf, progress=_stage_printer())
        _print_outputs(out)


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("evaluate", cls=SpeedCommand)(evaluate)
    app.command("report")(report)
    app.command("demo")(demo)
