"""Conventions shared by every stage: landmark layout, axes, sign conventions, units and column names.

Written down once here (and in docs/conventions.md); every stage imports from this module instead of
repeating indices or names.

Coordinates
    Image pixels, origin top-left, x to the right, y *down* (as decoded, after honouring the container's
    rotation metadata). Missing values are NaN, never 0.
Sides
    "L" / "R" are the runner's own left and right. "near" / "far" are the legs nearer to / further from the
    camera in a side view.
Frames
    0-based indices in sequential decode order. Intervals are half-open ``[start, end)``.
Units
    Encoded as name suffixes: ``_s``, ``_ms``, ``_m``, ``_cm``, ``_px``, ``_deg``, ``_spm``, ``_hz``, ``_pct``,
    ``_mps``.
Angles (sagittal, side view; "forward" = running direction)
    thigh angle: HIP→KNEE from the downward vertical, positive when the knee is *behind* the hip (extension).
    trunk lean: HIP_MID→SHO_MID from the upward vertical, positive when the shoulders are *ahead* (forward lean).
    shank angle: KNEE→ANKLE from the downward vertical, positive when the ankle is *ahead* of the knee.
    knee flexion: 180° − angle(HIP, KNEE, ANKLE); 0° = straight knee.
"""

from __future__ import annotations

from typing import Final, Literal

# ---- BlazePose 33-landmark layout (MediaPipe solutions.pose); used by every PoseSeries -------------------
BLAZEPOSE_LANDMARKS: Final[tuple[str, ...]] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
N_LANDMARKS: Final[int] = len(BLAZEPOSE_LANDMARKS)
LANDMARK_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(BLAZEPOSE_LANDMARKS)}

NOSE: Final = 0
L_EAR, R_EAR = 7, 8
L_SHOULDER, R_SHOULDER = 11, 12
L_ELBOW, R_ELBOW = 13, 14
L_WRIST, R_WRIST = 15, 16
L_HIP, R_HIP = 23, 24
L_KNEE, R_KNEE = 25, 26
L_ANKLE, R_ANKLE = 27, 28
L_HEEL, R_HEEL = 29, 30
L_TOE, R_TOE = 31, 32  # "foot index" in BlazePose terms

Side = Literal["L", "R"]
Leg = Literal["near", "far"]
EventKind = Literal["IC", "TO"]
View = Literal["side", "rear", "front"]
SIDES: Final[tuple[Side, Side]] = ("L", "R")

#: Landmark index of each body part, per side.
SIDE_LANDMARKS: Final[dict[str, dict[str, int]]] = {
    "L": {
        "shoulder": L_SHOULDER, "elbow": L_ELBOW, "wrist": L_WRIST, "hip": L_HIP, "knee": L_KNEE,
        "ankle": L_ANKLE, "heel": L_HEEL, "toe": L_TOE, "ear": L_EAR,
    },
    "R": {
        "shoulder": R_SHOULDER, "elbow": R_ELBOW, "wrist": R_WRIST, "hip": R_HIP, "knee": R_KNEE,
        "ankle": R_ANKLE, "heel": R_HEEL, "toe": R_TOE, "ear": R_EAR,
    },
}

#: Pairs whose left/right labels are swapped together when a left/right swap is repaired.
LEFT_RIGHT_PAIRS: Final[tuple[tuple[int, int], ...]] = tuple(
    (LANDMARK_INDEX[n], LANDMARK_INDEX[n.replace("left", "right")])
    for n in BLAZEPOSE_LANDMARKS
    if n.startswith("left_") or n.endswith("_left")
)

#: Skeleton edges drawn on key frames and the annotated video.
SKELETON_EDGES: Final[tuple[tuple[int, int], ...]] = (
    (L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP),
    (L_SHOULDER, L_HIP), (R_SHOULDER, R_HIP),
    (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST),
    (L_HIP, L_KNEE), (L_KNEE, L_ANKLE), (L_ANKLE, L_HEEL), (L_HEEL, L_TOE), (L_ANKLE, L_TOE),
    (R_HIP, R_KNEE), (R_KNEE, R_ANKLE), (R_ANKLE, R_HEEL), (R_HEEL, R_TOE), (R_ANKLE, R_TOE),
)

