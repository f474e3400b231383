"""Command line: thin wrappers that parse arguments, call ``backtorun.services`` and print results.

Each area registers its commands from its own module (``register(app)``) so the CLI stays small per file.
"""

from __future__ import annotations

import logging

import typer

from backtorun.cli import _common

app = typer.Typer(
    name="backtorun",
    help="Back To Running Evaluation: treadmill video gait analysis, intake, tests, training logs, report and plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show diagnostic log messages.")) -> None:
    _common.quiet_native_logs(verbose)  # first: logging below must write to the Python stderr it leaves
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _register_all() -> None:
    from backtorun.cli import analyze, batch, evaluate, logs, intake, metronome, serve

    for module in (analyze, evaluate, logs, intake, metronome, serve, batch):
        module.register(app)


_register_all()
