"""CLI: ``backtorun logs PATH...`` — import training logs and print the summary and load findings."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from backtorun.cli._common import console, user_errors


def _fmt_pace(s_per_km: float | None) -> str:
    if not s_per_km:
        return "–"
    return f"{int(s_per_km // 60)}:{int(round(s_per_km % 60)):02d}"


def logs(
    paths: List[Path] = typer.Argument(..., help="FIT/TCX/GPX files, Strava or Garmin CSV exports, or folders."),
    today: Optional[str] = typer.Option(None, help="Judge the load as of this date (YYYY-MM-DD); default: last session."),
    plot: Optional[Path] = typer.Option(None, help="Write the weekly-volume plot (PNG) here."),
    treadmill_only_symptoms: bool = typer.Option(False, help="Back pain occurs only on the treadmill (TR7 suggestion)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the assessment as JSON."),
    intake: Optional[Path] = typer.Option(None, help="Intake file: supplies treadmill-only symptoms, BMI, novice."),
    sessions: int = typer.Option(15, help="Show this many most recent sessions."),
) -> None:
    """Import training logs and print the training summary and load findings."""
    import json

    from backtorun.services.training import review_training

    with user_errors():
        from backtorun.outputs import check_output_file

        for target in (plot, json_out):  # before any import: a bad output path is one line, not a traceback
            if target is not None:
                check_output_file(target, parent_must_exist=False)
        day = None
        if today:
            try:
                day = date.fromisoformat(today)
            except ValueError:
                from backtorun.errors import InputError

                raise InputError(f"--today {today!r} is not a date", hint="use YYYY-MM-DD") from None
        intake_model = None
        if intake is not None:
            from backtorun.services.intake import load_intake

            intake_model = load_intake(intake)
        review = review_training(paths, today=day, plot_path=plot, intake=intake_model,
                                 symptoms_treadmill_only=True if treadmill_only_symptoms else None)
    h, a = review.history, review.assessment
    t = Table(title=f"Sessions ({len(h.sessions)} imported, {len(h.runs)} runs; newest {sessions} shown)")
    for col in ("start", "kind", "km", "time", "pace /km", "cadence spm", "ascent m", "where", "file"):
        t.add_column(col, overflow="fold")  # wrap, never cut, at the terminal width
    for s in list(h.sessions)[-sessions:]:
        t.add_row(s.start_time.strftime("%Y-%m-%d %H:%M %z"), s.activity, f"{s.distance_km:.2f}",
                  f"{(s.duration_s or 0) / 60:.0f} min", _fmt_pace(s.pace_s_per_km),
                  "–" if s.cadence_spm is None else f"{s.cadence_spm:.0f}",
                  "–" if s.elevation_gain_m is None else f"{s.elevation_gain_m:.0f}",
                  "treadmill" if s.treadmill else "outside", Path(s.source_file).name)
    console.print(t)
    w = Table(title="Weekly running volume")
    for col in ("week of", "run km", "treadmill km", "runs", "longest km"):
        w.add_column(col, overflow="fold")  # wrap, never cut, at the terminal width
    for wk in a.weeks[-10:]:
        w.add_row(wk.week_start.isoformat() + (" (partial)" if wk.partial else ""), f"{wk.run_km:.1f}",
                  f"{wk.treadmill_km:.1f}", str(wk.n_runs), f"{wk.longest_run_km:.1f}")
    console.print(w)
    m = a.metrics
    acwr = m["acwr"]["ratio"]
    console.print(f"As of {a.today}: treadmill share (28 d) "
                  f"{'–' if m['treadmill_share_pct'] is None else format(m['treadmill_share_pct'], '.0f') + ' %'}; "
                  f"rest days (14 d) {m['rest_days_window'] if m['rest_days_window'] is not None else '–'}; "
                  f"ACWR {'–' if acwr is None else format(acwr, '.2f')} (display only).")
    f = Table(title="Load findings")
    for col in ("code", "severity", "finding", "evidence"):
        f.add_column(col, overflow="fold")  # wrap, never cut, at the terminal width
    for fd in a.findings:
        f.add_row(fd.code, fd.severity, fd.text, f"{fd.evidence_grade} [{', '.join(fd.sources)}]")
    console.print(f if a.findings else "No load findings.")
    for r in h.refused:
        console.print(f"[yellow]refused[/]: {r.reason}", highlight=False)
    for r in h.skipped:
        console.print(f"[yellow]skipped[/]: {r.reason}", highlight=False, soft_wrap=True)
    for d in h.duplicates:
        console.print(f"[dim]duplicate skipped[/]: {d.reason}", highlight=False)
    if review.plot_path:
        console.print(f"plot written: {review.plot_path}")
    if json_out:
        from backtorun.outputs import atomic_write_text

        with user_errors():
            json_out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json_out, json.dumps(a.to_dict(), indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("logs")(logs)
