"""Use case: import training logs and assess the training load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping, Sequence

from backtorun.errors import BadLogFile
from backtorun.intake import Intake
from backtorun.training import TrainingAssessment, TrainingHistory, assess_training, import_logs, weekly_volume_plot


@dataclass(frozen=True)
class TrainingReview:
    history: TrainingHistory
    assessment: TrainingAssessment
    plot_path: Path | None = None


def review_training(paths: Sequence[str | Path], *, today: date | None = None,
                    session_rpe: Mapping[str, float] | None = None, plot_path: str | Path | None = None,
                    symptoms_treadmill_only: bool | None = None, bmi: float | None = None,
                    novice: bool = False, intake: Intake | None = None) -> TrainingReview:
    """Import logs, apply the load rules and optionally write the weekly-volume PNG.

    ``intake`` (optional) supplies the treadmill-only symptom pattern, BMI and novice status when those arguments
    are not given. Raises BadLogFile when nothing at all could be imported (each refused file's reason is in the
    message)."""
    if intake is not None:
        if symptoms_treadmill_only is None:
            symptoms_treadmill_only = intake.timing.surfaces == "treadmill_only"
        bmi = bmi if bmi is not None else intake.bmi
        novice = novice or intake.training.novice
    history = import_logs(paths)
    if not history.sessions:
        reasons = "; ".join(r.reason for r in history.refused[:3]) or "no files found"
        raise BadLogFile(f"no activity could be imported ({reasons})",
                         hint="give FIT, TCX, GPX files or a Strava/Garmin activities CSV")
    assessment = assess_training(history, today=today, session_rpe=session_rpe, bmi=bmi, novice=novice,
                                 symptoms_treadmill_only=symptoms_treadmill_only)
    out = weekly_volume_plot(assessment, plot_path) if plot_path else None
    return TrainingReview(history=history, assessment=assessment, plot_path=out)
