"""One detector protocol: side and rear detectors take their settings in __init__, have one verb, keep no state,
and one setting (``events.detector``) chooses between them in the pipeline."""

from __future__ import annotations

import copy

import pytest

from backtorun.events import DETECTORS, EventInput, RearViewEventDetector, TreadmillEventDetector, make_detector
from backtorun.kinematics import prepare
from backtorun.pipeline import analyze_pose
from backtorun.settings import AnalysisSettings, EventSettings
from backtorun.synthetic import RunnerSpec, synthetic_run


def _input(view: str) -> EventInput:
    pose = synthetic_run(RunnerSpec(), view=view, fps=60.0, duration_s=6, noise_px=1.0, seed=4)
    kin = prepare(pose, settings=AnalysisSettings(), view=view)
    return EventInput(pose=kin.events_pose, leg_length_px=kin.leg_length_px, forward=kin.forward,
                      near_side=kin.near.side if kin.near else None)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_every_detector_follows_the_protocol(name: str) -> None:
    settings = EventSettings()
    det = DETECTORS[name](getattr(settings, name))
    assert det.name == name and det.settings == getattr(settings, name)
    for view in ("side", "rear"):
        inp = _input(view)
        state = copy.deepcopy(vars(det))
        first = det.detect(inp)
        assert vars(det) == state  # no hidden state set by detect()
        assert det.detect(inp) == first  # same input, same events
        assert all(0.0 <= e.confidence <= 1.0 for e in first)


def test_setting_chooses_the_detector() -> None:
    assert isinstance(make_detector(EventSettings(), "side"), TreadmillEventDetector)
    assert isinstance(make_detector(EventSettings(), "rear"), RearViewEventDetector)
    assert isinstance(make_detector(EventSettings(detector="rear"), "side"), RearViewEventDetector)
    assert isinstance(make_detector(EventSettings(detector="side"), "rear"), TreadmillEventDetector)


def test_pipeline_runs_the_chosen_detector_on_the_same_recording() -> None:
    pose = synthetic_run(RunnerSpec(), fps=60.0, duration_s=8, noise_px=1.0, seed=4)
    side = analyze_pose(pose)
    rear = analyze_pose(pose, settings=AnalysisSettings(events={"detector": "rear"}))
    assert side.settings["run"]["event_detector"] == "side" and rear.settings["run"]["event_detector"] == "rear"
    assert rear.events != side.events
    assert {e.leg for e in rear.events} == {"near"} and {e.leg for e in side.events} == {"near", "far"}
    assert abs(rear.summary["cadence_spm"].mean - side.summary["cadence_spm"].mean) < 3.0


def test_noise_is_an_input_not_state() -> None:
    inp = _input("side")
    det = TreadmillEventDetector()
    quiet = det.detect(EventInput(**{**vars(inp), "noise_px": 0.0}))
    noisy = det.detect(EventInput(**{**vars(inp), "noise_px": 5.0}))
    assert quiet != noisy  # the landing tolerance and confidences follow the noise given
    assert det.detect(EventInput(**{**vars(inp), "noise_px": 0.0})) == quiet
