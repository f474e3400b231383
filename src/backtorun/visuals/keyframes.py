"""Key-frame pictures: initial contact (IC) and toe-off (TO) per side, with the relevant angle drawn.

At IC: knee flexion (180° − angle hip–knee–ankle) and shank angle (knee→ankle from the downward vertical).
At TO: thigh angle (hip→knee from the downward vertical; extension when the knee is behind the hip) and the
trunk line (hip centre→shoulder centre from the upward vertical). Sign conventions: ``backtorun.conventions``.

The stride shown is the representative one: the stride whose value of the metric is the median of that
side's strides (knee_flexion_ic_deg at IC, thigh_extension_deg / hip_extension_deg at TO). Angles written on
the picture are measured on that very frame, so the drawing and the number agree.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from backtorun.conventions import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER, SIDE_LANDMARKS
from backtorun.types import GaitAnalysis, GaitEvent, PoseSeries
from backtorun.visuals.skeleton import ANGLE_COLOR, draw_angle, draw_skeleton, vertical_point

log = logging.getLogger(__name__)

TRUNK_COLOR = (220, 60, 220)
SHANK_COLOR = (80, 200, 255)
BACKGROUND = 40  # grey level of the blank canvas used without video


@dataclass(frozen=True)
class KeyFrame:
    side: Literal["L", "R"]
    kind: Literal["IC", "TO"]
    frame: int
    metric: str | None  # the stride-table column used to choose the stride
    stride_value: float | None  # that stride's value of the metric

    @property
    def name(self) -> str:
        return f"{self.kind}_{self.side}"


def _median_row(strides: pd.DataFrame, side: str, metric: str) -> pd.Series | None:
    if strides is None or strides.empty or metric not in strides.columns or "side" not in strides.columns:
        return None
    rows = strides[(strides["side"] == side) & np.isfinite(pd.to_numeric(strides[metric], errors="coerce"))]
    if "valid" in rows.columns:
        valid = rows[rows["valid"].astype(bool)]
        rows = valid if not valid.empty else rows
    if rows.empty:
        return None
    vals = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
    k = int(np.argmin(np.abs(vals - np.median(vals))))
    return rows.iloc[k]


def _event_in(events: list[GaitEvent], lo: int, hi: int) -> GaitEvent | None:
    inside = [e for e in events if lo <= e.frame < hi]
    return inside[0] if inside else None


def _middle(events: list[GaitEvent]) -> GaitEvent | None:
    """Without a stride table: the middle (in time) of the events at least as confident as the median one."""
    if not events:
        return None
    conf = float(np.median([e.confidence for e in events]))
    best = sorted((e for e in events if e.confidence >= conf), key=lambda e: e.frame)
    return best[len(best) // 2]


def pick_keyframes(analysis: GaitAnalysis) -> list[KeyFrame]:
    """One IC and one TO frame per side from the representative stride (median of the metric)."""
    out: list[KeyFrame] = []
    strides = analysis.strides
    for side in ("L", "R"):
        for kind, metrics in (("IC", ("knee_flexion_ic_deg", "shank_angle_ic_deg")),
                              ("TO", ("thigh_extension_deg", "hip_extension_deg"))):
            evs = analysis.events.select(side=side, kind=kind)  # type: ignore[arg-type]
            if not evs:
                continue
            chosen: GaitEvent | None = None
            used, value = None, None
            for metric in metrics:
                row = _median_row(strides, side, metric)
                if row is None or "start_frame" not in row.index:
                    continue
                lo = int(row["start_frame"])
                hi = int(row["end_frame"]) if "end_frame" in row.index and pd.notna(row["end_frame"]) else lo + 10**9
                chosen = _event_in(evs, lo, hi) if kind == "TO" else (_event_in(evs, lo, lo + 1)
                                                                       or _event_in(evs, lo, hi))
                if chosen is not None:
                    used, value = metric, float(row[metric])
                    break
            if chosen is None:
                chosen = _middle(evs)
            if chosen is not None:
                out.append(KeyFrame(side, kind, int(chosen.frame), used, value))  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------------------------------------------
# Angles on one frame
# ---------------------------------------------------------------------------------------------------------


def _forward_sign(xy: np.ndarray, direction: str) -> float:
    """+1 when the runner faces image-right, −1 image-left (from the analysis, else nose vs ears)."""
    if direction == "right":
        return 1.0
    if direction == "left":
        return -1.0
    nose, ears = xy[0], np.nanmean(xy[[7, 8]], axis=0)
    if np.isfinite(nose).all() and np.isfinite(ears).all():
        return 1.0 if nose[0] >= ears[0] else -1.0
    return 1.0


def _angle_from_vertical(top: np.ndarray, bottom: np.ndarray, fwd: float, *, down: bool) -> float:
    """Signed angle (deg) of segment top→bottom from the downward (or bottom→top from the upward) vertical,
    positive when the far end is *ahead* (running direction)."""
    v = bottom - top if down else top - bottom
    dx, dy = v[0] * fwd, (v[1] if down else -v[1])
    return math.degrees(math.atan2(dx, dy))


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> float:
    """180° − angle(hip, knee, ankle)."""
    a, b = hip - knee, ankle - knee
    c = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
    return 180.0 - math.degrees(math.acos(max(-1.0, min(1.0, c))))


def draw_keyframe(img: np.ndarray, pose_xy: np.ndarray, vis: np.ndarray, kf: KeyFrame, *,
                  direction: str = "unknown", title: str | None = None) -> list[str]:
    """Draw skeleton and the angles of ``kf`` on ``img`` (in place; ``pose_xy`` in img pixels).

    Returns the caption lines (angle values measured on this frame)."""
    draw_skeleton(img, pose_xy, vis)
    lm = SIDE_LANDMARKS[kf.side]
    hip, knee, ankle = (np.asarray(pose_xy[lm[k]], dtype=float) for k in ("hip", "knee", "ankle"))
    fwd = _forward_sign(pose_xy, direction)
    lines = [title or f"{'initial contact' if kf.kind == 'IC' else 'toe-off'} {kf.side}  frame {kf.frame}"]
    seg = float(np.linalg.norm(knee - hip)) if np.isfinite(knee).all() and np.isfinite(hip).all() else 100.0
    if kf.kind == "IC":
        if np.isfinite([hip, knee, ankle]).all():
            flex = knee_flexion_deg(hip, knee, ankle)
            shank = _angle_from_vertical(knee, ankle, fwd, down=True)
            draw_angle(img, knee, knee + (knee - hip), ankle, f"{flex:.0f}", color=ANGLE_COLOR)
            # the shank angle is drawn at the ankle (vertical up vs ankle→knee) so the two labels do not overlap
            draw_angle(img, ankle, vertical_point(ankle, 0.9 * seg, up=True), knee, f"{shank:+.0f}",
                       color=SHANK_COLOR)
            lines += [f"knee flexion {flex:.0f} deg (green)", f"shank angle {shank:+.0f} deg (blue, + = ankle ahead)"]
    else:
        sho = np.nanmean(pose_xy[[L_SHOULDER, R_SHOULDER]], axis=0)
        hipc = np.nanmean(pose_xy[[L_HIP, R_HIP]], axis=0)
        if np.isfinite([hip, knee]).all():
            thigh = -_angle_from_vertical(hip, knee, fwd, down=True)  # + = knee behind hip (extension)
            draw_angle(img, hip, vertical_point(hip, 0.9 * seg, up=False), knee, f"{thigh:+.0f}", color=ANGLE_COLOR)
            lines.append(f"thigh extension {thigh:+.0f} deg from vertical (green)")
        if np.isfinite(sho).all() and np.isfinite(hipc).all():
            lean = _angle_from_vertical(sho, hipc, fwd, down=False)  # + = shoulders ahead
            draw_angle(img, hipc, vertical_point(hipc, 0.9 * seg, up=True), sho, f"{lean:+.0f}", color=TRUNK_COLOR)
            lines.append(f"trunk lean {lean:+.0f} deg (purple, + = forward)")
    if kf.metric is not None and kf.stride_value is not None and np.isfinite(kf.stride_value):
        lines.append(f"representative stride: {kf.metric} = {kf.stride_value:.1f} (median)")
    return lines


def runner_crop_box(xy: np.ndarray, width: int, height: int, *, margin: float = 0.25
                    ) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the landmarks, grown by ``margin`` × the box's larger side, clipped."""
    pts = xy[np.isfinite(xy).all(axis=1)]
    if len(pts) < 2:
        return 0, 0, width, height
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    m = margin * max(y1 - y0, x1 - x0, 1.0)
    xa, xb = int(max(0, x0 - m)), int(min(width, x1 + m))
    ya, yb = int(max(0, y0 - m)), int(min(height, y1 + m))
    if xb - xa < 16 or yb - ya < 16:
        return 0, 0, width, height
    return xa, ya, xb, yb


