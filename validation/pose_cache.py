"""Pose estimates of the shared reference videos, cached on disk under a key of everything that shapes them.

MediaPipe on every shared clip takes minutes on two cores, so tests and the validation report reuse earlier
estimates — but only while the video, the pose-stage source code, the MediaPipe version and the BlazePose model
(``pose.model_complexity``: full or heavy) are unchanged: the key hashes all four, so a change to
``backtorun.pose`` can never be hidden by a stale cache. The model is also in the file name (heavy estimates are
tagged ``heavy-``), so even the fallback to an estimate of other pose code (:func:`find_cached`) never mixes the
full model's poses with the heavy model's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from importlib import metadata
from pathlib import Path

import backtorun.pose
from backtorun.types import PoseSeries

log = logging.getLogger(__name__)

CACHE_DIR = Path(os.environ.get("BACKTORUN_POSE_CACHE", "/tmp/btr_cache"))

#: File-name tag of each BlazePose model (``pose.model_complexity``); the full model's is empty, so the cache
#: files written before the heavy model was an option stay valid as full-model estimates.
MODEL_TAGS: dict[int, str] = {1: "", 2: "heavy-"}


def pose_stage_fingerprint(model_complexity: int = 1) -> str:
    """SHA-256 (first 16 hex digits) of the pose package's source files, the MediaPipe version and (for any model
    but the full one) the model complexity."""
    h = hashlib.sha256(metadata.version("mediapipe").encode())
    if model_complexity != 1:
        h.update(f"blazepose-complexity{model_complexity}".encode())
    pkg = Path(backtorun.pose.__file__).parent
    for src in sorted(pkg.rglob("*.py")):
        h.update(src.relative_to(pkg).as_posix().encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def _video_key(video: Path) -> str:
    st = video.stat()
    return hashlib.sha256(f"{video.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]


def _tag(model_complexity: int) -> str:
    if model_complexity not in MODEL_TAGS:
        raise ValueError(f"model_complexity must be one of {sorted(MODEL_TAGS)}, not {model_complexity!r}")
    return MODEL_TAGS[model_complexity]


def cache_path(video: str | Path, cache_dir: Path = CACHE_DIR, *, model_complexity: int = 1) -> Path:
    """The cache file of ``video``'s pose made by the current pose code with the model ``model_complexity``:
    ``{stem}-{video key}-{model tag}{fingerprint}.npz``."""
    video = Path(video)
    key, tag, fingerprint = _video_key(video), _tag(model_complexity), pose_stage_fingerprint(model_complexity)
    return cache_dir / f"{video.stem}-{key}-{tag}{fingerprint}.npz"


def find_cached(video: str | Path, cache_dir: Path = CACHE_DIR, *,
                model_complexity: int = 1) -> tuple[Path | None, bool]:
    """(cache file, made by the current pose code?) for ``video`` and model ``model_complexity``: the exact entry
    when it exists, otherwise the newest entry for the same video and the same model made by other pose code
    (None when there is none)."""
    video = Path(video)
    exact = cache_path(video, cache_dir, model_complexity=model_complexity)
    if exact.exists():
        return exact, True
    same_model = re.compile(rf"{re.escape(video.stem)}-{_video_key(video)}-{re.escape(_tag(model_complexity))}"
                            r"[0-9a-f]{16}\.npz")
    others = [p for p in cache_dir.glob(f"{video.stem}-*.npz") if same_model.fullmatch(p.name)]
    others.sort(key=lambda p: p.stat().st_mtime)
    return (others[-1], False) if others else (None, False)


def cached_pose(video: str | Path, cache_dir: Path = CACHE_DIR, *, accept_other_pose_code: bool = False,
                model_complexity: int = 1) -> PoseSeries:
    """``estimate_pose(video, model_complexity=…)``, reused from ``cache_dir`` when video, pose code, MediaPipe and
    model are unchanged.

    ``accept_other_pose_code``: reuse an estimate made by other pose code with the same model (logged as a
    warning; see :func:`find_cached`) rather than spend minutes re-estimating — for the held-out clip scoring,
    which tests the event detector, not the pose stage. An estimate of another model is never reused."""
    from backtorun.pose import estimate_pose

    video = Path(video)
    path = cache_path(video, cache_dir, model_complexity=model_complexity)
    if path.exists():
        return PoseSeries.load(path)
    if accept_other_pose_code:
        other, _ = find_cached(video, cache_dir, model_complexity=model_complexity)
        if other is not None:
            log.warning("using pose of %s cached by other pose code (%s; current %s)", video.name,
                        other.stem.rsplit("-", 1)[-1], pose_stage_fingerprint(model_complexity))
            return PoseSeries.load(other)
    log.info("estimating pose on %s with BlazePose model_complexity=%d (minutes on two cores)", video,
             model_complexity)
    pose = estimate_pose(video, model_complexity=model_complexity)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    pose.save(tmp)
    os.replace(tmp, path)
    return pose
