"""One typed, bounded parameter tree for the technique analysis, parsed once at the edge and passed down.

``AnalysisSettings`` has one sub-model per stage object, and each stage object reads only its own sub-model
(given to it in ``__init__``):

=============  ==========================================================  ==========================================
section        read by                                                     what it steers
=============  ==========================================================  ==========================================
``pose``       :func:`backtorun.kinematics.prepare` (the kinematics stage)  gap filling, default runner height
``filtering``  :func:`backtorun.kinematics.prepare`                         zero-lag low-pass filters
``events``     :func:`backtorun.events.make_detector` and the detector it   which detector, and its thresholds
               makes (:mod:`backtorun.events.side` / ``.rear``)
``strides``    :class:`backtorun.metrics.table.StrideTableBuilder`          stride validity, hip-extension window
``capture``    :class:`backtorun.capture.CaptureCheck`                      quality flags and refusals
=============  ==========================================================  ==========================================

One field acts before the kinematics stage: ``pose.model_complexity`` picks the BlazePose model of the pose pass
(:func:`backtorun.pose.estimate_pose`, given it by :mod:`backtorun.services.analysis`).

Clinical thresholds for *findings* live in ``findings/rules.yaml``; the numbers here steer signal processing
and the capture check. Every default carries its source (domain.md section) or (D) for an engineering choice.
Nothing here reads the environment: a YAML or JSON file (``--settings FILE``, also an earlier ``analysis.json``)
and keyword overrides are read by :func:`load_settings` at the edge (CLI, web, batch). The complete tree that
acted is recorded in every ``analysis.json`` (schema ``backtorun.analysis/2``); :func:`settings_from_analysis`
reads it back from ``/2`` and ``/1`` files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backtorun.config_files import read_override, validate

#: Plausible runner height (cm), the one definition of this bound for settings (D).
HEIGHT_CM_MIN: Final = 100.0
HEIGHT_CM_MAX: Final = 230.0


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PoseSettings(_Section):
    """The pose model (pose stage, :func:`backtorun.pose.estimate_pose`), keypoint cleaning and scale (kinematics
    stage, domain.md §1.2, §1.4)."""

    model_complexity: int = Field(1, ge=1, le=2, description="BlazePose landmark model of a video's pose pass: "
                                  "1 = full (in the mediapipe wheel), 2 = heavy (optional, installed by "
                                  "scripts/install_heavy_pose.sh; slower; docs/pose.md, 'Heavy model'). Not used "
                                  "for keypoint files (D).")
    min_visibility: float = Field(0.5, ge=0.0, le=1.0, description="Landmarks below this visibility are missing (D).")
    max_gap_frames: int = Field(3, ge=0, le=30, description="Gaps up to this many frames are interpolated (§1.2, D).")
    default_height_cm: float | None = Field(None, ge=HEIGHT_CM_MIN, le=HEIGHT_CM_MAX,
                                            description="Runner height (cm) for the pixel→metre scale when none is "
                                                        "given with the recording (§1.4).")


class FilteringSettings(_Section):
    """Zero-lag Butterworth low-pass filters of the kinematics stage (domain.md §1.5)."""

    lowpass_cutoff_hz: float = Field(10.0, gt=0.5, le=30.0, description="Cut-off for angles (§1.5: 6–12 Hz).")
    event_lowpass_cutoff_hz: float = Field(14.0, gt=0.5, le=40.0,
                                           description="Lighter cut-off for event signals (§1.5: do not over-smooth).")
    filter_order: int = Field(4, ge=2, le=8, description="Butterworth order (applied forward and backward) (D).")


class SideEventSettings(_Section):
    """Side-view IC/TO detector (:mod:`backtorun.events.side`; domain.md §2; all (D), tuned on RBDS, FootNet,
    Hamner and mini_run, docs/validation.md). Lengths are fractions of the leg length (hip to ankle) in pixels."""

    contact_threshold_leg: float = Field(0.02, gt=0, le=0.2, description="Height above the belt level (leg lengths) "
                                         "that still counts as on the belt at touch-down (0.02 ≈ 1.8 cm for a 0.9 m leg).")
    toe_off_threshold_leg: float = Field(0.01, gt=0, le=0.2, description="Toe height above its stance level (leg "
                                         "lengths) from which the foot is off the belt (toe-off).")
    toe_level_percentile: float = Field(75.0, ge=0, le=100, description="Percentile of the toe's image y over the "
                                        "stance taken as its stance level (robust to the toe rolling over).")
    consistency: float = Field(0.4, gt=0, le=2.0, description="Allowed relative deviation of a contact time from the "
                               "clip's median before the stance is dropped.")
    min_stride_s: float = Field(0.40, gt=0.05, lt=5.0, description="Shortest stride period searched (s).")
    max_stride_s: float = Field(3.0, gt=0.1, le=15.0, description="Longest stride period searched (s).")
    landing_deceleration_leg_s2: float = Field(24.0, gt=0, le=500, description="Deceleration a of the landing foot "
                                               "(leg lengths/s²); stopping distance v²/(2a) counts as landed.")
    landing_noise_sd: float = Field(1.0, ge=0, le=10, description="Keypoint-noise SDs added to the landing tolerance.")
    landing_max_sink_leg: float = Field(0.03, ge=0, le=0.3, description="Cap on the stopping distance (leg lengths): "
                                        "the heel marker sinks 1.5–3 % of the leg after force contact.")
    level_belt_line: bool = Field(True, description="Measure heights from the fitted belt line (yawed camera).")
    confidence_min_noise_px: float = Field(0.5, gt=0, le=20, description="Floor (px) of the noise scale in the event "
                                           "confidence (3 × noise SD gives full sharpness).")
    landing_window_s: float = Field(0.15, gt=0, le=1.0, description="Look-ahead (s) for the lowest level a slowly "
                                    "descending foot reaches.")
    landing_tolerance_leg: float = Field(0.0025, ge=0, le=0.1, description="Tolerance (leg lengths) to that lowest "
                                         "level (Fellin 2010 heel-lowest idea).")
    far_ic_window_stride: float = Field(0.1, ge=0, le=0.5, description="Far-leg rhythm gate (near leg known; "
                                        ":mod:`backtorun.events.rhythm`): a far-leg initial contact is kept only "
                                        "within ± this fraction of the near leg's stride of the midpoint between two "
                                        "near-leg contacts, one per interval (alternation); 0.1 stride ≈ a step-time "
                                        "asymmetry of 40 %, beyond any runner's (principle, not fitted).")
    far_ic_window_frames: float = Field(2.0, ge=0, le=20, description="Frames added to that window: the ±1-frame "
                                        "uncertainty of the far IC and of the near ICs' midpoint (§2 step 6), so a "
                                        "correct far contact is not dropped at low frame rates.")
    ic_from_loading: Literal["none", "far", "all", "clean"] = Field(
        "clean", description="Which legs take their initial contact from the body's loading "
                            "(:mod:`backtorun.events.loading`: the hip's fastest descent minus the spring-mass loading "
                            "delay, Morin 2005) instead of the foot's touch-down: none, the far leg only (often hidden "
                            "at touch-down), all (stances then start at the loading contacts), or clean (every leg, "
                            "from the unfiltered hip, but only on marker-like keypoints: the clean_* settings; "
                            "otherwise none). The loading IC is principle, not fitted; the clean_* gate was chosen on "
                            "RBDS002. clean by docs/validation.md §6e: the loading IC is better on marker keypoints "
                            "and does not depend on how far the heel sinks after contact, but worse with pixel noise, "
                            "at 30 fps and on every labelled BlazePose clip.")
    load_iterations: int = Field(30, ge=0, le=200, description="Fixed-point iterations solving the contact time "
                                 "t_c = D + 2·τ(t_c) of the loading delay (0 = no delay).")
    clean_min_certain_fraction: float = Field(0.95, ge=0, le=1, description="ic_from_loading clean: smallest "
                                              "fraction of the hip, knee, ankle, heel and toe visibilities that are "
                                              "certain (≥ 0.99): marker data gives 1, BlazePose 13–51 % on the "
                                              "labelled clips, where the loading IC loses (slow.mp4 at 300 fps, "
                                              "gated by frame rate and jitter alone: 10 of 13 labels missed against "
                                              "4).")
    clean_min_fps: float = Field(100.0, gt=0, le=10000, description="ic_from_loading clean: lowest frame rate "
                                 "(Hz) at which keypoints count as clean: on RBDS002 at 60 Hz the unfiltered-hip "
                                 "IC still wins (MAE 4.6/6.0 vs 5.6/8.7 ms) but its contact-time bias is +11.9 ms at "
                                 "4.5 m/s (touch-down +2.2), and at 30 Hz it loses (16.5 vs 14.5 ms). Chosen on "
                                 "RBDS002.")
    clean_max_noise_leg: float = Field(0.0005, ge=0, le=0.1, description="ic_from_loading clean: largest foot "
                                       "jitter of the unfiltered keypoints (leg lengths, "
                                       ":func:`backtorun.events.detect.foot_jitter_px`) at which they count as clean; "
                                       "the loading IC reads the unfiltered hip, and on the RBDS002 grid 0.25 px of "
                                       "noise at 240 fps (0.6 ‰) already spoils it (recorded marker data: 0.18–0.33 ‰). "
                                       "Chosen on RBDS002.")
    clean_min_hip_travel_leg: float = Field(0.02, ge=0, le=0.5, description="ic_from_loading clean: smallest "
                                            "vertical hip travel (leg lengths, 5th–95th percentile) that counts as a "
                                            "loading signal; runners' vertical oscillation is 5–12 cm (domain.md "
                                            "M4), 0.06–0.13 leg (principle, not fitted).")
    ic_from_belt: bool = Field(False, description="Move each touch-down to the first frame from which heel or toe "
                               "moves with the belt (:mod:`backtorun.events.belt_contact`): insensitive to how far the "
                               "heel sinks after contact, but worse with ≥ 1 px keypoint noise, on FootNet, Hamner "
                               "and the labelled clips (docs/validation.md §6e), so off.")


class RearEventSettings(_Section):
    """Rear/front-view IC/TO detector (:mod:`backtorun.events.detect_rear`, D)."""

    method: Literal["load", "level"] = Field(
        "load", description="load = IC from the hip's fastest image descent minus the spring-mass loading delay "
                            "(perspective-proof; principle, not fitted), TO as ``to_signal`` says; "
                            "level = the earlier rule, both events from the foot's image height near the cycle's "
                            "lowest level (about 100 ms late at IC on projected RBDS002).")
    to_signal: Literal["toe", "hip"] = Field(
        "toe", description="Method load, toe-off from: toe = the toe's lowest image point (the belt carries it towards "
                           "the camera until it lifts; ±25 ms with camera height/distance); hip = the hip's fastest "
                           "image rise plus the loading delay (symmetric half-sine force; depth-proof but ≈ 35 ms "
                           "early at 2.5 m/s, where the real force is not symmetric). Chosen on RBDS002 only.")
    load_iterations: int = Field(30, ge=0, le=200, description="Fixed-point iterations solving the contact time "
                                 "t_c = D + 2·τ(t_c) of the loading delay (method load; each step shrinks the error "
                                 "by ≈ 0.8; 0 = no loading delay).")
    contact_threshold_leg: float = Field(0.04, gt=0, le=0.3, description="Height above the cycle's lowest foot "
                                         "position (leg lengths) that counts as on the belt (method level).")
    max_confidence: float = Field(0.6, ge=0, le=1, description="Cap on event confidence (perspective moves the foot "
                                  "during stance, so the rear view is less precise).")
    min_stride_s: float = Field(0.40, gt=0.05, lt=5.0, description="Shortest stride period searched (s).")
    max_stride_s: float = Field(3.0, gt=0.1, le=15.0, description="Longest stride period searched (s).")


class BeltEventSettings(_Section):
    """Side-view IC/TO from the treadmill's physics (:mod:`backtorun.events.detect_belt`; domain.md §2): a foot in
    stance rests on the belt line and moves back at the belt's speed V, measured from the video itself. Lengths are
    fractions of the leg length (hip to ankle) in pixels; speeds are fractions of V, so nothing depends on the
    runner's speed or the image size. Chosen from physics and the in-sample sets only (RBDS002, FootNet, Hamner,
    mini_run), never from slow, run_test1 or IMG_5396 (D)."""

    stance_band_leg: float = Field(0.04, gt=0, le=0.3, description="A foot point within this height (leg lengths) "
                                   "of its running lowest image position may be on the belt.")
    belt_speed_tolerance: float = Field(0.3, gt=0, le=1.0, description="A low foot point is on the belt while "
                                        "its velocity relative to the belt, hypot(f·ẋ + V, ẏ), is at most this "
                                        "fraction of V (touch-down: the foot has taken up the belt's velocity).")
    lift_off_speed_tolerance: float = Field(0.35, gt=0, le=1.0, description="The toe has left the belt once its "
                                            "velocity relative to the belt exceeds this fraction of V (toe-off).")
    lift_off_height_leg: float = Field(0.02, gt=0, le=0.3, description="The toe has left the belt once it is "
                                       "higher than this (leg lengths) above its running lowest image position "
                                       "(toe-off: it starts rising), or moves off the belt's velocity.")
    noise_sd: float = Field(2.0, ge=0, le=10, description="SDs of the keypoint noise σ added to the height "
                            "thresholds, and of the velocity noise (σ·fs/√2) added to the speed tolerances.")
    min_belt_speed_leg_s: float = Field(0.5, gt=0, le=10, description="Slowest belt (leg lengths/s, ≈ 0.45 m/s) "
                                        "accepted; below it no events are reported (not a treadmill run).")
    min_contact_s: float = Field(0.08, gt=0, le=1.0, description="Shortest plausible contact (s); shorter stances "
                                 "are dropped.")
    consistency: float = Field(0.4, gt=0, le=2.0, description="Allowed relative deviation of a contact time from the "
                               "clip's median before the stance is dropped.")
    far_leg_confidence: float = Field(0.75, ge=0, le=1, description="Confidence factor of far-leg events "
                                      "(occlusion).")
    level_belt_line: bool = Field(True, description="Measure heights from the fitted belt line (yawed camera).")


class EventSettings(_Section):
    """Which gait-event detector runs, and each detector's settings (domain.md §2)."""

    detector: Literal["auto", "side", "rear", "belt"] = Field(
        "auto", description="Event detector: auto = side detector for a side view, rear detector otherwise; "
                            "belt = the treadmill-physics side detector; naming one runs it on every view (to "
                            "compare detectors on the same data).")
    side: SideEventSettings = Field(default_factory=SideEventSettings, description="Side-view detector.")
    rear: RearEventSettings = Field(default_factory=RearEventSettings, description="Rear-view detector.")
    belt: BeltEventSettings = Field(default_factory=BeltEventSettings, description="Treadmill-physics side-view "
                                    "detector.")


