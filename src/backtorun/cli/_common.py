"""Shared CLI helpers: error handling that prints one actionable line, progress bars, quiet native logs."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from backtorun.errors import BacktorunError

console = Console()
err_console = Console(stderr=True)


def quiet_native_logs(verbose: bool) -> None:
    """Hide the C++ log lines MediaPipe/TFLite write straight to file descriptor 2, unless --verbose.

    Their native logging ignores Python's, so descriptor 2 is pointed at /dev/null for this process while Python's
    ``sys.stderr`` (progress bars, error lines, logging, tracebacks) moves to a duplicate of the original
    descriptor. Skipped when ``sys.stderr`` is not the process's real descriptor 2 (e.g. an in-process test runner).
    """
    if verbose:
        return
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if sys.stderr is not sys.__stderr__ or sys.stderr.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(saved, "w", buffering=1, encoding=sys.__stderr__.encoding or "utf-8",
                           errors="backslashreplace")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a BacktorunError into one line on stderr and the error's exit code (never a traceback)."""
    try:
        yield
    except BacktorunError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None
    except OSError as exc:  # a file-system problem no stage turned into a BacktorunError: still one line
        import errno

        from backtorun.outputs import output_error

        where = exc.filename or "a file"
        message = (str(output_error(exc, where)) if exc.errno in (errno.ENOSPC, errno.EROFS) else
                   f"{where}: {exc.strerror or str(exc) or exc.__class__.__name__} — check the path, its permissions "
                   "and the free disk space")
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


#: How progress is shown: "auto" (a bar on a terminal, plain lines otherwise), "bar", "plain" or "none".
PROGRESS_MODES = ("auto", "bar", "plain", "none")
PLAIN_STEP_PCT = 10.0  # plain progress: one line per this many percent …
PLAIN_EVERY_S = 30.0  # … or after this many seconds, whichever comes first
PLAIN_AUTO_DELAY_S = 5.0  # auto mode: no lines for runs shorter than this (short commands stay one-line)
_progress_mode = ["auto"]


def set_progress_mode(mode: str) -> None:
    """Choose how progress is shown (``--progress``); one of :data:`PROGRESS_MODES`."""
    if mode not in PROGRESS_MODES:
        raise typer.BadParameter(f"--progress {mode!r} is not one of {', '.join(PROGRESS_MODES)}")
    _progress_mode[0] = mode


def progress_style() -> str:
    """'bar', 'plain' or 'none' for this process: auto is a bar on a terminal and plain lines otherwise (services,
    CI, nohup, pipes)."""
    mode = _progress_mode[0]
    if mode != "auto":
        return mode
    try:
        return "bar" if sys.stderr.isatty() else "plain"
    except (AttributeError, ValueError):
        return "plain"


def plain_progress(description: str, *, unit: str = "frames", delay_s: float = 0.0) -> Callable[[int, int], None]:
    """``update(done, total)`` printing one plain line per :data:`PLAIN_STEP_PCT` percent (or per
    :data:`PLAIN_EVERY_S` seconds) on stderr, from ``delay_s`` after the start: readable in log files, no control
    characters."""
    import time

    start = time.monotonic()
    state = {"pct": -PLAIN_STEP_PCT, "t": start, "done": -1}

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if now - start < delay_s:
            return
        pct = 100.0 * done / total if total else 0.0
        finished = bool(total) and done >= total
        if done == state["done"] or not (pct >= state["pct"] + PLAIN_STEP_PCT or finished
                                         or now - state["t"] >= PLAIN_EVERY_S):
            return
        state.update(pct=pct - pct % PLAIN_STEP_PCT, t=now, done=done)
        text = f"{description}: {pct:.0f}% ({done}/{total} {unit})" if total else f"{description}: {done} {unit}"
        print(text, file=sys.stderr, flush=True)

    return update


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Progress as a rich bar on a terminal, plain lines when stderr is not one (or ``--progress plain``), nothing
    with ``--progress none``; yields ``update(done, total)``."""
    style = progress_style()
    if style != "bar":
        delay = PLAIN_AUTO_DELAY_S if _progress_mode[0] == "auto" else 0.0
        yield plain_progress(description, delay_s=delay) if style == "plain" else (lambda done, total: None)
        return
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
        console=err_console, transient=True,
    )
    with progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield update
