"""Generate the demo training log (``samples/sample_training_log.csv``, Garmin Connect Activities.csv layout).

Eight weeks of a recreational runner who moved most runs to the treadmill, with a single long-run spike and a
rapid weekly build-up in week 7. Deterministic (seeded) so the file can be regenerated exactly::

    python -m backtorun.training.sample_log src/backtorun/samples/sample_training_log.csv
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

HEADER = ["Activity Type", "Date", "Favorite", "Title", "Distance", "Calories", "Time", "Avg HR", "Max HR",
          "Avg Run Cadence", "Max Run Cadence", "Avg Pace", "Total Ascent", "Total Descent", "Avg Stride Length",
          "Avg Vertical Ratio", "Avg Vertical Oscillation", "Avg Ground Contact Time", "Moving Time", "Elapsed Time"]

# (weekday, km, treadmill) per week; week 7 adds an 18-km outdoor long run (previous longest 12 km → ratio 1.5)
_PLAN = [
    [(0, 6, True), (2, 6, True), (4, 5, True), (6, 9, False)],
    [(0, 6, True), (2, 6.5, True), (4, 5, True), (6, 10, False)],
    [(0, 6, True), (2, 7, True), (4, 5.5, True), (6, 10, True)],
    [(1, 6.5, True), (3, 7, True), (5, 6, True), (6, 11, True)],
    [(0, 6, True), (2, 7, True), (4, 6, True), (6, 12, True)],
    [(0, 6, True), (2, 7, True), (4, 6, True), (6, 11, True)],
    [(0, 7, True), (1, 6, True), (2, 8, True), (4, 7, True), (6, 18, False)],
    [(0, 6, True), (2, 6, True)],
]


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def generate_sample_log(path: str | Path, *, end_date: date = date(2026, 11, 19), seed: int = 7) -> Path:
    """Write the sample CSV ending on ``end_date`` and return its path."""
    rng = random.Random(seed)
    start_monday = end_date - timedelta(days=end_date.weekday()) - timedelta(weeks=len(_PLAN) - 1)
    rows = []
    for w, week in enumerate(_PLAN):
        for weekday, km, treadmill in week:
            day = start_monday + timedelta(weeks=w, days=weekday)
            if day > end_date:
                continue
            pace_s = rng.uniform(330, 350) if treadmill else rng.uniform(340, 365)
            secs = km * pace_s
            cad = rng.uniform(160, 166)
            step_m = 1000.0 / pace_s * 60.0 / cad
            vo = rng.uniform(9.6, 10.4)
            when = datetime.combine(day, time(18, 30) if treadmill else time(9, 15))
            rows.append(["Treadmill Running" if treadmill else "Running", when.strftime("%Y-%m-%d %H:%M:%S"), "false",
                         "Treadmill Run" if treadmill else "Long Run", f"{km:.2f}", str(int(km * 62)), _hms(secs),
                         str(rng.randint(138, 150)), str(rng.randint(160, 172)), f"{cad:.0f}", f"{cad + 12:.0f}",
                         f"{int(pace_s // 60)}:{int(pace_s % 60):02d}", "0" if treadmill else f"{rng.randint(40, 90)}",
                         "0" if treadmill else f"{rng.randint(40, 90)}", f"{step_m:.2f}", f"{vo / step_m:.1f}",
                         f"{vo:.1f}", f"{rng.randint(255, 275)}", _hms(secs), _hms(secs + rng.randint(20, 120))])
        # one brisk walk per week
        wday = start_monday + timedelta(weeks=w, days=3)
        if wday <= end_date:
            rows.append(["Walking", datetime.combine(wday, time(12, 30)).strftime("%Y-%m-%d %H:%M:%S"), "false",
                         "Lunch Walk", "3.00", "150", "00:33:00", "98", "110", "--", "--", "11:00", "12", "12",
                         "--", "--", "--", "--", "00:33:00", "00:35:00"])
    rows.sort(key=lambda r: r[1], reverse=True)  # Garmin lists newest first
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return out


if __name__ == "__main__":  # pragma: no cover - manual regeneration
    generate_sample_log(sys.argv[1] if len(sys.argv) > 1 else "sample_training_log.csv")
