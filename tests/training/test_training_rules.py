"""Load rules TR1–TR9 (domain.md §8): every threshold tested on both sides."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from backtorun.training import (Session, TrainingHistory, assess_training, import_logs, load_load_rules,
                                running_dynamics_summary, write_weekly_volume_png)
from backtorun.training.model import RunningDynamics

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "logs"
END = date(2026, 3, 29)  # a Sunday


def run(day: date, km: float, *, treadmill: bool = False, minutes: float | None = None, kind: str = "run") -> Session:
    return Session(start_time=datetime.combine(day, time(18, 0), tzinfo=timezone.utc), activity=kind, sport="running",
                   sub_sport=None, distance_m=km * 1000, duration_s=(minutes or km * 6) * 60, source_file=f"{day}.fit",
                   source_format="fit", file_sha256=f"{day.isoformat()}{km}".ljust(64, "0"), treadmill=treadmill)


def hist(*sessions: Session) -> TrainingHistory:
    return TrainingHistory(sessions=tuple(sorted(sessions, key=lambda s: s.start_time)))


def codes(a):
    return {f.code: f for f in a.findings}


def base(days_back: int = 42, km: float = 10.0) -> list[Session]:
    """A run of ``km`` every 3 days for ``days_back`` days before END − 1 (history longer than 30 days)."""
    return [run(END - timedelta(days=d), km) for d in range(days_back, 1, -3)]


@pytest.mark.parametrize("km,flag,severity", [(11.0, False, None), (11.01, True, "mild"), (13.0, True, "mild"),
                                              (13.01, True, "moderate"), (20.0, True, "moderate"),
                                              (20.01, True, "marked")])
def test_tr1_single_run_spike_boundaries(km, flag, severity):
    a = assess_training(hist(*base(), run(END, km)), today=END)
    f = codes(a).get("LOAD_SPIKE")
    assert (f is not None) is flag
    if flag:
        assert f.severity == severity and f.values["worst"]["ratio"] == pytest.approx(km / 10)
        assert f.sources == ("72",) and f.evidence_grade == "B"


def test_tr1_not_judged_when_history_shorter_than_window():
    a = assess_training(hist(run(END - timedelta(days=10), 5), run(END, 10)), today=END)
    assert "LOAD_SPIKE" not in codes(a)
    assert a.metrics["spikes"] == []


def test_tr1_window_excludes_runs_older_than_30_days():
    # longest run 31 days ago is out of the window: the 8-km runs set the reference
    old = [run(END - timedelta(days=40), 5), run(END - timedelta(days=31), 20)]
    recent = [run(END - timedelta(days=d), 8) for d in (25, 18, 11, 4)]
    a = assess_training(hist(*old, *recent, run(END, 9)), today=END)
    assert codes(a)["LOAD_SPIKE"].values["worst"]["longest_prev_km"] == pytest.approx(8)


def _weeks(prev_km: float, cur_km: float) -> TrainingHistory:
    mon = END - timedelta(days=6)  # Monday of the last week
    pre = [run(mon - timedelta(days=7 * w + 4), 5) for w in range(2, 6)]  # steady older weeks
    return hist(*pre, run(mon - timedelta(days=5), prev_km / 2), run(mon - timedelta(days=3), prev_km / 2),
                run(mon + timedelta(days=1), cur_km / 2), run(mon + timedelta(days=3), cur_km / 2))


@pytest.mark.parametrize("cur,flag", [(13.0, False), (13.2, True)])
def test_tr2_weekly_progression_boundary(cur, flag):
    a = assess_training(_weeks(10.0, cur), today=END)
    assert ("WEEKLY_30" in codes(a)) is flag


def test_tr2_not_judged_on_tiny_base():
    a = assess_training(_weeks(4.0, 12.0), today=END)
    assert "WEEKLY_30" not in codes(a)
    assert any(p["change_pct"] is None for p in a.metrics["weekly_progression"])


def test_tr3_acwr_is_display_only():
    a = assess_training(hist(*base(km=5), run(END, 5), run(END - timedelta(days=1), 30)), today=END)
    acwr = a.metrics["acwr"]
    assert acwr["ratio"] == pytest.approx(acwr["acute_km"] / acwr["chronic_weekly_km"])
    assert not any("ACWR" in f.code for f in a.findings)


def test_tr4_tr5_session_rpe():
    s1, s2 = run(END, 10, minutes=60), run(END - timedelta(days=2), 5, minutes=30)
    a = assess_training(hist(s1, s2), today=END, session_rpe={s1.session_id: 5, (END - timedelta(days=2)).isoformat(): 3})
    assert a.metrics["srpe"]["weekly_load_au"] == pytest.approx(5 * 60 + 3 * 30)
    assert a.weeks[-1].srpe_load_au == pytest.approx(390)
    assert a.metrics["srpe"]["monotony"] > 0


@pytest.mark.parametrize("km,bmi,flag", [(3.0, 31, False), (3.1, 31, True), (3.1, 30.0, False)])
def test_tr6_novice_first_week(km, bmi, flag):
    a = assess_training(hist(run(END - timedelta(days=2), km)), today=END, novice=True, bmi=bmi)
    assert ("NOVICE_FIRST_WEEK" in codes(a)) is flag


@pytest.mark.parametrize("tm_km,flag", [(10.0, False), (10.1, True)])
def test_tr7_treadmill_share_boundary(tm_km, flag):
    h = hist(run(END - timedelta(days=3), tm_km, treadmill=True), run(END - timedelta(days=1), 10.0))
    a = assess_training(h, today=END, symptoms_treadmill_only=True)
    f = codes(a).get("TREADMILL_SHARE")
    assert (f is not None) is flag
    if flag:
        assert f.recommendations == ("R7",) and f.severity == "mild"
        b = assess_training(h, today=END)
        assert codes(b)["TREADMILL_SHARE"].recommendations == () and codes(b)["TREADMILL_SHARE"].severity == "info"


@pytest.mark.parametrize("skip_one,flag", [(False, True), (True, False)])
def test_tr8_rest_days(skip_one, flag):
    days = [END - timedelta(days=d) for d in range(0, 20) if not (skip_one and d == 5)]
    a = assess_training(hist(*[run(d, 5) for d in days]), today=END)
    assert ("NO_REST_DAYS" in codes(a)) is flag
    assert a.metrics["rest_days_window"] == (1 if skip_one else 0)


def test_tr9_long_run_share_and_walks_not_counted():
    h = hist(run(END, 10), run(END - timedelta(days=2), 5), run(END - timedelta(days=1), 8, kind="walk"))
    a = assess_training(h, today=END)
    assert a.metrics["long_run_share"] == pytest.approx(10 / 15)
    assert a.weeks[-1].run_km == pytest.approx(15) and a.weeks[-1].walk_km == pytest.approx(8)


def test_today_excludes_later_sessions():
    a = assess_training(hist(*base(), run(END, 30)), today=END - timedelta(days=1))
    assert "LOAD_SPIKE" not in codes(a)


def test_rules_override(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("spike_ratio_above: 1.5\n")
    a = assess_training(hist(*base(), run(END, 13)), today=END, rules=load_load_rules(p))
    assert "LOAD_SPIKE" not in codes(a)


def test_sample_log_has_spike_and_treadmill_share():
    from backtorun.training import import_logs

    samples = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"
    a = assess_training(import_logs([samples / "sample_training_log.csv"]), symptoms_treadmill_only=True)
    c = codes(a)
    assert {"LOAD_SPIKE", "WEEKLY_30", "TREADMILL_SHARE"} <= set(c)
    assert c["LOAD_SPIKE"].values["worst"]["distance_km"] == pytest.approx(18)
    assert 7 <= len(a.weeks) <= 9


def test_plot_and_dynamics_summary(tmp_path):
    h = import_logs([DATA / "fit" / "garmin-fenix-5-run.fit", DATA / "fit" / "OutdoorRun20200314145229.fit",
                     DATA / "fit" / "garmin-fenix-5-walk.fit"])
    a = assess_training(h)
    d = a.running_dynamics_summary()
    assert d["n_runs"] == 2  # the walk is not a run
    assert 6 < d["mean"]["vertical_oscillation_cm"] < 11
    assert d == running_dynamics_summary(h)
    out = write_weekly_volume_png(a, tmp_path / "p" / "w.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    import json

    json.dumps(a.to_dict())


def test_dynamics_plausibility_filter():
    from backtorun.training import read_log_file

    sessions, _ = read_log_file(DATA / "fit" / "activity-large-fenxi2-multisport.fit")
    for s in sessions:
        if s.dynamics and s.dynamics.vertical_oscillation_cm is not None:
            assert 3 <= s.dynamics.vertical_oscillation_cm <= 20
    assert isinstance(RunningDynamics().to_dict(), dict)
