"""CLI: ``backtorun intake check FILE [--json]`` — validate an intake file and print the red-flag screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from backtorun.cli._common import console, err_console
from backtorun.errors import BacktorunError
from backtorun.types import RedFlagScreen

if TYPE_CHECKING:  # annotations only: keep the CLI import light (cli reaches intake through services)
    from backtorun.services.intake import IntakeCheck

intake_app = typer.Typer(help="Running and injury review (intake) commands.", no_args_is_help=True)

EXIT_OK = 0  # valid intake; no red flag withholds the running plan (NONE, CONSIDER, or every blocking flag cleared)
EXIT_RED_FLAG = 1  # valid intake; an EMERGENCY/URGENT/NON_URGENT flag withholds the plan (refer)
EXIT_INVALID = 2  # the intake file is missing, unreadable or invalid (BadIntake's exit code)

# Words for the human output (the JSON keeps the raw values). Evidence grades as domain.md §0 defines them.
_GRADE_WORDS = {"A": "evidence A: review or trial", "B": "evidence B: cohort or laboratory study",
                "C": "evidence C: consensus", "D": "no published source: the tool's choice", "U": "evidence unverified"}
_SURFACES = {"treadmill_only": "treadmill only", "treadmill_and_outside": "treadmill and outdoors",
             "outside_only": "outdoors only"}
_PAIN_WORDS = (("now", "now"), ("worst_24h", "worst 24 h"), ("during_run", "during run"),
               ("after_run_24h", "24 h after a run"))
_STYLE = {"none": "green", "consider": "bold yellow", "non_urgent": "yellow", "urgent": "bold red",
          "emergency": "bold white on red"}


@intake_app.command("check")
def check(file: Path = typer.Argument(..., help="Intake YAML or JSON file."),
          as_json: bool = typer.Option(False, "--json", help="Print the validated intake and the screen as JSON.")
          ) -> None:
    """Validate an intake file and print the red-flag screen (domain.md §7.3).

    Exit codes: 0 = valid, no red flag withholds the running plan (none, consider, or cleared);
    1 = valid, a red flag withholds the plan (emergency / urgent / non-urgent: refer);
    2 = invalid input (missing file, bad YAML/JSON, a field out of range); 3 = bad configuration.
    """
    from backtorun.services.intake import check_intake

    try:
        result = check_intake(file)
    except BacktorunError as exc:
        if as_json:
            typer.echo(json.dumps({"file": str(file), "valid": False, "exit_code": exc.exit_code, "error": str(exc),
                                   "problems": list(getattr(exc, "problems", None) or [str(exc)])}, indent=2,
                                  ensure_ascii=False))
        else:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    i, s = result.intake, result.screen
    code = EXIT_RED_FLAG if s.refer else EXIT_OK
    if as_json:
        typer.echo(json.dumps({"file": str(file), "valid": True, "exit_code": code, "intake": i.to_dict(),
                               "screen": s.to_dict()}, indent=2, ensure_ascii=False, allow_nan=False))
        raise typer.Exit(code)
    console.print(f"[green]valid intake[/]: {escape(str(file))} — {_summary(result)}", highlight=False, soft_wrap=True)
    console.print(f"Red-flag screen: [{_STYLE[s.level]}]{s.level.upper()}[/] — {_verdict(s)}", highlight=False,
                  soft_wrap=True)
    for h in s.hits:  # one block per rule that fired: answers, action, evidence, clearance
        title = f" {escape(h.title)}" if h.title else ""
        console.print(f"  [{_STYLE[h.level]}]{h.code}[/] ({h.level.replace('_', '-')}){title}: {escape(h.reason)}",
                      highlight=False, soft_wrap=True)
        evidence = _GRADE_WORDS.get(h.evidence_grade, f"evidence {h.evidence_grade}") + (
            f"; sources {', '.join(h.sources)}" if h.sources else "")
        console.print(f"      → {escape(h.action)} {escape(f'[{evidence}]')}", highlight=False, soft_wrap=True)
        if h.clearance is not None:
            console.print(f"      [green]{escape(h.clearance.describe())}[/]", highlight=False, soft_wrap=True)
    for note in s.notes:
        console.print(f"[yellow]note[/]: {escape(note)}", highlight=False, soft_wrap=True)
    for y in s.yellow_flags:
        console.print(f"[yellow]yellow flag[/]: {escape(y)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _summary(result: IntakeCheck) -> str:
    """One line a clinician reads: age, sex, the pain scores given (NRS 0–10), where the pain occurs."""
    i = result.intake
    who = f"age {i.age_years}" + ("" if i.sex == "unspecified" else f", {i.sex}")
    scores = [f"{words} {getattr(i.pain, name)}" for name, words in _PAIN_WORDS if getattr(i.pain, name) is not None]
    pain = f"pain (0–10) {', '.join(scores)}" if scores else "pain scores not recorded"
    where = _SURFACES.get(i.timing.surfaces)
    return "; ".join([who, pain, *([f"pain when running: {where}"] if where else [])])


def _verdict(s: RedFlagScreen) -> str:
    """Words after the level: what the screen means for the running plan."""
    if s.stop_evaluation:
        return "stop the evaluation and refer today; no running programme"
    if s.refer:
        return "refer; no running programme until a clinician records clearance"
    if s.cleared_hits:
        return "blocking flag(s) cleared by a clinician; the running plan may be issued"
    if s.level == "consider":
        return "flag(s) for the clinician to decide; the running plan is not withheld"
    return "no red flags"


def register(app: typer.Typer) -> None:
    """Register this area's commands on the main app."""
    app.add_typer(intake_app, name="intake")
