"""Sensitivity of backtorun's results to the capture: frame rate, keypoint noise, camera yaw and camera height.

One factor at a time from the baseline (RBDS noise-free marker keypoints, 150 fps, camera perpendicular, lens
at hip height, 3 m), plus one "typical phone" combination (60 fps, 5 px noise, 10° yaw). Frame rates are
simulated by resampling the 3D keypoints (cubic interpolation = instantaneous sampling; no motion blur).
Noise is Gaussian pixel noise per landmark and frame (seeded), independent or low-pass filtered (slowly
wandering, like a pose model's errors), on a runner ≈ 880 px tall (1 px ≈ 2 mm at the runner). The occlusion
condition lowers the visibility of far-leg landmarks passing within 6 cm behind a near-leg segment to 0.3 and
adds 3 cm of noise to them there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from validation import rbds

#: (label, keyword arguments of rbds.run_trial)
CONDITIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("baseline", "150 fps, no noise, yaw 0°, lens at hip height", {}),
    ("fps", "120 fps", {"fps": 120.0}),
    ("fps", "60 fps", {"fps": 60.0}),
    ("fps", "30 fps", {"fps": 30.0}),
    ("noise", "noise SD 2 px", {"noise_px": 2.0}),
    ("noise", "noise SD 5 px", {"noise_px": 5.0}),
    ("noise", "noise SD 10 px", {"noise_px": 10.0}),
    ("noise", "slow noise SD 5 px (low-pass 3 Hz)", {"noise_px": 5.0, "noise_cutoff_hz": 3.0}),
    ("occlusion", "far leg behind near leg: visibility 0.3, +3 cm noise", {"occlude_far_leg": True}),
    ("yaw", "yaw 10°", {"yaw_deg": 10.0}),
    ("yaw", "yaw 20°", {"yaw_deg": 20.0}),
    ("height", "lens at 0.5 m", {"camera_height_m": 0.5}),
    ("height", "lens at 1.5 m", {"camera_height_m": 1.5}),
    ("combined", "60 fps + 5 px + yaw 10°", {"fps": 60.0, "noise_px": 5.0, "yaw_deg": 10.0}),
)

HEADLINE_KEYS = ("ic_mae_ms", "ic_bias_ms", "to_mae_ms", "to_bias_ms", "contact_time_bias_ms", "flight_time_bias_ms",
                 "cadence_error_spm", "vertical_oscillation_error_cm", "thigh_angle_mae_deg",
                 "thigh_extension_mae_deg", "n_events", "n_events_missed", "n_events_extra", "stance_toe_rise_px",
                 "leg_length_px", "far_foot_hidden_pct")


@dataclass
class SensitivityRow:
    speed_mps: float
    factor: str
    condition: str
    values: dict[str, Any]
    error: str | None = None


#: Conditions with random noise are run with these seeds and averaged.
NOISE_SEEDS = (0, 1, 2)


def run(speeds: tuple[str, ...] = ("25", "45"), conditions=CONDITIONS,  # type: ignore[no-untyped-def]
        seeds: tuple[int, ...] = NOISE_SEEDS) -> list[SensitivityRow]:
    """Score every condition on each RBDS speed; a condition that fails is reported, not hidden.

    Conditions with noise are repeated for each seed and their figures averaged (counts summed as means too).
    """
    from backtorun.errors import BacktorunError

    rows = []
    for sp in speeds:
        v = int(sp) / 10.0
        data = rbds.load_trial(*rbds.rbds_paths(sp))
        for factor, label, kw in conditions:
            noisy = kw.get("noise_px", 0) > 0 or kw.get("occlude_far_leg", False)
            heads, errors = [], []
            for seed in (seeds if noisy else (0,)):
                try:
                    heads.append(rbds.run_trial(data, speed_mps=v, seed=seed, **kw).headline())
                except BacktorunError as exc:
                    errors.append(str(exc))
            if not heads:
                rows.append(SensitivityRow(v, factor, label, {}, error=errors[0]))
                continue
            vals = {k: float(np.nanmean([h.get(k, np.nan) for h in heads])) for k in HEADLINE_KEYS}
            if len(heads) > 1 or errors:
                label = f"{label} (mean of {len(heads)} seeds" + (f", {len(errors)} failed)" if errors else ")")
            rows.append(SensitivityRow(v, factor, label, vals))
    return rows
