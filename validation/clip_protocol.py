"""The labelled-clip protocol as data: ``validation/labels/clips.yaml`` (clips, labeller files, true capture rate,
real-time segments, tolerances), read into typed pydantic models so no threshold is a literal in code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from validation import SHARED_DATA

LABELS_DIR = Path(__file__).resolve().parent / "labels"
CLIPS_YAML = LABELS_DIR / "clips.yaml"
SHARED_PREFIX = "shared:"

Confidence = Literal["high", "medium", "low"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Protocol(_Model):
    """How labellers are compared, how the consensus is formed and how the detector is scored (issue #14)."""

    labeller_match_window_s: float = Field(0.10, gt=0, description="Real-time window pairing two labellers' events.")
    consensus_max_diff_frames: int = Field(2, ge=0, description="Largest labeller difference averaged into a "
                                           "consensus frame; larger differences are flagged and not scored.")
    near_hit_tolerance_frames: int = Field(1, ge=0, description="Near-leg hit: |detected − label| ≤ this.")
    far_hit_tolerance_frames: int = Field(2, ge=0, description="Far-leg hit: |detected − label| ≤ this.")
    near_confidences: tuple[Confidence, ...] = Field(("high", "medium"), description="Near-leg labels scored for "
                                                     "the hit rate.")
    near_hit_target_pct: float = Field(90.0, ge=0, le=100, description="Issue #14 target for that hit rate.")
    far_hit_target_pct: float = Field(80.0, ge=0, le=100, description="Issue #14 target for the far-leg hit rate.")
    cadence_target_spm: float = Field(1.5, gt=0, description="Issue #14 cadence target on labelled clips.")
    step_asymmetry_target_pp: float = Field(5.0, gt=0, description="Issue #14: step-time SI within this many "
                                            "percentage points of the reference.")
    marker_event_mae_ms: float = Field(10.0, gt=0, description="Issue #14 IC/TO MAE target on marker sets.")
    marker_contact_time_bias_ms: float = Field(5.0, gt=0, description="Issue #14 contact-time bias target.")
    detector_match_stride_fraction: float = Field(0.25, gt=0, lt=0.5, description="Pairing window for detections, "
                                                  "as a fraction of the labelled stride period.")


class Clip(_Model):
    """One labelled clip."""

    video: str
    labellers: tuple[str, ...] = Field(min_length=1)
    capture_fps: float | None = Field(None, gt=0, description="True capture rate (None: real time).")
    capture_fps_note: str = ""
    alternative_capture_fps: float | None = Field(None, gt=0, description="Another plausible capture rate, "
                                                  "scored as a sensitivity check only.")
    segments: tuple[tuple[int, int], ...] | None = Field(None, description="Half-open real-time frame intervals "
                                                         "[start, end) to score; None: the whole clip.")
    belt_speed_mps: float | None = Field(None, gt=0)
    chose_constants: bool = Field(description="Looked at when the detector's constants were chosen.")

    @property
    def video_path(self) -> Path:
        return resolve(self.video)

    @property
    def label_paths(self) -> list[Path]:
        return [resolve(p) for p in self.labellers]


class ClipSet(_Model):
    protocol: Protocol = Field(default_factory=Protocol)
    clips: dict[str, Clip]


def resolve(path: str) -> Path:
    """``shared:REL`` → ../shared/data/REL; anything else is relative to ``validation/labels``."""
    if path.startswith(SHARED_PREFIX):
        return SHARED_DATA / path[len(SHARED_PREFIX):]
    return LABELS_DIR / path


@lru_cache(maxsize=4)
def load_clip_set(path: Path = CLIPS_YAML) -> ClipSet:
    """The clip set and protocol from ``clips.yaml``."""
    return ClipSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
