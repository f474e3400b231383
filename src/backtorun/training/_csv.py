"""Activity-list CSV exports.

Columns read (others are ignored):

Strava bulk export ``activities.csv``
  Activity Date (UTC, e.g. "Mar 5, 2021, 6:12:34 PM"), Activity Type (Run, Virtual Run, Walk, Hike, …),
  Activity Name, Elapsed Time (s), Moving Time (s), Distance (the export has two: the first in km, the second in
  metres; the metres column is used when present), Elevation Gain (m), Average Cadence (one foot → doubled when
  the median is < 120), Average Heart Rate (bpm), Perceived Exertion (1–10, kept as RPE), Trainer (treadmill when
  true). "Virtual Run" counts as treadmill.

Garmin Connect ``Activities.csv``
  Activity Type (Running, Treadmill Running, Indoor Running, Trail Running, Walking, …), Date (local time, no
  zone: the ``tz`` argument or UTC is used), Title, Distance (km), Time / Moving Time / Elapsed Time (hh:mm:ss),
  Avg HR (bpm), Avg Run Cadence (steps/min), Total Ascent (m), Avg Stride Length (m), Avg Vertical Ratio (%),
  Avg Vertical Oscillation (cm), Avg Ground Contact Time (ms). "--" means missing.

The project's own sample (``samples/sample_training_log.csv``) uses the Garmin Connect layout.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import datetime, timezone, tzinfo
from typing import Any

from backtorun.training.model import RunningDynamics, Session

ONE_FOOT_CADENCE_BELOW = 120.0


class CsvReadError(Exception):
    """Raised with a one-line reason when a CSV file cannot be used."""


def sniff_csv_layout(header: list[str]) -> str:
    """'strava', 'garmin', or raise with the reason."""
    h = {c.strip().lower() for c in header}
    if {"activity date", "activity type"} <= h:
        return "strava"
    if {"activity type", "date"} <= h and ({"time", "distance"} & h):
        return "garmin"
    if {"timestamp"} & h or any("[" in c for c in h):
        raise CsvReadError("CSV holds per-record samples (one row per timestamp), not an activity list: import the "
                           "original FIT/TCX/GPX file instead")
    raise CsvReadError("CSV layout not recognised: expected a Strava activities.csv or Garmin Connect "
                       f"Activities.csv export (header starts {', '.join(header[:4])})")


def _f(v: Any) -> float | None:
    if v is None:
        return None
    s = str(v).strip().replace(",", "")
    if s in ("", "--", "nan", "None", "null"):
        return None
    try:
        x = float(s)
    except ValueError:
        return None
    return None if math.isnan(x) else x


def _hms(v: Any) -> float | None:
    if v is None:
        return None
    s = str(v).strip()
    if s in ("", "--"):
        return None
    if s.startswith("-"):  # "-00:10:00" is minus ten minutes (then refused as impossible), not +10 min
        rest = _hms(s[1:])
        return None if rest is None else -rest
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    parts = s.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        return None
    total = 0.0
    for n in nums:
        total = total * 60 + n
    return total


def _truthy(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes", "y")


def _cadence(v: float | None) -> float | None:
    if v is None or v <= 0:
        return None
    return v * 2.0 if v < ONE_FOOT_CADENCE_BELOW else v


def _kind(activity_type: str) -> str:
    s = activity_type.strip().lower()
    if "run" in s:
        return "run"
    if "walk" in s or "hik" in s:
        return "walk"
    return "other"


def _strava_date(s: str) -> datetime | None:
    for fmt in ("%b %d, %Y, %I:%M:%S %p", "%b %d, %Y, %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(s.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _garmin_date(s: str, tz: tzinfo) -> datetime | None:
    s = s.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def parse_csv(data: bytes, *, source_file: str, sha256: str, tz: tzinfo | None = None) -> tuple[list[Session], list[str]]:
    """Sessions of an activity-list CSV and one-line problems for rows that were skipped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise CsvReadError("CSV file is empty")
    header = [h.strip() for h in rows[0]]
    layout = sniff_csv_layout(header)
    # duplicate column names (Strava: Distance twice) → keep each occurrence
    idx: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        idx.setdefault(h.lower(), []).append(i)

    def get(row: list[str], name: str, occurrence: int = 0) -> str | None:
        pos = idx.get(name.lower(), [])
        if len(pos) <= occurrence or pos[occurrence] >= len(row):
            return None
        return row[pos[occurrence]]

    sessions: list[Session] = []
    problems: list[str] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if layout == "strava":
            start = _strava_date(get(row, "Activity Date") or "")
            atype = get(row, "Activity Type") or ""
            dist_m = _f(get(row, "Distance", 1)) if len(idx.get("distance", [])) > 1 else None
            if dist_m is None:
                km = _f(get(row, "Distance"))
                dist_m = None if km is None else km * 1000.0
            moving, elapsed = _f(get(row, "Moving Time")), _f(get(row, "Elapsed Time"))
            kind = _kind(atype)
            treadmill = atype.strip().lower() == "virtual run" or _truthy(get(row, "Trainer"))
            sess = dict(activity=kind, sport=atype.strip() or "unknown", distance_m=dist_m,
                        duration_s=moving or elapsed, elapsed_s=elapsed, elevation_gain_m=_f(get(row, "Elevation Gain")),
                        cadence_spm=_cadence(_f(get(row, "Average Cadence"))) if kind != "other" else None,
                        avg_heart_rate_bpm=_f(get(row, "Average Heart Rate")), name=get(row, "Activity Name"),
                        rpe=_f(get(row, "Perceived Exertion")), treadmill=treadmill and kind != "other",
                        treadmill_basis="activity type/trainer flag" if treadmill else "not stated in CSV",
                        dynamics=None)
        else:
            start = _garmin_date(get(row, "Date") or "", tz or timezone.utc)
            atype = get(row, "Activity Type") or ""
            km = _f(get(row, "Distance"))
            kind = _kind(atype)
            low = atype.strip().lower()
            treadmill = ("treadmill" in low or "indoor" in low) and kind != "other"
            vo, gct, vr, sl = (_f(get(row, c)) for c in ("Avg Vertical Oscillation", "Avg Ground Contact Time",
                                                         "Avg Vertical Ratio", "Avg Stride Length"))
            dyn = None
            if any(v is not None for v in (vo, gct, vr, sl)) and kind == "run":
                dyn = RunningDynamics(vertical_oscillation_cm=vo, stance_time_ms=gct, vertical_ratio_pct=vr,
                                      step_length_m=sl, n_records=0)
            cad = _f(get(row, "Avg Run Cadence"))
            elapsed = _hms(get(row, "Elapsed Time")) or _hms(get(row, "Time"))
            sess = dict(activity=kind, sport=atype.strip() or "unknown", distance_m=None if km is None else km * 1000.0,
                        duration_s=_hms(get(row, "Moving Time")) or _hms(get(row, "Time")), elapsed_s=elapsed,
                        elevation_gain_m=_f(get(row, "Total Ascent")),
                        cadence_spm=_cadence(cad) if kind != "other" else None,
                        avg_heart_rate_bpm=_f(get(row, "Avg HR")), name=get(row, "Title"), rpe=None,
                        treadmill=treadmill, treadmill_basis="activity type" if treadmill else "not stated in CSV",
                        dynamics=dyn)
        if start is None:
            problems.append(f"row {n}: date not readable; row skipped")
            continue
        notes = () if layout == "strava" or tz is not None else ("Garmin CSV dates have no time zone: UTC assumed",)
        sessions.append(Session(start_time=start, sub_sport=None, has_gps=False, source_file=source_file,
                                source_format=f"csv_{layout}", file_sha256=sha256, notes=notes, source_row=n,
                                **sess))
    if not sessions:
        raise CsvReadError(f"CSV ({layout} layout) has no readable activity rows"
                           + (f": {problems[0]}" if problems else ""))
    return sessions, problems
