"""Keypoint files as an alternative to video: OpenPose BODY_25 JSON folders, the documented CSV, the own .npz.

Every loader returns a :class:`PoseSeries` in the BlazePose 33-landmark layout (NaN for landmarks the source
format lacks), pixels, origin top-left, y down. Formats:

* OpenPose folder: one ``*_keypoints.json`` per frame (``people[k].pose_keypoints_2d`` = 25 × (x, y, c)); the
  frame number is the last number in the file name. OpenPose does not store the frame rate or image size:
  ``fps`` (default 30, with a warning and ``fps assumed`` in ``source``) and the image size (the smallest
  common video size that holds every point, else the points' extent) are assumed.
* CSV: see ``docs/keypoints_csv.md`` (``frame,time_s,<landmark>_x,<landmark>_y,<landmark>_vis``).
* ``.npz``: written by :meth:`PoseSeries.save`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from backtorun.conventions import BLAZEPOSE_LANDMARKS, LANDMARK_INDEX, N_LANDMARKS
from backtorun.errors import BadKeypointFile
from backtorun.types import PoseSeries

log = logging.getLogger(__name__)

DEFAULT_FPS = 30.0

#: OpenPose BODY_25 index → BlazePose landmark name (BODY_25 has no eye corners, mouth, hands' fingers).
BODY25_TO_BLAZEPOSE: dict[int, str] = {
    0: "nose", 2: "right_shoulder", 3: "right_elbow", 4: "right_wrist", 5: "left_shoulder", 6: "left_elbow",
    7: "left_wrist", 9: "right_hip", 10: "right_knee", 11: "right_ankle", 12: "left_hip", 13: "left_knee",
    14: "left_ankle", 15: "right_eye", 16: "left_eye", 17: "right_ear", 18: "left_ear", 19: "left_foot_index",
    21: "left_heel", 22: "right_foot_index", 24: "right_heel",
}
BODY25_N = 25

_COMMON_SIZES = ((640, 360), (640, 480), (854, 480), (960, 540), (1280, 720), (1920, 1080), (2560, 1440),
                 (3840, 2160))


def load_keypoints(path: str | Path, *, fps: float | None = None) -> PoseSeries:
    """Load keypoints from an OpenPose JSON folder, a CSV file (docs/keypoints_csv.md) or a pose ``.npz``.

    fps: frame rate to use where the file does not store one (OpenPose); overrides a CSV's own timing.
    Raises BadKeypointFile with a one-line reason for anything malformed.
    """
    path = Path(path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise BadKeypointFile(f"fps must be a positive number, got {fps}")
    if not path.exists():
        raise BadKeypointFile(f"{path}: not found", hint="give an OpenPose JSON folder, a .csv or a .npz file")
    if path.is_dir():
        return load_openpose_folder(path, fps=fps)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_keypoints_csv(path, fps=fps)
    if suffix == ".npz":
        return _load_npz(path, fps=fps)
    raise BadKeypointFile(f"{path.name}: unknown keypoint format '{suffix or path.name}'",
                          hint="give an OpenPose JSON folder, a .csv (docs/keypoints_csv.md) or a .npz file")


# ---------------------------------------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------------------------------------


def _load_npz(path: Path, *, fps: float | None) -> PoseSeries:
    try:
        series = PoseSeries.load(path)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise BadKeypointFile(f"{path.name}: not a backtorun pose file ({exc.__class__.__name__}: {exc})",
                              hint="write it with PoseSeries.save or 'backtorun analyze'") from exc
    if fps is not None:
        t = (series.frame_index - series.frame_index[0]) / fps
        series = series.replace(fps=float(fps), time_s=t.astype(float))
    return series


# ---------------------------------------------------------------------------------------------------------
# OpenPose
# ---------------------------------------------------------------------------------------------------------

_NUM = re.compile(r"(\d+)")


def _frame_number(p: Path) -> int | None:
    nums = _NUM.findall(p.name)
    return int(nums[-1]) if nums else None


def _people_of(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadKeypointFile(f"{path.name}: not valid JSON ({exc.__class__.__name__})",
                              hint="use the *_keypoints.json files written by OpenPose --write_json") from exc
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise BadKeypointFile(f"{path.name}: no 'people' list; not an OpenPose keypoint file",
                              hint="use the *_keypoints.json files written by OpenPose --write_json")
    out = []
    for k, person in enumerate(data["people"]):
        kp = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(kp, list) or len(kp) != 3 * BODY25_N:
            n = len(kp) // 3 if isinstance(kp, list) else 0
            raise BadKeypointFile(f"{path.name}: person {k} has {n} keypoints, BODY_25 needs {BODY25_N}",
                                  hint="export with OpenPose's BODY_25 model")
        try:
            arr = np.asarray(kp, dtype=float).reshape(BODY25_N, 3)
        except (TypeError, ValueError) as exc:
            raise BadKeypointFile(f"{path.name}: person {k} has non-numeric keypoints") from exc
        xy = arr[:, :2].copy()
        conf = arr[:, 2].copy()
        missing = (conf <= 0) | ~np.isfinite(xy).all(axis=1)
        xy[missing] = np.nan
        conf[missing] = 0.0
        out.append((xy, conf))
    return out


def _box(xy: np.ndarray) -> tuple[np.ndarray, float] | None:
    ok = np.isfinite(xy).all(axis=1)
    if ok.sum() < 2:
        return None
    lo, hi = xy[ok].min(axis=0), xy[ok].max(axis=0)
    return (lo + hi) / 2.0, float(max(hi[1] - lo[1], hi[0] - lo[0], 1.0))


def _person_score(xy: np.ndarray, conf: np.ndarray) -> float:
    b = _box(xy)
    return 0.0 if b is None else float(conf.sum()) * b[1]


def choose_main_person(frames: list[list[tuple[np.ndarray, np.ndarray]]], *, max_jump: float = 0.5
                       ) -> list[int | None]:
    """Per frame, the index of the main person (or None), chosen consistently across frames.

    The anchor is the best person over all frames (most confident keypoints × box size); from there the track
    is followed forward and backward, taking in each frame the person whose box centre is nearest to the last
    one kept, if within ``max_jump`` × that box's size per frame elapsed (at least one box size).
    """
    n = len(frames)
    choice: list[int | None] = [None] * n
    best = max(((f, k, _person_score(*p)) for f, ppl in enumerate(frames) for k, p in enumerate(ppl)),
               key=lambda t: t[2], default=None)
    if best is None or best[2] <= 0:
        return choice
    f0, k0, _ = best
    choice[f0] = k0
    for order in (range(f0 + 1, n), range(f0 - 1, -1, -1)):
        ref = _box(frames[f0][k0][0])
        last = f0
        for f in order:
            cands = [(k, _box(xy)) for k, (xy, _c) in enumerate(frames[f])]
            cands = [(k, b) for k, b in cands if b is not None]
            if not cands or ref is None:
                continue
            k, b = min(cands, key=lambda kb: float(np.linalg.norm(kb[1][0] - ref[0])))
            allowed = ref[1] * max(1.0, max_jump * abs(f - last))
            if float(np.linalg.norm(b[0] - ref[0])) <= allowed:
                choice[f], ref, last = k, b, f
    return choice


def _infer_size(xy: np.ndarray) -> tuple[int, int]:
    if not np.isfinite(xy).any():
        return _COMMON_SIZES[5]
    mx = float(np.nanmax(xy[..., 0])), float(np.nanmax(xy[..., 1]))
    for w, h in _COMMON_SIZES:  # 3 % slack: pose models place edge joints slightly outside the image
        if mx[0] <= 1.03 * w and mx[1] <= 1.03 * h:
            return w, h
    return int(math.ceil(mx[0])) + 1, int(math.ceil(mx[1])) + 1


def load_openpose_folder(folder: str | Path, *, fps: float | None = None,
                         image_size: tuple[int, int] | None = None) -> PoseSeries:
    """OpenPose BODY_25 ``*_keypoints.json`` folder → PoseSeries (BlazePose layout, main person per frame)."""
    folder = Path(folder)
    files = sorted(folder.glob("*_keypoints.json")) or sorted(folder.glob("*.json"))
    if not files:
        raise BadKeypointFile(f"{folder}: no OpenPose *_keypoints.json files in this folder",
                              hint="point to the folder OpenPose wrote with --write_json")
    numbered = [(_frame_number(p), p) for p in files]
    if any(n is None for n, _ in numbered):
        numbered = [(i, p) for i, (_n, p) in enumerate(numbered)]
    numbered.sort(key=lambda t: int(t[0]))  # type: ignore[arg-type]
    frame_nums = np.array([int(n) for n, _ in numbered], dtype=np.int64)  # type: ignore[arg-type]
    if np.unique(frame_nums).size != frame_nums.size:
        raise BadKeypointFile(f"{folder}: two files have the same frame number",
                              hint="keep one OpenPose run per folder")
    people = [_people_of(p) for _, p in numbered]
    choice = choose_main_person(people)
    xy = np.full((len(people), N_LANDMARKS, 2), np.nan)
    vis = np.zeros((len(people), N_LANDMARKS))
    src_idx = np.array(list(BODY25_TO_BLAZEPOSE), dtype=int)
    dst_idx = np.array([LANDMARK_INDEX[n] for n in BODY25_TO_BLAZEPOSE.values()], dtype=int)
    for f, k in enumerate(choice):
        if k is None:
            continue
        pxy, conf = people[f][k]
        xy[f, dst_idx] = pxy[src_idx]
        vis[f, dst_idx] = conf[src_idx]
    if not np.isfinite(xy).any():
        raise BadKeypointFile(f"{folder}: no person with keypoints in any of the {len(files)} files",
                              hint="check that OpenPose found the runner")
    fps_note = ""
    if fps is None:
        fps = DEFAULT_FPS
        fps_note = f", fps assumed {DEFAULT_FPS:g}"
        log.warning("%s: OpenPose files do not store the frame rate; assuming %g fps (pass fps= to set it)",
                    folder.name, DEFAULT_FPS)
    if image_size is None:
        image_size = _infer_size(xy)
        log.info("%s: image size not stored; using %dx%d", folder.name, *image_size)
    frame_index = frame_nums - frame_nums[0]
    return PoseSeries(
        xy=xy, visibility=vis, time_s=frame_index / float(fps), frame_index=frame_index, fps=float(fps),
        width=int(image_size[0]), height=int(image_size[1]), source=f"openpose-body25 (json folder{fps_note})",
        video_path=None,
    )


# ---------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------

_META_KEYS = {"fps", "width", "height", "rotation_deg", "source", "video_path"}


def _read_meta(path: Path) -> dict[str, str]:
    meta: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("#"):
                    break
                body = line[1:].strip()
                if "=" in body:
                    k, v = body.split("=", 1)
                    if k.strip() in _META_KEYS:
                        meta[k.strip()] = v.strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadKeypointFile(f"{path.name}: cannot be read as UTF-8 text ({exc.__class__.__name__})") from exc
    return meta


def load_keypoints_csv(path: str | Path, *, fps: float | None = None) -> PoseSeries:
    """Read the CSV format of docs/keypoints_csv.md into a PoseSeries."""
    path = Path(path)
    meta = _read_meta(path)
    try:
        df = pd.read_csv(path, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise BadKeypointFile(f"{path.name}: not a readable CSV ({exc.__class__.__name__})",
                              hint="see docs/keypoints_csv.md for the expected columns") from exc
    if "frame" not in df.columns:
        raise BadKeypointFile(f"{path.name}: missing the 'frame' column",
                              hint="see docs/keypoints_csv.md for the expected columns")
    if df.empty:
        raise BadKeypointFile(f"{path.name}: has a header but no rows", hint="one row per video frame is needed")
    names = [n for n in BLAZEPOSE_LANDMARKS if f"{n}_x" in df.columns and f"{n}_y" in df.columns]
    if not names:
        raise BadKeypointFile(f"{path.name}: no <landmark>_x/<landmark>_y column pairs found",
                              hint="landmark names are BlazePose's, e.g. left_heel_x, left_heel_y")
    unknown = sorted(c for c in df.columns if c.endswith(("_x", "_y", "_vis"))
                     and c.rsplit("_", 1)[0] not in LANDMARK_INDEX)
    if unknown:
        log.warning("%s: ignoring columns with unknown landmark names: %s", path.name, ", ".join(unknown[:5]))

    def numeric(col: str) -> np.ndarray:
        try:
            return pd.to_numeric(df[col], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise BadKeypointFile(f"{path.name}: column '{col}' has non-numeric values",
                                  hint="use numbers, and leave a cell empty for a missing value") from exc

    frames = numeric("frame")
    if not np.isfinite(frames).all() or (frames != np.round(frames)).any() or (frames < 0).any():
        raise BadKeypointFile(f"{path.name}: 'frame' must hold whole numbers ≥ 0 in every row")
    if (np.diff(frames) <= 0).any():
        raise BadKeypointFile(f"{path.name}: 'frame' must increase from row to row")
    n = len(df)
    xy = np.full((n, N_LANDMARKS, 2), np.nan)
    vis = np.zeros((n, N_LANDMARKS))
    for name in names:
        i = LANDMARK_INDEX[name]
        xy[:, i, 0], xy[:, i, 1] = numeric(f"{name}_x"), numeric(f"{name}_y")
        ok = np.isfinite(xy[:, i]).all(axis=1)
        v = numeric(f"{name}_vis") if f"{name}_vis" in df.columns else np.where(ok, 1.0, 0.0)
        vis[:, i] = np.where(ok, np.nan_to_num(v), 0.0)
        xy[~ok, i] = np.nan
    frame_index = frames.astype(np.int64)
    meta_fps = _meta_float(meta, "fps", path)
    if fps is not None:
        time_s = (frame_index - frame_index[0]) / fps
    elif "time_s" in df.columns:
        time_s = numeric("time_s")
        if not np.isfinite(time_s).all() or (np.diff(time_s) <= 0).any():
            raise BadKeypointFile(f"{path.name}: 'time_s' must be numbers increasing from row to row")
        if meta_fps is None and n > 1:
            per_frame = np.diff(time_s) / np.diff(frame_index)
            meta_fps = float(1.0 / np.median(per_frame))
        fps = meta_fps
    elif meta_fps is not None:
        fps = meta_fps
        time_s = (frame_index - frame_index[0]) / fps
    else:
        raise BadKeypointFile(f"{path.name}: no 'time_s' column and no '# fps=' line",
                              hint="add time_s, a '# fps=60' line, or pass the frame rate")
    fps = float(fps if fps is not None else (meta_fps or DEFAULT_FPS))
    width = _meta_float(meta, "width", path)
    height = _meta_float(meta, "height", path)
    if width is None or height is None:
        width, height = _infer_size(xy)
        log.warning("%s: no '# width=' / '# height=' lines; assuming %dx%d", path.name, width, height)
    return PoseSeries(
        xy=xy, visibility=vis, time_s=np.asarray(time_s, dtype=float) - float(time_s[0]), frame_index=frame_index,
        fps=fps, width=int(width), height=int(height), rotation_deg=int(_meta_float(meta, "rotation_deg", path) or 0),
        source=meta.get("source", "keypoints-csv"), video_path=meta.get("video_path") or None,
    )


def _meta_float(meta: dict[str, str], key: str, path: Path) -> float | None:
    if key not in meta:
        return None
    try:
        v = float(meta[key])
    except ValueError as exc:
        raise BadKeypointFile(f"{path.name}: '# {key}=' must be a number, got {meta[key]!r}") from exc
    if not (math.isfinite(v) and v > 0) and key != "rotation_deg":
        raise BadKeypointFile(f"{path.name}: '# {key}=' must be positive, got {meta[key]!r}")
    return v


def save_keypoints_csv(series: PoseSeries, path: str | Path) -> Path:
    """Write ``series`` in the CSV format of docs/keypoints_csv.md (readable by :func:`load_keypoints`)."""
    path = Path(path)
    cols: dict[str, np.ndarray] = {"frame": series.frame_index, "time_s": series.time_s}
    for i, name in enumerate(series.landmarks):
        cols[f"{name}_x"] = series.xy[:, i, 0]
        cols[f"{name}_y"] = series.xy[:, i, 1]
        cols[f"{name}_vis"] = series.visibility[:, i]
    header = (f"# fps={series.fps:.6g}\n# width={series.width}\n# height={series.height}\n"
              f"# rotation_deg={series.rotation_deg}\n# source={series.source}\n")
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        pd.DataFrame(cols).to_csv(fh, index=False, float_format="%.4f")
    return path
