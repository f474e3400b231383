"""Importing real training logs (../shared/data/logs) and hostile or odd files."""

from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.errors import BadLogFile
from backtorun.training import import_logs, read_fit_records, read_log_file, sniff_format

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "logs"
SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"
FENIX_RUN = DATA / "fit" / "garmin-fenix-5-run.fit"
FENIX_WALK = DATA / "fit" / "garmin-fenix-5-walk.fit"


@pytest.fixture(scope="module")
def all_logs():
    return import_logs([DATA])


def test_every_shared_file_imports_or_is_refused_with_one_line(all_logs):
    files = sorted(str(p) for p in DATA.rglob("*") if p.is_file())
    imported = {s.source_file for s in all_logs.sessions} | {d.path for d in all_logs.duplicates}
    refused = {r.path: r.reason for r in all_logs.refused}
    skipped = {r.path: r.reason for r in all_logs.skipped}  # readable files whose only sessions are implausible
    assert set(files) == imported | set(refused) | set(skipped)
    assert all("skipped" in reason for reason in skipped.values())
    assert not (imported & set(refused)) or all("future" in refused[p] for p in imported & set(refused))
    for reason in refused.values():
        assert "\n" not in reason and 10 < len(reason) < 250
    # the per-record CSV decodes are not activity lists
    for name in ("garmin-fenix-5-run-records.csv", "garmin-fenix-5-walk-records.csv",
                 "compressed-speed-distance-records.csv"):
        assert "per-record" in refused[str(DATA / "fit" / name)]
    assert "relative" in refused[str(DATA / "fit" / "compressed-speed-distance.fit")]
    # every TCX and GPX imports as a run
    for p in list(DATA.glob("tcx/*")) + list(DATA.glob("gpx/*")):
        assert any(s.source_file == str(p) and s.activity == "run" for s in all_logs.sessions), p


def test_walk_is_walking_and_run_is_running(all_logs):
    by_file = {}
    for s in all_logs.sessions:
        by_file.setdefault(Path(s.source_file).name, []).append(s)
    walk = by_file["garmin-fenix-5-walk.fit"][0]
    assert walk.activity == "walk" and walk not in all_logs.runs
    run = by_file["garmin-fenix-5-run.fit"][0]
    assert run.activity == "run"
    assert run.start_time.utcoffset() == timedelta(hours=-7)  # PDT from the activity message
    assert run.start_time.astimezone(timezone.utc) == datetime(2017, 6, 11, 14, 34, 9, tzinfo=timezone.utc)
    assert 150 < run.cadence_spm < 200  # steps/min, doubled from one foot
    assert run.dynamics is not None and 5 < run.dynamics.vertical_oscillation_cm < 12
    assert 0.7 < run.dynamics.step_length_m < 1.5 and 200 < run.dynamics.stance_time_ms < 350
    assert run.has_gps and not run.treadmill
    # multisport: swim and bike are 'other', the run leg is a run
    kona = by_file["20181013_kona_ironman.fit"]
    assert {s.activity for s in kona} == {"run", "other"}
    assert max((s for s in kona if s.activity == "run"), key=lambda s: s.distance_m).distance_km == pytest.approx(42.56, abs=0.05)


def _csv_time(text: str) -> datetime:
    # e.g. "Sun Jun 11 07:34:09 PDT 2017" (PDT = UTC−7)
    assert " PDT " in text
    local = datetime.strptime(text.replace(" PDT ", " "), "%a %b %d %H:%M:%S %Y")
    return (local + timedelta(hours=7)).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("stem", ["garmin-fenix-5-run", "garmin-fenix-5-walk"])