class StrideSettings(_Section):
    """Stride table: which strides are valid, and the hip-extension search window (domain.md §3)."""

    max_step_deviation: float = Field(0.4, gt=0, le=2.0, description="A stride is irregular when its stride or step "
                                      "time deviates more than this fraction from the clip's median (D).")
    min_confidence: float = Field(0.3, ge=0, le=1, description="A stride whose IC confidence is below this is "
                                  "invalid (low_confidence) (D).")
    hip_extension_window_s: float = Field(0.05, ge=0.0, le=0.2,
                                          description="Peak hip extension searched within TO ± this (§3 M6).")
    min_leg_confidence: float = Field(0.5, ge=0, le=1, description="Per-leg measurement confidence (foot "
                                      "visibility × jitter × event yield × events on seen frames, "
                                      ":mod:`backtorun.metrics.symmetry`) below which that leg's values are not used "
                                      "for left/right asymmetry (D).")
    leg_jitter_ref_leg: float = Field(0.02, gt=0, le=0.2, description="Foot-height jitter (SD, leg lengths) at "
                                      "which the jitter factor 1/(1 + (σ/σ_ref)²) of a leg's confidence is 0.5: the "
                                      "side detector's 2 % contact threshold, where noise is as large as the height "
                                      "that decides 'on the belt' (D).")
    leg_hidden_visibility: float = Field(0.5, ge=0, le=1, description="An event with a foot landmark (ankle, heel "
                                         "or toe) at or below this visibility was placed on a hidden or "
                                         "interpolated foot (gap-filled points carry pose.min_visibility, 0.5; "
                                         "§1.2) (D).")
    rhythm_si_tolerance_pct: float = Field(10.0, gt=0, le=100, description="Step-time symmetry index from the foot "
                                           "events may differ from the one implied by the legs' swing rhythm by "
                                           "this many percentage points before the asymmetry is called an artefact "
                                           "(largest disagreement of a correctly measured runner: 6.1 pp on "
                                           "RBDS002 and mini_run; D).")


