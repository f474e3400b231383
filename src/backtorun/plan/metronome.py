"""Metronome track for cadence retraining (domain.md §9 R1): a mono click track as WAV, Ogg Opus or MP3.

Beat ``k`` starts at sample ``round(k · 60 · sample_rate / spm)`` — computed from the beat index, never by
adding rounded intervals, so the tempo does not drift over a 20-minute track (error < 1 sample per beat).
Each click is a short sine burst with an exponential decay; every ``accent_every``-th beat (counting from the
first beat after the count-in) is louder and higher. Optional count-in beats use a third, distinct tone.
Samples are generated in chunks, so memory stays small whatever the length. WAV is 16-bit PCM (:mod:`wave`);
``.ogg``/``.opus`` (Opus in Ogg) and ``.mp3`` are encoded with PyAV's bundled libopus / libmp3lame: a 20-minute
track is a few hundred kB as Ogg Opus instead of ~50 MB as WAV.
"""

from __future__ import annotations

import contextlib
import math
import wave
from pathlib import Path
from typing import Iterator

import numpy as np

from backtorun.errors import InputError
from backtorun.outputs import atomic_write

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

#: Compressed formats by file suffix: codec, allowed sample rates (Hz), default rate, default bit rate (bit/s) and
#: encoder options. Opus "voip" mode at 8 kbit/s keeps the 1–2.4 kHz clicks, their onsets and the louder accents
#: (checked in tests/plan/test_plan_metronome.py) and makes a 20-minute track ≈ 0.47 MB (≈ 7 s to encode; lower
#: compression levels are faster but blur the accents).
_OPUS = {"codec": "libopus", "rates": (8000, 12000, 16000, 24000, 48000), "rate": 16000, "bit_rate": 8000,
         "options": {"application": "voip", "frame_duration": "60"}, "format": "ogg"}
COMPRESSED = {
    ".ogg": _OPUS,
    ".opus": _OPUS,
    ".mp3": {"codec": "libmp3lame", "rates": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
             "rate": 16000, "bit_rate": 16000, "options": {}, "format": "mp3"},
}
WAV_RATE_HZ = 44100
COMPRESSED_GAIN = 0.75  # headroom: lossy codecs overshoot sharp click onsets
SUFFIXES = (".wav", *COMPRESSED)


def beat_interval_s(spm: float) -> float:
    """Seconds between beats: one beat per step."""
    return 60.0 / spm


def _check(spm: float, minutes: float, accent_every: int, count_in_beats: int, sample_rate_hz: int,
           rates: tuple[int, ...] = SAMPLE_RATES, kind: str = "") -> None:
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
    if sample_rate_hz not in rates:
        raise InputError(f"sample rate {sample_rate_hz!r} Hz is not supported{kind}",
                         hint=f"use one of {', '.join(map(str, rates))}")


