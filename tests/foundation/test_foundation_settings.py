"""The parameter tree: every field is documented and changes what its stage does; recorded settings reproduce.

Field reaches its stage (the idea of tpcp's parameter checks): each leaf of ``AnalysisSettings`` is perturbed on an
input chosen so that the field acts, and the stage's output (events, stride table, flags, or the refusal) must
change. A new field without a case here fails ``test_every_field_has_a_perturbation``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pytest
from pydantic import BaseModel

from backtorun.conventions import L_HIP, R_HIP, SIDE_LANDMARKS
from backtorun.errors import BacktorunError, ConfigError
from backtorun.events.detect import TreadmillEventDetector
from backtorun.pipeline import analyze_pose
from backtorun.settings import AnalysisSettings, load_settings, settings_from_analysis
from backtorun.synthetic import RunnerSpec, synthetic_run
from backtorun.types import PoseSeries

SPEC = RunnerSpec()


def _leaves(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Dotted path → FieldInfo of every leaf field of ``model``."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_leaves(ann, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = info
    return out


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _with(path: str, value: Any, base: dict | None = None) -> AnalysisSettings:
    data: dict[str, Any] = json.loads(json.dumps(base or {}))
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return AnalysisSettings(**data)


# ------------------------------------------------------------------------------------------------ fixtures


@lru_cache(maxsize=None)
def _pose(kind: str) -> PoseSeries:
    """Synthetic recordings on which particular settings act (see the case table)."""
    if kind == "rear":
        return synthetic_run(SPEC, view="rear", fps=60.0, duration_s=8, noise_px=1.0, seed=1)
    if kind == "markers":  # marker-like keypoints: 200 Hz, 0.05 px noise, 3 % of visibilities uncertain
        pose = synthetic_run(SPEC, fps=200.0, duration_s=8, noise_px=0.05, seed=1)
        vis = pose.visibility.copy()
        vis[(np.random.default_rng(4).random(vis.shape) < 0.03) & (vis > 0)] = 0.9
        return pose.replace(visibility=vis)
    pose = synthetic_run(SPEC, fps=60.0, duration_s=8, noise_px=1.5, seed=1)
    if kind == "side":
        xy = pose.xy.copy()
        xy[..., 1] += 0.03 * (xy[..., 0] - 640.0)  # a tilted belt (yawed camera)
        return pose.replace(xy=xy)
    if kind == "dim":  # every landmark seen with visibility 0.7
        return pose.replace(visibility=np.where(pose.visibility > 0, 0.7, 0.0))
    if kind == "half_found":  # no runner in the first 40 % of the frames
        xy = pose.xy.copy()
        xy[: int(0.4 * pose.n_frames), [L_HIP, R_HIP]] = np.nan
        return pose.replace(xy=xy)
    if kind == "uncertain":  # some landmarks with visibility 0.45, feet missing in 5-frame gaps
        rng = np.random.default_rng(3)
        vis = pose.visibility.copy()
        vis[rng.random(vis.shape) < 0.1] = 0.45
        xy = pose.xy.copy()
        for start in range(30, pose.n_frames - 10, 60):
            xy[start:start + 5, [SIDE_LANDMARKS["L"]["heel"], SIDE_LANDMARKS["L"]["toe"]]] = np.nan
        return pose.replace(xy=xy, visibility=vis)
    if kind == "panning":  # the background slides 1 px a frame (≈ 0.1 body heights/s)
        return pose.replace(camera_motion_px=np.tile([1.0, 0.0], (pose.n_frames, 1)))
    if kind == "far_hidden":  # far (right) foot landmarks at visibility 0.6 on 40 % of the frames
        vis = pose.visibility.copy()
        idx = [SIDE_LANDMARKS["R"][k] for k in ("ankle", "heel", "toe")]
        vis[np.ix_((np.arange(pose.n_frames) % 5) < 2, idx)] = 0.6
        return pose.replace(visibility=vis)
    raise KeyError(kind)


def _analysis(kind: str, *, view: str = "auto", base: dict | None = None) -> Callable[[AnalysisSettings], str]:
    """Observe the whole analysis of fixture ``kind``: events, stride table and flags, or the refusal."""
    def observe(settings: AnalysisSettings) -> str:
        try:
            a = analyze_pose(_pose(kind), settings=settings, view=view)
        except BacktorunError as exc:
            return f"refused: {exc}"
        return (repr([(e.side, e.leg, e.kind, e.frame, e.confidence) for e in a.events]) + a.strides.to_csv()
                + repr([(f.code, f.message) for f in a.quality_flags]))

    observe.base = base or {}  # type: ignore[attr-defined]
    return observe


def _pose_model() -> Callable[[AnalysisSettings], str]:
    """Observe the pose stage's estimator for these settings: its name (which records the BlazePose model), or
    the one-line refusal when that model is not installed (the heavy model is optional)."""
    def observe(settings: AnalysisSettings) -> str:
        from backtorun.pose.segment import default_estimator

        try:
            return default_estimator(track_runner=False, model_complexity=settings.pose.model_complexity).name
        except BacktorunError as exc:
            return f"refused: {exc}"

    observe.base = {}  # type: ignore[attr-defined]
    return observe


def _landing(gap: np.ndarray) -> Callable[[AnalysisSettings], Any]:
    """Observe the side detector's touch-down rule on one foot-height trace (px, 150 Hz, leg 450 px)."""
    def observe(settings: AnalysisSettings) -> Any:
        return TreadmillEventDetector(settings.events.side)._landing(gap, 0, gap.size - 1, 150.0, 450.0, noise_px=0.0)

    observe.base = {}  # type: ignore[attr-defined]
    return observe


