"""The web forms take the runner-height range from its one definition (``backtorun.settings``), in the HTML
``min``/``max`` and in the server-side check (issue #12 item 5)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from backtorun.settings import HEIGHT_CM_MAX, HEIGHT_CM_MIN
from tests.web.conftest import login


def test_patient_form_uses_the_one_height_bound(world) -> None:  # type: ignore[no-untyped-def]
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        page = c.get("/patients")
        field = re.search(r'<input type="number" name="height_cm"[^>]*>', page.text).group(0)
        assert f'min="{HEIGHT_CM_MIN:g}"' in field and f'max="{HEIGHT_CM_MAX:g}"' in field
        r = c.post("/patients", data={"name": "Tall", "height_cm": str(HEIGHT_CM_MAX + 1), "csrf_token": tok},
                   follow_redirects=False)
        assert r.status_code == 400 and f"between {HEIGHT_CM_MIN:g} and {HEIGHT_CM_MAX:g} cm" in r.text
        ok = c.post("/patients", data={"name": "Tallest", "height_cm": str(HEIGHT_CM_MAX), "csrf_token": tok},
                    follow_redirects=False)
        assert ok.status_code in (302, 303)