def test_fenix5_records_match_reference_decode(stem):
    df = read_fit_records(DATA / "fit" / f"{stem}.fit")
    with open(DATA / "fit" / f"{stem}-records.csv", newline="") as fh:
        ref = list(csv.DictReader(fh))
    assert len(df) == len(ref) > 10
    ts = [t.to_pydatetime() for t in df["timestamp"]]
    assert ts == [_csv_time(r["timestamp"]) for r in ref]
    for col, ref_col in (("heart_rate_bpm", "heart_rate"), ("cadence_rpm", "cadence"), ("speed_mps", "speed"),
                         ("distance_m", "distance"), ("altitude_m", "altitude"), ("temperature_c", "temperature"),
                         ("position_lat_semicircles", "position_lat"), ("position_long_semicircles", "position_long")):
        np.testing.assert_allclose(df[col].to_numpy(float), [float(r[ref_col]) for r in ref], rtol=0, atol=1e-6,
                                   err_msg=col)
    # steps/min = 2 × (cadence + fractional cadence)
    np.testing.assert_allclose(df["cadence_spm"], 2 * (df["cadence_rpm"] + df["fractional_cadence_rpm"].fillna(0)))
    assert df["position_lat_deg"].between(38, 39).all()  # 456099128 semicircles ≈ 38.23° N