# ---- Metric names (StrideTable columns and Summary keys) ---------------------------------------------------
# Side view
CADENCE_SPM: Final = "cadence_spm"
STEP_TIME_MS: Final = "step_time_ms"
STRIDE_TIME_MS: Final = "stride_time_ms"
CONTACT_TIME_MS: Final = "contact_time_ms"
FLIGHT_TIME_MS: Final = "flight_time_ms"
DUTY_FACTOR_PCT: Final = "duty_factor_pct"
STEP_LENGTH_M: Final = "step_length_m"
VERTICAL_OSCILLATION_CM: Final = "vertical_oscillation_cm"
VERTICAL_RATIO_PCT: Final = "vertical_ratio_pct"
HIP_EXTENSION_DEG: Final = "hip_extension_deg"  # relative (thigh − trunk), peak near TO
THIGH_EXTENSION_DEG: Final = "thigh_extension_deg"  # absolute thigh angle to vertical, peak near TO
TRUNK_LEAN_DEG: Final = "trunk_lean_deg"  # mean over stance
TRUNK_EXTENSION_AT_PUSHOFF_DEG: Final = "trunk_extension_at_pushoff_deg"  # Δφ, M7 proxy
HEEL_AHEAD_CM: Final = "heel_ahead_cm"
HEEL_AHEAD_LEG_RATIO: Final = "heel_ahead_leg_ratio"
SHANK_ANGLE_IC_DEG: Final = "shank_angle_ic_deg"
KNEE_FLEXION_IC_DEG: Final = "knee_flexion_ic_deg"
KNEE_FLEXION_PEAK_STANCE_DEG: Final = "knee_flexion_peak_stance_deg"
# Rear view
PELVIC_DROP_DEG: Final = "pelvic_drop_deg"
ARM_CROSSOVER_PCT: Final = "arm_crossover_pct"  # % of strides on which the wrist crosses the midline
ARM_CROSSOVER_RATIO: Final = "arm_crossover_ratio"  # crossing distance ÷ shoulder width (max per stride)
LATERAL_TRUNK_LEAN_DEG: Final = "lateral_trunk_lean_deg"
STEP_WIDTH_CM: Final = "step_width_cm"
SHOULDER_PELVIS_ROTATION_INDEX: Final = "shoulder_pelvis_rotation_index"

SIDE_VIEW_METRICS: Final[tuple[str, ...]] = (
    CADENCE_SPM, STEP_TIME_MS, STRIDE_TIME_MS, CONTACT_TIME_MS, FLIGHT_TIME_MS, DUTY_FACTOR_PCT,
    STEP_LENGTH_M, VERTICAL_OSCILLATION_CM, VERTICAL_RATIO_PCT, HIP_EXTENSION_DEG, THIGH_EXTENSION_DEG,
    TRUNK_LEAN_DEG, TRUNK_EXTENSION_AT_PUSHOFF_DEG, HEEL_AHEAD_CM, HEEL_AHEAD_LEG_RATIO, SHANK_ANGLE_IC_DEG,
    KNEE_FLEXION_IC_DEG, KNEE_FLEXION_PEAK_STANCE_DEG,
)
REAR_VIEW_METRICS: Final[tuple[str, ...]] = (
    CADENCE_SPM, STEP_TIME_MS, PELVIC_DROP_DEG, ARM_CROSSOVER_PCT, ARM_CROSSOVER_RATIO, LATERAL_TRUNK_LEAN_DEG,
    STEP_WIDTH_CM, SHOULDER_PELVIS_ROTATION_INDEX,
)

# ---- Speed units accepted on the command line ----------------------------------------------------------------
SPEED_UNITS: Final[tuple[str, ...]] = ("kmh", "km/h", "mph", "mps", "m/s", "min/km", "min/mi")

ANALYSIS_SCHEMA: Final = "backtorun.analysis/2"
EVALUATION_SCHEMA: Final = "backtorun.evaluation/1"
