"""Web app behaviour through its HTTP interface: login security, uploads, forms, jobs, report, export, delete."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backtorun.web import WebSettings, create_app
from tests.web.conftest import PASSWORD, login, seed_two_clinics


def _new_patient(c: TestClient, tok: str, name: str = "Jane Runner") -> int:
    r = c.post("/patients", data={"name": name, "height_cm": "172", "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def _new_evaluation(c: TestClient, tok: str, pid: int, label: str = "") -> int:
    r = c.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok, "label": label}, follow_redirects=False)
    return int(r.headers["location"].rsplit("/", 1)[1])


def _upload(c: TestClient, tok: str | None, eid: int, content: bytes, *, name: str = "run.mp4",
            ctype: str = "video/mp4", kind: str = "side"):
    data = {"kind": kind} if tok is None else {"csrf_token": tok, "kind": kind}
    return c.post(f"/evaluations/{eid}/videos", data=data, files={"file": (name, content, ctype)},
                  headers={"Accept": "text/html"}, follow_redirects=False)


def _wait(c: TestClient, eid: int, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        st = c.get(f"/evaluations/{eid}/status").json()
        if st["status"] in ("done", "failed"):
            return st
        assert time.monotonic() < deadline, st
        time.sleep(0.2)


def _stored_files(world) -> list[Path]:
    root = world.settings.data_dir / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_session_cookie_is_httponly_samesite_and_secure_when_asked(tmp_path) -> None:
    for mode, scheme, secure in (("auto", "http", False), ("auto", "https", True), ("always", "https", True)):
        settings = WebSettings(data_dir=tmp_path / f"{mode}-{scheme}", cookie_secure=mode)
        seed_two_clinics(settings.resolved_database_url())
        with TestClient(create_app(settings), base_url=f"{scheme}://testserver") as c:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = c.post("/login", data={"email": "a@clinic.test", "password": PASSWORD, "csrf_token": token},
                       follow_redirects=False)
            cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("btr_session=")][0].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            assert ("secure" in cookie.split("; ")) is secure


def test_login_is_rate_limited_and_logout_ends_the_session(world) -> None:
    with TestClient(world.app) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post("/login", data={"email": "a@clinic.test", "password": PASSWORD, "csrf_token": "forged"})
        assert r.status_code == 403  # login CSRF
        codes = [c.post("/login", data={"email": "a@clinic.test", "password": f"wrong{i}", "csrf_token": token}).status_code
                 for i in range(world.settings.login_max_failures)]
        assert codes == [401] * world.settings.login_max_failures
        r = c.post("/login", data={"email": "a@clinic.test", "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 429 and "Too many failed logins" in r.text
    with TestClient(world.app) as c:
        tok = login(c, "b@clinic.test")
        assert c.get("/patients").status_code == 200
        old_cookie = c.cookies.get("btr_session")
        assert c.post("/logout", data={"csrf_token": tok}, follow_redirects=False).status_code == 303
        c.cookies.set("btr_session", old_cookie)
        assert c.get("/patients", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
        assert c.get("/patients").status_code == 401


def test_forms_without_the_csrf_token_are_refused(world, tiny_video) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        assert c.post("/patients", data={"name": "X"}).status_code == 403
        r = c.post("/patients", data={"name": "X", "csrf_token": tok}, files={"f": ("a.bin", b"x" * 100, "text/plain")})
        assert r.status_code == 400  # files go only through the streaming upload routes
        wrong = tok[:-1] + ("A" if tok[-1] != "A" else "B")
        assert c.post("/patients", data={"name": "X", "csrf_token": wrong}).status_code == 403
        assert "X" not in [m for m in re.findall(r'/patients/\d+">([^<]+)<', c.get("/patients").text)]
        pid = _new_patient(c, tok)
        eid = _new_evaluation(c, tok, pid)
        r = _upload(c, None, eid, tiny_video.read_bytes())
        assert r.status_code == 403
        assert _stored_files(world) == []


def test_video_upload_checks_type_content_and_size(world, tiny_video, tmp_path) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        eid = _new_evaluation(c, tok, _new_patient(c, tok))
        r = _upload(c, tok, eid, b"%PDF-1.4 not a video", name="doc.pdf", ctype="application/pdf")
        assert r.status_code == 415 and "not a video" in r.text
        r = _upload(c, tok, eid, b"this is text pretending to be a video" * 100)
        assert r.status_code == 400 and "could not be read as a video" in r.text
        assert _stored_files(world) == []
        data = tiny_video.read_bytes()
        r = _upload(c, tok, eid, data)
        assert r.status_code == 303
        stored = _stored_files(world)
        assert len(stored) == 1 and hashlib.sha256(stored[0].read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        page = c.get(f"/evaluations/{eid}").text
        assert "run.mp4" in page


def test_upload_over_the_size_limit_is_refused_without_leftovers(tmp_path, tiny_video) -> None:
    settings = WebSettings(data_dir=tmp_path / "d", max_video_mb=0.001)  # 1 kB
    seed_two_clinics(settings.resolved_database_url())
    with TestClient(create_app(settings)) as c:
        tok = login(c, "a@clinic.test")
        eid = _new_evaluation(c, tok, _new_patient(c, tok))
        r = _upload(c, tok, eid, tiny_video.read_bytes() + b"\0" * 5000)
        assert r.status_code == 413 and "larger than the limit" in r.text
        assert [p for p in (settings.data_dir / "uploads").rglob("*") if p.is_file()] == []


def test_intake_shows_the_red_flag_screen_and_reports_bad_fields(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        eid = _new_evaluation(c, tok, _new_patient(c, tok))
        form = c.get(f"/evaluations/{eid}/intake").text
        assert 'name="red_flags.saddle_numbness"' in form and 'name="pain.now"' in form and 'max="10.0"' in form
        r = c.post(f"/evaluations/{eid}/intake", data={"csrf_token": tok, "pain.now": "4"})
        assert r.status_code == 400 and "age_years" in r.text  # required field reported
        r = c.post(f"/evaluations/{eid}/intake", data={"csrf_token": tok, "age_years": "41", "pain.now": "4",
                                                       "location.central_lumbar": "on",
                                                       "red_flags.saddle_numbness": "on",
                                                       "red_flags.bladder_bowel_loss": "on"},
                   follow_redirects=False)
        assert r.status_code == 303
        page = c.get(f"/evaluations/{eid}").text
        assert "Red-flag screen: emergency" in page and "RF-CES" in page
        r = c.post(f"/evaluations/{eid}/intake", data={"csrf_token": tok, "age_years": "41", "pain.now": "3"},
                   follow_redirects=False)
        page = c.get(f"/evaluations/{eid}").text
        assert "RF-CES" not in page and 'Red-flag screen: <strong class="rf-none">none' in page


def test_test_results_form_round_trips(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        eid = _new_evaluation(c, tok, _new_patient(c, tok))
        assert 'name="sorensen.hold_s"' in c.get(f"/evaluations/{eid}/tests").text
        r = c.post(f"/evaluations/{eid}/tests", data={"csrf_token": tok, "sorensen.hold_s": "1000"})
        assert r.status_code == 400 and "hold_s" in r.text
        r = c.post(f"/evaluations/{eid}/tests", data={"csrf_token": tok, "sorensen.hold_s": "95",
                                                      "single_leg_bridge.left_reps": "18"}, follow_redirects=False)
        assert r.status_code == 303
        form = c.get(f"/evaluations/{eid}/tests").text
        assert re.search(r'name="sorensen.hold_s"[^>]*value="95.0"', form)


def test_analysis_runs_in_the_background_and_the_report_and_pdf_are_served(world, tiny_video) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        pid = _new_patient(c, tok)
        eid = _new_evaluation(c, tok, pid)
        r = c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        assert r.status_code == 400 and "Upload a side-view" in r.text
        assert _upload(c, tok, eid, tiny_video.read_bytes()).status_code == 303
        assert c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok}, follow_redirects=False).status_code == 303
        st = _wait(c, eid)
        assert st["status"] == "done" and st["progress"] == 1.0 and st["report_url"] == f"/evaluations/{eid}/report"
        page = c.get(f"/evaluations/{eid}/report").text
        assert "Test finding" in page and "cadence spm" in page and f"/evaluations/{eid}/files/report.html" in page
        pdf = c.get(f"/evaluations/{eid}/report.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
        assert c.get(f"/evaluations/{eid}/files/report.html").text.count("Full report") == 1
        assert c.get(f"/evaluations/{eid}/files/../../../../etc/passwd").status_code == 404


def test_a_failing_analysis_reports_an_actionable_reason(tmp_path, tiny_video) -> None:
    settings = WebSettings(data_dir=tmp_path / "d", pipeline="tests.web.web_fake_pipeline:fail", worker_nice=0)
    seed_two_clinics(settings.resolved_database_url())
    with TestClient(create_app(settings)) as c:
        tok = login(c, "a@clinic.test")
        eid = _new_evaluation(c, tok, _new_patient(c, tok))
        _upload(c, tok, eid, tiny_video.read_bytes())
        c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        st = _wait(c, eid)
        assert st["status"] == "failed" and "whole body in view" in st["error"]
        assert c.get(f"/evaluations/{eid}/report", follow_redirects=False).status_code == 303


def test_reassessment_marks_changes_beyond_measurement_error(world, tiny_video) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        pid = _new_patient(c, tok)
        for label in ("initial", "review"):
            eid = _new_evaluation(c, tok, pid, label)
            _upload(c, tok, eid, tiny_video.read_bytes())
            c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
            assert _wait(c, eid)["status"] == "done"
        page = c.get(f"/patients/{pid}/compare").text
        # fake pipeline: knee flexion rises 6° per evaluation (> 5° error) → marked
        row = re.search(r"knee flexion ic deg \(side\)</td>(.*?)</tr>", page, re.S).group(1)
        assert 'class="changed"' in row and "+6.0" in row and "±5.0" in row


def test_export_and_delete_a_patient(world, tiny_video) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        pid = _new_patient(c, tok, "Delete Me")
        eid = _new_evaluation(c, tok, pid)
        data = tiny_video.read_bytes()
        _upload(c, tok, eid, data)
        c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        assert _wait(c, eid)["status"] == "done"
        doc = c.get(f"/patients/{pid}/export.json").json()
        assert doc["patient"]["name"] == "Delete Me" and doc["evaluations"][0]["result"]["side"]
        assert doc["evaluations"][0]["uploads"][0]["sha256"] == hashlib.sha256(data).hexdigest()
        z = zipfile.ZipFile(io.BytesIO(c.get(f"/patients/{pid}/export.zip").content))
        names = z.namelist()
        assert "patient.json" in names
        upload_name = [n for n in names if "/uploads/" in n][0]
        assert z.read(upload_name) == data
        assert any(n.endswith("results/evaluation.json") for n in names)
        assert json.loads(z.read("patient.json"))["patient"]["id"] == pid
        r = c.post(f"/patients/{pid}/delete", data={"csrf_token": tok, "confirm_name": "wrong"})
        assert r.status_code == 400
        r = c.post(f"/patients/{pid}/delete", data={"csrf_token": tok, "confirm_name": "Delete Me"},
                   follow_redirects=False)
        assert r.status_code == 303
        assert c.get(f"/patients/{pid}").status_code == 404
        assert _stored_files(world) == []
        assert not list((world.settings.data_dir / "results").rglob("*.json"))
        audit = c.get("/audit").text
        assert "export" in audit and "delete" in audit and "a@clinic.test" in audit


def test_audit_log_records_views_and_is_admin_only(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        pid = _new_patient(c, tok)
        c.get(f"/patients/{pid}")
        r = c.post("/users", data={"csrf_token": tok, "email": "nurse@clinic.test", "password": "long-enough-pw"},
                   follow_redirects=False)
        assert r.status_code == 303
        audit = c.get("/audit?views=1").text  # page views are hidden unless asked for
        assert re.search(rf"<td>view</td><td>patient #{pid}</td>", audit)
        assert not re.search(r"<td>view</td>", c.get("/audit").text)
    with TestClient(world.app) as c:
        login(c, "nurse@clinic.test", "long-enough-pw")
        assert c.get("/audit").status_code == 403
        assert c.get("/users").status_code == 403
        assert c.get("/patients").status_code == 200


def test_training_log_upload_imports_or_refuses_the_file(world) -> None:
    from tests.web.conftest import SHARED

    gpx = SHARED / "logs" / "gpx" / "20170319_run_906581465.gpx"
    with TestClient(world.app) as c:
        tok = login(c, "a@clinic.test")
        eid = _new_evaluation(c, tok, _new_patient(c, tok))
        r = c.post(f"/evaluations/{eid}/logs", data={"csrf_token": tok},
                   files={"file": ("broken.gpx", b"<gpx><trk>not closed", "application/gpx+xml")})
        assert r.status_code == 400 and "could not be imported" in r.text
        r = c.post(f"/evaluations/{eid}/logs", data={"csrf_token": tok},
                   files={"file": ("notes.docx", b"PK\x03\x04", "application/octet-stream")})
        assert r.status_code == 415
        assert _stored_files(world) == []
        r = c.post(f"/evaluations/{eid}/logs", data={"csrf_token": tok},
                   files={"file": (gpx.name, gpx.read_bytes(), "application/gpx+xml")}, follow_redirects=False)
        assert r.status_code == 303
        assert gpx.name in c.get(f"/evaluations/{eid}").text
        assert "1 sessions" in c.get("/audit").text
