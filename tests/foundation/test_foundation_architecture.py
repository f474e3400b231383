"""Architecture contract (import-linter): stages never import store, web, report, cli or services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold(repo_root: Path):
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
