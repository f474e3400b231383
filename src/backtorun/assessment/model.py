"""Validated input for the strength and flexibility tests T1–T8 (domain.md §6). Every test is optional."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from backtorun.errors import BadTestResults

Rating = Literal["good", "fair", "poor"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThomasSide(_Strict):
    hip_angle_deg: float = Field(ge=-60, le=60, description="Thigh angle to horizontal; positive = above horizontal.")
    knee_flexion_deg: float | None = Field(None, ge=0, le=160)
    abduction_positive: bool = False


class ThomasTest(_Strict):
    """T1 modified Thomas test."""

    left: ThomasSide | None = None
    right: ThomasSide | None = None
    method: Literal["goniometer", "inclinometer", "trigonometric", "visual", "unknown"] = "unknown"
    pelvic_tilt_controlled: bool | None = None


class RomSide(_Strict):
    rom_deg: float = Field(ge=-45, le=60)


class ProneHipExtension(_Strict):
    """T2 prone hip extension ROM."""

    left: RomSide | None = None
    right: RomSide | None = None
    knee: Literal["flexed", "extended", "unknown"] = "unknown"
    lumbar_extension_observed: bool | None = None


class Sorensen(_Strict):
    """T3 Biering-Sørensen hold time."""

    hold_s: float = Field(ge=0, le=900)


class McGill(_Strict):
    """T4 McGill torso endurance battery (seconds)."""

    flexor_s: float | None = Field(None, ge=0, le=1200)
    extensor_s: float | None = Field(None, ge=0, le=1200)
    side_bridge_left_s: float | None = Field(None, ge=0, le=900)
    side_bridge_right_s: float | None = Field(None, ge=0, le=900)


class SingleLegBridge(_Strict):
    """T5 single-leg bridge, repetitions to failure per side."""

    left_reps: int | None = Field(None, ge=0, le=200)
    right_reps: int | None = Field(None, ge=0, le=200)


class SquatRating(_Strict):
    overall: Rating
    trunk: Rating | None = None
    pelvis: Rating | None = None
    hip: Rating | None = None
    knee: Rating | None = None


class SingleLegSquat(_Strict):
    """T6 single-leg squat, Crossley rating per side."""

    left: SquatRating | None = None
    right: SquatRating | None = None


class Dynamometry(_Strict):
    """T7 hand-held dynamometry of one muscle group, both sides."""

    muscle: Literal["hip_abduction", "hip_extension", "knee_extension", "other"]
    left: float = Field(gt=0, le=5000)
    right: float = Field(gt=0, le=5000)
    unit: Literal["N", "N/kg", "Nm", "Nm/kg"] = "N"
    position: str | None = Field(None, description="e.g. side-lying, supine, standing (values change ~30 % with position [60c]).")
    device: str | None = None
    belt_stabilised: bool | None = None
    previous_left: float | None = Field(None, gt=0, le=5000)
    previous_right: float | None = Field(None, gt=0, le=5000)


class Aslr(_Strict):
    """T8 active straight-leg raise: difficulty 0–5 per leg, optionally re-tested with pelvic compression."""

    left: int = Field(ge=0, le=5)
    right: int = Field(ge=0, le=5)
    with_compression_left: int | None = Field(None, ge=0, le=5)
    with_compression_right: int | None = Field(None, ge=0, le=5)

    @property
    def total(self) -> int:
        return self.left + self.right


class TestResults(_Strict):
    """All test entries of one assessment (domain.md §6). ``sex`` selects the Sørensen cut-off."""

    __test__ = False  # not a pytest class

    assessed_on: date | None = None
    sex: Literal["female", "male", "other", "unspecified"] = "unspecified"
    weight_kg: float | None = Field(None, ge=25, le=250)
    examiner: str | None = None
    thomas: ThomasTest | None = None
    prone_hip_extension: ProneHipExtension | None = None
    sorensen: Sorensen | None = None
    mcgill: McGill | None = None
    single_leg_bridge: SingleLegBridge | None = None
    single_leg_squat: SingleLegSquat | None = None
    hhd: tuple[Dynamometry, ...] = ()
    aslr: Aslr | None = None
    notes: str | None = Field(None, max_length=5000)


def parse_test_results(data: Mapping[str, Any], *, source: str = "tests") -> TestResults:
    """Validate a dictionary as :class:`TestResults`; raise :class:`BadTestResults` with a field-level message."""
    from backtorun.intake.io import validate_input

    return validate_input(TestResults, data, BadTestResults, source)


def load_test_results(path: str | Path) -> TestResults:
    """Read test results from YAML/JSON and validate them."""
    from backtorun.intake.io import read_mapping

    return parse_test_results(read_mapping(path, BadTestResults), source=str(path))
