"""FIT activity files (fitdecode): per-record table and per-session summaries.

FIT running cadence is stored per foot (strides per minute); steps per minute = 2 × (cadence +
fractional_cadence) (shared/data/SOURCES.md notes; Garmin FIT profile). Vertical oscillation and step length are
stored in mm, stance time in ms. Times are UTC; the activity message's ``local_timestamp`` gives the local offset.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import fitdecode
import pandas as pd

from backtorun.training.model import RunningDynamics, Session

SEMICIRCLE_TO_DEG = 180.0 / 2**31
_TREADMILL_SUB_SPORTS = {"treadmill", "indoor_running", "indoor_walking", "virtual_activity"}

RECORD_COLUMNS = {
    # FIT field → (column, scale)
    "heart_rate": ("heart_rate_bpm", 1.0),
    "cadence": ("cadence_rpm", 1.0),
    "fractional_cadence": ("fractional_cadence_rpm", 1.0),
    "enhanced_speed": ("speed_mps", 1.0),
    "distance": ("distance_m", 1.0),
    "enhanced_altitude": ("altitude_m", 1.0),
    "temperature": ("temperature_c", 1.0),
    "vertical_oscillation": ("vertical_oscillation_mm", 1.0),
    "stance_time": ("stance_time_ms", 1.0),
    "vertical_ratio": ("vertical_ratio_pct", 1.0),
    "step_length": ("step_length_mm", 1.0),
    "stance_time_balance": ("stance_time_balance_pct", 1.0),
    "position_lat": ("position_lat_semicircles", 1.0),
    "position_long": ("position_long_semicircles", 1.0),
}


class FitReadError(Exception):
    """Raised with a one-line reason when a FIT file cannot be used."""


@dataclass
class _Decoded:
    file_type: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    sports: list[dict[str, Any]] = field(default_factory=list)
    activity: dict[str, Any] | None = None


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, (tuple, list, str)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _decode(data: bytes) -> _Decoded:
    out = _Decoded()
    try:
        with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE,
                                 error_handling=fitdecode.ErrorHandling.RAISE) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                name = frame.name
                if name == "record":
                    out.records.append({f.name: f.value for f in frame.fields})
                elif name == "session":
                    out.sessions.append({f.name: f.value for f in frame.fields})
                elif name == "sport":
                    out.sports.append({f.name: f.value for f in frame.fields})
                elif name == "activity":
                    out.activity = {f.name: f.value for f in frame.fields}
                elif name == "file_id" and out.file_type is None:
                    out.file_type = str(frame.get_value("type", fallback=None))
    except fitdecode.FitEOFError as exc:
        raise FitReadError(f"FIT file is truncated ({exc.__class__.__name__}): re-export it from the watch or app") from exc
    except fitdecode.FitCRCError as exc:
        raise FitReadError("FIT checksum mismatch: the file is corrupted; re-export it from the watch or app") from exc
    except fitdecode.FitHeaderError as exc:
        raise FitReadError(f"not a valid FIT file (bad header: {str(exc)[:80]})") from exc
    except (fitdecode.FitError, ValueError, KeyError, IndexError, struct.error) as exc:
        raise FitReadError(f"FIT file cannot be decoded ({exc.__class__.__name__}: {str(exc)[:80]})") from exc
    return out


def read_fit_records(data: bytes) -> pd.DataFrame:
    """Per-record table of a FIT file: ``timestamp`` (UTC), raw and derived columns with units in the names.

    cadence_spm = 2 × (cadence_rpm + fractional_cadence_rpm); lat/lon in degrees = semicircles × 180 / 2³¹.
    """
    dec = _decode(data)
    return _records_frame(dec.records)


def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        ts = r.get("timestamp")
        if not isinstance(ts, datetime):
            continue
        row: dict[str, Any] = {"timestamp": ts}
        for fit_name, (col, scale) in RECORD_COLUMNS.items():
            v = r.get(fit_name)
            if v is None and fit_name.startswith("enhanced_"):
                v = r.get(fit_name.removeprefix("enhanced_"))
            v = _num(v)
            row[col] = None if v is None else v * scale
        row["activity_type"] = r.get("activity_type")
        rows.append(row)
    df = pd.DataFrame(rows, columns=["timestamp", *[c for c, _ in RECORD_COLUMNS.values()], "activity_type"])
    if df.empty:
        return df
    num_cols = [c for c, _ in RECORD_COLUMNS.values()]
    df[num_cols] = df[num_cols].apply(pd.to_numeric, errors="coerce")
    frac = df["fractional_cadence_rpm"].fillna(0.0)
    df["cadence_spm"] = 2.0 * (df["cadence_rpm"] + frac)
    df["position_lat_deg"] = df["position_lat_semicircles"] * SEMICIRCLE_TO_DEG
    df["position_long_deg"] = df["position_long_semicircles"] * SEMICIRCLE_TO_DEG
    return df


def _kind(sport: str | None, sub_sport: str | None) -> str:
    s = (sport or "").lower()
    if s == "running":
        return "run"
    if s in ("walking", "hiking"):
        return "walk"
    return "other"


def _local_tz(activity: dict[str, Any] | None) -> timezone:
    """Offset from the activity message: local_timestamp − timestamp, rounded to 15 min; UTC when absent."""
    if not activity:
        return timezone.utc
    ts, local = activity.get("timestamp"), activity.get("local_timestamp")
    if not isinstance(ts, datetime):
        return timezone.utc
    if isinstance(local, datetime):
        local_s = local.replace(tzinfo=timezone.utc).timestamp()
    elif isinstance(local, (int, float)):
        local_s = float(local) + 631065600.0  # FIT epoch 1989-12-31 00:00 UTC
    else:
        return timezone.utc
    offset_s = local_s - ts.timestamp()
    q = round(offset_s / 900.0) * 900
    if abs(q) > 14 * 3600:
        return timezone.utc
    return timezone(timedelta(seconds=q))


def _mean(df: pd.DataFrame, col: str, *, positive: bool = True) -> float | None:
    if df.empty or col not in df:
        return None
    s = df[col].dropna()
    if positive:
        s = s[s > 0]
    return float(s.mean()) if len(s) else None


# Plausible ranges of running dynamics (D, engineering choice): values outside are sensor glitches and are
# dropped (e.g. the Fenix 2 multisport sample has vertical oscillation of 0.07–8.5 cm while running).
PLAUSIBLE = {
    "vertical_oscillation_mm": (30.0, 200.0),
    "stance_time_ms": (100.0, 600.0),
    "vertical_ratio_pct": (2.0, 20.0),
    "step_length_mm": (300.0, 2500.0),
    "stance_time_balance_pct": (30.0, 70.0),
}


def _plausible(v: float | None, col: str) -> float | None:
    lo, hi = PLAUSIBLE[col]
    return v if v is not None and lo <= v <= hi else None


def _plausible_mean(df: pd.DataFrame, col: str) -> float | None:
    if df.empty or col not in df:
        return None
    lo, hi = PLAUSIBLE[col]
    s = df[col].dropna()
    s = s[(s >= lo) & (s <= hi)]
    # require at least half of the recorded values to be plausible, else the channel is unreliable
    n_all = int((df[col].dropna() > 0).sum())
    return float(s.mean()) if len(s) and len(s) >= 0.5 * n_all else None


def _dynamics(sess: dict[str, Any], recs: pd.DataFrame) -> RunningDynamics | None:
    vo = _plausible(_num(sess.get("avg_vertical_oscillation")), "vertical_oscillation_mm")
    st = _plausible(_num(sess.get("avg_stance_time")), "stance_time_ms")
    vr = _plausible(_num(sess.get("avg_vertical_ratio")), "vertical_ratio_pct")
    sl = _plausible(_num(sess.get("avg_step_length")), "step_length_mm")
    stb = _plausible(_num(sess.get("avg_stance_time_balance")), "stance_time_balance_pct")
    vo = vo if vo else _plausible_mean(recs, "vertical_oscillation_mm")
    st = st if st else _plausible_mean(recs, "stance_time_ms")
    vr = vr if vr else _plausible_mean(recs, "vertical_ratio_pct")
    sl = sl if sl else _plausible_mean(recs, "step_length_mm")
    stb = stb if stb else _plausible_mean(recs, "stance_time_balance_pct")
    dyn_cols = ["vertical_oscillation_mm", "stance_time_ms", "vertical_ratio_pct", "step_length_mm"]
    n = int((recs[dyn_cols].fillna(0) > 0).any(axis=1).sum()) if not recs.empty else 0
    if all(v is None for v in (vo, st, vr, sl)):
        return None
    return RunningDynamics(
        vertical_oscillation_cm=None if vo is None else vo / 10.0, stance_time_ms=st, vertical_ratio_pct=vr,
        step_length_m=None if sl is None else sl / 1000.0, stance_time_balance_left_pct=stb, n_records=n)


def environment(kind: str, sub_sport: str | None, has_gps: bool) -> tuple[bool, str]:
    """(treadmill, basis): treadmill/indoor sub-sport, else a run or walk without any GPS position."""
    if sub_sport in _TREADMILL_SUB_SPORTS and kind in ("run", "walk"):
        return True, f"sub_sport={sub_sport}"
    if not has_gps and kind in ("run", "walk"):
        return True, "no GPS track"
    return False, "gps_track" if has_gps else "not applicable"


def parse_fit(data: bytes, *, source_file: str, sha256: str) -> list[Session]:
    """Sessions of a FIT activity file (one per FIT session message; multisport files give several)."""
    dec = _decode(data)
    if dec.file_type not in (None, "activity", "4"):
        raise FitReadError(f"FIT file is a '{dec.file_type}' file, not an activity: export the activity instead")
    recs = _records_frame(dec.records)
    tz = _local_tz(dec.activity)
    sessions_raw = dec.sessions
    if not sessions_raw:
        if recs.empty:
            raise FitReadError("FIT file has no session and no timed records: nothing to import")
        sport = dec.sports[0].get("sport") if dec.sports else None
        sub = dec.sports[0].get("sub_sport") if dec.sports else None
        t0, t1 = recs["timestamp"].iloc[0], recs["timestamp"].iloc[-1]
        dist = recs["distance_m"].dropna()
        sessions_raw = [{"start_time": t0, "total_elapsed_time": (t1 - t0).total_seconds(),
                         "total_timer_time": (t1 - t0).total_seconds(),
                         "total_distance": float(dist.max()) if len(dist) else None, "sport": sport,
                         "sub_sport": sub, "_from_records": True}]
    out: list[Session] = []
    for s in sessions_raw:
        start = s.get("start_time")
        if not isinstance(start, datetime):
            raise FitReadError("FIT session start time is relative to device power-on (clock not set): cannot place "
                               "the session in time; re-sync the device clock")
        sport = None if s.get("sport") is None else str(s.get("sport"))
        sub = None if s.get("sub_sport") is None else str(s.get("sub_sport"))
        elapsed = _num(s.get("total_elapsed_time"))
        timer = _num(s.get("total_timer_time")) or elapsed
        end = start + timedelta(seconds=elapsed or timer or 0.0)
        in_sess = recs[(recs["timestamp"] >= start) & (recs["timestamp"] <= end)] if not recs.empty else recs
        kind = _kind(sport, sub)
        has_gps = bool(not in_sess.empty and in_sess["position_lat_semicircles"].notna().any())
        notes: list[str] = []
        if s.get("_from_records"):
            notes.append("no session summary in the file: totals computed from records")
        treadmill, basis = environment(kind, sub, has_gps)
        cadence = None
        if kind in ("run", "walk"):
            c = _num(s.get("avg_running_cadence")) or _num(s.get("avg_cadence"))
            if c:
                cadence = 2.0 * (c + (_num(s.get("avg_fractional_cadence")) or 0.0))
            else:
                cadence = _mean(in_sess, "cadence_spm")
        hr = _num(s.get("avg_heart_rate")) or _mean(in_sess, "heart_rate_bpm")
        out.append(Session(
            start_time=start.astimezone(tz), activity=kind, sport=sport or "unknown", sub_sport=sub,
            distance_m=_num(s.get("total_distance")), duration_s=timer, elapsed_s=elapsed,
            elevation_gain_m=_num(s.get("total_ascent")), cadence_spm=cadence, avg_heart_rate_bpm=hr,
            treadmill=treadmill, treadmill_basis=basis, has_gps=has_gps,
            dynamics=_dynamics(s, in_sess) if kind in ("run", "walk") else None,
            source_file=source_file, source_format="fit", file_sha256=sha256, notes=tuple(notes)))
    return out
