"""Use case: import training logs and assess the training load."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping, Sequence

from backtorun.errors import BadLogFile
from backtorun.intake import Intake
from backtorun.training import (
    TrainingAssessment, TrainingHistory, assess_training, import_logs, write_weekly_volume_png,
)


@dataclass(frozen=True)
class TrainingReview:
    history: TrainingHistory
    assessment: TrainingAssessment
    plot_path: Path | None = None


def review_training(paths: Sequence[str | Path], *, today: date | None = None,
                    session_rpe: Mapping[str, float] | None = None, plot_path: str | Path | None = None,
                    symptoms_treadmill_only: bool | None = None, intake: Intake | None = None) -> TrainingReview:
    """Import logs, apply the load rules and optionally write the weekly-volume PNG.

    ``intake`` (optional) supplies BMI, novice status and the treadmill-only symptom pattern (unless
    ``symptoms_treadmill_only`` is given). Raises BadLogFile when nothing at all could be imported (each refused
    file's reason is in the message)."""
    bmi, novice = None, False
    if intake is not None:
        if symptoms_treadmill_only is None:
            symptoms_treadmill_only = intake.timing.surfaces == "treadmill_only"
        bmi, novice = intake.bmi, intake.training.novice
    history = import_logs(paths)
    if not history.sessions:
        reasons = "; ".join(r.reason for r in (*history.refused, *history.skipped)[:3]) or "no files found"
        raise BadLogFile(f"no activity could be imported ({reasons})",
                         hint="give FIT, TCX, GPX files or a Strava/Garmin activities CSV")
    assessment = assess_training(history, today=today, session_rpe=session_rpe, bmi=bmi, novice=novice,
                                 symptoms_treadmill_only=symptoms_treadmill_only)
    out = write_weekly_volume_png(assessment, plot_path) if plot_path else None
    return TrainingReview(history=history, assessment=assessment, plot_path=out)


def check_log_file(path: str | Path) -> int:
    """Import one uploaded log to refuse a file the training area cannot read; returns its session count.

    BadLogFile with the import's own reason when the file is refused or holds no training session."""
    history = import_logs([path])
    if history.refused:
        raise BadLogFile(history.refused[0].reason)
    if not history.sessions:
        raise BadLogFile("no training session found in the file", hint="export the activity again from the watch app")
    return len(history.sessions)


def skipped_rows(path: str | Path, *, shown_name: str | None = None) -> tuple[str, ...]:
    """Why rows or sessions of one readable log were not imported (physically impossible values, unreadable dates,
    future sessions), one line each, with the file named ``shown_name`` (e.g. the uploaded name instead of the
    stored one). Empty when nothing was skipped or the file cannot be read (its refusal is reported on upload)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return ()
    reasons = _skipped_rows(str(p), st.st_size, st.st_mtime_ns)
    return tuple(r.replace(p.name, shown_name, 1) for r in reasons) if shown_name else reasons


@functools.lru_cache(maxsize=256)
def _skipped_rows(path: str, _size: int, _mtime_ns: int) -> tuple[str, ...]:
    """The skipped rows of ``path`` (cached per file version: the web page lists them on every view)."""
    try:
        history = import_logs([path])
    except (BadLogFile, OSError):
        return ()
    return tuple(r.reason for r in history.skipped)

