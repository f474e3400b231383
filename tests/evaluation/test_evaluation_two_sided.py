"""Two side videos (issue #14 item 5): each leg's metrics from the clip where it is the near leg, provenance recorded
and printed, the far leg of a single clip marked lower confidence, a mis-sided clip warned about.

Clips: mini_run.mp4's cached pose is a left-side clip (camera on the runner's left: the left leg is detected
nearest); its mirror image with the left/right landmark labels exchanged is the same runner filmed from the right
(the right leg nearest). The mirrored clip is trimmed so that its numbers differ from the left clip's. The mirror
image without the label exchange still has the left leg nearest: given as a right-side clip it is mis-sided.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.conventions import LEFT_RIGHT_PAIRS
from backtorun.metrics.two_sided import FAR_LEG_CODE, MISMATCH_CODE, merge_sides
from backtorun.pipeline import analyze_pose
from backtorun.services.evaluation import EvaluationInputs, run_evaluation
from backtorun.types import GaitAnalysis, PoseSeries
from validation.pose_cache import cached_pose

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TRIM_FRAMES = 15  # the mirrored clip starts later, so its per-leg numbers differ from the left clip's
METRICS = ("contact_time_ms", "flight_time_ms", "knee_flexion_peak_stance_deg", "hip_extension_deg")


def mirrored(pose: PoseSeries, *, swap_labels: bool = True, start: int = 0) -> PoseSeries:
    """The pose's mirror image (x → width − x); with ``swap_labels`` the left/right landmarks exchanged too, i.e.
    the same runner filmed from the other side."""
    xy = pose.xy[start:].copy()
    xy[..., 0] = pose.width - xy[..., 0]
    vis = pose.visibility[start:].copy()
    world = pose.world_xyz[start:].copy() if pose.world_xyz is not None else None
    if world is not None:
        world[..., 0] = -world[..., 0]
    if swap_labels:
        for a, b in LEFT_RIGHT_PAIRS:
            xy[:, [a, b]] = xy[:, [b, a]]
            vis[:, [a, b]] = vis[:, [b, a]]
            if world is not None:
                world[:, [a, b]] = world[:, [b, a]]
    motion = pose.camera_motion_px[start:].copy() if pose.camera_motion_px is not None else None
    if motion is not None:
        motion[:, 0] = -motion[:, 0]
    return pose.replace(xy=xy, visibility=vis, world_xyz=world, time_s=pose.time_s[start:].copy(),
                        frame_index=pose.frame_index[start:].copy(), camera_motion_px=motion, frames_expected=None)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Keypoint files: the left-side clip, the right-side clip, and a mis-sided 'right-side' clip."""
    pose = cached_pose(DATA / "video" / "treadmill" / "mini_run.mp4")
    folder = tmp_path_factory.mktemp("two_sided")
    out = {"left": folder / "run_left.npz", "right": folder / "run_right.npz", "wrong": folder / "run_wrong.npz"}
    pose.save(out["left"])
    mirrored(pose, start=TRIM_FRAMES).save(out["right"])
    mirrored(pose, swap_labels=False, start=TRIM_FRAMES).save(out["wrong"])
    return out


@pytest.fixture(scope="module")
def analyses(clips: dict[str, Path]) -> dict[str, GaitAnalysis]:
    """Each clip's analysis, named by its keypoint file (as the evaluation records it)."""
    return {k: analyze_pose(PoseSeries.load(p).replace(video_path=str(p)), view="side") for k, p in clips.items()}


def test_simulated_clips_have_the_expected_near_leg(analyses: dict[str, GaitAnalysis]) -> None:
    assert analyses["left"].near_side == "L"
    assert analyses["right"].near_side == "R"
    assert analyses["wrong"].near_side == "L"


def test_each_leg_from_its_near_leg_clip(analyses: dict[str, GaitAnalysis]) -> None:
    left, right = analyses["left"], analyses["right"]
    merged = merge_sides({"left": left, "right": right})
    assert merged.legs["L"].clip == "left" and merged.legs["L"].near and not merged.legs["L"].lower_confidence
    assert merged.legs["R"].clip == "right" and merged.legs["R"].near and not merged.legs["R"].lower_confidence
    assert not [f for f in merged.flags if f.code in (MISMATCH_CODE, FAR_LEG_CODE)]
    differs = 0
    for m in METRICS:
        ms = merged.summary[m]
        assert ms.by_side["L"] == left.summary[m].by_side["L"]
        assert ms.by_side["R"] == right.summary[m].by_side["R"]
        # the right leg's number is not the one the left clip measured for its far leg
        differs += not math.isclose(ms.by_side["R"].mean, left.summary[m].by_side["R"].mean, abs_tol=1e-9)
        l_mean, r_mean = ms.by_side["L"].mean, ms.by_side["R"].mean
        expected = (100.0 * (r_mean - l_mean) / ((r_mean + l_mean) / 2) if m.endswith("_ms") else r_mean - l_mean)
        if ms.asymmetry is not None:
            assert ms.asymmetry == pytest.approx(expected)
        else:
            assert ms.asymmetry_note and "not assessable" in ms.asymmetry_note
    assert differs >= 3
    # the same runner filmed from both sides: each leg measured as a near leg, so the legs agree (symmetric runner)
    for m in ("step_time_ms", "contact_time_ms"):
        assert merged.summary[m].asymmetry is not None and abs(merged.summary[m].asymmetry) <= 5.0
    # provenance: which clip, frame rate and strides
    leg_r = merged.legs["R"]
    assert leg_r.file == "run_right.npz" and leg_r.fps == pytest.approx(right.video.fps)
    assert leg_r.strides == max(s.by_side["R"].n for s in right.summary.values())
    text = merged.provenance_text()
    assert "left leg: left-side video run_left.npz" in text and "right leg: right-side video run_right.npz" in text
    # the merged analysis carries each leg's curves from its own clip
    a = merged.analysis()
    assert a.curves["knee_flexion_deg"]["R"] == right.curves["knee_flexion_deg"]["R"]
    assert a.curves["knee_flexion_deg"]["L"] == left.curves["knee_flexion_deg"]["L"]
    # its flags name their clip, and a single clip's left/right verdict is not carried over
    assert any(f.message.startswith("right-side video: ") for f in a.quality_flags)
    assert not any(f.code in ("STEP_TIMING_ARTEFACT", "ASYMMETRY_NOT_ASSESSABLE") for f in a.quality_flags)


