"""Command line: thin wrappers that parse arguments, call ``backtorun.services`` and print results.

Each area registers its commands from its own module (``register(app)``) so the CLI stays small per file.
"""

from __future__ import annotations

import logging

import typer

from backtorun.cli import _common
from backtorun.cli._help import fold_help_tables

fold_help_tables()  # --help shows every option name whole at 80 columns (long words fold, never "…")
app = typer.Typer(
    name="backtorun",
    help="Back To Running Evaluation: treadmill video gait analysis, intake, tests, training logs, report and plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show diagnostic log messages."),
          progress: str = typer.Option("auto", "--progress", help="Progress display: auto (a bar on a terminal, "
                                       "plain lines otherwise), bar, plain or none.")) -> None:
    _common.set_progress_mode(progress)
    _common.quiet_native_logs(verbose)  # first: logging below must write to the Python stderr it leaves
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _register_all() -> None:
    from backtorun.cli import analyze, batch, evaluate, logs, intake, metronome, serve

    for module in (analyze, evaluate, logs, intake, metronome, serve, batch):
        module.register(app)


_register_all()
