"""One name per concept (issue #12 item 5): the names the review found reused for different things are defined
once in ``src/`` (the straight hip–ankle yardstick of the swap repair is ``hip_ankle_distance_px``, the training
area's PNG writer ``write_weekly_volume_png``, the batch's video list ``batch/manifest.py``, the event scoring
``events/scoring.py``)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

#: Names the review found defined twice with different meanings.
ONCE = ("leg_length_px", "weekly_volume_plot", "cadence_targets")


def definitions(src: Path) -> dict[str, list[str]]:
    """Top-level function/class name → the modules defining it."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in sorted(src.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out[node.name].append(path.relative_to(src).as_posix())
    return out


def test_reused_names_are_defined_once(repo_root: Path) -> None:
    defs = definitions(repo_root / "src" / "backtorun")
    twice = {name: defs[name] for name in ONCE if len(defs[name]) > 1}
    assert not twice, f"one name per concept: {twice}"


def test_event_scoring_is_not_called_evaluation(repo_root: Path) -> None:
    src = repo_root / "src" / "backtorun"
    assert not (src / "events" / "evaluation.py").exists() and (src / "events" / "scoring.py").exists()
    assert not (src / "batch" / "jobs.py").exists() and (src / "batch" / "manifest.py").exists()
    assert not (src / "store" / "jobs.py").exists() and (src / "store" / "job_queue.py").exists()
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("jobs.py")) == ["web/jobs.py"]


def test_the_check_sees_a_second_definition(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def leg_length_px(p):\n    return 1\n")
    (tmp_path / "b.py").write_text("def leg_length_px(p, side=None):\n    return 2\n")
    assert definitions(tmp_path)["leg_length_px"] == ["a.py", "b.py"]