# a fast descent, a 80-ms hover 6 px above the belt, a slow final descent (the RBDS 2.5 m/s pattern)
HOVER = np.r_[np.linspace(60, 6, 20), np.full(12, 6.0), np.linspace(6, 0, 9), np.zeros(30)]
# a fast descent, then a long hover 6 px above the belt before the foot lands
LONG_HOVER = np.r_[np.linspace(60, 6, 20), np.full(40, 6.0), np.zeros(30)]
NO_STRIDES = {"events": {"side": {"max_stride_s": 0.5}}}  # no stride period found → refused
BELT = {"events": {"detector": "belt"}}  # the treadmill-physics detector acts
REAR_LEVEL = {"events": {"rear": {"method": "level"}}}  # the rear detector's foot-level rule

#: field → (observation, perturbed value)
CASES: dict[str, tuple[Callable[[AnalysisSettings], Any], Any]] = {
    "pose.min_visibility": (_analysis("uncertain"), 0.4),
    "pose.max_gap_frames": (_analysis("uncertain"), 10),
    "pose.default_height_cm": (_analysis("side"), 150.0),
    "pose.model_complexity": (_pose_model(), 2),
    "filtering.lowpass_cutoff_hz": (_analysis("side"), 6.0),
    "filtering.event_lowpass_cutoff_hz": (_analysis("side"), 8.0),
    "filtering.filter_order": (_analysis("side"), 2),
    "events.detector": (_analysis("side"), "rear"),
    "events.side.contact_threshold_leg": (_landing(LONG_HOVER), 0.005),
    "events.side.toe_off_threshold_leg": (_analysis("side"), 0.03),
    "events.side.toe_level_percentile": (_analysis("side"), 30.0),
    "events.side.consistency": (_analysis("side"), 0.05),
    "events.side.min_stride_s": (_analysis("side"), 0.9),
    "events.side.max_stride_s": (_analysis("side"), 0.5),
    "events.side.landing_deceleration_leg_s2": (_landing(HOVER), 2.0),
    "events.side.landing_noise_sd": (_analysis("side"), 4.0),
    "events.side.landing_max_sink_leg": (_analysis("side"), 0.005),
    "events.side.level_belt_line": (_analysis("side"), False),
    "events.side.confidence_min_noise_px": (_analysis("side"), 5.0),
    "events.side.landing_window_s": (_landing(HOVER), 0.02),
    "events.side.landing_tolerance_leg": (_landing(HOVER), 0.02),
    "events.belt.stance_band_leg": (_analysis("side", base=BELT), 0.005),
    "events.belt.belt_speed_tolerance": (_analysis("side", base=BELT), 0.1),
    "events.belt.lift_off_speed_tolerance": (_analysis("side", base=BELT), 0.8),
    "events.belt.lift_off_height_leg": (_analysis("side", base=BELT), 0.2),
    "events.belt.noise_sd": (_analysis("side", base=BELT), 8.0),
    "events.belt.min_belt_speed_leg_s": (_analysis("side", base=BELT), 9.0),
    "events.belt.min_contact_s": (_analysis("side", base=BELT), 0.5),
    "events.belt.consistency": (_analysis("side", base=BELT), 0.01),
    "events.belt.far_leg_confidence": (_analysis("side", base=BELT), 0.3),
    "events.belt.level_belt_line": (_analysis("side", base=BELT), False),
    "events.rear.method": (_analysis("rear", view="rear"), "level"),
    "events.rear.load_iterations": (_analysis("rear", view="rear"), 0),
    "events.rear.to_signal": (_analysis("rear", view="rear"), "hip"),
    "events.rear.contact_threshold_leg": (_analysis("rear", view="rear", base=REAR_LEVEL), 0.1),
    "events.rear.max_confidence": (_analysis("rear", view="rear"), 0.3),
    "events.rear.min_stride_s": (_analysis("rear", view="rear"), 0.9),
    "events.rear.max_stride_s": (_analysis("rear", view="rear"), 0.5),
    "strides.max_step_deviation": (_analysis("side"), 0.01),
    "strides.min_confidence": (_analysis("side"), 0.99),
    "strides.hip_extension_window_s": (_analysis("side"), 0.0),
    "strides.min_leg_confidence": (_analysis("side"), 0.999),
    "strides.leg_jitter_ref_leg": (_analysis("side"), 0.001),
    "strides.leg_hidden_visibility": (_analysis("far_hidden"), 0.7),
    "strides.rhythm_si_tolerance_pct": (_analysis("side"), 0.001),
    "events.side.far_ic_window_stride": (_analysis("side", base={"events": {"side": {"far_ic_window_frames": 0.0}}}),
                                         0.0),
    "events.side.far_ic_window_frames": (_analysis("side", base={"events": {"side": {"far_ic_window_stride": 0.0}}}),
                                         0.0),
    "events.side.ic_from_loading": (_analysis("side"), "all"),
    "events.side.load_iterations": (_analysis("side", base={"events": {"side": {"ic_from_loading": "all"}}}), 0),
    "events.side.ic_from_belt": (_analysis("side"), True),
    "events.side.clean_min_certain_fraction": (_analysis("markers"), 0.99),
    "events.side.clean_min_fps": (_analysis("markers"), 300.0),
    "events.side.clean_max_noise_leg": (_analysis("markers"), 0.0),
    "events.side.clean_min_hip_travel_leg": (_analysis("markers"), 0.5),
    "capture.min_found_fraction": (_analysis("half_found"), 0.7),
    "capture.min_usable_visibility": (_analysis("dim"), 0.8),
    "capture.min_duration_s": (_analysis("side"), 30.0),
    "capture.min_fps_for_contact_times": (_analysis("side"), 100.0),
    "capture.min_strides_per_side": (_analysis("side"), 100),
    "capture.min_cadence_spm": (_analysis("side"), 200.0),
    "capture.max_cadence_spm": (_analysis("side"), 150.0),
    "capture.min_mean_visibility": (_analysis("dim"), 0.75),
    "capture.max_camera_yaw_deg": (_analysis("side"), 0.0),
    "capture.oblique_note_deg": (_analysis("side", base=NO_STRIDES), 0.0),
    "capture.treadmill_max_travel_body_heights": (_analysis("side"), 0.001),
    "capture.treadmill_suspect_travel_body_heights": (_analysis("side"), 0.001),
    "capture.panning_min_background_speed_body_heights_per_s": (_analysis("panning"), 1.0),
    "capture.hidden_visibility": (_analysis("far_hidden"), 0.7),
    "capture.occluded_fraction": (_analysis("far_hidden", base={"capture": {"hidden_visibility": 0.7}}), 0.5),
}


