"""Metronome WAV: tempo checked by detecting the clicks in the written file, accents, count-in, bad arguments."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backtorun.cli import app
from backtorun.errors import InputError
from backtorun.plan.metronome import write_metronome_wav


def _read(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        sr = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32767.0
    return data, sr


def _onsets(x: np.ndarray, sr: int, *, threshold: float = 0.05, refractory_s: float = 0.1) -> np.ndarray:
    """Onset times (s): rising crossings of the absolute amplitude over ``threshold`` after a silent gap."""
    above = np.abs(x) > threshold
    idx = np.flatnonzero(above)
    onsets = []
    last = -np.inf
    for i in idx:
        if i - last > refractory_s * sr:
            onsets.append(i)
        last = i
    return np.asarray(onsets) / sr


def _peak_after(x: np.ndarray, sr: int, t: float) -> float:
    i = int(t * sr)
    return float(np.abs(x[i:i + int(0.03 * sr)]).max())


def _dominant_hz(x: np.ndarray, sr: int, t: float) -> float:
    seg = x[int(t * sr):int(t * sr) + int(0.02 * sr)]
    spec = np.abs(np.fft.rfft(seg, n=8192))
    return float(np.fft.rfftfreq(8192, 1 / sr)[spec.argmax()])


@pytest.mark.parametrize("spm, minutes, sr", [(172.0, 1.0, 44100), (163.5, 2.0, 22050), (190.0, 0.5, 48000)])
def test_onsets_match_requested_steps_per_minute(tmp_path: Path, spm: float, minutes: float, sr: int) -> None:
    path = write_metronome_wav(tmp_path / "beat.wav", spm=spm, minutes=minutes, sample_rate_hz=sr)
    x, got_sr = _read(path)
    assert got_sr == sr
    assert len(x) == pytest.approx(minutes * 60 * sr, abs=1)
    onsets = _onsets(x, sr)
    expected_beats = int(np.floor(minutes * spm + 1e-9))
    assert len(onsets) == expected_beats
    # tempo from a straight-line fit of onset time against beat number (robust to one-sample rounding)
    slope = np.polyfit(np.arange(len(onsets)), onsets, 1)[0]
    measured_spm = 60.0 / slope
    assert abs(measured_spm - spm) / spm < 0.005
    # and no drift: the last beat is where the tempo says it should be (within 2 ms)
    assert abs(onsets[-1] - (len(onsets) - 1) * 60.0 / spm) < 0.002


def test_accents_and_count_in(tmp_path: Path) -> None:
    sr = 44100
    path = write_metronome_wav(tmp_path / "beat.wav", spm=180, minutes=0.5, accent_every=4, count_in_beats=4,
                               sample_rate_hz=sr)
    x, _ = _read(path)
    onsets = _onsets(x, sr)
    assert len(onsets) == 4 + 90
    assert len(x) == pytest.approx((30 + 4 * 60 / 180) * sr, abs=1)
    count_in, main = onsets[:4], onsets[4:]
    count_hz = [_dominant_hz(x, sr, t) for t in count_in]
    main_hz = [_dominant_hz(x, sr, t) for t in main[:8]]
    assert min(count_hz) > max(main_hz) + 300  # count-in has its own, higher tone
    peaks = np.array([_peak_after(x, sr, t) for t in main])
    accented = peaks[::4]
    others = np.delete(peaks, np.arange(0, len(peaks), 4))
    assert accented.min() > 1.5 * others.max()
    assert (main[0] - count_in[-1]) == pytest.approx(60 / 180, abs=0.002)


def test_no_accents(tmp_path: Path) -> None:
    path = write_metronome_wav(tmp_path / "beat.wav", spm=170, minutes=0.25, accent_every=0)
    x, sr = _read(path)
    peaks = np.array([_peak_after(x, sr, t) for t in _onsets(x, sr)])
    assert peaks.max() / peaks.min() < 1.05


@pytest.mark.parametrize("kwargs, needle", [
    ({"spm": 0, "minutes": 1}, "steps per minute"),
    ({"spm": 500, "minutes": 1}, "steps per minute"),
    ({"spm": float("nan"), "minutes": 1}, "steps per minute"),
    ({"spm": 170, "minutes": 0}, "minutes"),
    ({"spm": 170, "minutes": -3}, "minutes"),
    ({"spm": 170, "minutes": 1, "accent_every": -1}, "accent"),
    ({"spm": 170, "minutes": 1, "count_in_beats": 2.5}, "count-in"),
    ({"spm": 170, "minutes": 1, "sample_rate_hz": 12345}, "sample rate"),
])
def test_bad_arguments_give_one_line_errors(tmp_path: Path, kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError) as info:
        write_metronome_wav(tmp_path / "beat.wav", **kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "beat.wav").exists()


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_metronome_wav(tmp_path / "no" / "beat.wav", spm=170, minutes=0.1)


def test_cli_writes_the_track(tmp_path: Path) -> None:
    out = tmp_path / "beat.wav"
    result = CliRunner().invoke(app, ["metronome", "--spm", "172", "--minutes", "0.5", "-o", str(out),
                                      "--accent-every", "4", "--count-in", "4"])
    assert result.exit_code == 0, result.output
    x, sr = _read(out)
    assert len(_onsets(x, sr)) == 4 + 86


def test_cli_bad_argument_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["metronome", "--spm", "20", "--minutes", "1", "-o", str(tmp_path / "b.wav")])
    assert result.exit_code == 2
    text = (result.stderr or result.output).strip()
    assert text.startswith("error:") and "steps per minute" in text and len(text.splitlines()) == 1
    assert not (tmp_path / "b.wav").exists()


@pytest.mark.parametrize("args, needle", [
    (["--spm", "abc"], "--spm must be a number"),
    (["--spm", "172", "--minutes", "ten"], "--minutes must be a number"),
    (["--spm", "172", "--count-in", "2.5"], "--count-in must be a whole number"),
    (["--spm", "172", "--accent-every", "-2"], "accent-every"),
])
def test_cli_typos_are_one_line_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, ["metronome", *args, "-o", str(tmp_path / "b.wav")])
    assert result.exit_code == 2
    text = (result.stderr or result.output).strip()
    assert text.startswith("error:") and needle in text and len(text.splitlines()) == 1


def test_chunked_writing_matches_a_single_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backtorun.plan.metronome as m

    whole = m.write_metronome_wav(tmp_path / "whole.wav", spm=172, minutes=0.2, count_in_beats=2)
    monkeypatch.setattr(m, "_CHUNK", 997)  # smaller than one click: every click spans chunk boundaries
    small = m.write_metronome_wav(tmp_path / "small.wav", spm=172, minutes=0.2, count_in_beats=2)
    assert whole.read_bytes() == small.read_bytes()
    x, _ = _read(whole)
    assert np.abs(x).max() > 0.5


# ---------------------------------------------------------------------------------------------------------
# Compressed tracks (Ogg Opus, MP3): decoded with PyAV and checked with the same onset detector
# ---------------------------------------------------------------------------------------------------------


def _decode(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in c.decode(stream)]
        sr = stream.codec_context.sample_rate
    x = np.concatenate(frames).astype(float)
    return (x / 32768.0 if np.abs(x).max() > 2 else x), sr


@pytest.mark.parametrize("suffix, spm", [(".ogg", 172.0), (".opus", 163.5), (".mp3", 181.0)])
def test_compressed_track_keeps_the_tempo(tmp_path: Path, suffix: str, spm: float) -> None:
    from backtorun.plan.metronome import write_metronome

    minutes = 1.0
    path = write_metronome(tmp_path / f"beat{suffix}", spm=spm, minutes=minutes, count_in_beats=0)
    x, sr = _decode(path)
    onsets = _onsets(x, sr, threshold=0.1)
    assert len(onsets) == int(np.floor(minutes * spm + 1e-9))
    slope = np.polyfit(np.arange(len(onsets)), onsets, 1)[0]
    assert abs(60.0 / slope - spm) / spm < 0.005
    # no drift relative to the first click (codec delay shifts all clicks alike)
    assert abs((onsets[-1] - onsets[0]) - (len(onsets) - 1) * 60.0 / spm) < 0.003


def test_compressed_track_keeps_accents_and_count_in(tmp_path: Path) -> None:
    from backtorun.plan.metronome import write_metronome

    path = write_metronome(tmp_path / "beat.ogg", spm=180, minutes=0.5, accent_every=4, count_in_beats=4)
    x, sr = _decode(path)
    onsets = _onsets(x, sr, threshold=0.1)
    assert len(onsets) == 4 + 90
    count_hz = [_dominant_hz(x, sr, t) for t in onsets[:4]]
    main_hz = [_dominant_hz(x, sr, t) for t in onsets[4:12]]
    assert min(count_hz) > max(main_hz) + 300
    peaks = np.array([_peak_after(x, sr, t) for t in onsets[4:]])
    assert peaks[::4].min() > 1.3 * np.delete(peaks, np.arange(0, len(peaks), 4)).max()


def test_twenty_minute_ogg_is_under_one_megabyte(tmp_path: Path) -> None:
    from backtorun.plan.metronome import write_metronome

    path = write_metronome(tmp_path / "beat.ogg", spm=183, minutes=20, count_in_beats=4)
    assert path.stat().st_size < 1_000_000
    x, sr = _decode(path)
    assert len(x) / sr == pytest.approx(20 * 60 + 4 * 60 / 183, abs=0.05)


def test_unsupported_suffix_and_rate_are_one_line_errors(tmp_path: Path) -> None:
    from backtorun.plan.metronome import write_metronome

    with pytest.raises(InputError, match="unsupported metronome file type"):
        write_metronome(tmp_path / "beat.flac", spm=170, minutes=0.1)
    with pytest.raises(InputError, match="not supported for .ogg"):
        write_metronome(tmp_path / "beat.ogg", spm=170, minutes=0.1, sample_rate_hz=44100)
    assert not list(tmp_path.iterdir())


def test_cli_writes_an_ogg_track(tmp_path: Path) -> None:
    out = tmp_path / "beat.ogg"
    result = CliRunner().invoke(app, ["metronome", "--spm", "172", "--minutes", "0.5", "-o", str(out),
                                      "--count-in", "4"])
    assert result.exit_code == 0, result.output
    x, sr = _decode(out)
    assert len(_onsets(x, sr, threshold=0.1)) == 4 + 86
    assert out.stat().st_size < 50_000
