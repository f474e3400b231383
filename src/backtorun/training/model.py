"""Training-history data types: one :class:`Session` per activity, refused and duplicate files, the history."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from backtorun.types import json_safe

ActivityKind = Literal["run", "walk", "other"]


@dataclass(frozen=True)
class RunningDynamics:
    """Session means of watch/pod running dynamics (Garmin definitions [33]); None where not recorded.

    vertical_oscillation_cm: torso bounce per step; stance_time_ms: ground contact time; vertical_ratio_pct =
    VO ÷ step length × 100; step_length_m; n_records: records with at least one dynamics value.
    """

    vertical_oscillation_cm: float | None = None
    stance_time_ms: float | None = None
    vertical_ratio_pct: float | None = None
    step_length_m: float | None = None
    stance_time_balance_left_pct: float | None = None
    n_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class Session:
    """One activity.

    start_time is timezone-aware (local offset when the file says it, else UTC). duration_s = timer (moving)
    time; elapsed_s = wall-clock time. cadence_spm is steps per minute (both feet). treadmill is True for a
    treadmill/indoor sub-sport or a run without a GPS track; treadmill_basis says which.
    """

    start_time: datetime
    activity: ActivityKind
    sport: str
    sub_sport: str | None
    distance_m: float | None
    duration_s: float | None
    source_file: str
    source_format: str
    file_sha256: str
    elapsed_s: float | None = None
    elevation_gain_m: float | None = None
    cadence_spm: float | None = None
    avg_heart_rate_bpm: float | None = None
    treadmill: bool = False
    treadmill_basis: str = "gps_track"
    has_gps: bool = False
    dynamics: RunningDynamics | None = None
    name: str | None = None
    rpe: float | None = None
    notes: tuple[str, ...] = ()
    source_row: int | None = None  # 1-based line of a CSV activity list (header = 1); None for activity files

    @property
    def distance_km(self) -> float:
        return (self.distance_m or 0.0) / 1000.0

    @property
    def pace_s_per_km(self) -> float | None:
        """Pace = duration_s ÷ distance_km."""
        if not self.distance_m or not self.duration_s:
            return None
        return self.duration_s / (self.distance_m / 1000.0)

    @property
    def speed_mps(self) -> float | None:
        if not self.distance_m or not self.duration_s:
            return None
        return self.distance_m / self.duration_s

    @property
    def session_id(self) -> str:
        return f"{self.file_sha256[:12]}@{self.start_time.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["start_time"] = self.start_time.isoformat()
        d["pace_s_per_km"] = self.pace_s_per_km
        d["session_id"] = self.session_id
        return json_safe(d)


@dataclass(frozen=True)
class RefusedFile:
    """A file that was not imported, with a one-line reason."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DuplicateSession:
    """A session skipped because it duplicates one already imported."""

    path: str
    start_time: str
    kept: str  # session_id of the kept session
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainingHistory:
    """All imported sessions (sorted by start time), refused files, skipped duplicates and skipped rows.

    skipped: sessions or rows of otherwise readable files that were not imported (physically impossible values,
    unreadable dates), each with the file and a one-line reason."""

    sessions: tuple[Session, ...] = ()
    refused: tuple[RefusedFile, ...] = ()
    duplicates: tuple[DuplicateSession, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    skipped: tuple[RefusedFile, ...] = ()

    @property
    def runs(self) -> tuple[Session, ...]:
        return tuple(s for s in self.sessions if s.activity == "run")

    def to_dict(self) -> dict[str, Any]:
        return {"sessions": [s.to_dict() for s in self.sessions], "refused": [r.to_dict() for r in self.refused],
                "duplicates": [d.to_dict() for d in self.duplicates], "notes": list(self.notes),
                "skipped": [r.to_dict() for r in self.skipped]}
