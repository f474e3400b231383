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


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields ``update(done, total)``. Silent when stderr is not a terminal."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
        console=err_console, disable=not sys.stderr.isatty(), transient=True,
    )
    with progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield update
