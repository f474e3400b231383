"""Metronome track for cadence retraining (domain.md §9 R1): a mono 16-bit PCM WAV of clicks.

Beat ``k`` starts at sample ``round(k · 60 · sample_rate / spm)`` — computed from the beat index, never by
adding rounded intervals, so the tempo does not drift over a 20-minute track (error < 1 sample per beat).
Each click is a short sine burst with an exponential decay; every ``accent_every``-th beat (counting from the
first beat after the count-in) is louder and higher. Optional count-in beats use a third, distinct tone.
Written in chunks with :mod:`wave`, so memory stays small whatever the length.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

from backtorun.errors import InputError

MIN_SPM = 40.0
MAX_SPM = 300.0
MAX_MINUTES = 180.0
SAMPLE_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000)

CLICK_S = 0.030  # click length (s)
DECAY_S = 0.006  # exponential decay constant (s)
TONE_HZ = 1000.0
ACCENT_HZ = 1600.0
COUNT_IN_HZ = 2400.0
LEVEL = 0.45  # normal click amplitude (full scale = 1)
ACCENT_LEVEL = 0.9
COUNT_IN_LEVEL = 0.7
_CHUNK = 1 << 18  # samples per write


def beat_interval_s(spm: float) -> float:
    """Seconds between beats: one beat per step."""
    return 60.0 / spm


def _check(spm: float, minutes: float, accent_every: int, count_in_beats: int, sample_rate_hz: int) -> None:
    if not isinstance(spm, (int, float)) or isinstance(spm, bool) or not math.isfinite(spm) \
            or not MIN_SPM <= spm <= MAX_SPM:
        raise InputError(f"steps per minute must be between {MIN_SPM:g} and {MAX_SPM:g}, got {spm!r}",
                         hint="e.g. --spm 172")
    if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not math.isfinite(minutes) \
            or not 0 < minutes <= MAX_MINUTES:
        raise InputError(f"minutes must be above 0 and at most {MAX_MINUTES:g}, got {minutes!r}",
                         hint="e.g. --minutes 20")
    if not isinstance(accent_every, int) or isinstance(accent_every, bool) or not 0 <= accent_every <= 64:
        raise InputError(f"accent-every must be a whole number from 0 (no accents) to 64, got {accent_every!r}")
    if not isinstance(count_in_beats, int) or isinstance(count_in_beats, bool) or not 0 <= count_in_beats <= 64:
        raise InputError(f"count-in must be a whole number of beats from 0 to 64, got {count_in_beats!r}")
    if sample_rate_hz not in SAMPLE_RATES:
        raise InputError(f"sample rate {sample_rate_hz!r} Hz is not supported",
                         hint=f"use one of {', '.join(map(str, SAMPLE_RATES))}")


def _click(freq_hz: float, level: float, sample_rate_hz: int) -> np.ndarray:
    n = int(round(CLICK_S * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    return level * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / DECAY_S)


def write_metronome_wav(
    path: str | Path,
    *,
    spm: float,
    minutes: float,
    accent_every: int = 4,
    count_in_beats: int = 0,
    sample_rate_hz: int = 44100,
) -> Path:
    """Write a click track at ``spm`` beats per minute for ``minutes`` (plus the count-in) and return the path.

    accent_every: every n-th beat is accented (0 = none). count_in_beats: beats with a distinct tone before the
    track starts. Raises InputError (one line) for out-of-range arguments or an unwritable path.
    """
    _check(spm, minutes, accent_every, count_in_beats, sample_rate_hz)
    path = Path(path)
    if path.exists() and path.is_dir():
        raise InputError(f"{path} is a directory", hint="give a file name such as beat.wav")
    if not path.parent.exists():
        raise InputError(f"folder {path.parent} does not exist", hint="create it or choose another output path")

    samples_per_beat = 60.0 * sample_rate_hz / spm
    n_main = int(math.floor(minutes * spm + 1e-9))  # beats in the timed part
    n_beats = count_in_beats + n_main
    total = int(round(minutes * 60.0 * sample_rate_hz + count_in_beats * samples_per_beat))
    starts = np.round(np.arange(n_beats) * samples_per_beat).astype(np.int64)

    clicks = {
        "normal": _click(TONE_HZ, LEVEL, sample_rate_hz),
        "accent": _click(ACCENT_HZ, ACCENT_LEVEL, sample_rate_hz),
        "count": _click(COUNT_IN_HZ, COUNT_IN_LEVEL, sample_rate_hz),
    }
    kinds = []
    for k in range(n_beats):
        if k < count_in_beats:
            kinds.append("count")
        elif accent_every and (k - count_in_beats) % accent_every == 0:
            kinds.append("accent")
        else:
            kinds.append("normal")

    try:
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate_hz)
            beat = 0
            for lo in range(0, total, _CHUNK):
                hi = min(total, lo + _CHUNK)
                buf = np.zeros(hi - lo)
                # first beat whose click may overlap this chunk
                while beat > 0 and starts[beat - 1] + len(clicks["normal"]) > lo:
                    beat -= 1
                while beat < n_beats and starts[beat] < hi:
                    click = clicks[kinds[beat]]
                    s = int(starts[beat])
                    a, b = max(s, lo), min(s + len(click), hi)
                    if b > a:
                        buf[a - lo:b - lo] += click[a - s:b - s]
                    beat += 1
                wav.writeframes((np.clip(buf, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", hint="check the folder is writable") from exc
    return path