def render_keyframe(pose: PoseSeries, kf: KeyFrame, *, image: np.ndarray | None = None,
                    direction: str = "unknown", max_height: int = 900) -> np.ndarray:
    """The key-frame picture (RGB), cropped around the runner: on the video frame ``image`` if given, else on
    a blank canvas (keypoint-file input without video)."""
    rows = np.flatnonzero(pose.frame_index == kf.frame)
    if rows.size == 0:
        raise ValueError(f"frame {kf.frame} is not in the pose series")
    r = int(rows[0])
    if image is None:
        w, h = pose.width, pose.height
    else:
        h, w = image.shape[:2]
    xy = pose.xy[r] * np.array([w / float(pose.width), h / float(pose.height)])
    xa, ya, xb, yb = runner_crop_box(xy, w, h)
    if image is None:
        canvas = np.full((yb - ya, xb - xa, 3), BACKGROUND, dtype=np.uint8)
    else:
        canvas = np.ascontiguousarray(image[ya:yb, xa:xb])
    xy = xy - np.array([xa, ya], dtype=float)
    if canvas.shape[0] > max_height:
        s = max_height / canvas.shape[0]
        canvas = cv2.resize(canvas, (max(1, int(canvas.shape[1] * s)), max_height), interpolation=cv2.INTER_AREA)
        xy = xy * s
    elif canvas.shape[0] < 480:  # small crops: enlarge so the text stays legible
        s = 480 / canvas.shape[0]
        canvas = cv2.resize(canvas, (max(1, int(canvas.shape[1] * s)), 480), interpolation=cv2.INTER_LINEAR)
        xy = xy * s
    lines = draw_keyframe(canvas, xy, pose.visibility[r], kf, direction=direction)
    return _with_caption(canvas, lines)


def _with_caption(img: np.ndarray, lines: list[str]) -> np.ndarray:
    """``img`` above a dark band holding the caption lines (the band is at least 640 px wide)."""
    font, fs, th = cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1
    width = max(img.shape[1], 640, *(cv2.getTextSize(t, font, fs, th)[0][0] + 20 for t in lines))
    line_h = 24
    out = np.full((img.shape[0] + line_h * len(lines) + 12, width, 3), 20, dtype=np.uint8)
    x0 = (width - img.shape[1]) // 2
    out[: img.shape[0], x0:x0 + img.shape[1]] = img
    for k, t in enumerate(lines):
        cv2.putText(out, t, (10, img.shape[0] + line_h * (k + 1)), font, fs, (255, 255, 255), th, cv2.LINE_AA)
    return out


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB image as PNG (atomically: temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".part.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    tmp.replace(path)
    return path
