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


def cached_pose(video: str | Path, cache_dir: Path = CACHE_DIR) -> PoseSeries:
    """``estimate_pose(video)``, reused from ``cache_dir`` when video, pose code and MediaPipe are unchanged."""
    from backtorun.pose import estimate_pose

    video = Path(video)
    path = cache_dir / f"{video.stem}-{_video_key(video)}-{pose_stage_fingerprint()}.npz"
    if path.exists():
        return PoseSeries.load(path)
    log.info("estimating pose on %s (minutes on two cores)", video)
    pose = estimate_pose(video)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    pose.save(tmp)
    os.replace(tmp, path)
    return pose
