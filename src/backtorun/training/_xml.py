"""TCX and GPX activity files. XML is parsed with defusedxml, which refuses entity declarations and external
references (XML bombs, XXE); GPX text is handed to gpxpy only after that check. Before either parser builds a tree,
a streaming pass (expat, no recursion) refuses files nested deeper than ``MAX_XML_DEPTH`` or holding more than
``MAX_XML_ELEMENTS`` elements: gpxpy walks extensions recursively, and ~140,000 nested levels overflow the C stack.

Cadence: Garmin TCX ``RunCadence``/``Cadence`` and GPX ``TrackPointExtension/cad`` hold one foot's strides per
minute for running; a median below ``ONE_FOOT_CADENCE_BELOW`` is taken as one foot and doubled to steps/min.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timezone
from typing import Iterable
from xml.etree.ElementTree import Element

import pyexpat

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException
import gpxpy
import gpxpy.gpx

from backtorun.training.model import Session

ONE_FOOT_CADENCE_BELOW = 120.0  # spm; human running step rate is 140–220, one foot 70–110 (D)
_SMOOTH_ELEVATION_M = 2.0  # ignore climbs smaller than this between kept points (hysteresis, D)
#: Deepest element nesting accepted: real TCX/GPX exports nest ≤ 12 levels (extensions included).
MAX_XML_DEPTH = 64
#: Most elements accepted in one file: a 64 MiB file of minimal track points holds about 2 million.
MAX_XML_ELEMENTS = 5_000_000


class XmlReadError(Exception):
    """Raised with a one-line reason when a TCX/GPX file cannot be used."""


class _TooLarge(Exception):
    pass


class _Doctype(Exception):
    pass


def _stop_at_doctype(*_args: object) -> None:
    raise _Doctype  # a DTD is refused by safe_parse; never expand its entities here


def check_xml_bounds(data: bytes, *, max_depth: int = MAX_XML_DEPTH, max_elements: int = MAX_XML_ELEMENTS) -> None:
    """Stream ``data`` through expat (iterative) and raise XmlReadError past ``max_depth`` nesting levels or
    ``max_elements`` elements, before any parser that recurses sees it. Malformed XML is left to the real parse."""
    depth = [0, 0]  # current depth, elements seen

    def start(_name: str, _attrs: object) -> None:
        depth[0] += 1
        depth[1] += 1
        if depth[0] > max_depth:
            raise _TooLarge(f"XML nests elements deeper than {max_depth} levels")
        if depth[1] > max_elements:
            raise _TooLarge(f"XML holds more than {max_elements:,} elements")

    def end(_name: str) -> None:
        depth[0] -= 1

    parser = pyexpat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = _stop_at_doctype
    try:
        parser.Parse(data, True)
    except _TooLarge as exc:
        raise XmlReadError(f"{exc}: not a real activity export (refused to protect the parser); export the file "
                           "again from the app") from None
    except (_Doctype, pyexpat.ExpatError):
        return  # reported with its position by safe_parse


def safe_parse(data: bytes) -> Element:
    """Parse XML safely: nesting/size bounds first (:func:`check_xml_bounds`); entity declarations, DTDs and
    external references are refused."""
    check_xml_bounds(data)
    try:
        return DET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise XmlReadError(f"XML declares a DTD or entities ({exc.__class__.__name__}): refused as a possible XML "
                           "bomb; export the file again from the app") from exc
    except DET.ParseError as exc:
        raise XmlReadError(f"XML is malformed ({str(exc)[:80]}): the file may be truncated") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(el: Element, name: str) -> Iterable[Element]:
    return (e for e in el.iter() if _local(e.tag) == name)


def _child(el: Element, name: str) -> Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _text_float(el: Element | None) -> float | None:
    if el is None or el.text is None:
        return None
    try:
        v = float(el.text.strip())
    except ValueError:
        return None
    return None if math.isnan(v) else v


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = text.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def steps_per_min(values: list[float]) -> float | None:
    """Mean cadence in steps/min from non-zero samples, doubling one-foot values (median < 120)."""
    vals = [v for v in values if v and v > 0]
    if not vals:
        return None
    mean = statistics.fmean(vals)
    return mean * 2.0 if statistics.median(vals) < ONE_FOOT_CADENCE_BELOW else mean


def elevation_gain_m(elevations: list[float], *, hysteresis_m: float = _SMOOTH_ELEVATION_M) -> float | None:
    """Total ascent with hysteresis: a climb counts once it exceeds ``hysteresis_m`` above the last low point."""
    e = [v for v in elevations if v is not None]
    if len(e) < 2:
        return None
    gain, ref = 0.0, e[0]
    for v in e[1:]:
        if v - ref >= hysteresis_m:
            gain += v - ref
            ref = v
        elif v < ref:
            ref = v
    return gain


def _kind_from_sport(sport: str) -> str:
    s = sport.lower()
    if "run" in s or s == "9":
        return "run"
    if "walk" in s or "hik" in s or s in ("10", "11"):
        return "walk"
    return "other"


def parse_tcx(data: bytes, *, source_file: str, sha256: str) -> list[Session]:
    """One session per TCX ``Activity``: totals summed over laps; cadence from RunCadence/Cadence."""
    root = safe_parse(data)
    if _local(root.tag) != "TrainingCenterDatabase":
        raise XmlReadError(f"XML root is <{_local(root.tag)}>, not a TCX TrainingCenterDatabase")
    out: list[Session] = []
    for act in _find_all(root, "Activity"):
        sport = act.get("Sport", "Other")
        laps = [c for c in act if _local(c.tag) == "Lap"]
        if not laps:
            continue
        start = _time(laps[0].get("StartTime")) or _time(getattr(_child(act, "Id"), "text", None))
        if start is None:
            raise XmlReadError("TCX activity has no start time")
        dist = sum(_text_float(_child(lap, "DistanceMeters")) or 0.0 for lap in laps)
        dur = sum(_text_float(_child(lap, "TotalTimeSeconds")) or 0.0 for lap in laps)
        cads, hrs, eles, times, has_pos = [], [], [], [], False
        for tp in _find_all(act, "Trackpoint"):
            t = _time(getattr(_child(tp, "Time"), "text", None))
            if t:
                times.append(t)
            if _child(tp, "Position") is not None:
                has_pos = True
            eles.append(_text_float(_child(tp, "AltitudeMeters")))
            hr = _child(tp, "HeartRateBpm")
            if hr is not None:
                hrs.append(_text_float(_child(hr, "Value")))
            c = _text_float(_child(tp, "Cadence"))
            if c is None:
                c = next((_text_float(e) for e in _find_all(tp, "RunCadence")), None)
            if c is not None:
                cads.append(c)
        kind = _kind_from_sport(sport)
        elapsed = (times[-1] - times[0]).total_seconds() if len(times) > 1 else None
        hr_vals = [h for h in hrs if h]
        notes = () if sport.lower() in ("running", "biking") else (f"TCX Sport='{sport}'",)
        out.append(Session(
            start_time=start, activity=kind, sport=sport.lower(), sub_sport=None, distance_m=dist or None,
            duration_s=dur or elapsed, elapsed_s=elapsed, elevation_gain_m=elevation_gain_m(eles),
            cadence_spm=steps_per_min(cads) if kind in ("run", "walk") else None,
            avg_heart_rate_bpm=statistics.fmean(hr_vals) if hr_vals else None,
            treadmill=kind in ("run", "walk") and not has_pos,
            treadmill_basis="no GPS track" if not has_pos else "gps_track", has_gps=has_pos,
            name=getattr(_child(act, "Notes"), "text", None), source_file=source_file, source_format="tcx",
            file_sha256=sha256, notes=notes))
    if not out:
        raise XmlReadError("TCX file contains no activity with laps")
    return out


def parse_gpx(data: bytes, *, source_file: str, sha256: str) -> list[Session]:
    """One session per GPX track; sport from <type> (text or Strava code 9 = run) or the track name."""
    root = safe_parse(data)  # defused check before gpxpy sees the text
    if _local(root.tag) != "gpx":
        raise XmlReadError(f"XML root is <{_local(root.tag)}>, not GPX")
    try:
        gpx = gpxpy.parse(data.decode("utf-8", errors="replace"))
    except gpxpy.gpx.GPXException as exc:
        raise XmlReadError(f"GPX cannot be read ({str(exc)[:80]})") from exc
    out: list[Session] = []
    for trk in gpx.tracks:
        points = [p for seg in trk.segments for p in seg.points]
        if not points:
            continue
        times = [p.time for p in points if p.time]
        if not times:
            raise XmlReadError("GPX track has no timestamps: cannot place it in time")
        start = times[0] if times[0].tzinfo else times[0].replace(tzinfo=timezone.utc)
        sport_text = (trk.type or "") or ""
        kind = _kind_from_sport(sport_text) if sport_text else _kind_from_sport(trk.name or "")
        notes: list[str] = []
        if not sport_text and kind == "other":
            kind = "run"
            notes.append("GPX has no activity type: assumed running")
        md = trk.get_moving_data()
        cads, hrs = [], []
        for p in points:
            for ext in p.extensions:
                for e in ext.iter():
                    name = _local(e.tag)
                    if name == "cad":
                        cads.append(_text_float(e))
                    elif name == "hr":
                        hrs.append(_text_float(e))
        hr_vals = [h for h in hrs if h]
        elapsed = (times[-1] - times[0]).total_seconds()
        out.append(Session(
            start_time=start, activity=kind, sport=sport_text or "unknown", sub_sport=None,
            distance_m=trk.length_2d() or None, duration_s=(md.moving_time if md and md.moving_time else elapsed),
            elapsed_s=elapsed, elevation_gain_m=elevation_gain_m([p.elevation for p in points]),
            cadence_spm=steps_per_min([c for c in cads if c is not None]) if kind in ("run", "walk") else None,
            avg_heart_rate_bpm=statistics.fmean(hr_vals) if hr_vals else None, treadmill=False,
            treadmill_basis="gps_track", has_gps=True, name=trk.name, source_file=source_file,
            source_format="gpx", file_sha256=sha256, notes=tuple(notes)))
    if not out:
        raise XmlReadError("GPX file contains no track points")
    return out
