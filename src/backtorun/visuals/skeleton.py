"""Draw the BlazePose skeleton, angles and labels on an image (OpenCV, in place, RGB order)."""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from backtorun.conventions import LANDMARK_INDEX, SKELETON_EDGES

Color = tuple[int, int, int]

#: Runner's left = blue, right = orange (RGB), centre lines white; colour-blind-safe pair.
LEFT_COLOR: Color = (0, 114, 178)
RIGHT_COLOR: Color = (230, 159, 0)
CENTRE_COLOR: Color = (255, 255, 255)
TEXT_COLOR: Color = (255, 255, 255)
ANGLE_COLOR: Color = (0, 200, 80)


def _edge_color(a: int, b: int, names: Sequence[str]) -> Color:
    na, nb = names[a], names[b]
    if na.startswith("left_") and nb.startswith("left_"):
        return LEFT_COLOR
    if na.startswith("right_") and nb.startswith("right_"):
        return RIGHT_COLOR
    return CENTRE_COLOR


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _scale(img: np.ndarray) -> float:
    """Line/text scale relative to a 720-pixel-high image."""
    return max(0.5, min(img.shape[0], img.shape[1]) / 720.0)


def draw_skeleton(img: np.ndarray, xy: np.ndarray, vis: np.ndarray | None = None, *,
                  min_visibility: float = 0.3, names: Sequence[str] | None = None,
                  edges: Sequence[tuple[int, int]] = SKELETON_EDGES) -> np.ndarray:
    """Draw the skeleton edges and joints of one frame's landmarks ``xy`` (L, 2) pixels on ``img`` (in place).

    Landmarks that are NaN or seen with less than ``min_visibility`` are not drawn.
    """
    from backtorun.conventions import BLAZEPOSE_LANDMARKS

    names = names or BLAZEPOSE_LANDMARKS
    s = _scale(img)
    ok = np.isfinite(xy).all(axis=1)
    if vis is not None:
        ok &= np.nan_to_num(vis) >= min_visibility
    thick = max(1, int(round(3 * s)))
    for a, b in edges:
        if a < len(ok) and b < len(ok) and ok[a] and ok[b]:
            cv2.line(img, _pt(xy[a]), _pt(xy[b]), _edge_color(a, b, names), thick, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        if i >= 11:  # body joints only; the face points clutter the picture
            color = LEFT_COLOR if names[i].startswith("left_") else RIGHT_COLOR if names[i].startswith("right_") \
                else CENTRE_COLOR
            cv2.circle(img, _pt(xy[i]), max(2, int(round(4 * s))), color, -1, cv2.LINE_AA)
    return img


def draw_text(img: np.ndarray, lines: Sequence[str], *, origin: tuple[int, int] = (10, 10),
              color: Color = TEXT_COLOR) -> np.ndarray:
    """Draw lines of text with a dark backing box, top-left at ``origin`` (in place)."""
    if not lines:
        return img
    s = _scale(img)
    font, fs, th = cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, max(1, int(round(1.5 * s)))
    sizes = [cv2.getTextSize(t, font, fs, th)[0] for t in lines]
    line_h = max(h for _, h in sizes) + int(10 * s)
    w = max(w for w, _ in sizes) + int(16 * s)
    x, y = origin
    h_box = line_h * len(lines) + int(8 * s)
    sub = img[y:y + h_box, x:x + w]
    if sub.size:
        sub[:] = (sub.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken 60 %
    for k, t in enumerate(lines):
        cv2.putText(img, t, (x + int(8 * s), y + line_h * (k + 1) - int(4 * s)), font, fs, color, th, cv2.LINE_AA)
    return img


def draw_angle(img: np.ndarray, vertex: np.ndarray, a: np.ndarray, b: np.ndarray, label: str, *,
               color: Color = ANGLE_COLOR) -> np.ndarray:
    """Draw the angle at ``vertex`` between rays to ``a`` and ``b`` (arc, both rays) and its ``label``."""
    if not (np.isfinite(vertex).all() and np.isfinite(a).all() and np.isfinite(b).all()):
        return img
    s = _scale(img)
    th = max(1, int(round(2 * s)))
    cv2.line(img, _pt(vertex), _pt(a), color, th, cv2.LINE_AA)
    cv2.line(img, _pt(vertex), _pt(b), color, th, cv2.LINE_AA)
    ang_a = math.degrees(math.atan2(a[1] - vertex[1], a[0] - vertex[0]))
    ang_b = math.degrees(math.atan2(b[1] - vertex[1], b[0] - vertex[0]))
    d = (ang_b - ang_a + 540) % 360 - 180
    r = int(round(0.5 * min(np.linalg.norm(a - vertex), np.linalg.norm(b - vertex), 80 * s)))
    if r > 2:
        start, end = (ang_a, ang_a + d) if d >= 0 else (ang_a + d, ang_a)
        cv2.ellipse(img, _pt(vertex), (r, r), 0, start, end, color, th, cv2.LINE_AA)
    font, fs, tth = cv2.FONT_HERSHEY_SIMPLEX, 0.7 * s, max(1, int(round(2 * s)))
    mid = math.radians(ang_a + d / 2)
    tx = int(vertex[0] + (r + 12 * s) * math.cos(mid))
    ty = int(vertex[1] + (r + 12 * s) * math.sin(mid))
    (tw, tht), _ = cv2.getTextSize(label, font, fs, tth)
    tx = int(np.clip(tx, 0, max(0, img.shape[1] - tw)))
    ty = int(np.clip(ty, tht, img.shape[0] - 2))
    cv2.putText(img, label, (tx, ty), font, fs, (0, 0, 0), tth + 2, cv2.LINE_AA)
    cv2.putText(img, label, (tx, ty), font, fs, color, tth, cv2.LINE_AA)
    return img


def vertical_point(vertex: np.ndarray, length: float, *, up: bool) -> np.ndarray:
    """A point ``length`` pixels straight above (``up``) or below ``vertex`` (image y grows downward)."""
    return np.array([vertex[0], vertex[1] - length if up else vertex[1] + length], dtype=float)


def landmark(xy: np.ndarray, name: str) -> np.ndarray:
    return np.asarray(xy[LANDMARK_INDEX[name]], dtype=float)
