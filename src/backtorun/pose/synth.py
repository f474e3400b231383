"""Generate small videos for tests and benchmarks (the project's own fixtures; no third-party media).

:func:`write_video` encodes frames with PyAV, optionally with a display-matrix rotation (as a phone writes
portrait video) and with explicit per-frame timestamps (variable frame rate). :func:`loop_video` makes a long
video by copying the compressed packets of a clip several times (no re-encoding: fast, same decode cost).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import av
import numpy as np


def write_video(path: str | Path, frames: Iterable[np.ndarray], *, fps: float = 30.0, rotation_deg: int = 0,
                times_s: Sequence[float] | None = None, gop: int = 12, codec: str = "libx264") -> Path:
    """Encode RGB uint8 frames (H, W, 3; even sizes) to ``path`` (MP4).

    rotation_deg: display-matrix rotation, counter-clockwise (PyAV's convention; a portrait phone clip is −90).
    times_s: presentation time of each frame (variable frame rate); default ``k / fps``.
    gop: key-frame interval (small values make seeking tests meaningful).
    """
    path = Path(path)
    container = av.open(str(path), mode="w")
    try:
        stream = None
        tb = Fraction(1, 1000) if times_s is not None else None
        for k, img in enumerate(frames):
            if stream is None:
                rate = Fraction(fps).limit_denominator(1001)
                stream = container.add_stream(codec, rate=rate)
                stream.width, stream.height = int(img.shape[1]), int(img.shape[0])
                stream.pix_fmt = "yuv420p"
                stream.options = ({"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"}
                                  if codec == "libx264" else {"g": str(gop)})
                if tb is not None:
                    stream.time_base = tb
                    stream.codec_context.time_base = tb
                if rotation_deg:
                    stream.set_display_rotation(rotation_deg)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8), format="rgb24")
            if times_s is not None:
                frame.pts = int(round(times_s[k] * 1000))
                frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
        if stream is None:
            raise ValueError("no frames to write")
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


def loop_video(src: str | Path, dst: str | Path, *, repeats: int) -> Path:
    """Write ``dst``: the video stream of ``src`` repeated ``repeats`` times back to back (packet copy)."""
    src, dst = Path(src), Path(dst)
    with av.open(str(src)) as inp:
        s_in = inp.streams.video[0]
        packets = [(p.pts, p.dts, p.is_keyframe, bytes(p)) for p in inp.demux(s_in) if p.size]
        tb = s_in.time_base
        duration = packets and (max(p[0] for p in packets if p[0] is not None)
                                - min(p[0] for p in packets if p[0] is not None))
        step = int(duration) + int(round(1 / (float(s_in.average_rate or 30) * float(tb))))
        with av.open(str(dst), mode="w") as out:
            s_out = out.add_stream_from_template(s_in)
            for r in range(repeats):
                for pts, dts, key, data in packets:
                    pk = av.Packet(data)
                    pk.stream = s_out
                    pk.time_base = tb
                    pk.pts = None if pts is None else pts + r * step
                    pk.dts = None if dts is None else dts + r * step
                    pk.is_keyframe = key
                    out.mux(pk)
    return dst


def numbered_frames(n: int, *, height: int = 32, width: int = 64, first: int = 0) -> list[np.ndarray]:
    """``n`` small grey frames, each carrying its number in binary (white/black 8-px blocks along the bottom
    edge, up to 2**(width // 8 − 1) − 1) and a white block in the top-left corner (to check rotation)."""
    bits = width // 8 - 1
    frames = []
    for k in range(first, first + n):
        img = np.full((height, width, 3), 40, np.uint8)
        img[:8, :8] = 255
        for bit in range(bits):
            img[height - 8:, 8 * (bit + 1):8 * (bit + 2)] = 255 if (k >> bit) & 1 else 0
        frames.append(img)
    return frames


def read_frame_number(rgb: np.ndarray) -> int:
    """The number written by :func:`numbered_frames` (unrotated frame)."""
    h, w = rgb.shape[:2]
    return sum(1 << bit for bit in range(w // 8 - 1)
               if rgb[h - 6:h - 2, 8 * (bit + 1) + 2:8 * (bit + 2) - 2].mean() > 128)


def synthetic_runner_pose(n_frames: int, *, fps: float = 60.0, width: int = 640, height: int = 480,
                          cadence_spm: float = 170.0, facing: str = "right") -> "PoseSeries":
    """A side-view stick runner in the BlazePose layout (pixels): fixed hips, legs and arms swinging at the
    given cadence. For drawing and plumbing tests; it is not a biomechanical model."""
    from backtorun.conventions import LANDMARK_INDEX as LI
    from backtorun.conventions import N_LANDMARKS
    from backtorun.types import PoseSeries

    t = np.arange(n_frames) / fps
    f_stride = cadence_spm / 120.0  # strides per second
    fwd = 1.0 if facing == "right" else -1.0
    body = 0.6 * height
    hip = np.array([width / 2.0, height * 0.45])
    xy = np.full((n_frames, N_LANDMARKS, 2), np.nan)
    thigh, shank, trunk = 0.25 * body, 0.25 * body, 0.32 * body
    for k, tk in enumerate(t):
        ph = 2 * np.pi * f_stride * tk
        sho = hip + np.array([fwd * 0.08 * trunk, -trunk])
        head = sho + np.array([fwd * 0.05 * body, -0.12 * body])
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            a_th = 0.45 * np.sin(ph + (0 if sgn > 0 else np.pi))  # thigh swing (rad), + = forward
            knee = hip + thigh * np.array([fwd * np.sin(a_th), np.cos(a_th)])
            a_sh = a_th - 0.6 * (1 + np.cos(ph + (0 if sgn > 0 else np.pi))) / 2
            ankle = knee + shank * np.array([fwd * np.sin(a_sh), np.cos(a_sh)])
            heel = ankle + np.array([-fwd * 0.04 * body, 0.02 * body])
            toe = ankle + np.array([fwd * 0.08 * body, 0.03 * body])
            a_arm = -0.6 * np.sin(ph + (0 if sgn > 0 else np.pi))
            elbow = sho + 0.15 * body * np.array([fwd * np.sin(a_arm), np.cos(a_arm)])
            wrist = elbow + 0.14 * body * np.array([fwd * np.cos(a_arm), -0.3])
            for name, p in (("hip", hip), ("knee", knee), ("ankle", ankle), ("heel", heel), ("foot_index", toe),
                            ("shoulder", sho), ("elbow", elbow), ("wrist", wrist), ("ear", head - [fwd * 10, 0])):
                xy[k, LI[f"{side}_{name}"]] = p
        xy[k, LI["nose"]] = head + [fwd * 12, 4]
    vis = np.where(np.isfinite(xy[:, :, 0]), 0.95, 0.0)
    return PoseSeries(xy=xy, visibility=vis, time_s=t, frame_index=np.arange(n_frames), fps=fps, width=width,
                      height=height, source="synthetic-runner")
