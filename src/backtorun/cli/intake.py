"""CLI: ``backtorun intake check FILE`` — validate an intake file and print the red-flag screen."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from backtorun.cli._common import console, user_errors

intake_app = typer.Typer(help="Running and injury review (intake) commands.", no_args_is_help=True)

_STYLE = {"none": "green", "non_urgent": "yellow", "urgent": "bold red", "emergency": "bold white on red"}


@intake_app.command("check")
def check(file: Path = typer.Argument(..., help="Intake YAML or JSON file.")) -> None:
    """Validate an intake file and print the red-flag screen (exit 0 when valid)."""
    from backtorun.services.intake import check_intake

    with user_errors():
        result = check_intake(file)
    i, s = result.intake, result.screen
    p = i.pain
    console.print(f"[green]valid intake[/]: {file} — age {i.age_years}, {i.sex}; pain now {p.now}, worst 24 h "
                  f"{p.worst_24h}, during run {p.during_run}, 24 h after {p.after_run_24h}; "
                  f"surfaces: {i.timing.surfaces}", highlight=False)
    console.print(f"Red-flag screen: [{_STYLE[s.level]}]{s.level.upper()}[/]"
                  + (" — stop the running programme and refer" if s.refer else " — no red flags"), highlight=False)
    if s.hits:
        t = Table()
        for col in ("rule", "level", "reason", "action", "evidence"):
            t.add_column(col)
        for h in s.hits:
            t.add_row(h.code, h.level, h.reason, h.action, f"{h.evidence_grade} [{', '.join(h.sources)}]")
        console.print(t)
    for y in s.yellow_flags:
        console.print(f"[yellow]yellow flag[/]: {y}", highlight=False)


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.add_typer(intake_app, name="intake")