class CaptureSettings(_Section):
    """Capture check: quality flags and refusals (:mod:`backtorun.capture`, domain.md §1.3)."""

    min_found_fraction: float = Field(0.2, gt=0, le=1, description="Fewer frames with a runner (hips and an ankle) "
                                      "than this fraction: refused, no runner found (D).")
    min_usable_visibility: float = Field(0.25, ge=0, le=1, description="Mean leg-landmark visibility below this: "
                                         "refused, nothing reliable can be measured (D).")
    min_duration_s: float = Field(1.0, gt=0, le=60, description="Less usable pose data (s) than this: refused (D).")
    min_fps_for_contact_times: float = Field(50.0, gt=0, description="Below this, contact/flight times are flagged (§1.3).")
    min_strides_per_side: int = Field(8, ge=1, description="Fewer valid strides per side are flagged (§1.3: ≥ 7 steps, D).")
    min_cadence_spm: float = Field(130.0, gt=0, description="Cadence below this suggests slow-motion playback or walking (D).")
    max_cadence_spm: float = Field(240.0, gt=0, description="Cadence above this is implausible for running (D).")
    min_mean_visibility: float = Field(0.6, ge=0, le=1, description="Mean leg-landmark visibility below this is flagged (D).")
    max_camera_yaw_deg: float = Field(20.0, ge=0, le=90, description="Estimated off-perpendicular angle above this is flagged (D).")
    oblique_note_deg: float = Field(10.0, ge=0, le=90, description="Camera yaw from which a refusal mentions that the "
                                    "view is oblique (D).")
    treadmill_max_travel_body_heights: float = Field(1.0, gt=0, description="Hip travel across the frame above this (in body heights) means not on a treadmill (D; measured: a sprinter moving about a treadmill belt 0.6, a runner crossing a fixed camera's view 3.2).")
    treadmill_suspect_travel_body_heights: float = Field(0.12, gt=0, description="Hip travel above this (body heights) suggests overground running with a moving camera (D; treadmill clips ≈ 0.03–0.05).")
    panning_min_background_speed_body_heights_per_s: float = Field(0.05, gt=0, description="Median background speed (body heights/s, pose.camera_motion) above this means a panning camera (D; measured: treadmill clips ≤ 0.013, following-camera clips 0.09–0.44).")
    hidden_visibility: float = Field(0.5, ge=0, le=1, description="A far-foot landmark below this visibility counts "
                                     "as hidden on that frame (D).")
    occluded_fraction: float = Field(0.10, ge=0, le=1, description="Far foot hidden or missing on more than this "
                                     "fraction of frames: FAR_LEG_OCCLUDED (D).")


