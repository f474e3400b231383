"""One definition of each bound (issue #12 item 5): the runner-height range lives in ``backtorun.settings``
(``HEIGHT_CM_MIN``/``HEIGHT_CM_MAX``); the CLI, intake, batch manifest and web forms import it. This test greps
``src/`` for other literal copies of it (written as a pair, or as a height with the upper limit)."""

from __future__ import annotations

import re
from pathlib import Path

from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN

#: "100–230", "100 and 230", "ge=100, le=230", 'min="100" max="230"', "100.0 … 230.0" (≤ 20 characters apart).
_PAIR = re.compile(r"(?<![\d.])100(?:\.0)?\b[^\n\d]{1,20}(?<![\d.])230(?:\.0)?\b")
#: a line about height that writes the upper limit: "height … 230".
_HEIGHT_WITH_LIMIT = re.compile(r"height[^\n]*(?<![\d.#])230(?:\.0)?\b", re.IGNORECASE)
_TEXT_SUFFIXES = {".py", ".html", ".j2", ".yaml", ".yml", ".js", ".md", ".txt", ".toml", ".json"}
_THE_DEFINITION = Path("settings.py")


def literal_height_bounds(src: Path) -> list[str]:
    """``path:line`` of every literal copy of the height bound outside its one definition."""
    hits = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in _TEXT_SUFFIXES or not path.is_file() or path.relative_to(src) == _THE_DEFINITION:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if _PAIR.search(line) or _HEIGHT_WITH_LIMIT.search(line):
                hits.append(f"{path.relative_to(src).as_posix()}:{n}: {line.strip()}")
    return hits


def test_the_height_bound_is_written_once(repo_root: Path) -> None:
    assert (HEIGHT_CM_MIN, HEIGHT_CM_MAX) == (100.0, 230.0)  # the grep below looks for these values
    hits = literal_height_bounds(repo_root / "src" / "backtorun")
    assert not hits, "import HEIGHT_CM_MIN/HEIGHT_CM_MAX from backtorun.settings instead of:\n" + "\n".join(hits)


def test_the_grep_sees_copies(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('h: float = Field(None, ge=100, le=230)\nhelp="height in cm, 100–230"\n'
                                   "RGB = (230, 159, 0)\nHEIGHT_MAX = 230.0\n")
    (tmp_path / "f.html").write_text('<input name="height_cm" min="100" max="230">\n')
    assert [h.split(": ")[0] for h in literal_height_bounds(tmp_path)] == ["f.html:1", "m.py:1", "m.py:2", "m.py:4"]
