"""CLI command: ``backtorun metronome`` writes a click track for cadence retraining (domain.md §9 R1).

Numbers are taken as text and parsed here so that a typo gives the same one-line error as a bad value.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from backtorun.cli._common import console, user_errors
from backtorun.errors import InputError


def _number(text: str, option: str, *, whole: bool = False) -> float | int:
    try:
        value = float(text.strip())
    except ValueError:
        raise InputError(f"{option} must be a number, got {text!r}") from None
    if whole:
        if not math.isfinite(value) or value != int(value):
            raise InputError(f"{option} must be a whole number, got {text!r}")
        return int(value)
    return value


def metronome(
    spm: str = typer.Option(..., "--spm", metavar="SPM", help="Target steps per minute (one click per step), e.g. 172."),
    minutes: str = typer.Option("20", "--minutes", metavar="MIN", help="Track length in minutes (count-in not included)."),
    output: Path = typer.Option(..., "--output", "-o",
                                help="File to write: .wav (PCM), .ogg or .opus (Ogg Opus, small) or .mp3."),
    accent_every: str = typer.Option("4", "--accent-every", metavar="N", help="Accent every n-th beat (0 = none)."),
    count_in: str = typer.Option("0", "--count-in", metavar="N", help="Beats with a distinct tone before the track."),
    sample_rate: str = typer.Option("auto", "--sample-rate", metavar="HZ",
                                    help="Sample rate in Hz (auto: 44100 for WAV, 16000 for OGG/MP3)."),
) -> None:
    """Write a metronome track at the target step rate, with accented beats and an optional count-in."""
    from backtorun.services.metronome import write_metronome

    with user_errors():
        spm_v = _number(spm, "--spm")
        minutes_v = _number(minutes, "--minutes")
        accent_v = int(_number(accent_every, "--accent-every", whole=True))
        count_v = int(_number(count_in, "--count-in", whole=True))
        rate = None if sample_rate.strip().lower() == "auto" else int(_number(sample_rate, "--sample-rate",
                                                                               whole=True))
        path = write_metronome(output, spm=spm_v, minutes=minutes_v, accent_every=accent_v,
                               count_in_beats=count_v, sample_rate_hz=rate)
    console.print(f"wrote {path} ({minutes_v:g} min at {spm_v:g} steps/min"
                  + (f", accent every {accent_v}" if accent_v else "")
                  + (f", {count_v}-beat count-in" if count_v else "") + ")", highlight=False)


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.command("metronome")(metronome)
