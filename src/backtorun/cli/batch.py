"""CLI command: ``backtorun batch`` — analyse a folder of videos or a CSV manifest on Dask (docs/batch.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from backtorun.cli._common import console, err_console, user_errors
from backtorun.errors import InputError

#: At most this many failed videos are listed on the terminal (all of them are in summary.csv).
_MAX_FAILURES_LISTED = 20


def _speed_mps(speed: Optional[Tuple[str, str]]) -> float | None:
    if speed is None:
        return None
    from backtorun.batch import parse_speed

    try:
        return parse_speed(f"{speed[0]} {speed[1]}")
    except ValueError as exc:
        raise InputError(f"--speed: {exc}") from None


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
    height_cm: Optional[float] = typer.Option(None, "--height-cm", min=100, max=230,
                                              help="Runner height (cm) where the manifest gives none."),
    speed: Optional[Tuple[str, str]] = typer.Option(None, "--speed", metavar="VALUE UNIT",
                                                    help="Belt speed where the manifest gives none, e.g. 10 km/h."),
    settings_file: Optional[Path] = typer.Option(None, "--settings", help="Analysis settings YAML file."),
    annotate: bool = typer.Option(True, "--annotate/--no-annotate", help="Write the annotated video per run."),
) -> None:
    """Analyse many treadmill videos in parallel on Dask; finished videos are skipped, failures recorded."""
    with user_errors():
        from backtorun.batch import JobDefaults, load_jobs, run_batch
        from backtorun.settings import load_settings

        if workers is not None and scheduler is not None:
            raise InputError("give either --workers or --scheduler, not both",
                             hint="--workers starts local processes; --scheduler uses an existing cluster")
        if view not in ("auto", "side", "rear", "front"):
            raise InputError(f"--view {view!r} is not one of auto, side, rear, front")
        defaults = JobDefaults(view=view, height_cm=height_cm, speed_mps=_speed_mps(speed))  # type: ignore[arg-type]
        settings = load_settings(settings_file) if settings_file is not None else None
        jobs = load_jobs(input_path, defaults, out_dir=out)
        with _BatchProgress() as progress:
            report = run_batch(input_path, out, workers=workers, scheduler=scheduler, force=force, settings=settings,
                               annotate=annotate, progress=progress.update, jobs=jobs)
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
            TimeRemainingColumn(), console=err_console, disable=not sys.stderr.isatty(), transient=True,
        )
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


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("batch")(batch)
