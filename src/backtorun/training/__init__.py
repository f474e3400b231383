"""Training-plan assessment: import real logs (FIT, TCX, GPX, Strava/Garmin CSV) and apply load rules TR1–TR9
(domain.md §8)."""

from backtorun.training._fit import read_fit_records as _read_fit_records_bytes
from backtorun.training.importer import expand_paths, import_logs, read_log_file, sniff_format
from backtorun.training.model import DuplicateSession, RefusedFile, RunningDynamics, Session, TrainingHistory
from backtorun.training.plot import write_weekly_volume_png
from backtorun.training.rules import (LoadRules, TrainingAssessment, WeekVolume, assess_training, load_load_rules,
                                      running_dynamics_summary)


def read_fit_records(path):  # type: ignore[no-untyped-def]
    """Per-record table of a FIT file (see :func:`backtorun.training._fit.read_fit_records`)."""
    from pathlib import Path

    from backtorun.errors import BadLogFile
    from backtorun.training._fit import FitReadError

    try:
        return _read_fit_records_bytes(Path(path).read_bytes())
    except FitReadError as exc:
        raise BadLogFile(f"{Path(path).name}: {exc}") from None


__all__ = ["DuplicateSession", "LoadRules", "RefusedFile", "RunningDynamics", "Session", "TrainingAssessment",
           "TrainingHistory", "WeekVolume", "assess_training", "expand_paths", "import_logs", "load_load_rules",
           "read_fit_records", "read_log_file", "running_dynamics_summary", "sniff_format", "write_weekly_volume_png"]