#: Flat names of schema ``backtorun.analysis/1`` (and keyword overrides) → (section, field).
FLAT_NAMES: Final[dict[str, tuple[str, str]]] = {
    **{k: ("pose", k) for k in PoseSettings.model_fields},
    **{k: ("filtering", k) for k in FilteringSettings.model_fields},
    **{k: ("strides", k) for k in StrideSettings.model_fields},
    **{k: ("capture", k) for k in CaptureSettings.model_fields},
}
#: Fields of schema ``/1`` that were recorded but read nowhere (dropped when a ``/1`` file is read).
REMOVED_V1: Final = frozenset({"pose_model_complexity", "min_step_time_s", "max_step_time_s", "min_contact_time_s",
                               "max_contact_time_s"})
#: Run facts recorded next to the settings in ``/1`` files (not settings; dropped when read).
RUN_FACTS_V1: Final = frozenset({"apparent_cadence_spm", "view_requested", "capture_fps", "playback_fps",
                                 "scale_method", "near_side_method", "leg_swaps_repaired_frames", "foot_noise_px",
                                 "pose_source"})


class AnalysisSettings(_Section):
    """The technique analysis' parameter tree (domain.md §1–§3); see the module docstring for who reads what.

    Flat keyword names of the sectioned fields (e.g. ``AnalysisSettings(lowpass_cutoff_hz=8)``) are accepted and
    moved into their section (``FLAT_NAMES``)."""

    pose: PoseSettings = Field(default_factory=PoseSettings, description="Keypoint cleaning and scale.")
    filtering: FilteringSettings = Field(default_factory=FilteringSettings, description="Low-pass filters.")
    events: EventSettings = Field(default_factory=EventSettings, description="Gait-event detection.")
    strides: StrideSettings = Field(default_factory=StrideSettings, description="Stride validity.")
    capture: CaptureSettings = Field(default_factory=CaptureSettings, description="Capture check.")

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not any(k in FLAT_NAMES for k in data):
            return data
        out: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()
                               if k not in FLAT_NAMES}
        for key, value in data.items():
            if key in FLAT_NAMES:
                section, name = FLAT_NAMES[key]
                sub = out.setdefault(section, {})
                if not isinstance(sub, dict):
                    return data  # let validation report the malformed section
                sub[name] = value
        return out

    def changed(self) -> dict[str, Any]:
        """The fields that differ from the defaults, as a nested mapping."""
        return self.model_dump(mode="json", exclude_defaults=True)


