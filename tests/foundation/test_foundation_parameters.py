"""Functions with more than 7 parameters in src/ are listed; more than 8 of them fail (issue #12).

Wide signatures are where callers mirror each other (the CLI, the web job and the batch worker passing the same
dozen values); a parameter object (``services.analysis.AnalysisOptions``, ``pose.segment.SegmentRun``,
``capture.AnalysisResults`` …) keeps them in one place.

Not counted: typer commands (``cli``), whose signature *is* the option list typer reads. Everything else counts
(no skip list); the listing printed on failure names every wide function.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_PARAMETERS = 7
MAX_WIDE_FUNCTIONS = 8


def _is_typer_command(path: Path, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function of a cli module whose parameters default to ``typer.Option``/``typer.Argument``."""
    if path.parent.name != "cli":
        return False
    defaults = fn.args.defaults + [d for d in fn.args.kw_defaults if d is not None]
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("Option", "Argument")
               for d in defaults)


def wide_functions(src: Path) -> dict[str, int]:
    """``module path:function`` → number of parameters (self/cls not counted, *args/**kwargs counted)."""
    out: dict[str, int] = {}
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or _is_typer_command(path, node):
                continue
            a = node.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
            n = len(names) + (a.vararg is not None) + (a.kwarg is not None)
            if n > MAX_PARAMETERS:
                out[f"{path.relative_to(src).as_posix()}:{node.name}"] = n
    return out


def test_few_functions_take_more_than_seven_parameters(repo_root: Path) -> None:
    wide = wide_functions(repo_root / "src" / "backtorun")
    listing = "\n".join(f"{n:3d} {k}" for k, n in sorted(wide.items()))
    assert len(wide) <= MAX_WIDE_FUNCTIONS, f"{len(wide)} functions over {MAX_PARAMETERS} parameters:\n{listing}"


def test_the_count_sees_wide_functions(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f(a, b, c, d, e, f, g, h):\n    pass\n\ndef g(a, *, b, **k):\n    pass\n")
    assert wide_functions(tmp_path) == {"m.py:f": 8}