def test_every_field_has_a_perturbation() -> None:
    assert set(CASES) == set(_leaves(AnalysisSettings))


def test_every_parameter_is_documented() -> None:
    """Every field has a description; every section and the tree have a docstring."""
    undocumented = [path for path, info in _leaves(AnalysisSettings).items() if not (info.description or "").strip()]
    assert not undocumented, undocumented
    sections = [AnalysisSettings, *(info.annotation for info in AnalysisSettings.model_fields.values())]
    sections += [info.annotation for info in sections[3].model_fields.values()
                 if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)]
    assert all((s.__doc__ or "").strip() for s in sections)


@pytest.mark.parametrize("path", sorted(CASES))
def test_field_changes_what_its_stage_does(path: str) -> None:
    observe, value = CASES[path]
    base = observe.base  # type: ignore[attr-defined]
    default = _leaves(AnalysisSettings)[path].default
    assert value != default
    before = observe(AnalysisSettings(**base))
    after = observe(_with(path, value, base))
    assert after != before, f"{path}={value!r} changed nothing"


def test_recorded_settings_reproduce_the_analysis(tmp_path) -> None:  # noqa: ANN001
    """analysis.json records the whole tree; reading it back as settings gives the same events and metrics."""
    settings = _with("events.side.toe_off_threshold_leg", 0.015, {"filtering": {"lowpass_cutoff_hz": 8.0}})
    first = analyze_pose(_pose("side"), settings=settings)
    doc = json.loads(json.dumps(first.to_json_dict()))
    assert doc["schema"] == "backtorun.analysis/2"
    recorded = {k: v for k, v in doc["settings"].items() if k != "run"}
    assert set(_flat(recorded)) == set(_leaves(AnalysisSettings))  # every parameter, also those left at default
    assert doc["settings"]["run"]["event_detector"] == "side"
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    again = analyze_pose(_pose("side"), settings=load_settings(path))
    assert load_settings(path) == settings
    assert [e.to_dict() for e in again.events] == [e.to_dict() for e in first.events]
    assert again.strides.equals(first.strides)


