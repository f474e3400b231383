"""CLI commands: ``evaluate`` (the whole evaluation), ``report`` (re-render an evaluation.json) and ``demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import typer

from backtorun.cli._common import console, err_console, user_errors
from backtorun.errors import InputError


def _speed_mps(speed: Optional[Tuple[str, str]]) -> float | None:
    if speed is None:
        return None
    from backtorun.units import parse_pace, speed_to_mps

    value, unit = speed
    try:
        number = parse_pace(value) if ":" in value else float(value)
    except ValueError:
        raise InputError(f"--speed: {value!r} is not a number", hint="e.g. --speed 10 km/h or --speed 5:30 min/km") from None
    return speed_to_mps(number, unit)


def _stage_printer() -> Callable[[str, float], None]:
    """Progress callback that prints each new stage once (frame-level updates are not repeated)."""
    last: list[str] = [""]
    t0 = time.perf_counter()

    def show(stage: str, fraction: float) -> None:
        if stage != last[0]:
            last[0] = stage
            err_console.print(f"[dim]{time.perf_counter() - t0:6.1f} s[/]  {stage} …", highlight=False)

    return show


def _print_outputs(out: Path) -> None:
    names = ["evaluation.json", "report.html", "report.pdf", "runner.html", "runner.pdf"]
    console.print(f"[bold]Evaluation written to[/] {out}")
    for name in names:
        if (out / name).is_file():
            console.print(f"  {out / name}")
    for wav in sorted(out.glob("metronome_*.wav")):
        console.print(f"  {wav}")


def evaluate(
    side: Optional[Path] = typer.Option(None, "--side", help="Side-view treadmill video (or keypoint file)."),
    rear: Optional[Path] = typer.Option(None, "--rear", help="Rear-view treadmill video (or keypoint file)."),
    side_keypoints: Optional[Path] = typer.Option(None, "--side-keypoints",
                                                  help="Side-view keypoints (.npz/.json/.csv) instead of a video."),
    rear_keypoints: Optional[Path] = typer.Option(None, "--rear-keypoints",
                                                  help="Rear-view keypoints instead of a video."),
    intake: Optional[Path] = typer.Option(None, "--intake", help="Intake YAML/JSON (pain, history, red flags)."),
    tests: Optional[Path] = typer.Option(None, "--tests", help="Strength and flexibility test results YAML/JSON."),
    logs: Optional[List[Path]] = typer.Option(None, "--logs", help="Training log file or folder (FIT/TCX/GPX/CSV); "
                                              "repeat for several."),
    height_cm: Optional[float] = typer.Option(None, "--height-cm", min=100, max=230, help="Runner height in cm."),
    speed: Optional[Tuple[str, str]] = typer.Option(None, "--speed", metavar="VALUE UNIT",
                                                    help="Belt speed, e.g. --speed 10 km/h, 6.2 mph, 5:30 min/km."),
    fps: Optional[float] = typer.Option(None, "--fps", min=1, help="Frame rate of keypoint files without timestamps."),
    patient_name: Optional[str] = typer.Option(None, "--patient-name", help="Runner's name for the report."),
    patient_id: Optional[str] = typer.Option(None, "--patient-id", help="Runner's ID for the report."),
    clinician: Optional[str] = typer.Option(None, "--clinician", help="Clinician's name for the report."),
    incline_pct: Optional[float] = typer.Option(None, "--incline", help="Treadmill incline in %."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Clinic rules YAML merged over the defaults."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF reports."),
) -> None:
    """Run the whole Back To Running Evaluation and write evaluation.json, the report (HTML + PDF) and plots."""
    with user_errors():
        from backtorun.services.evaluation import run_evaluation

        from backtorun.services.analysis import is_keypoint_input

        if side is None and side_keypoints is None and rear is None and rear_keypoints is None:
            raise InputError("no running recording given", hint="add --side VIDEO (and optionally --rear VIDEO)")
        # a keypoint file given as --side/--rear is analysed as keypoints
        if side is not None and side_keypoints is None and is_keypoint_input(side):
            side, side_keypoints = None, side
        if rear is not None and rear_keypoints is None and is_keypoint_input(rear):
            rear, rear_keypoints = None, rear
        patient = {k: v for k, v in (("name", patient_name), ("id", patient_id)) if v}
        session = {k: v for k, v in (("clinician", clinician), ("incline_pct", incline_pct)) if v is not None}
        run_evaluation(
            side_video=side, rear_video=rear, side_keypoints=side_keypoints, rear_keypoints=rear_keypoints,
            intake=intake, tests=tests, logs=tuple(logs or ()), out_dir=out, height_cm=height_cm,
            speed_mps=_speed_mps(speed), keypoints_fps=fps, patient=patient, session=session, rules_path=rules,
            pdf=pdf, progress=_stage_printer(),
        )
        _print_outputs(out)


def report(
    evaluation_json: Path = typer.Argument(..., metavar="EVALUATION.json", help="evaluation.json to re-render."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: the file's folder)."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF reports."),
) -> None:
    """Re-render the report (HTML, PDF, plots) from an evaluation.json."""
    with user_errors():
        from backtorun.evaluation import Evaluation
        from backtorun.services.evaluation import render_report

        evaluation = Evaluation.load(evaluation_json)
        target = out or evaluation_json.parent
        written = render_report(evaluation, target, asset_dir=evaluation_json.parent, pdf=pdf)
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
    app.command("evaluate")(evaluate)
    app.command("report")(report)
    app.command("demo")(demo)
