"""Report helpers: target verdicts and markdown tables."""

from __future__ import annotations

from validation.agreement import agreement
from validation.report import f, table, target_cell


def test_target_cell_verdicts() -> None:
    assert target_cell("ic_ms", agreement([8.0, -9.0], [0.0, 0.0]))[1] == "met"
    assert target_cell("ic_ms", agreement([12.0, -9.0], [0.0, 0.0]))[1] == "**missed**"
    assert target_cell("contact_time_ms", agreement([-6.0, -6.0], [0.0, 0.0]))[1] == "**missed**"  # |bias| 6 > 5
    assert target_cell("cadence_spm", error=-0.4)[1] == "met"
    assert target_cell("cadence_spm", error=float("nan"))[1] == "no data"
    assert target_cell("flight_time_ms", agreement([1.0], [0.0]))[0] == "—"


def test_table_escapes_pipes_and_formats_numbers() -> None:
    md = table(["a", "b"], [["x|y", f(-1.234, 2)]])
    assert md.splitlines()[2] == "| x\\|y | -1.23 |"
    assert f(float("nan")) == "—" and f(None) == "—" and f(2.0, 0) == "2"
