"""Single analyses on a Dask cluster, for callers other than the batch (the web app's background jobs).

``dask_submit(address, video, out_dir, **kwargs)`` returns a ``distributed.Future`` (``result(timeout)``, ``done()``,
``cancel()``, ``exception()``, ``add_done_callback``); ``result()`` gives the ``GaitAnalysis`` or re-raises the
analysis' ``BacktorunError``. Paths must be the same on the caller and the workers (a shared filesystem).
Progress (``progress(done, total)``) travels as Dask events and is called on the client's event-loop thread.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

from backtorun.batch.worker import default_analyze
from backtorun.errors import ConfigError

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
#: Progress events are sent when at least this share of the work (0..1) was done since the last one.
PROGRESS_STEP = 0.02
CONNECT_TIMEOUT_S = 15


def run_analysis_task(
    video: str, out_dir: str, analysis_kwargs: dict[str, Any], progress_topic: str | None,
    analyze: Callable[..., Any] | None = None,
) -> Any:
    """Runs on a worker: the per-video analysis (``GaitAnalysis``), with progress forwarded as events on
    ``progress_topic``. A different ``analyze(video, out_dir, progress=…, **analysis_kwargs)`` may be given (the web
    app runs its whole job this way); its return value is the future's result."""
    fn = analyze if analyze is not None else default_analyze()
    progress = None
    if progress_topic is not None:
        from distributed import get_worker

        worker = get_worker()
        last = [-1.0]

        def progress(done: int, total: int) -> None:
            share = done / total if total else 0.0
            if done == total or share - last[0] >= PROGRESS_STEP:
                last[0] = share
                worker.log_event(progress_topic, {"done": int(done), "total": int(total)})

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return fn(Path(video), Path(out_dir), progress=progress, **analysis_kwargs)


class DaskAnalysisClient:
    """A connection to a Dask scheduler that runs single video analyses (one task each)."""

    def __init__(self, scheduler_address: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        from distributed import Client

        self.address = scheduler_address
        try:
            self._client = Client(scheduler_address, timeout=f"{connect_timeout_s}s", set_as_default=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler_address}: {exc}",
                              hint="start it with `dask scheduler`, or unset the scheduler to analyse in-process"
                              ) from exc
        self._lock = threading.Lock()

    def submit(self, video: str | Path, out_dir: str | Path, *, progress: ProgressFn | None = None,
               analyze: Callable[..., Any] | None = None, **analysis_kwargs: Any) -> Any:
        """Start the analysis of ``video`` into ``out_dir`` on the cluster; returns a ``distributed.Future``.

        ``analysis_kwargs`` go to ``analyze_video_file`` (view, height_cm, speed_mps, settings, annotate).
        """
        topic = None
        if progress is not None:
            topic = f"backtorun-progress-{uuid.uuid4().hex}"
            self._client.subscribe_topic(topic, lambda event: progress(event[1]["done"], event[1]["total"]))
        with self._lock:
            future = self._client.submit(
                run_analysis_task, str(Path(video).resolve()), str(Path(out_dir).resolve()), dict(analysis_kwargs),
                topic, analyze, key=f"backtorun-analysis-{Path(video).stem}-{uuid.uuid4().hex[:8]}", pure=False,
            )
        if topic is not None:
            future.add_done_callback(lambda _f: self._unsubscribe(topic))
        return future

    def _unsubscribe(self, topic: str) -> None:
        try:
            self._client.unsubscribe_topic(topic)
        except (KeyError, OSError, RuntimeError) as exc:
            log.debug("could not unsubscribe from %s: %s", topic, exc)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "DaskAnalysisClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.lru_cache(maxsize=4)
def shared_client(scheduler_address: str) -> DaskAnalysisClient:
    """One long-lived connection per scheduler address (for a web server process)."""
    return DaskAnalysisClient(scheduler_address)


def dask_submit(scheduler_address: str, video: str | Path, out_dir: str | Path, *,
                progress: ProgressFn | None = None, **analysis_kwargs: Any) -> Any:
    """Submit one analysis to the cluster at ``scheduler_address``; returns a ``distributed.Future``."""
    return shared_client(scheduler_address).submit(video, out_dir, progress=progress, **analysis_kwargs)
