"""Re-assessment comparison: a change is marked only when it exceeds the measurement error."""

from __future__ import annotations

import datetime as dt

from backtorun.web.compare import compare_evaluations, load_measurement_errors


def _result(knee: float, cadence: float, cadence_u: float | None, pain: int, contact: float | None = None) -> dict:
    side = {"summary_detail": {
        "knee_flexion_ic_deg": {"mean": knee, "uncertainty": None},
        "cadence_spm": {"mean": cadence, "uncertainty": cadence_u},
    }}
    if contact is not None:
        side["summary_detail"]["contact_time_ms"] = {"mean": contact, "uncertainty": 20.0}
    return {"side": side, "rear": None, "intake": {"pain": {"during_run": pain}}}


def _cells(table, key):
    return next(r for r in table.rows if r.key == key).cells


def test_changes_are_marked_against_configured_or_reported_error() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    evals = [(1, t0, "initial", _result(20.0, 160.0, None, 6, 250.0)),
             (2, t0 + dt.timedelta(days=42), "6 weeks", _result(24.0, 170.0, None, 3, 240.0)),
             (3, t0 + dt.timedelta(days=84), "12 weeks", _result(30.0, 171.0, 3.0, 2, None))]
    table = compare_evaluations(evals)
    assert [h for _, h in table.columns] == ["2026-01-01 · initial", "2026-02-12 · 6 weeks", "2026-03-26 · 12 weeks"]
    knee = _cells(table, "side:knee_flexion_ic_deg")
    assert knee[0].delta is None and not knee[0].marked
    assert knee[1].delta == 4.0 and knee[1].error == 5.0 and not knee[1].marked  # within Q1's 5°
    assert knee[2].delta == 6.0 and knee[2].marked
    cadence = _cells(table, "side:cadence_spm")
    assert cadence[1].error is None and not cadence[1].marked  # no known error → never marked
    assert cadence[2].error is None  # uncertainty only in one session
    pain = _cells(table, "outcome:pain_during_run_nrs")
    assert pain[1].delta == -3 and pain[1].marked and not pain[2].marked  # MIC 2 points
    contact = _cells(table, "side:contact_time_ms")
    # reported uncertainty √(20²+20²) ≈ 28.3 ms is larger than the configured 14 ms → used, not marked
    assert abs(contact[1].error - (20.0 ** 2 * 2) ** 0.5) < 1e-9 and not contact[1].marked
    assert contact[2].value is None
    assert table.rows[0].key.startswith("outcome:")  # patient-reported outcomes first


def test_measurement_errors_come_from_the_configuration_file() -> None:
    errors = load_measurement_errors()
    assert errors["pelvic_drop_deg"] == 3.0 and errors["hip_extension_deg"] == 5.0 and errors["psfs_mean"] == 2.0
