"""Stage contracts: PoseSeries save/load, GaitAnalysis JSON round trip, settings bounds, unit conversions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from backtorun.conventions import ANALYSIS_SCHEMA, LEFT_RIGHT_PAIRS, N_LANDMARKS
from backtorun.errors import ConfigError, InputError
from backtorun.settings import load_settings
from backtorun.types import (
    GaitAnalysis, GaitEvent, GaitEvents, MetricSummary, PoseSeries, QualityFlag, RedFlagHit, RedFlagScreen,
    SideSummary, VideoInfo,
)
from backtorun.units import speed_to_mps


def _pose(n: int = 12) -> PoseSeries:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 500, size=(n, N_LANDMARKS, 2))
    xy[3, 5] = np.nan
    return PoseSeries(xy=xy, visibility=rng.uniform(0, 1, (n, N_LANDMARKS)), time_s=np.arange(n) / 60.0,
                      frame_index=np.arange(n), fps=60.0, width=640, height=480, source="test")


def test_pose_series_round_trips_through_npz(tmp_path):
    pose = _pose()
    back = PoseSeries.load(pose.save(tmp_path / "p.npz"))
    assert back.n_frames == pose.n_frames and back.fps == 60.0 and back.width == 640
    np.testing.assert_allclose(back.xy, pose.xy, rtol=1e-6)  # float32 storage
    assert math.isnan(back.xy[3, 5, 0])
    assert back.world_xyz is None


def test_pose_series_rejects_mismatched_shapes():
    pose = _pose()
    with pytest.raises(ValueError):
        PoseSeries(xy=pose.xy, visibility=pose.visibility[:, :5], time_s=pose.time_s, frame_index=pose.frame_index,
                   fps=60, width=1, height=1)


def test_left_right_pairs_cover_all_sided_landmarks():
    assert len(LEFT_RIGHT_PAIRS) == 16
    assert (23, 24) in LEFT_RIGHT_PAIRS and (31, 32) in LEFT_RIGHT_PAIRS


def test_gait_analysis_json_round_trip_keeps_schema_and_nan_as_null():
    events = GaitEvents((GaitEvent("R", "far", "IC", 12, 0.4, 0.6), GaitEvent("L", "near", "IC", 2, 0.07, 0.9)))
    assert [e.frame for e in events] == [2, 12]  # sorted by time
    summary = {"cadence_spm": MetricSummary("cadence_spm", 170.0, 2.0, 1.2, 10, {"L": SideSummary(169.0, 1.0, 5)}),
               "vertical_ratio_pct": MetricSummary("vertical_ratio_pct", float("nan"), float("nan"), float("nan"), 0)}
    ga = GaitAnalysis(video=VideoInfo("x.mp4", 30.0, 100, 640, 480), view="side", events=events,
                      strides=pd.DataFrame({"side": ["L"], "contact_time_ms": [250.0]}), summary=summary,
                      quality_flags=(QualityFlag("LOW_FPS", "30 fps"),))
    d = json.loads(json.dumps(ga.to_json_dict(), allow_nan=False))
    assert d["schema"] == ANALYSIS_SCHEMA
    assert d["summary"]["cadence_spm"] == 170.0 and d["summary"]["vertical_ratio_pct"] is None
    assert d["events"][0]["frame"] == 2
    back = GaitAnalysis.from_json_dict(d)
    assert back.summary["cadence_spm"].by_side["L"].mean == 169.0
    assert back.quality_flags[0].code == "LOW_FPS"


def test_red_flag_screen_refers_unless_none():
    assert not RedFlagScreen("none").refer
    s = RedFlagScreen("emergency", (RedFlagHit("RF-CES", "emergency", "saddle numbness", "ED now", "C", ("64",)),))
    assert s.refer and RedFlagScreen.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (10, "km/h", 2.7778), (11.4, "mph", 5.0963), (3.0, "m/s", 3.0), (5.0, "min/km", 3.3333), (8.0, "min/mi", 3.3528),
])
def test_speed_units(value, unit, expected):
    assert speed_to_mps(value, unit) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize(("value", "unit"), [(0, "km/h"), (-3, "mph"), (10, "furlongs")])
def test_speed_units_reject_bad_input(value, unit):
    with pytest.raises(InputError):
        speed_to_mps(value, unit)


def test_settings_are_bounded_and_file_overrides(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("min_visibility: 0.7\n")  # a flat name of schema /1
    assert load_settings(f).pose.min_visibility == 0.7
    f.write_text("pose:\n  min_visibility: 0.7\nevents:\n  detector: rear\n")
    assert load_settings(f).pose.min_visibility == 0.7 and load_settings(f).events.detector == "rear"
    with pytest.raises(ConfigError):
        load_settings(min_visibility=1.5)
    with pytest.raises(ConfigError):
        load_settings(pose={"not_a_setting": 1})
    f.write_text("- not a mapping\n")
    with pytest.raises(ConfigError):
        load_settings(f)