def test_truncated_fit_is_refused(tmp_path):
    data = FENIX_RUN.read_bytes()
    p = tmp_path / "cut.fit"
    p.write_bytes(data[: len(data) // 2])
    h = import_logs([p])
    assert not h.sessions and len(h.refused) == 1
    assert "truncated" in h.refused[0].reason


def test_corrupted_fit_is_refused(tmp_path):
    data = bytearray(FENIX_RUN.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p = tmp_path / "bad.fit"
    p.write_bytes(bytes(data))
    h = import_logs([p])
    assert not h.sessions
    assert "checksum mismatch" in h.refused[0].reason


def test_fit_header_only_and_garbage(tmp_path):
    (tmp_path / "head.fit").write_bytes(FENIX_RUN.read_bytes()[:14])
    (tmp_path / "noise.fit").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.fit").write_bytes(b"")
    h = import_logs([tmp_path])
    reasons = {Path(r.path).name: r.reason for r in h.refused}
    assert set(reasons) == {"head.fit", "noise.fit", "empty.fit"}
    assert "empty" in reasons["empty.fit"]
    assert "not FIT" in reasons["noise.fit"] or "not a training log" in reasons["noise.fit"]


_BOMB_DTD = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
             + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
             + "]>\n")


@pytest.mark.parametrize("kind", ["tcx", "gpx"])
def test_xml_bomb_is_refused(tmp_path, kind):
    body = ('<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>&lol9;</Id></Activity></Activities>'
            '</TrainingCenterDatabase>' if kind == "tcx" else '<gpx version="1.1"><trk><name>&lol9;</name></trk></gpx>')
    p = tmp_path / f"bomb.{kind}"
    p.write_text(_BOMB_DTD + body)
    h = import_logs([p])
    assert not h.sessions
    assert "XML bomb" in h.refused[0].reason


def test_wrong_extension_is_read_by_content(tmp_path):
    p = tmp_path / "run.gpx"
    shutil.copy(FENIX_RUN, p)
    sessions, _ = read_log_file(p)
    assert sessions[0].activity == "run" and sessions[0].source_format == "fit"
    assert any("does not match its content" in n for n in sessions[0].notes)
    q = tmp_path / "photo.fit"
    q.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(BadLogFile, match="not a training log|not FIT"):
        read_log_file(q)
    assert sniff_format(FENIX_RUN.read_bytes()) == "fit"


def _tcx(start: datetime, dist_m: float, secs: float, *, gps: bool = True, sport: str = "Running") -> str:
    pts = []
    for k in range(5):
        t = (start + timedelta(seconds=secs * k / 4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pos = ("<Position><LatitudeDegrees>45.0</LatitudeDegrees><LongitudeDegrees>5.0</LongitudeDegrees></Position>"
               if gps else "")
        pts.append(f"<Trackpoint><Time>{t}</Time>{pos}<DistanceMeters>{dist_m * k / 4}</DistanceMeters>"
                   f"<Extensions><TPX><RunCadence>85</RunCadence></TPX></Extensions></Trackpoint>")
    return ('<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
            f'TrainingCenterDatabase/v2"><Activities><Activity Sport="{sport}"><Id>{start.isoformat()}</Id>'
            f'<Lap StartTime="{start.strftime("%Y-%m-%dT%H:%M:%SZ")}"><TotalTimeSeconds>{secs}</TotalTimeSeconds>'
            f'<DistanceMeters>{dist_m}</DistanceMeters><Track>{"".join(pts)}</Track></Lap></Activity></Activities>'
            '</TrainingCenterDatabase>')


def test_file_from_the_future_is_refused(tmp_path):
    future = datetime.now(timezone.utc) + timedelta(days=3)
    (tmp_path / "future.tcx").write_text(_tcx(future, 5000, 1500))
    (tmp_path / "past.tcx").write_text(_tcx(datetime.now(timezone.utc) - timedelta(days=3), 5000, 1500))
    h = import_logs([tmp_path])
    assert len(h.sessions) == 1 and Path(h.sessions[0].source_file).name == "past.tcx"
    assert "future" in h.refused[0].reason and "device clock" in h.refused[0].reason
    # a real file judged against a 'now' before it was recorded
    h2 = import_logs([FENIX_RUN], now=datetime(2017, 1, 1, tzinfo=timezone.utc))
    assert not h2.sessions and "future" in h2.refused[0].reason


def test_duplicate_upload_same_bytes_and_same_activity(tmp_path):
    shutil.copy(FENIX_RUN, tmp_path / "a.fit")
    shutil.copy(FENIX_RUN, tmp_path / "b.fit")
    h = import_logs([tmp_path, tmp_path / "a.fit"])
    assert len(h.sessions) == 1 and len(h.duplicates) == 2
    assert all("same file content" in d.reason for d in h.duplicates)
    # the same run exported as TCX (start 30 s later, distance 2 % off): the richer FIT is kept
    run = import_logs([FENIX_RUN]).sessions[0]
    start = run.start_time.astimezone(timezone.utc) + timedelta(seconds=30)
    (tmp_path / "c.tcx").write_text(_tcx(start, run.distance_m * 1.02, run.duration_s))
    h = import_logs([tmp_path / "c.tcx", tmp_path / "a.fit"])
    assert len(h.sessions) == 1 and h.sessions[0].source_format == "fit"
    assert "similar distance" in h.duplicates[0].reason
    # 90 s apart is a different session
    (tmp_path / "d.tcx").write_text(_tcx(start + timedelta(seconds=61), run.distance_m, run.duration_s))
    assert len(import_logs([tmp_path / "d.tcx", tmp_path / "a.fit"]).sessions) == 2


def test_tcx_without_gps_is_treadmill_and_cadence_doubled(tmp_path):
    p = tmp_path / "tm.tcx"
    p.write_text(_tcx(datetime(2024, 1, 2, 18, 0, tzinfo=timezone.utc), 8000, 2700, gps=False))
    s = import_logs([p]).sessions[0]
    assert s.treadmill and s.treadmill_basis == "no GPS track"
    assert s.cadence_spm == pytest.approx(170)
    assert s.pace_s_per_km == pytest.approx(2700 / 8)
    w = tmp_path / "walk.tcx"
    w.write_text(_tcx(datetime(2024, 1, 3, 18, 0, tzinfo=timezone.utc), 3000, 2000, sport="Other"))
    assert import_logs([w]).sessions[0].activity == "other"


def test_strava_csv_layout(tmp_path):
    p = tmp_path / "activities.csv"
    p.write_text('Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,Moving Time,Distance,'
                 'Elevation Gain,Average Cadence,Average Heart Rate,Perceived Exertion\n'
                 '1,"Mar 5, 2024, 6:12:34 PM",Evening Run,Run,1900,5.02,1800,5020.5,35,82,150,6\n'
                 '2,"Mar 6, 2024, 6:00:00 PM",Treadmill,Virtual Run,1800,5.00,1800,5000,0,84,148,\n'
                 '3,"Mar 7, 2024, 12:00:00 PM",Walk,Walk,1800,2.5,1800,2500,5,,,\n'
                 '4,"not a date",Broken,Run,1,1,1,1,1,1,1,\n')
    h = import_logs([p])
    assert [s.activity for s in h.sessions] == ["run", "run", "walk"]
    first = h.sessions[0]
    assert first.start_time == datetime(2024, 3, 5, 18, 12, 34, tzinfo=timezone.utc)
    assert first.distance_m == pytest.approx(5020.5) and first.cadence_spm == pytest.approx(164)
    assert first.rpe == 6 and first.duration_s == 1800 and not first.treadmill
    assert h.sessions[1].treadmill
    assert any("row 5" in n for n in h.notes)


def test_garmin_sample_csv():
    h = import_logs([SAMPLES / "sample_training_log.csv"])
    assert not h.refused and len(h.runs) > 25
    assert sum(s.treadmill for s in h.runs) > len(h.runs) / 2
    assert all(s.dynamics is not None and s.cadence_spm > 150 for s in h.runs)
    assert any(s.activity == "walk" for s in h.sessions)


def test_sample_generator_is_deterministic(tmp_path):
    from backtorun.training.sample_log import generate_sample_log

    a = generate_sample_log(tmp_path / "a.csv").read_bytes()
    assert a == generate_sample_log(tmp_path / "b.csv").read_bytes()
    assert a == (SAMPLES / "sample_training_log.csv").read_bytes()


def test_cli_logs(tmp_path):
    runner = CliRunner()
    png = tmp_path / "wv.png"
    res = runner.invoke(app, ["logs", str(SAMPLES / "sample_training_log.csv"), "--plot", str(png),
                              "--json", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert "LOAD_SPIKE" in res.output and "WEEKLY_30" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "x.fit"
    bad.write_bytes(b"nonsense")
    res = runner.invoke(app, ["logs", str(bad)])
    assert res.exit_code == 2 and "no activity could be imported" in res.output


def test_services_review_with_intake(tmp_path):
    from backtorun.intake import load_intake
    from backtorun.services.intake import assess_test_file, check_intake
    from backtorun.services.training import review_training

    intake = load_intake(SAMPLES / "sample_intake.yaml")
    review = review_training([SAMPLES / "sample_training_log.csv"], intake=intake, plot_path=tmp_path / "w.png")
    f = {x.code: x for x in review.assessment.findings}
    assert f["TREADMILL_SHARE"].recommendations == ("R7",)  # treadmill-only symptoms came from the intake
    assert review.plot_path.exists()
    assert check_intake(SAMPLES / "sample_intake_redflag.yaml").screen.level == "emergency"
    assert assess_test_file(SAMPLES / "sample_tests.yaml").findings
    with pytest.raises(BadLogFile, match="no activity could be imported"):
        review_training([tmp_path / "w.png"])


@pytest.mark.parametrize("kind,sub,gps,expected", [("run", "treadmill", True, (True, "sub_sport=treadmill")),
                                                   ("run", "indoor_running", False, (True, "sub_sport=indoor_running")),
                                                   ("run", "generic", False, (True, "no GPS track")),
                                                   ("run", "street", True, (False, "gps_track")),
                                                   ("walk", "indoor_walking", False, (True, "sub_sport=indoor_walking")),
                                                   ("other", "generic", False, (False, "not applicable"))])
def test_fit_treadmill_classification(kind, sub, gps, expected):
    from backtorun.training._fit import environment

    assert environment(kind, sub, gps) == expected


def test_truncated_tcx_and_gpx_are_refused(tmp_path):
    for src in (DATA / "tcx" / "test.tcx", DATA / "gpx" / "20170319_run_906581465.gpx"):
        data = src.read_bytes()
        p = tmp_path / f"cut{src.suffix}"
        p.write_bytes(data[: len(data) // 3])
        h = import_logs([p])
        assert not h.sessions and "malformed" in h.refused[0].reason and "truncated" in h.refused[0].reason