def test_single_side_video_marks_far_leg_lower_confidence(analyses: dict[str, GaitAnalysis]) -> None:
    left = analyses["left"]
    one = merge_sides({"left": left})
    assert one.legs["L"].near and not one.legs["L"].lower_confidence
    assert one.legs["R"].lower_confidence and not one.legs["R"].near and one.legs["R"].clip == "left"
    assert any(f.code == FAR_LEG_CODE and "right leg" in f.message for f in one.flags)
    assert "far leg" in one.legs["R"].describe() and "lower confidence" in one.legs["R"].describe()
    assert dict(one.summary) == dict(left.summary)  # one clip: its own summary (and asymmetry guard) is kept
    # a plain --side clip (camera side not stated): provenance still marks the far leg
    plain = merge_sides({"side": left})
    assert plain.legs["R"].lower_confidence and plain.legs["L"].near


def test_mis_sided_clip_warns(analyses: dict[str, GaitAnalysis]) -> None:
    merged = merge_sides({"left": analyses["left"], "right": analyses["wrong"]})
    mismatch = [f for f in merged.flags if f.code == MISMATCH_CODE]
    assert len(mismatch) == 1 and mismatch[0].severity == "warning"
    assert "right-side video run_wrong.npz" in mismatch[0].message and "left" in mismatch[0].message
    # no clip shows the right leg nearest: it is taken as a far leg, with lower confidence and no asymmetry
    assert merged.legs["R"].lower_confidence
    assert all(ms.asymmetry is None for ms in merged.summary.values())


def test_evaluation_records_both_analyses_and_the_merge(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "ev"
    ev = run_evaluation(EvaluationInputs(side_left=clips["left"], side_right=clips["right"]), out, pdf=False)
    saved = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    merge = saved["side_merge"]
    assert set(merge["clips"]) == {"left", "right"}
    assert merge["clips"]["right"]["near_side"] == "R" and merge["clips"]["left"]["near_side"] == "L"
    assert merge["legs"]["L"]["clip"] == "left" and merge["legs"]["R"]["clip"] == "right"
    r_contact = merge["clips"]["right"]["summary_detail"]["contact_time_ms"]["by_side"]["R"]["mean"]
    assert saved["side"]["summary_detail"]["contact_time_ms"]["by_side"]["R"]["mean"] == pytest.approx(r_contact)
    assert ev.side is not None and ev.side.summary["contact_time_ms"].by_side["R"].mean == pytest.approx(r_contact)
    assert "side_left_analysis_json" in saved["artefacts"] and "side_right_analysis_json" in saved["artefacts"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Leg sources" in html and "run_right.npz" in html and "right-side video" in html


def test_evaluation_refuses_side_with_two_sided(clips: dict[str, Path], tmp_path: Path) -> None:
    from backtorun.errors import InputError

    with pytest.raises(InputError, match="either one side recording"):
        run_evaluation(EvaluationInputs(side_keypoints=clips["left"], side_right=clips["right"]), tmp_path / "o",
                       pdf=False)


runner = CliRunner()


def test_cli_analyze_two_sided_prints_leg_sources(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "a"
    res = runner.invoke(app, ["analyze", "--side-left", str(clips["left"]), "--side-right", str(clips["wrong"]),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Leg sources" in text and "left-side video run_left.npz" in text
    assert MISMATCH_CODE in text
    record = json.loads((out / "two_sided.json").read_text(encoding="utf-8"))
    assert record["legs"]["L"]["clip"] == "left" and record["legs"]["R"]["lower_confidence"] is True
    assert (out / "side_left" / "analysis.json").is_file() and (out / "side_right" / "analysis.json").is_file()


def test_cli_evaluate_two_sided(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "e"
    res = runner.invoke(app, ["evaluate", "--side-left", str(clips["left"]), "--side-right", str(clips["right"]),
                              "--no-pdf", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Leg sources" in text and "right leg: right-side video run_right.npz (near leg" in text
    bad = runner.invoke(app, ["evaluate", "--side", str(clips["left"]), "--side-right", str(clips["right"]),
                              "--no-pdf", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "--side-left" in bad.output


def test_single_side_evaluation_and_analyze_mark_the_far_leg(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "one"
    run_evaluation(EvaluationInputs(side_keypoints=clips["left"]), out, pdf=False)
    merge = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))["side_merge"]
    assert "clips" not in merge  # one clip: its analysis is the evaluation's side analysis
    assert merge["legs"]["L"]["near"] and merge["legs"]["R"]["lower_confidence"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Leg sources" in html and "far leg, partly hidden: lower confidence" in html
    res = runner.invoke(app, ["analyze", str(clips["left"]), "--out", str(tmp_path / "a1")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "right leg: side video run_left.npz (far leg, partly hidden: lower confidence" in text
