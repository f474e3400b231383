"""Keypoint files: OpenPose BODY_25 folders (real data), the documented CSV, the own .npz, malformed input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from backtorun.conventions import LANDMARK_INDEX as LI
from backtorun.errors import BadKeypointFile
from backtorun.pose import load_keypoints, save_keypoints_csv
from backtorun.pose._keypoint_files import BODY25_TO_BLAZEPOSE, choose_main_person
from backtorun.pose.synth import synthetic_runner_pose

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OPENPOSE = DATA / "keypoints" / "openpose_radluy"


def _body25(points: dict[int, tuple[float, float]], conf: float = 0.8) -> list[float]:
    flat = [0.0] * 75
    for j, (x, y) in points.items():
        flat[3 * j: 3 * j + 3] = [x, y, conf]
    return flat


def _person_at(x0: float, y0: float, scale: float = 1.0) -> list[float]:
    # a rough upright figure: nose, shoulders, hips, knees, ankles, toes, heels
    pts = {0: (0, 0), 2: (-10, 30), 5: (10, 30), 9: (-8, 90), 12: (8, 90), 10: (-8, 140), 13: (8, 140),
           11: (-8, 190), 14: (8, 190), 22: (0, 200), 19: (16, 200), 24: (-14, 195), 21: (2, 195)}
    return _body25({j: (x0 + scale * x, y0 + scale * y) for j, (x, y) in pts.items()})


def _write_folder(folder: Path, frames: list[list[list[float]]]) -> Path:
    folder.mkdir()
    for k, people in enumerate(frames):
        doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": p} for p in people]}
        (folder / f"clip_{k:012d}_keypoints.json").write_text(json.dumps(doc))
    return folder


def test_openpose_side_folder_real_data(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        series = load_keypoints(OPENPOSE / "side_json")
    assert series.n_frames == 88
    assert series.fps == 30.0 and "fps assumed" in series.source
    assert any("frame rate" in r.message for r in caplog.records)
    assert (series.width, series.height) == (1920, 1080)  # the source video's size (SOURCES.md)
    # landmarks BODY_25 lacks stay NaN; mapped ones are present in most frames with a person
    assert np.isnan(series.xy[:, LI["left_pinky"]]).all()
    found = np.isfinite(series.xy[:, LI["left_hip"], 0])
    assert found.sum() > 40
    # one person followed: the hip centre never jumps by more than a body height between kept frames
    hip = series.xy[found][:, [LI["left_hip"], LI["right_hip"]], :].mean(axis=1)
    steps = np.linalg.norm(np.diff(hip, axis=0), axis=1)
    assert np.nanmax(steps) < 200


def test_openpose_back_folder_with_given_fps() -> None:
    series = load_keypoints(OPENPOSE / "back_json", fps=50.0)
    assert series.fps == 50.0 and "fps assumed" not in series.source
    assert np.allclose(np.diff(series.time_s), 1 / 50.0)
    assert np.isfinite(series.xy[:, LI["left_heel"], 0]).sum() > 50


def test_openpose_main_person_is_kept_across_frames(tmp_path: Path) -> None:
    runner = [_person_at(300 + 2 * k, 100, scale=1.5) for k in range(6)]
    other = [_person_at(900, 120, scale=1.0) for _ in range(6)]
    # the other person is listed first in half the frames
    frames = [[o, r] if k % 2 == 0 else [r, o] for k, (r, o) in enumerate(zip(runner, other))]
    frames[3] = [other[3]]  # the runner is missed in frame 3
    series = load_keypoints(_write_folder(tmp_path / "op", frames), fps=30)
    nose_x = series.xy[:, LI["nose"], 0]
    assert np.allclose(nose_x[[0, 1, 2, 4, 5]], [300, 302, 304, 308, 310])
    assert np.isnan(nose_x[3])
    assert series.xy[0, LI["left_foot_index"], 0] == pytest.approx(300 + 1.5 * 16)  # big toe → foot_index
    assert series.visibility[0, LI["left_heel"]] == pytest.approx(0.8)


def test_choose_main_person_empty() -> None:
    assert choose_main_person([[], []]) == [None, None]


def test_body25_mapping_is_sided_consistently() -> None:
    for j, name in BODY25_TO_BLAZEPOSE.items():
        if j in (2, 3, 4, 9, 10, 11, 15, 17, 22, 24):
            assert name.startswith("right_")
        elif j != 0:
            assert name.startswith("left_")


def test_csv_round_trip(tmp_path: Path) -> None:
    truth = synthetic_runner_pose(12, fps=60.0, width=640, height=480)
    path = save_keypoints_csv(truth, tmp_path / "kp.csv")
    back = load_keypoints(path)
    assert (back.width, back.height, back.fps) == (640, 480, 60.0)
    assert np.allclose(back.xy, truth.xy, atol=1e-3, equal_nan=True)
    assert np.allclose(back.time_s, truth.time_s, atol=1e-4)


def test_csv_minimal_columns(tmp_path: Path) -> None:
    p = tmp_path / "min.csv"
    p.write_text("# fps=25\nframe,left_heel_x,left_heel_y\n0,10,20\n2,11,\n3,12,22\n")
    s = load_keypoints(p)
    assert s.fps == 25.0 and np.allclose(s.time_s, [0, 0.08, 0.12])
    assert np.isnan(s.xy[1, LI["left_heel"]]).all() and s.visibility[1, LI["left_heel"]] == 0
    assert s.visibility[0, LI["left_heel"]] == 1.0
    assert np.isnan(s.xy[:, LI["right_heel"]]).all()


def test_npz_round_trip(tmp_path: Path) -> None:
    truth = synthetic_runner_pose(5)
    back = load_keypoints(truth.save(tmp_path / "pose.npz"))
    assert np.allclose(back.xy, truth.xy, equal_nan=True, atol=1e-3) and back.fps == truth.fps


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("left_heel_x,left_heel_y\n1,2\n", "'frame' column"),
        ("frame,time_s\n0,0\n", "no <landmark>_x"),
        ("frame,left_heel_x,left_heel_y\n0,abc,2\n", "non-numeric"),
        ("frame,time_s,left_heel_x,left_heel_y\n1,0.1,1,2\n0,0.2,1,2\n", "increase"),
        ("frame,left_heel_x,left_heel_y\n0,1,2\n1,1,2\n", "no 'time_s' column"),
        ("frame,left_heel_x,left_heel_y\n", "no rows"),
        ("", "not a readable CSV"),
    ],
)
def test_csv_malformed(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(BadKeypointFile, match=message) as err:
        load_keypoints(p)
    assert "\n" not in str(err.value)


def test_openpose_malformed(tmp_path: Path) -> None:
    folder = tmp_path / "op"
    folder.mkdir()
    with pytest.raises(BadKeypointFile, match="no OpenPose"):
        load_keypoints(folder)
    (folder / "a_000_keypoints.json").write_text("{not json")
    with pytest.raises(BadKeypointFile, match="not valid JSON"):
        load_keypoints(folder)
    (folder / "a_000_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [1, 2, 3]}]}))
    with pytest.raises(BadKeypointFile, match="BODY_25"):
        load_keypoints(folder)


def test_other_inputs_refused(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(BadKeypointFile, match="unknown keypoint format"):
        load_keypoints(tmp_path / "x.txt")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(BadKeypointFile, match="not a backtorun pose file"):
        load_keypoints(tmp_path / "bad.npz")
    with pytest.raises(BadKeypointFile, match="not found"):
        load_keypoints(tmp_path / "missing.csv")
