"""Web app, two side videos (issue #14 item 5): the evaluation page takes a left-side and a right-side upload, the
job hands both to the evaluation, and the report says which clip each leg's numbers came from.

The analysis job runs the real evaluation (:func:`backtorun.web.jobs.run_pipeline`) with the uploaded videos
replaced by keypoint files of the same runner filmed from both sides (mini_run's cached pose and its mirror image,
see tests/evaluation/test_evaluation_two_sided.py), so no pose estimation runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterator

from fastapi.testclient import TestClient

from backtorun.web import WebSettings, create_app
from tests.web.conftest import login, make_tiny_video, seed_two_clinics
from tests.web.test_web_flows import _new_evaluation, _new_patient, _upload, _wait

PIPELINE = "tests.web.test_web_two_sided:keypoints_pipeline"


def keypoints_pipeline(job: Any, progress: Callable[[str, float], None]) -> dict:
    """The real pipeline, after checking that both side uploads reached the job's inputs, on keypoint files."""
    from backtorun.web.jobs import run_pipeline
    from tests.evaluation.test_evaluation_two_sided import DATA, TRIM_FRAMES, mirrored
    from validation.pose_cache import cached_pose

    inputs = job.inputs
    if not (inputs.side_left and inputs.side_right and inputs.side_video is None):
        raise AssertionError(f"two side uploads not in the job's inputs: {inputs.recordings()}")
    if not (inputs.side_left.name.startswith("side_left-") and inputs.side_right.name.startswith("side_right-")):
        raise AssertionError(f"wrong uploads: {inputs.side_left}, {inputs.side_right}")
    folder = Path(job.out_dir).parent / "keypoints"
    folder.mkdir(parents=True, exist_ok=True)
    pose = cached_pose(DATA / "video" / "treadmill" / "mini_run.mp4")
    left, right = folder / "clinic_left.npz", folder / "clinic_right.npz"
    pose.save(left)
    mirrored(pose, start=TRIM_FRAMES).save(right)
    swapped = dataclasses.replace(inputs, side_left=left, side_right=right)
    return run_pipeline(dataclasses.replace(job, inputs=swapped), progress)


@contextlib.contextmanager
def _new_evaluation_page(tmp_path: Path) -> Iterator[tuple[TestClient, str, int, Path]]:
    """(client, CSRF token, evaluation id, tiny video): a clinician logged in to a new patient's evaluation."""
    settings = WebSettings(data_dir=tmp_path / "data", pipeline=PIPELINE, worker_nice=0)
    seed_two_clinics(settings.resolved_database_url())
    video = make_tiny_video(tmp_path / "tiny.mp4")
    with TestClient(create_app(settings)) as c:
        tok = login(c, "a@clinic.test")
        yield c, tok, _new_evaluation(c, tok, _new_patient(c, tok)), video


def test_two_side_uploads_give_a_report_with_leg_sources(tmp_path: Path) -> None:
    with _new_evaluation_page(tmp_path) as (c, tok, eid, video):
        page = c.get(f"/evaluations/{eid}").text
        assert 'value="side_left"' in page and 'value="side_right"' in page
        assert _upload(c, tok, eid, video.read_bytes(), name="from_left.mp4", kind="side_left").status_code == 303
        page = c.get(f"/evaluations/{eid}").text
        assert "from_left.mp4" in page
        r = c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok}, follow_redirects=False)
        assert r.status_code == 303  # one side video from a known side is enough to start
        assert _wait(c, eid, timeout_s=300)["status"] == "failed"  # the test pipeline wants both sides
        assert _upload(c, tok, eid, video.read_bytes(), name="from_right.mp4", kind="side_right").status_code == 303
        page = c.get(f"/evaluations/{eid}").text
        assert "from_left.mp4" in page and "from_right.mp4" in page
        c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        st = _wait(c, eid, timeout_s=300)
        assert st["status"] == "done", st
        html = c.get(f"/evaluations/{eid}/files/report.html").text
        assert "Leg sources" in html
        assert "left leg: left-side video clinic_left.npz" in html
        assert "right leg: right-side video clinic_right.npz" in html


def test_upload_kind_must_be_known(tmp_path: Path) -> None:
    with _new_evaluation_page(tmp_path) as (c, tok, eid, video):
        r = _upload(c, tok, eid, video.read_bytes(), kind="side_top")
        assert r.status_code == 400 and "from the runner's left" in r.text