def test_schema_1_files_are_read() -> None:
    """``/1`` stored flat fields and run facts side by side, including fields that acted nowhere."""
    v1 = {"schema": "backtorun.analysis/1", "settings": {
        "min_visibility": 0.4, "lowpass_cutoff_hz": 8.0, "pose_model_complexity": 1, "min_step_time_s": 0.22,
        "min_strides_per_side": 6, "hip_extension_window_s": 0.04, "foot_noise_px": 2.1, "view_requested": "auto"}}
    s = settings_from_analysis(v1)
    assert (s.pose.min_visibility, s.filtering.lowpass_cutoff_hz) == (0.4, 8.0)
    assert (s.capture.min_strides_per_side, s.strides.hip_extension_window_s) == (6, 0.04)
    assert s.events == AnalysisSettings().events


def test_flat_names_and_bad_values() -> None:
    assert AnalysisSettings(lowpass_cutoff_hz=8.0).filtering.lowpass_cutoff_hz == 8.0
    with pytest.raises(ConfigError, match="events.side.contact_threshold_leg"):
        load_settings(None, events={"side": {"contact_threshold_leg": -1}})


def test_settings_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKTORUN_LOWPASS_CUTOFF_HZ", "7")
    monkeypatch.setenv("BACKTORUN_MIN_VISIBILITY", "0.9")
    assert AnalysisSettings() == AnalysisSettings.model_validate({})
    assert AnalysisSettings().filtering.lowpass_cutoff_hz == 10.0


def test_nothing_below_services_reads_the_environment(repo_root) -> None:  # noqa: ANN001
    """Settings reach the stages as arguments only: no ``os.environ``/``getenv``/``BaseSettings`` outside the edges
    (cli, web, services). Allowed: the pose worker process quietening MediaPipe's native log (it sets, not reads)."""
    import re

    src = repo_root / "src" / "backtorun"
    pattern = re.compile(r"os\.environ|getenv|BaseSettings")
    allowed = {'os.environ.setdefault("GLOG_minloglevel", "2")'}
    hits = [f"{p.relative_to(src)}:{i}: {line.strip()}"
            for p in sorted(src.rglob("*.py")) if p.relative_to(src).parts[0] not in ("cli", "web", "services")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line) and line.strip() not in allowed]
    assert not hits, hits
