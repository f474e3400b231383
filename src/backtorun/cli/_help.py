"""``--help`` that never cuts words off: typer's rich help tables end a cell that does not fit its column with
"…" (at 80 columns: ``--treadmill-only-symptoms``, a database URL example). Here such a cell folds onto the next
line instead, so every option name and help word is shown whole at any terminal width."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text


def _fold(renderable: Any) -> None:
    """Set ``overflow="fold"`` on a Text, or on the Texts of a Group (a parameter's help and its default)."""
    if isinstance(renderable, Text):
        renderable.overflow = "fold"
    for child in getattr(renderable, "renderables", ()) or ():
        _fold(child)


class _FoldingTable(Table):
    """A rich Table whose text cells fold a word longer than the column instead of ending it with "…"."""

    def add_row(self, *renderables: Any, **kw: Any) -> None:
        cells = [Text(r, overflow="fold") if isinstance(r, str) else r for r in renderables]
        for cell in cells:
            _fold(cell)
        super().add_row(*cells, **kw)

    def add_column(self, *args: Any, **kw: Any) -> None:
        kw["overflow"] = "fold"
        kw["no_wrap"] = False
        super().add_column(*args, **kw)


def fold_help_tables() -> None:
    """Make typer's help panels fold long words (idempotent; affects only the help output)."""
    import typer.rich_utils as rich_utils

    rich_utils.Table = _FoldingTable  # type: ignore[misc]
