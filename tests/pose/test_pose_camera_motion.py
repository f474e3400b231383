"""Camera motion (panning camera vs fixed camera): background shift, summary, decision, storage, real clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from backtorun.conventions import N_LANDMARKS
from backtorun.pose import estimate_pose
from backtorun.pose.camera_motion import background_shift, is_panning, panning_summary
from backtorun.pose.synth import synthetic_runner_pose, write_video
from backtorun.types import PoseSeries

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

W, H = 320, 240
RUNNER = (130.0, 40.0, 190.0, 220.0)  # x0, y0, x1, y1 of the "runner" in every frame


def _texture(seed: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(height // 8, width // 8), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def _scene(k: int, pan_px_per_frame: float, bg: np.ndarray) -> np.ndarray:
    """Frame k: the background shifted right by k × pan (a camera turning left), with a runner blob that
    stays in place and flickers (limbs moving) so it must not be mistaken for background."""
    off = round(200 - k * pan_px_per_frame)
    img = bg[:, off:off + W].copy()
    x0, y0, x1, y1 = (int(v) for v in RUNNER)
    img[y0:y1, x0:x1] = _texture(100 + k, x1 - x0, y1 - y0)
    return np.repeat(img[:, :, None], 3, axis=2)


class BoxEstimator:
    """Landmarks spread over the runner box (what BlazePose would give for the blob)."""

    name = "box"

    def estimate(self, rgb, time_s):  # type: ignore[no-untyped-def]
        x0, y0, x1, y1 = RUNNER
        t = np.linspace(0.0, 1.0, N_LANDMARKS)
        xy = np.stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t[::-1] ** 2], axis=1)
        return xy, np.full(N_LANDMARKS, 0.9), None

    def close(self) -> None:
        pass


def test_background_shift_recovers_known_translation_and_ignores_the_runner() -> None:
    bg = _texture(1, W + 200, H)
    x0, y0, x1, y1 = (int(v) for v in RUNNER)
    for pan in (0, 2, -3):
        prev = bg[:, 50:50 + W].copy()
        cur = bg[:, 50 - pan:50 - pan + W].copy()  # background content moved right by ``pan`` pixels
        prev[y0:y1, x0:x1] = _texture(7, x1 - x0, y1 - y0)  # the runner changes between the two frames
        cur[y0:y1, x0:x1] = _texture(8, x1 - x0, y1 - y0)
        dx, dy = background_shift(prev, cur, [RUNNER])
        assert dx == pytest.approx(pan, abs=0.3) and dy == pytest.approx(0.0, abs=0.3)


def test_static_overlay_does_not_outvote_a_moving_background() -> None:
    bg = _texture(2, W + 100, H)
    caption = np.zeros((30, 120), np.uint8)
    cv2.putText(caption, "6:30/km", (2, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 255, 2)
    frames = []
    for off in (10, 14):
        img = bg[:, off:off + W].copy()
        img[5:35, 5:125] = np.maximum(img[5:35, 5:125], caption)  # burnt-in caption, fixed on screen
        frames.append(img)
    dx, _dy = background_shift(frames[0], frames[1], [RUNNER])
    assert dx == pytest.approx(-4.0, abs=0.5)


def test_featureless_image_gives_unknown_motion() -> None:
    flat = np.full((H, W), 128, np.uint8)
    assert np.isnan(background_shift(flat, flat, [])).all()


@pytest.mark.parametrize("pan, panning", [(3.0, True), (0.0, False)])
def test_estimate_pose_stores_camera_motion(tmp_path: Path, pan: float, panning: bool) -> None:
    bg = _texture(3, W + 400, H)
    video = write_video(tmp_path / "pan.mp4", [_scene(k, pan, bg) for k in range(60)], fps=30.0)
    pose = estimate_pose(video, estimator=BoxEstimator())
    cm = pose.camera_motion_px
    assert cm is not None and cm.shape == (60, 2)
    assert np.isnan(cm[0]).all()  # nothing before the first frame
    assert np.nanmedian(cm[:, 0]) == pytest.approx(pan, abs=0.3)
    s = panning_summary(pose)
    # 3 px a frame at 30 fps over a 180-px-tall runner = 0.5 body heights per second
    assert s["median_speed_body_heights_per_s"] == pytest.approx(pan * 30.0 / 180.0, abs=0.05)
    assert is_panning(pose) is panning
    assert estimate_pose(video, estimator=BoxEstimator(), camera_motion=False).camera_motion_px is None


def test_camera_motion_round_trips_and_old_files_still_load(tmp_path: Path) -> None:
    pose = synthetic_runner_pose(40, fps=30.0)
    assert is_panning(pose) is None  # nothing measured: cannot tell
    cm = np.column_stack([np.linspace(0, 5, 40), np.zeros(40)])
    cm[0] = np.nan
    moved = pose.replace(camera_motion_px=cm)
    back = PoseSeries.load(moved.save(tmp_path / "p.npz"))
    assert back.camera_motion_px is not None
    assert np.allclose(back.camera_motion_px, cm, equal_nan=True, atol=1e-5)
    assert PoseSeries.load(pose.save(tmp_path / "old.npz")).camera_motion_px is None
    with pytest.raises(ValueError):
        pose.replace(camera_motion_px=np.zeros((3, 2)))


@pytest.mark.slow
@pytest.mark.parametrize("clip, panning", [("overground/run_test2.mp4", True), ("treadmill/mini_run.mp4", False)])
def test_real_clips_panning_camera_vs_treadmill(clip: str, panning: bool) -> None:
    pose = estimate_pose(DATA / "video" / clip, max_frames=120)
    assert panning_summary(pose)["known_fraction"] > 0.9
    assert is_panning(pose) is panning


def test_small_gray_copy_follows_the_display_rotation(tmp_path: Path) -> None:
    from backtorun.pose import iter_frames

    img = np.zeros((240, 320, 3), np.uint8)
    img[:60, :80] = 255  # bright block top-left of the stored (landscape) image
    path = write_video(tmp_path / "portrait.mp4", [img] * 4, rotation_deg=-90)  # shown as portrait
    frame = next(iter(iter_frames(path, motion_side=160)))
    assert frame.gray is not None and frame.gray.shape == (160, 120)  # portrait, longer side 160
    assert frame.gray_scale == pytest.approx(0.5)
    # turned 90° clockwise for display, like the RGB image: the block is now top-right
    assert frame.gray[:20, -20:].mean() > 200 and frame.gray[:20, :20].mean() < 60
    # luma is limited-range (16..235) but follows the image
    assert np.corrcoef(frame.gray.ravel(), frame.rgb[::2, ::2].mean(axis=2).ravel())[0, 1] > 0.95
