"""``python -m validation.rbds`` prints the documented JSON keys for any trial in the RBDS format."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from validation import rbds

REPO = Path(__file__).resolve().parents[2]
KEYS = ("ic_mae_ms", "to_mae_ms", "contact_time_bias_ms", "cadence_error_spm", "vertical_oscillation_error_cm",
        "thigh_angle_mae_deg", "n_events")


def test_rbds_cli_json(shared_data: Path) -> None:  # noqa: ARG001
    markers, forces, static = rbds.rbds_paths("45")
    proc = subprocess.run(
        [sys.executable, "-m", "validation.rbds", str(markers), str(forces), str(static), "--speed-mps", "4.5",
         "--fps", "60", "--json"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    for k in KEYS:
        assert k in out and out[k] is not None and math.isfinite(out[k]), k
    assert out["n_events"] >= 150  # 30 s at ≈ 169 steps/min, IC + TO
    assert out["metrics"]["ic_ms"]["n"] > 70


def test_rbds_cli_rejects_a_non_rbds_file(tmp_path: Path, shared_data: Path) -> None:  # noqa: ARG001
    bad = tmp_path / "bad.txt"
    bad.write_text("a\tb\n1\t2\n", encoding="utf-8")
    _, forces, static = rbds.rbds_paths("45")
    proc = subprocess.run([sys.executable, "-m", "validation.rbds", str(bad), str(forces), str(static),
                           "--speed-mps", "4.5"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "RBDS marker file" in proc.stderr