def _click(freq_hz: float, level: float, sample_rate_hz: int) -> np.ndarray:
    n = int(round(CLICK_S * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    return level * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / DECAY_S)


def _chunks(spm: float, minutes: float, accent_every: int, count_in_beats: int, sample_rate_hz: int,
            chunk: int | None = None) -> Iterator[np.ndarray]:
    """The click track as consecutive float chunks in [-1, 1] (beat k at round(k · 60 · rate / spm))."""
    chunk = chunk or _CHUNK
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
    beat = 0
    for lo in range(0, total, chunk):
        hi = min(total, lo + chunk)
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
        yield np.clip(buf, -1.0, 1.0)


def _check_path(path: Path) -> None:
    if path.exists() and path.is_dir():
        raise InputError(f"{path} is a directory", hint="give a file name such as beat.ogg")
    if not path.parent.exists():
        raise InputError(f"folder {path.parent} does not exist", hint="create it or choose another output path")


def write_metronome_wav(
    path: str | Path,
    *,
    spm: float,
    minutes: float,
    accent_every: int = 4,
    count_in_beats: int = 0,
    sample_rate_hz: int = WAV_RATE_HZ,
) -> Path:
    """Write a 16-bit PCM WAV click track at ``spm`` beats per minute for ``minutes`` (plus the count-in).

    accent_every: every n-th beat is accented (0 = none). count_in_beats: beats with a distinct tone before the
    track starts. Raises InputError (one line) for out-of-range arguments or an unwritable path.
    """
    _check(spm, minutes, accent_every, count_in_beats, sample_rate_hz)
    path = Path(path)
    _check_path(path)

    def write(tmp: Path) -> None:
        # our own file object, closed quietly after a failed write: no second traceback from wave's destructor
        f = open(tmp, "wb")
        wav = wave.open(f, "wb")
        try:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate_hz)
            for buf in _chunks(spm, minutes, accent_every, count_in_beats, sample_rate_hz):
                wav.writeframes((buf * 32767).astype("<i2").tobytes())
            wav.close()
            f.close()
        except BaseException:
            with contextlib.suppress(OSError, ValueError):
                wav.close()
            with contextlib.suppress(OSError, ValueError):
                f.close()
            raise

    # temp file + rename (the project's atomic writer): a full disk leaves a previous track intact
    need = 44 + 2 * int(round((minutes * 60.0 + count_in_beats * 60.0 / spm) * sample_rate_hz))
    return atomic_write(path, write, need_bytes=need)


def write_metronome_compressed(
    path: str | Path,
    *,
    spm: float,
    minutes: float,
    accent_every: int = 4,
    count_in_beats: int = 0,
    sample_rate_hz: int | None = None,
    bit_rate_bps: int | None = None,
) -> Path:
    """Write the click track as Ogg Opus (``.ogg``/``.opus``) or MP3 (``.mp3``) with PyAV (same beat grid as WAV).

    sample_rate_hz / bit_rate_bps default to the format's entry in :data:`COMPRESSED`.
    """
    path = Path(path)
    fmt = COMPRESSED.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unsupported metronome file type {path.suffix or '(none)'!r}",
                         hint=f"use one of {', '.join(SUFFIXES)}")
    rate = int(sample_rate_hz or fmt["rate"])
    _check(spm, minutes, accent_every, count_in_beats, rate, fmt["rates"], f" for {path.suffix} files")
    _check_path(path)
    import av  # a core dependency (video decoding); bundles libopus and libmp3lame

    def write(tmp: Path) -> None:
        with av.open(str(tmp), "w", format=fmt["format"]) as container:
            stream = container.add_stream(fmt["codec"], rate=rate, layout="mono", options=dict(fmt["options"]))
            stream.bit_rate = int(bit_rate_bps or fmt["bit_rate"])
            pts = 0
            for buf in _chunks(spm, minutes, accent_every, count_in_beats, rate, chunk=rate):
                frame = av.AudioFrame.from_ndarray((buf * COMPRESSED_GAIN * 32767).astype(np.int16)[None, :],
                                                   format="s16", layout="mono")
                frame.sample_rate = rate
                frame.pts = pts
                pts += len(buf)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)

    try:  # temp file + rename (the project's atomic writer): a failure leaves a previous track intact
        return atomic_write(path, write)
    except av.FFmpegError as exc:
        raise InputError(f"cannot write {path}: {exc}", hint="check the folder is writable, or write a .wav") from None


def write_metronome(
    path: str | Path,
    *,
    spm: float,
    minutes: float,
    accent_every: int = 4,
    count_in_beats: int = 0,
    sample_rate_hz: int | None = None,
) -> Path:
    """Write the click track in the format named by the suffix: ``.wav`` (PCM), ``.ogg``/``.opus`` or ``.mp3``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".wav":
        return write_metronome_wav(path, spm=spm, minutes=minutes, accent_every=accent_every,
                                   count_in_beats=count_in_beats, sample_rate_hz=sample_rate_hz or WAV_RATE_HZ)
    return write_metronome_compressed(path, spm=spm, minutes=minutes, accent_every=accent_every,
                                      count_in_beats=count_in_beats, sample_rate_hz=sample_rate_hz)
