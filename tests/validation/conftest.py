"""Fixtures shared by the validation tests: the RBDS trials are loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def rbds_trials(shared_data: Path):  # noqa: ANN201, ARG001
    from validation import rbds

    return {sp: rbds.load_trial(*rbds.rbds_paths(sp)) for sp in ("25", "45")}
