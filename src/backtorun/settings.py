"""Typed, bounded settings for the technique analysis, parsed once at the edge and passed down.

Clinical thresholds for *findings* live in ``findings/rules.yaml``; the numbers here steer signal processing
and the capture check. Every default is documented with its source (domain.md section) or marked (D) for an
engineering choice. Override with environment variables ``BACKTORUN_<NAME>`` or a YAML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backtorun.config_files import read_override, validate


class AnalysisSettings(BaseSettings):
    """Signal-processing and capture-check settings (domain.md §1–§3)."""

    model_config = SettingsConfigDict(env_prefix="BACKTORUN_", frozen=True, extra="forbid")

    # pose (§1.2)
    min_visibility: float = Field(0.5, ge=0.0, le=1.0, description="Landmarks below this visibility are missing (D).")
    max_gap_frames: int = Field(3, ge=0, le=30, description="Gaps up to this many frames are interpolated (§1.2, D).")
    pose_model_complexity: int = Field(1, ge=1, le=1, description="Only the bundled BlazePose full model (1) works offline.")
    # filtering (§1.5)
    lowpass_cutoff_hz: float = Field(10.0, gt=0.5, le=30.0, description="Zero-lag Butterworth cut-off for angles (§1.5: 6–12 Hz).")
    event_lowpass_cutoff_hz: float = Field(14.0, gt=0.5, le=40.0, description="Lighter filter for event signals (§1.5: do not over-smooth).")
    filter_order: int = Field(4, ge=2, le=8)
    # events (§2)
    min_step_time_s: float = Field(0.22, gt=0.05, lt=1.0, description="Plausible step-time range (§2 step 5, widened, D).")
    max_step_time_s: float = Field(0.60, gt=0.1, lt=2.0)
    min_contact_time_s: float = Field(0.10, gt=0.02, lt=1.0, description="Plausible contact-time range (§2 step 5, widened, D).")
    max_contact_time_s: float = Field(0.50, gt=0.05, lt=2.0)
    hip_extension_window_s: float = Field(0.05, ge=0.0, le=0.2, description="Peak hip extension searched within TO ± this (§3 M6).")
    # capture check (§1.3)
    min_fps_for_contact_times: float = Field(50.0, gt=0, description="Below this, contact/flight times are flagged (§1.3).")
    min_strides_per_side: int = Field(8, ge=1, description="Fewer valid strides per side are flagged (§1.3: ≥ 7 steps, D).")
    min_cadence_spm: float = Field(130.0, gt=0, description="Cadence below this suggests slow-motion playback or walking (D).")
    max_cadence_spm: float = Field(240.0, gt=0, description="Cadence above this is implausible for running (D).")
    min_mean_visibility: float = Field(0.6, ge=0, le=1, description="Mean leg-landmark visibility below this is flagged (D).")
    max_camera_yaw_deg: float = Field(20.0, ge=0, le=90, description="Estimated off-perpendicular angle above this is flagged (D).")
    treadmill_max_travel_body_heights: float = Field(1.0, gt=0, description="Hip travel across the frame above this (in body heights) means not on a treadmill (D; measured: a sprinter moving about a treadmill belt 0.6, a runner crossing a fixed camera's view 3.2).")
    treadmill_suspect_travel_body_heights: float = Field(0.12, gt=0, description="Hip travel above this (body heights) suggests overground running with a moving camera (D; treadmill clips ≈ 0.03–0.05).")
    panning_min_background_speed_body_heights_per_s: float = Field(0.05, gt=0, description="Median background speed (body heights/s, pose.camera_motion) above this means a panning camera (D; measured: treadmill clips ≤ 0.013, following-camera clips 0.09–0.44).")
    # scale (§1.4)
    default_height_cm: float | None = Field(None, ge=100, le=230, description="Runner height used for pixel→metre scale when given.")


def load_settings(path: str | Path | None = None, **overrides: Any) -> AnalysisSettings:
    """Settings from defaults, environment, an optional YAML file and keyword overrides (in rising priority)."""
    data: dict[str, Any] = read_override(path, "settings") if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return validate(AnalysisSettings, data, "setting")
