"""The leave-one-dataset-out bookkeeping: fold references, target verdicts and the frozen constants record."""

from __future__ import annotations

import numpy as np
import pytest

from validation.agreement import agreement
from validation.generalisation import SetResult, _status, fold_reference, frozen_constants, render, targets


def result(name: str, chose: bool, ic_err_ms: list[float], *, kind: str = "markers", **kw: float) -> SetResult:
    a = agreement(ic_err_ms, np.zeros(len(ic_err_ms)))
    return SetResult(name=name, kind=kind, chose_constants=chose, ic_ms=a, to_ms=a, contact_time_ms=a, **kw)


def test_fold_reference_is_the_mean_over_the_other_tuning_sets() -> None:
    rs = [result("a", True, [2.0, -2.0]), result("b", True, [6.0]), result("c", False, [40.0])]
    mae = lambda r: r.ic_ms.mae  # noqa: E731
    assert fold_reference(rs, "c", mae) == pytest.approx((2.0 + 6.0) / 2)  # held-out: both tuning sets
    assert fold_reference(rs, "a", mae) == pytest.approx(6.0)  # a tuning set: the other tuning set only


def test_status_applies_the_issue_targets() -> None:
    lim = targets()
    assert lim["event_mae_ms"] == 10 and lim["near_pct"] == 90
    assert _status(result("ok", True, [3.0, -3.0]), lim) == "met"
    assert _status(result("late", False, [30.0]), lim).startswith("**missed**")
    clip = result("clip", False, [0.0], kind="video", near_hm_pct=95.0, far_pct=85.0, cadence_error_spm=0.4,
                  step_asymmetry_pct=3.0, step_asymmetry_ref_pct=1.0)
    assert _status(clip, lim) == "met"
    clip.step_asymmetry_pct = 9.0  # SI 8 pp off the labelled one
    assert _status(clip, lim) == "**missed** (1 of 4)"


def test_frozen_constants_hash_follows_the_values() -> None:
    record, digest = frozen_constants()
    assert record["events"]["side"]["contact_threshold_leg"] > 0
    assert len(digest) == 12 and frozen_constants()[1] == digest


def test_render_names_held_out_sets_and_failures() -> None:
    rs = [result("tuned", True, [1.0]), result("new", False, [20.0])]
    rs.append(SetResult(name="broken", kind="video", chose_constants=False, ic_ms=agreement([], []),
                        to_ms=agreement([], []), contact_time_ms=agreement([], []), error="ValueError: x"))
    md = render(rs)
    assert "| new | **no** |" in md and "| new | held-out |" in md and "failed: `ValueError: x`" in md
    assert "6c. Frozen record" in md


def test_candidates_table_lists_each_candidate_held_out_sets_first_and_the_grid() -> None:
    from validation.generalisation import LOADING_GRID, CandidateRun, render_candidates

    rs = [result("tuned", True, [1.0]), result("new", False, [20.0])]
    grid = {f"{s}|{f:g}|{n:g}": (4.0, -1.0) for s, f, n in LOADING_GRID}
    md = render_candidates([CandidateRun("foot", rs, grid), CandidateRun("belt", rs)])
    rows = [line for line in md.splitlines() if line.startswith("| foot |")]
    assert rows[0].startswith("| foot | new | held-out | 20.0") and rows[1].startswith("| foot | tuned | in-sample")
    assert "| belt | new | held-out |" in md
    assert md.count("| 4.0 / -1.0 |") == len(LOADING_GRID)  # only the candidate with a grid gets a column


def test_candidates_table_shows_the_heel_sink_sensitivity_of_each_side_candidate() -> None:
    from validation.generalisation import LOADING_GRID, SINK_GRID, CandidateRun, render_candidates

    rs = [result("tuned", True, [1.0])]
    grid = {f"{s}|{f:g}|{n:g}": (4.0, -1.0) for s, f, n in LOADING_GRID}
    sink = {f"{s}|{f:g}": (-13.2, 17.4) for s, f in SINK_GRID}
    md = render_candidates([CandidateRun("foot", rs, grid, sink), CandidateRun("belt", rs)])
    assert "| speed (m/s) | heel sink after contact | foot |" in md
    assert md.count("| -13.2 / 17.4 |") == len(SINK_GRID)
    assert "| 4.5 | × 0 | -13.2 / 17.4 |" in md and "| 2.5 | as recorded |" in md
