"""Physical plausibility of imported sessions (training/sanity.py) and the importer's sniffing of wrong files."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone

import pytest

from backtorun.training.importer import sniff_format
from backtorun.training.model import Session
from backtorun.training.sanity import SessionBounds, implausible_reason, load_session_bounds

NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
RUN = Session(start_time=NOW - timedelta(days=1), activity="run", sport="running", sub_sport=None, distance_m=10_000.0,
              duration_s=3000.0, source_file="x.fit", source_format="fit", file_sha256="0" * 64)


@pytest.mark.parametrize(("changes", "words"), [
    ({"distance_m": -5000.0}, "negative distance"),
    ({"duration_s": -600.0}, "negative duration"),
    ({"distance_m": math.inf}, "not a finite number"),
    ({"duration_s": math.nan}, "not a finite number"),
    ({"distance_m": 0.0}, "zero distance"),
    ({"duration_s": 0.0}, "zero duration"),
    ({"duration_s": 600.0}, "average speed 60.0 km/h"),
    ({"duration_s": 10_000.0 * 3.1}, "pace 51:40 min/km is outside 1:30–30:00"),
    ({"start_time": NOW + timedelta(days=3)}, "in the future"),
    ({"distance_m": 2_000_000.0, "duration_s": 600_000.0}, "longer than"),
])
def test_impossible_sessions_have_a_reason(changes: dict, words: str) -> None:
    reason = implausible_reason(dataclasses.replace(RUN, **changes), load_session_bounds(), now=NOW)
    assert reason is not None and words in reason, reason


def test_plausible_sessions_pass_and_bounds_apply_by_activity() -> None:
    bounds = load_session_bounds()
    assert implausible_reason(RUN, bounds, now=NOW) is None
    slow_walk = dataclasses.replace(RUN, activity="walk", distance_m=3000.0, duration_s=3600.0 * 1.5)  # 30 min/km
    assert implausible_reason(slow_walk, bounds, now=NOW) is None  # the running pace bound is for runs only
    ride = dataclasses.replace(RUN, activity="other", distance_m=40_000.0, duration_s=3600.0)  # 40 km/h cycling
    assert implausible_reason(ride, bounds, now=NOW) is None
    strict = SessionBounds(max_speed_kmh=10.0)
    assert "above 10 km/h" in (implausible_reason(RUN, strict, now=NOW) or "")  # 12 km/h run


@pytest.mark.parametrize(("data", "words"), [
    ("Activity Type,Date\nRunning,2024-01-01\n".encode("utf-16"), "UTF-16"),
    ("Activity Type,Date\n".encode("utf-16-be"), "UTF-16"),
    (b"PK\x03\x04" + bytes(64), "Excel workbook (.xlsx)"),
    (b"\x0e\x10\x6c\x00\x00\x00\x00\x00.F", "FIT file is truncated"),
    (b"\x1f\x8b\x08\x00" + bytes(32), "gzip-compressed"),
])
def test_wrong_files_are_named(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        sniff_format(data)
