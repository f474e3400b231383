"""CLI command: ``backtorun batch`` — analyse a folder of videos or a CSV manifest on Dask (docs/batch.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from backtorun.cli._args import HEIGHT_RANGE_CM, SpeedCommand, parse_height_cm, parse_speed, parse_view
from backtorun.cli._common import console, err_console, progress_style, user_errors
from backtorun.errors import InputError

#: At most this many failed videos are listed on the terminal (all of them are in summary.csv).
_MAX_FAILURES_LISTED = 20


def batch(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="Folder of videos, or a CSV manifest "
                                      "(columns: video, view, height_cm, speed or speed_mps, patient_id)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one sub-folder per video + summary.csv)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1,
                                          help="Local worker processes (default: one per CPU core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Use an existing Dask scheduler, "
                                            "e.g. tcp://HOST:8786, instead of local workers."),
    force: bool = typer.Option(False, "--force", help="Redo videos that are already finished."),
    view: str = typer.Option("auto", "--view",
                             help="Camera view where the manifest gives none: auto, side, rear, front."),
    height_cm: Optional[str] = typer.Option(None, "--height-cm", metavar="CM",
                                            help=f"Runner height (cm, {HEIGHT_RANGE_CM}) where the manifest gives "
                                                 "none."),
    speed: Optional[str] = typer.Option(None, "--speed", metavar="VALUE UNIT",
                                        help="Belt speed where the manifest gives none, e.g. 10 km/h."),
    settings_file: Optional[Path] = typer.Option(None, "--settings", metavar="FILE", help="Analysis settings "
                                                 "(YAML/JSON), or an earlier analysis.json to reuse."),
    annotate: bool = typer.Option(True, "--annotate/--no-annotate", help="Write the annotated video per run."),
) -> None:
    """Analyse many treadmill videos in parallel on Dask; finished videos are skipped, failures recorded."""
    with user_errors():
        from backtorun.batch import BatchOptions, JobDefaults, load_jobs, run_batch
        from backtorun.settings import load_settings

        if workers is not None and scheduler is not None:
            raise InputError("give either --workers or --scheduler, not both",
                             hint="--workers starts local processes; --scheduler uses an existing cluster")
        defaults = JobDefaults(view=parse_view(view), height_cm=parse_height_cm(height_cm),  # type: ignore[arg-type]
                               speed_mps=parse_speed(speed))
        from backtorun.outputs import check_output_dir

        check_output_dir(out, create=False)  # before any job is read or video decoded
        settings = load_settings(settings_file) if settings_file is not None else None
        jobs = load_jobs(input_path, defaults, out_dir=out)
        with _BatchProgress() as progress:
            options = BatchOptions(workers=workers, scheduler=scheduler, force=force, settings=settings,
                                   annotate=annotate)
            report = run_batch(jobs, out, options, progress=progress.update)
        for row in report.failures[:_MAX_FAILURES_LISTED]:
            err_console.print(f"[red]failed[/] {row['id']}: {row['error']}", highlight=False, soft_wrap=True)
        if report.n_failed > _MAX_FAILURES_LISTED:
            err_console.print(f"… and {report.n_failed - _MAX_FAILURES_LISTED} more failures: see the summary")
        console.print(
            f"{report.n_ok} analysed, {report.n_skipped} already finished, {report.n_failed} failed "
            f"in {report.elapsed_s:.0f} s — summary: {report.summary_csv}", highlight=False, soft_wrap=True,
        )
        if report.n_failed:
            raise typer.Exit(1)


class _BatchProgress:
    """A rich progress bar fed by ``run_batch``'s progress callback (silent when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), console=err_console, disable=progress_style() != "bar", transient=True,
        )
        self._plain = progress_style() == "plain"
        self._task: Any = None
        self._failed = 0

    def __enter__(self) -> "_BatchProgress":
        self._progress.__enter__()
        self._task = self._progress.add_task("analysing videos", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def update(self, done: int, total: int, row: Mapping[str, Any]) -> None:
        if row.get("status") == "failed":
            self._failed += 1
        label = f"analysing videos ({self._failed} failed)" if self._failed else "analysing videos"
        self._progress.update(self._task, completed=done, total=total, description=label)
        if self._plain:  # one line per finished video when stderr is not a terminal (or --progress plain)
            print(f"{label}: {done}/{total} done", file=sys.stderr, flush=True)


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("batch", cls=SpeedCommand)(batch)
