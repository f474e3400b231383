"""Intake-based findings: pain-monitoring thresholds and patterns tested on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtorun.intake import intake_findings, load_intake, odi_band, parse_intake

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "backtorun" / "samples"


def codes(i):
    return {f.code: f for f in intake_findings(i)}


def make(**kw):
    return parse_intake({"age_years": 35, **kw})


def test_sample_intake_findings():
    c = codes(load_intake(SAMPLES / "sample_intake.yaml"))
    assert c["INTAKE_TREADMILL_PAIN"].recommendations == ("R5", "R7")
    assert all(f.domain == "intake" for f in c.values())


@pytest.mark.parametrize("during,code_present,severity", [(3, False, None), (4, True, "mild"), (5, True, "mild"),
                                                          (6, True, "moderate")])
def test_pain_during_run_bands(during, code_present, severity):
    c = codes(make(pain={"during_run": during}))
    assert ("PAIN_DURING_RUN" in c) is code_present
    if code_present:
        assert c["PAIN_DURING_RUN"].severity == severity


@pytest.mark.parametrize("after,present", [(2, False), (3, True)])
def test_pain_not_settling_boundary(after, present):
    assert ("PAIN_NOT_SETTLING" in codes(make(pain={"now": 2, "after_run_24h": after}))) is present


@pytest.mark.parametrize("surfaces,pref,recs", [("treadmill_only", "extension_sensitive", ("R5", "R7")),
                                                ("treadmill_only", "flexion_sensitive", ("R7",)),
                                                ("treadmill_and_outside", "extension_sensitive", None)])
def test_treadmill_pattern(surfaces, pref, recs):
    c = codes(make(pain={"during_run": 4}, timing={"surfaces": surfaces},
                   modifiers={"directional_preference": pref}))
    if recs is None:
        assert "INTAKE_TREADMILL_PAIN" not in c
    else:
        assert c["INTAKE_TREADMILL_PAIN"].recommendations == recs


@pytest.mark.parametrize("sub,present", [(3, False), (4, True)])
def test_startback_high_boundary(sub, present):
    i = make(instruments={"startback_total": 7, "startback_psychosocial": sub})
    assert ("STARTBACK_HIGH" in codes(i)) is present


@pytest.mark.parametrize("score,band", [(20, "minimal"), (21, "moderate"), (40, "moderate"), (41, "severe"),
                                        (81, "bed-bound or exaggerating")])
def test_odi_bands(score, band):
    assert odi_band(score) == band
