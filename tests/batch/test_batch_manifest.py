"""Batch input: folders of videos and CSV manifests, validated row by row with clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backtorun.batch import BadManifest, JobDefaults, load_jobs, parse_speed
from backtorun.errors import InputError
from backtorun.units import speed_to_mps


@pytest.fixture()
def videos(tmp_path: Path, shared_data: Path) -> Path:
    """A folder with two copies of mini_run (one in a sub-folder), a hidden file and a text file."""
    src = shared_data / "video" / "treadmill" / "mini_run.mp4"
    folder = tmp_path / "videos"
    (folder / "week2").mkdir(parents=True)
    shutil.copy(src, folder / "a.mp4")
    shutil.copy(src, folder / "week2" / "a.MOV")
    shutil.copy(src, folder / ".hidden.mp4")
    (folder / "notes.txt").write_text("not a video")
    return folder


def _manifest(folder: Path, text: str) -> Path:
    path = folder / "manifest.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_folder_finds_videos_recursively_with_unique_ids(videos: Path):
    jobs = load_jobs(videos, JobDefaults(view="side", height_cm=180.0))
    assert [j.video.name for j in jobs] == ["a.mp4", "a.MOV"]
    assert [j.id for j in jobs] == ["a", "week2__a"]
    assert all(j.view == "side" and j.height_cm == 180.0 for j in jobs)


def test_output_folder_inside_the_input_folder_is_not_an_input(videos: Path):
    shutil.copy(videos / "a.mp4", videos / "week2" / "annotated.mp4")
    (videos / "results" / "a").mkdir(parents=True)
    shutil.copy(videos / "a.mp4", videos / "results" / "a" / "annotated.mp4")
    jobs = load_jobs(videos, out_dir=videos / "results")
    assert [j.id for j in jobs] == ["a", "week2__a", "week2__annotated"]


def test_manifest_rows_resolve_paths_speeds_and_defaults(videos: Path):
    path = _manifest(videos, "video,view,height_cm,speed,speed_mps,patient_id,session\n"
                             "a.mp4,Side,172,10 km/h,,P01,pre\n"
                             "week2/a.MOV,,,,2.5,P01,post\n"
                             "a.mp4,rear,,5:30 min/km,,P02,\n")
    jobs = load_jobs(path, JobDefaults(height_cm=165.0))
    # same stem and patient twice: both disambiguated by a hash of the video path; the third is unique as it is
    assert jobs[0].id.startswith("P01__a-") and jobs[1].id.startswith("P01__a-") and jobs[2].id == "P02__a"
    assert len({j.id for j in jobs}) == 3
    assert jobs[0].video == (videos / "a.mp4").resolve()
    assert jobs[0].view == "side" and jobs[0].height_cm == 172.0
    assert jobs[0].speed_mps == pytest.approx(speed_to_mps(10, "km/h"))
    assert jobs[1].view == "auto" and jobs[1].height_cm == 165.0 and jobs[1].speed_mps == 2.5
    assert jobs[2].speed_mps == pytest.approx(1000 / 330)
    assert jobs[0].extra == {"session": "pre"} and jobs[2].extra == {"session": ""}


def test_ids_are_stable_across_loads(videos: Path):
    path = _manifest(videos, "video,patient_id\na.mp4,P01\nweek2/a.MOV,P01\n")
    assert [j.id for j in load_jobs(path)] == [j.id for j in load_jobs(path)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("video,height_cm\na.mp4,90\n", "line 2: height_cm: Input should be greater than or equal to 100"),
        ("video,speed,speed_mps\na.mp4,10 km/h,2.8\n", "line 2: give either speed or speed_mps, not both"),
        ("video,speed\na.mp4,10 furlongs\n", "unknown speed unit"),
        ("video,speed\na.mp4,fast\n", "is not '<number> <unit>'"),
        ("video,view\na.mp4,top\n", "line 2: view: Input should be 'auto', 'side', 'rear' or 'front'"),
        ("video\nmissing.mp4\n", "line 2: video 'missing.mp4' not found"),
        ("video,patient_id\na.mp4,P 1\n", "line 2: patient_id: String should match pattern"),
        ("video,patient_id\na.mp4,P1\na.mp4,P1\n", "line 3: same video and patient_id as line 2"),
        ("video,height\na.mp4,170\n", "unknown column 'height' — did you mean 'height_cm'?"),
        ("path,view\na.mp4,side\n", "no 'video' column"),
        ("video\n", "no rows"),
        ("", "the manifest is empty"),
    ],
)
def test_manifest_errors_name_the_row_and_the_problem(videos: Path, text: str, expected: str):
    with pytest.raises(BadManifest) as err:
        load_jobs(_manifest(videos, text))
    assert expected in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, InputError) and err.value.exit_code == 2


def test_all_bad_rows_are_reported_together(videos: Path):
    text = "video,height_cm\n" + "".join(f"a.mp4,{h}\n" for h in (50, 60, 170, 70, 80, 90, 95, 99))
    with pytest.raises(BadManifest) as err:
        load_jobs(_manifest(videos, text))
    msg = str(err.value)
    assert "7 invalid row(s)" in msg and "line 2:" in msg and "line 3:" in msg and "line 4:" not in msg
    assert "(and 2 more)" in msg


def test_bad_inputs(tmp_path: Path, videos: Path):
    with pytest.raises(BadManifest, match="not found"):
        load_jobs(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no videos here")
    with pytest.raises(BadManifest, match="no video files"):
        load_jobs(tmp_path / "empty")
    with pytest.raises(BadManifest, match="must be a folder of videos or a .csv manifest"):
        load_jobs(videos / "a.mp4")


@pytest.mark.parametrize(("text", "unit", "value"), [("10 km/h", "km/h", 10.0), ("6,2mph", "mph", 6.2),
                                                      ("2.8 m/s", "m/s", 2.8), ("12 kmh", "kmh", 12.0)])
def test_parse_speed(text: str, unit: str, value: float):
    assert parse_speed(text) == pytest.approx(speed_to_mps(value, unit))
