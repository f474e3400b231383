"""Use case: a metronome track at a target step rate (``backtorun metronome``), for the CLI and the web."""

from __future__ import annotations

from backtorun.plan.metronome import write_metronome

__all__ = ["write_metronome"]
