"""``summary.csv`` goes through the project's atomic writer (issue #11): a full disk is one OutputError line and
the previous summary stays intact, with no temporary file left beside it."""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import pytest

from backtorun.batch.summary import write_summary_csv
from backtorun.outputs import OutputError


def test_disk_full_summary_is_one_line_and_keeps_the_previous_file(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "summary.csv"
    write_summary_csv(path, [{"id": "run1", "status": "ok"}])
    before = path.read_bytes()
    assert b"run1" in before

    def full(self, rows):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(csv.DictWriter, "writerows", full)
    with pytest.raises(OutputError, match="disk full writing .*summary.csv") as info:
        write_summary_csv(path, [{"id": "run2", "status": "ok"}])
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]