def settings_from_analysis(d: Mapping[str, Any]) -> AnalysisSettings:
    """The settings recorded in an ``analysis.json`` mapping: the tree of schema ``/2``, or the flat fields of
    ``/1`` (fields that acted nowhere and run facts dropped; detector thresholds, not recorded in ``/1``, default)."""
    schema = str(d.get("schema", ""))
    recorded = dict(d.get("settings") or {})
    if schema.endswith("/1"):
        recorded = {k: v for k, v in recorded.items() if k not in REMOVED_V1 | RUN_FACTS_V1}
    else:
        recorded.pop("run", None)
    return validate(AnalysisSettings, recorded, "setting")


def load_settings(path: str | Path | None = None, **overrides: Any) -> AnalysisSettings:
    """Settings from defaults, an optional YAML/JSON file and keyword overrides (in rising priority).

    The file is either a settings tree (sections ``pose``, ``filtering``, ``events``, ``strides``, ``capture``;
    flat ``/1`` names are accepted too) or an earlier ``analysis.json``, whose recorded settings are reused."""
    data: dict[str, Any] = read_override(path, "settings") if path is not None else {}
    if str(data.get("schema", "")).startswith("backtorun.analysis/"):
        data = settings_from_analysis(data).model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    return validate(AnalysisSettings, data, "setting")
