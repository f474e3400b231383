"""Camera-angle flags and refusal hints follow the view: side-on for a side view, straight behind for a rear view
(issue #11: a refused rear view was told to place the camera side-on)."""

from __future__ import annotations

import dataclasses

import pytest

from backtorun.capture import check_kinematics, too_few_strides
from backtorun.kinematics import prepare
from backtorun.settings import AnalysisSettings, CaptureSettings
from backtorun.synthetic import synthetic_run

CFG = CaptureSettings()


def _kin(view: str, yaw_deg: float):  # type: ignore[no-untyped-def]
    kin = prepare(synthetic_run(view=view, duration_s=3, seed=2), settings=AnalysisSettings(), view=view)
    return dataclasses.replace(kin, camera_yaw_deg=yaw_deg)


@pytest.mark.parametrize(("view", "code", "place", "wrong"), [
    ("side", "CAMERA_NOT_PERPENDICULAR", "side-on", "straight behind"),
    ("rear", "CAMERA_NOT_BEHIND", "straight behind", "side-on"),
])
def test_yaw_flag_and_refusal_name_the_views_camera_place(view: str, code: str, place: str, wrong: str) -> None:
    kin = _kin(view, CFG.max_camera_yaw_deg + 10)
    flags = check_kinematics(kin, CFG, view)
    flag = next(f for f in flags if f.code in ("CAMERA_NOT_PERPENDICULAR", "CAMERA_NOT_BEHIND"))
    assert flag.code == code and place in flag.message and wrong not in flag.message
    refusal = too_few_strides(flags, cfg=CFG, kin=kin, n_initial_contacts=0)
    text = f"{refusal} {refusal.hint}"
    assert f"from {place}" in text and place in (refusal.hint or "") and wrong not in text


def test_no_yaw_flag_within_the_limit() -> None:
    flags = check_kinematics(_kin("rear", CFG.max_camera_yaw_deg - 5), CFG, "rear")
    assert not {f.code for f in flags} & {"CAMERA_NOT_PERPENDICULAR", "CAMERA_NOT_BEHIND"}
