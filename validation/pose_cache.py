"""Pose estimates of the shared reference videos, cached on disk under a key of everything that shapes them.

MediaPipe on every shared clip takes minutes on two cores, so tests and the validation report reuse earlier
estimates — but only while the video, the pose-stage source code and the MediaPipe version are unchanged: the key
hashes all three, so a change to ``backtorun.pose`` can never be hidden by a stale cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib import metadata
from pathlib import Path

import backtorun.pose
from backtorun.types import PoseSeries

log = logging.getLogger(__name__)

CACHE_DIR = Path(os.environ.get("BACKTORUN_POSE_CACHE", "/tmp/btr_cache"))


def pose_stage_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the pose package's source files and the MediaPipe version."""
    h = hashlib.sha256(metadata.version("mediapipe").encode())
    pkg = Path(backtorun.pose.__file__).parent
    for src in sorted(pkg.rglob("*.py")):
        h.update(src.relative_to(pkg).as_posix().encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def _video_key(video: Path) -> str:
    st = video.stat()
    return hashlib.sha256(f"{video.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]


def find_cached(video: str | Path, cache_dir: Path = CACHE_DIR) -> tuple[Path | None, bool]:
    """(cache file, made by the current pose code?) for ``video``: the exact entry when it exists, otherwise the
    newest entry for the same video made by other pose code (None when there is none)."""
    video = Path(video)
    key = _video_key(video)
    exact = cache_dir / f"{video.stem}-{key}-{pose_stage_fingerprint()}.npz"
    if exact.exists():
        return exact, True
    others = sorted(cache_dir.glob(f"{video.stem}-{key}-*.npz"), key=lambda p: p.stat().st_mtime)
    others = [p for p in others if not p.name.endswith(".tmp.npz")]
    return (others[-1], False) if others else (None, False)


def cached_pose(video: str | Path, cache_dir: Path = CACHE_DIR, *, accept_other_pose_code: bool = False) -> PoseSeries:
    """``estimate_pose(video)``, reused from ``cache_dir`` when video, pose code and MediaPipe are unchanged.

    ``accept_other_pose_code``: reuse an estimate made by other pose code (logged as a warning; see
    :func:`find_cached`) rather than spend minutes re-estimating — for the held-out clip scoring, which tests
    the event detector, not the pose stage."""
    from backtorun.pose import estimate_pose

    video = Path(video)
    path = cache_dir / f"{video.stem}-{_video_key(video)}-{pose_stage_fingerprint()}.npz"
    if path.exists():
        return PoseSeries.load(path)
    if accept_other_pose_code:
        other, _ = find_cached(video, cache_dir)
        if other is not None:
            log.warning("using pose of %s cached by other pose code (%s; current %s)", video.name,
                        other.stem.rsplit("-", 1)[-1], pose_stage_fingerprint())
            return PoseSeries.load(other)
    log.info("estimating pose on %s (minutes on two cores)", video)
    pose = estimate_pose(video)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    pose.save(tmp)
    os.replace(tmp, path)
    return pose
