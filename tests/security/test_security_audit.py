"""Replay of the web app's security audit (issue 15): hostile text in every free-text field reaching HTML, PDF
and export (the three payloads: cross-clinic file URL, loopback SSRF, text printed on every page); deletion that
deletes and ids that are never reused; login back-off that cannot lock a clinician out; forwarding headers
trusted only from configured proxies; security headers on every response; 404 for ids out of range; generic
upload errors; private files."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from backtorun.report.pdf_fetch import FetchRefused, make_url_fetcher
from backtorun.report.render import render_report
from backtorun.store import make_engine, repo, session_factory
from backtorun.store.models import AuditEntry, Evaluation, Job, Patient, Upload
from backtorun.web import WebSettings, create_app
from backtorun.web.login_guard import DEVICE_COOKIE, backoff_s
from tests.report.evaluation_factory import make_evaluation
from tests.security.conftest import (
    FOREIGN_IMAGE_SIZE, OWN_IMAGE_SIZE, foreign_png, hostile_texts, marker_outside_payload, pdf_image_sizes, pdf_text,
)
from tests.store.pg_server import free_port
from tests.web.conftest import CLI, FAKE_PIPELINE, PASSWORD, REPO, login, seed_two_clinics

MARKER = "ZZPRINTEDZZ"
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy",
                    "permissions-policy")


# ------------------------------------------------------------------------------------------------ helpers


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _new_patient(c: TestClient, tok: str, name: str, notes: str = "") -> int:
    r = c.post("/patients", data={"name": name, "notes": notes, "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def _new_evaluation(c: TestClient, tok: str, pid: int, label: str = "") -> int:
    r = c.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok, "label": label}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def _upload(c: TestClient, tok: str, eid: int, content: bytes, name: str, ctype: str = "video/mp4",
            route: str = "videos") -> httpx.Response:
    return c.post(f"/evaluations/{eid}/{route}", data={"csrf_token": tok, "kind": "side"},
                  files={"file": (name, content, ctype)}, headers={"Accept": "text/html"}, follow_redirects=False)


def _analyse(c: TestClient, tok: str, eid: int, timeout_s: float = 180) -> None:
    assert c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok}, follow_redirects=False).status_code == 303
    deadline = time.monotonic() + timeout_s
    while (st := c.get(f"/evaluations/{eid}/status").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, st
        time.sleep(0.2)
    assert st["status"] == "done", st


def _assert_headers(r: httpx.Response) -> None:
    missing = [h for h in SECURITY_HEADERS if h not in r.headers]
    assert not missing, (r.request.url, r.status_code, missing)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _app(tmp_path: Path, **settings: object) -> tuple[object, WebSettings]:
    ws = WebSettings(**{"data_dir": tmp_path / "data", "pipeline": FAKE_PIPELINE, "worker_nice": 0, **settings})
    seed_two_clinics(ws.resolved_database_url())
    return create_app(ws), ws


# ------------------------------------------------------------------------------- 1. hostile text: report/PDF


def test_url_fetcher_serves_only_the_evaluations_own_files(tmp_path, recorder) -> None:
    own = tmp_path / "clinic-1" / "evaluation-1"
    (own / "plots").mkdir(parents=True)
    ok = foreign_png(own / "plots" / "p.png", OWN_IMAGE_SIZE)
    other = foreign_png(tmp_path / "clinic-2" / "evaluation-9" / "IC_L.png")
    (own / "link.png").symlink_to(other)
    fetch = make_url_fetcher([own])
    assert fetch(ok.as_uri()).read() == ok.read_bytes()
    refused = [other.as_uri(), (own / "link.png").as_uri(), (own / ".." / ".." / "clinic-2").as_uri(),
               f"file://{own}/../../clinic-2/evaluation-9/IC_L.png", "file:///etc/passwd",
               f"file://otherhost{ok}", f"{recorder.url}/x.png", f"https://127.0.0.1:{recorder.port}/x",
               "data:image/png;base64,iVBORw0KGgo=", "ftp://127.0.0.1/x", "gopher://127.0.0.1/x"]
    for url in refused:
        with pytest.raises(FetchRefused):
            fetch(url)
    assert recorder.hits == []


@pytest.mark.parametrize("in_name", ["cross_clinic", "ssrf", "text"])
def test_hostile_text_in_every_report_field_stays_text(tmp_path, recorder, in_name) -> None:
    """render_report (the real report, HTML + PDF) with a payload in the patient's name (which the PDF footer
    shows on every page) and the other payloads in the id, notes, session notes, intake and input file names."""
    foreign = foreign_png(tmp_path / "results" / "clinic-2" / "evaluation-7" / "side" / "keyframes" / "IC_L.png")
    payloads = hostile_texts(foreign, recorder, MARKER)
    others = [v for k, v in payloads.items() if k != in_name]
    out = tmp_path / "results" / "clinic-1" / "evaluation-1" / "job-1-attempt-1"
    own = foreign_png(out / "side" / "keyframes" / "initial_contact.png", OWN_IMAGE_SIZE)
    e = make_evaluation()
    e = dataclasses.replace(
        e, patient={**e.patient, "name": payloads[in_name], "id": others[0][:100], "notes": others[1]},
        session={**e.session, "notes": others[0], "clinician": others[1]},
        intake={**(e.intake or {}), "runner_id": others[1][:100], "notes": payloads["text"]},
        inputs=tuple(dataclasses.replace(i, name=others[0]) for i in e.inputs))
    written = render_report(e, out)
    assert recorder.hits == [], "the PDF renderer fetched a URL taken from user text"
    for key in ("report_html", "runner_html"):
        html = written[key].read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in html and f"<b>{MARKER}</b>" not in html
        assert f'src="{recorder.url}' not in html and f'href="{recorder.url}' not in html
        assert f'src="file://{foreign}' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in written["report_html"].read_text(encoding="utf-8")
    for key in ("report_pdf", "runner_pdf"):
        sizes = pdf_image_sizes(written[key])
        assert FOREIGN_IMAGE_SIZE not in sizes, f"{key}: another clinic's image or a fetched URL was embedded"
        assert marker_outside_payload(pdf_text(written[key]), MARKER) == 0, f"{key}: injected text was printed"
    assert OWN_IMAGE_SIZE in pdf_image_sizes(written["report_pdf"]), "the evaluation's own key frame is missing"
    pages = [p for p in pdf_text(written["report_pdf"]).split("\f") if p.strip()]
    assert all("clinician's report ·" in p for p in pages), "the footer (escaped text) is on every page"


# ------------------------------------------------------------------------------- 1. hostile text: web + export


def test_hostile_text_in_every_web_field_reaches_html_pdf_and_export_as_text(world, tiny_video, recorder) -> None:
    data_dir = world.settings.data_dir
    foreign = foreign_png(data_dir / "results" / "clinic-2" / "evaluation-1" / "side" / "keyframes" / "IC_L.png")
    p = hostile_texts(foreign, recorder, MARKER)
    video_name = 'a"><img src=x onerror=alert(2)>.mp4'  # no "/" (a file name is cut to its last part)
    log_name = '"><img src=x onerror=alert(3)>.gpx'
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        pid = _new_patient(c, tok, p["cross_clinic"], notes=p["ssrf"])
        eid = _new_evaluation(c, tok, pid, label=p["text"][:200])
        r = c.post(f"/evaluations/{eid}/intake", data={"csrf_token": tok, "age_years": "41", "pain.now": "3",
                                                         "runner_id": p["text"][:100], "notes": p["ssrf"],
                                                         "history.notes": p["cross_clinic"]},
                   follow_redirects=False)
        assert r.status_code == 303, r.text[:2000]
        assert _upload(c, tok, eid, tiny_video.read_bytes(), video_name).status_code == 303
        bad_log = _upload(c, tok, eid, b"not a gpx file", log_name, "application/gpx+xml", route="logs")
        assert bad_log.status_code in (400, 415)
        assert "<img src=x" not in bad_log.text and "&lt;img src=x" in bad_log.text
        _analyse(c, tok, eid)
        pages = {u: c.get(u) for u in ("/patients", f"/patients/{pid}", f"/evaluations/{eid}",
                                       f"/evaluations/{eid}/intake", f"/evaluations/{eid}/report",
                                       f"/patients/{pid}/compare", "/audit")}
        for url, r in pages.items():
            assert r.status_code == 200, url
            for raw in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", f"<b>{MARKER}</b>",
                        f'<img src="{recorder.url}', f'<link rel=stylesheet href="{recorder.url}',
                        f'<img src="file://{foreign}'):
                assert raw not in r.text, (url, raw)
        assert "&lt;img src=x onerror=alert(2)&gt;" in pages[f"/evaluations/{eid}"].text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[f"/evaluations/{eid}"].text
        pdf = c.get(f"/evaluations/{eid}/report.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        pdf_path = data_dir.parent / "downloaded.pdf"
        pdf_path.write_bytes(pdf.content)
        assert FOREIGN_IMAGE_SIZE not in pdf_image_sizes(pdf_path)
        assert marker_outside_payload(pdf_text(pdf_path), MARKER) == 0
        doc = c.get(f"/patients/{pid}/export.json")
        assert doc.headers["content-type"].startswith("application/json")
        d = doc.json()
        assert d["patient"]["name"] == p["cross_clinic"][:200] and d["patient"]["notes"] == p["ssrf"]
        assert d["evaluations"][0]["label"] == p["text"][:200]
        assert d["evaluations"][0]["intake"]["notes"] == p["ssrf"]
        assert d["evaluations"][0]["uploads"][0]["name"].endswith("<img src=x onerror=alert(2)>.mp4")  # as sent
        z = zipfile.ZipFile(io.BytesIO(c.get(f"/patients/{pid}/export.zip").content))
        for name in z.namelist():
            assert re.fullmatch(r"patient\.json|evaluation-\d+/(uploads|results)/[A-Za-z0-9_./-]+", name), name
            assert ".." not in name.split("/")
        assert json.loads(z.read("patient.json"))["patient"]["name"] == p["cross_clinic"][:200]
    assert recorder.hits == []


# ------------------------------------------------------------------------------- 2. deletion that deletes


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _delete_and_check(c: TestClient, tok: str, ws: WebSettings, tiny_video: Path, *, raw_db_check: bool) -> None:
    name, secret_note = "Zelda Quarkington", "zelda-private-note-4471"
    data_dir = ws.data_dir
    pid = _new_patient(c, tok, name, notes=secret_note)
    eid = _new_evaluation(c, tok, pid, label="zelda visit")
    assert c.post(f"/evaluations/{eid}/intake", data={"csrf_token": tok, "age_years": "33", "pain.now": "2",
                                                       "notes": secret_note}, follow_redirects=False).status_code == 303
    assert _upload(c, tok, eid, tiny_video.read_bytes(), "zelda.mp4").status_code == 303
    _analyse(c, tok, eid)
    _analyse(c, tok, eid)  # a second run: two result folders
    # an interrupted run and a cut-off upload leave files that no row points to
    interrupted = data_dir / "results" / "clinic-1" / f"evaluation-{eid}" / "job-999-attempt-1"
    interrupted.mkdir(parents=True)
    (interrupted / "partial.json").write_text(json.dumps({"patient": name}), encoding="utf-8")
    (data_dir / "uploads" / "clinic-1" / f"evaluation-{eid}" / ".upload-dead.part").write_text(name)
    assert c.get(f"/patients/{pid}/export.json").status_code == 200
    r = c.post(f"/patients/{pid}/delete", data={"csrf_token": tok, "confirm_name": name}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get(f"/patients/{pid}").status_code == 404
    # disk: nothing of theirs
    leftovers = [p for p in data_dir.rglob("*") if f"evaluation-{eid}" in p.as_posix()]
    assert leftovers == []
    if raw_db_check:  # SQLite: the database file and its log hold no byte of the deleted record
        for f in _all_files(data_dir):
            blob = f.read_bytes()
            assert name.encode() not in blob and secret_note.encode() not in blob, f
    # database: no row of theirs, one audit entry without health data
    engine = make_engine(ws.resolved_database_url())
    with session_factory(engine)() as s:
        assert s.get(Patient, pid) is None
        assert s.scalars(select(Evaluation).where(Evaluation.patient_id == pid)).all() == []
        assert s.scalars(select(Upload).where(Upload.evaluation_id == eid)).all() == []
        assert s.scalars(select(Job).where(Job.evaluation_id == eid)).all() == []
        trail = s.scalars(select(AuditEntry).where(
            ((AuditEntry.entity == "patient") & (AuditEntry.entity_id == pid))
            | ((AuditEntry.entity == "evaluation") & (AuditEntry.entity_id == eid)))).all()
        assert [(a.action, a.entity) for a in trail] == [("delete", "patient")]
        assert name not in trail[0].detail and secret_note not in trail[0].detail and "export" in trail[0].detail
        everything = " ".join(f"{a.detail} {a.user_email}" for a in s.scalars(select(AuditEntry)).all())
        assert name not in everything and secret_note not in everything
    engine.dispose()
    # the next patient gets new ids and sees nothing of the deleted one
    pid2 = _new_patient(c, tok, "Next Person")
    eid2 = _new_evaluation(c, tok, pid2)
    assert pid2 > pid and eid2 > eid
    assert not (data_dir / "uploads" / "clinic-1" / f"evaluation-{eid2}").exists()
    assert not (data_dir / "results" / "clinic-1" / f"evaluation-{eid2}").exists()
    doc = c.get(f"/patients/{pid2}/export.json").json()
    assert [e["id"] for e in doc["evaluations"]] == [eid2]
    assert all(a["action"] != "delete" for a in doc["audit"])
    page = c.get(f"/patients/{pid2}").text + c.get(f"/evaluations/{eid2}").text
    assert name not in page and secret_note not in page and "zelda" not in page.lower()


def test_deleting_a_patient_leaves_nothing_on_disk_or_in_the_database(world, tiny_video) -> None:
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        _delete_and_check(c, tok, world.settings, tiny_video, raw_db_check=True)


@pytest.mark.postgres
def test_deleting_a_patient_on_postgresql(tmp_path, pg_server, tiny_video) -> None:
    app, ws = _app(tmp_path, database_url=pg_server.create_database())
    with TestClient(app) as c:
        tok = login(c, "a@clinic.test")
        _delete_and_check(c, tok, ws, tiny_video, raw_db_check=False)


def test_only_admins_export_or_delete_and_clinicians_archive(world) -> None:
    engine = make_engine(world.settings.resolved_database_url())
    with session_factory(engine).begin() as s:
        clinic = repo.get_or_create_clinic(s, "Clinic A")
        repo.create_user(s, email="clin@clinic.test", password=PASSWORD, clinic=clinic, is_admin=False)
    engine.dispose()
    with TestClient(world.app) as clin, TestClient(world.app) as admin:
        tok = login(clin, "clin@clinic.test")
        pid = _new_patient(clin, tok, "Kept Record")
        page = clin.get(f"/patients/{pid}").text
        assert "export.zip" not in page and "Delete permanently" not in page and "archive-patient" in page
        for url in (f"/patients/{pid}/export.json", f"/patients/{pid}/export.zip"):
            assert clin.get(url).status_code == 403
        r = clin.post(f"/patients/{pid}/delete", data={"csrf_token": tok, "confirm_name": "Kept Record"})
        assert r.status_code == 403
        assert clin.post(f"/patients/{pid}/archive", data={"csrf_token": tok}, follow_redirects=False).status_code == 303
        assert "Kept Record" not in clin.get("/patients").text
        assert "Kept Record" in clin.get("/patients?archived=true").text
        assert "Archived on" in clin.get(f"/patients/{pid}").text
        assert clin.post(f"/patients/{pid}/archive", data={"csrf_token": tok, "restore": "1"},
                         follow_redirects=False).status_code == 303
        assert "Kept Record" in clin.get("/patients").text
        atok = login(admin, world.emails["A"])
        assert admin.get(f"/patients/{pid}/export.json").status_code == 200
        assert admin.post(f"/patients/{pid}/delete", data={"csrf_token": atok, "confirm_name": "Kept Record"},
                          follow_redirects=False).status_code == 303
        audit = admin.get("/audit").text
        assert "archive" in audit and "restore" in audit


def test_the_migration_keeps_data_and_stops_id_reuse(tmp_path) -> None:
    """A database created before 0002 (ids reusable) is rebuilt with AUTOINCREMENT without losing rows, and the
    next ids start above every id the audit log remembers (records deleted before the upgrade)."""
    from backtorun.store.migrate import head_revision, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0001")
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO clinics (id, name, created_at) VALUES (1, 'A', '2026-01-01')")
        for i in (1, 2):
            c.exec_driver_sql(f"INSERT INTO patients (id, clinic_id, name, notes, created_at) "
                              f"VALUES ({i}, 1, 'p{i}', '', '2026-01-01')")
        c.exec_driver_sql("INSERT INTO evaluations (id, clinic_id, patient_id, created_at, label) "
                          "VALUES (1, 1, 2, '2026-01-01', '')")
        c.exec_driver_sql("INSERT INTO audit_log (clinic_id, user_email, action, entity, entity_id, detail, at) "
                          "VALUES (1, '', 'delete', 'patient', 5, '', '2026-01-01')")
    assert upgrade(engine) == head_revision()
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT COUNT(*) FROM evaluations").scalar() == 1  # no cascade on rebuild
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert "AUTOINCREMENT" in c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name='patients'").scalar()
    with session_factory(engine).begin() as s:
        assert repo.create_patient(s, clinic_id=1, name="new").id == 6
    engine.dispose()


# ------------------------------------------------------------------------------- 3. lockout without DoS


def _login_post(c: TestClient, email: str, password: str, **headers: str) -> httpx.Response:
    tok = _csrf(c.get("/login").text)
    return c.post("/login", data={"email": email, "password": password, "csrf_token": tok},
                  headers=headers, follow_redirects=False)


def test_backoff_allows_fewer_than_100_guesses_an_hour_with_the_defaults() -> None:
    ws = WebSettings()
    t, n = 0.0, 0
    while True:
        t += backoff_s(n, free=ws.login_max_failures, base_s=ws.login_backoff_base_s, max_s=ws.login_backoff_max_s)
        if t > 3600:
            break
        n += 1
    assert 10 <= n < 100  # ASVS 2.2.1; and the clinician is never kept out for long


def test_a_known_device_logs_in_whatever_an_attacker_does(tmp_path) -> None:
    app, ws = _app(tmp_path, login_backoff_base_s=60.0)
    with TestClient(app) as dev, TestClient(app) as attacker, TestClient(app) as other, TestClient(app) as b_dev:
        assert _login_post(dev, "a@clinic.test", PASSWORD).status_code == 303
        cookie = [h for h in dev.cookies.jar if h.name == DEVICE_COOKIE][0]
        assert cookie.path == "/login" and cookie.has_nonstandard_attr("HttpOnly")
        assert _login_post(b_dev, "b@clinic.test", PASSWORD).status_code == 303
        codes = [_login_post(attacker, "a@clinic.test", f"guess-{i}").status_code for i in range(12)]
        assert codes[:ws.login_max_failures] == [401] * ws.login_max_failures and 429 in codes
        assert _login_post(attacker, "a@clinic.test", PASSWORD).status_code == 429  # unknown device waits
        assert _login_post(other, "a@clinic.test", PASSWORD).status_code == 429
        # the clinician's own browser: not refused, and its own typo is only a 401
        assert _login_post(dev, "a@clinic.test", "my typo").status_code == 401
        assert _login_post(dev, "a@clinic.test", PASSWORD).status_code == 303
        # a forged cookie, or another account's device cookie, earns nothing
        forged = dev.cookies.get(DEVICE_COOKIE, path="/login")
        other.cookies.set(DEVICE_COOKIE, forged[:-3] + ("AAA" if not forged.endswith("AAA") else "BBB"),
                          path="/login")
        assert _login_post(other, "a@clinic.test", PASSWORD).status_code == 429
        assert _login_post(b_dev, "a@clinic.test", PASSWORD).status_code == 429
        assert "Too many failed logins" in _login_post(attacker, "a@clinic.test", PASSWORD).text


def test_backoff_is_a_delay_not_a_lockout(tmp_path) -> None:
    app, ws = _app(tmp_path, login_backoff_base_s=1.0)
    with TestClient(app) as c:
        for i in range(ws.login_max_failures):
            assert _login_post(c, "b@clinic.test", f"wrong-{i}").status_code == 401
        assert _login_post(c, "b@clinic.test", PASSWORD).status_code == 429
        time.sleep(1.2)
        assert _login_post(c, "b@clinic.test", PASSWORD).status_code == 303


def test_address_backoff_ignores_forwarded_headers_and_spares_known_devices(tmp_path) -> None:
    app, ws = _app(tmp_path, login_backoff_base_s=30.0)
    with TestClient(app) as dev, TestClient(app) as attacker:
        assert _login_post(dev, "b@clinic.test", PASSWORD).status_code == 303
        n = ws.login_max_failures_per_address
        for i in range(n):  # a different account and a different claimed address each time
            r = _login_post(attacker, f"nobody{i}@x.test", "guess", **{"X-Forwarded-For": f"198.51.100.{i}"})
            assert r.status_code == 401, i
        r = _login_post(attacker, "b@clinic.test", PASSWORD, **{"X-Forwarded-For": "203.0.113.77"})
        assert r.status_code == 429  # the claimed address was not believed
        assert _login_post(dev, "b@clinic.test", PASSWORD).status_code == 303  # same address, known device


class _Server:
    """``backtorun serve`` in a subprocess with extra options (own process group; stopped by its pid)."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        env = {**os.environ, "BACKTORUN_WEB_PIPELINE": FAKE_PIPELINE, "FORWARDED_ALLOW_IPS": "*"}
        self._fh = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, *CLI, "serve", "--port", str(self.port), "--data-dir",
                                      str(data_dir), *extra], stdout=self._fh, stderr=subprocess.STDOUT, env=env,
                                     cwd=REPO, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(self.url + "/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._fh.close()


def _failed_login_address(server: _Server, data_dir: Path, claimed: str) -> str:
    with httpx.Client(base_url=server.url) as c:
        tok = _csrf(c.get("/login").text)
        r = c.post("/login", data={"email": "nobody@x.test", "password": "x", "csrf_token": tok},
                   headers={"X-Forwarded-For": claimed})
        assert r.status_code == 401
    engine = create_engine(f"sqlite:///{data_dir / 'backtorun.sqlite3'}")
    with engine.connect() as conn:
        detail = conn.execute(text("SELECT detail FROM audit_log WHERE action = 'login_failed' "
                                   "ORDER BY id DESC LIMIT 1")).scalar()
    engine.dispose()
    return re.search(r"ip=(\S+)", detail).group(1)


def test_serve_trusts_forwarding_headers_only_from_configured_proxies(tmp_path) -> None:
    data_dir = tmp_path / "data"
    server = _Server(data_dir)  # the environment's FORWARDED_ALLOW_IPS=* must not matter either
    try:
        assert _failed_login_address(server, data_dir, "203.0.113.9") == "127.0.0.1"
    finally:
        server.stop()
    server = _Server(data_dir, "--forwarded-allow-ips", "127.0.0.1")
    try:
        assert _failed_login_address(server, data_dir, "203.0.113.9") == "203.0.113.9"
    finally:
        server.stop()


# ------------------------------------------------------------------------------- 4. hardening


def test_out_of_range_ids_are_404_with_security_headers(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        for url in ("/patients/99999999999999999999999", "/patients/2147483648", "/patients/0", "/patients/-1",
                    "/patients/abc", "/evaluations/99999999999999999999999",
                    "/evaluations/99999999999999999999999/report.pdf",
                    "/evaluations/99999999999999999999999/status",
                    "/evaluations/99999999999999999999999/files/report.html",
                    "/patients/99999999999999999999999/compare"):
            for accept in ("text/html", "application/json"):
                r = c.get(url, headers={"Accept": accept})
                assert r.status_code == 404, (url, r.status_code)
                _assert_headers(r)
                assert "Traceback" not in r.text and "99999999999999999999999" not in r.text
        r = c.post("/patients/99999999999999999999999/delete", data={"csrf_token": tok, "confirm_name": "x"})
        assert r.status_code == 404
        _assert_headers(r)


def test_every_kind_of_response_carries_the_security_headers(world) -> None:
    def boom() -> None:
        raise RuntimeError("secret internal detail /var/lib/x")

    world.app.add_api_route("/boom-for-test", boom)
    with TestClient(world.app, raise_server_exceptions=False) as c:
        for r in (c.get("/login"), c.get("/patients"), c.get("/patients", headers={"Accept": "text/html"}),
                  c.get("/no-such-page"), c.get("/static/app.css"), c.post("/logout")):
            _assert_headers(r)
            assert "strict-transport-security" not in r.headers  # plain HTTP
        login(c, world.emails["A"])
        for accept in ("text/html", "application/json"):
            r = c.get("/boom-for-test", headers={"Accept": accept})
            assert r.status_code == 500
            _assert_headers(r)
            assert "secret internal detail" not in r.text and "Traceback" not in r.text
    with TestClient(world.app, base_url="https://testserver") as c:
        r = c.get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert "camera=()" in r.headers["permissions-policy"]


def test_upload_errors_are_generic(world) -> None:
    data_dir = world.settings.data_dir
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        eid = _new_evaluation(c, tok, _new_patient(c, tok, "Upload Errors"))
        for r in (_upload(c, tok, eid, b"\x00not a video" * 100, "clip.mp4"),
                  _upload(c, tok, eid, b"garbage" * 50, "run.fit", "application/octet-stream", route="logs"),
                  _upload(c, tok, eid, b"<gpx>broken", "run.gpx", "application/gpx+xml", route="logs")):
            assert r.status_code in (400, 415), r.status_code
            assert "could not be" in r.text
            for leak in (".upload-", ".part", str(data_dir), str(data_dir.resolve()), "log-", "Traceback"):
                assert leak not in r.text, leak
        assert list((data_dir / "uploads").rglob("*.part")) == []


def test_database_uploads_and_results_are_private(world, tiny_video) -> None:
    data_dir = world.settings.data_dir
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        eid = _new_evaluation(c, tok, _new_patient(c, tok, "Private Files"))
        assert _upload(c, tok, eid, tiny_video.read_bytes(), "p.mp4").status_code == 303
        _analyse(c, tok, eid)
    assert _mode(data_dir) == 0o700
    db_files = [p for p in data_dir.iterdir() if p.name.startswith("backtorun.sqlite3")]
    assert db_files and all(_mode(p) == 0o600 for p in db_files), [(p.name, oct(_mode(p))) for p in db_files]
    assert _mode(data_dir / "secret_key") == 0o600
    for sub in ("uploads", "results"):
        files = _all_files(data_dir / sub)
        assert files, sub
        assert all(_mode(f) == 0o600 for f in files), [(str(f), oct(_mode(f))) for f in files if _mode(f) != 0o600]
        dirs = [d for d in (data_dir / sub).rglob("*") if d.is_dir()] + [data_dir / sub]
        assert all(_mode(d) == 0o700 for d in dirs), [(str(d), oct(_mode(d))) for d in dirs if _mode(d) != 0o700]


def test_deleting_a_patient_during_an_analysis_leaves_no_files(tmp_path, tiny_video) -> None:
    app, ws = _app(tmp_path, pipeline="tests.security.slow_pipeline:run")
    with TestClient(app) as c:
        tok = login(c, "a@clinic.test")
        pid = _new_patient(c, tok, "Mid Run")
        eid = _new_evaluation(c, tok, pid)
        assert _upload(c, tok, eid, tiny_video.read_bytes(), "m.mp4").status_code == 303
        assert c.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok}, follow_redirects=False).status_code == 303
        run_root = ws.data_dir / "results" / "clinic-1" / f"evaluation-{eid}"
        deadline = time.monotonic() + 120
        while len(list(run_root.rglob("frame-*.txt"))) < 3:  # mid-run: the next step writes after the delete
            assert time.monotonic() < deadline, c.get(f"/evaluations/{eid}/status").json()
            time.sleep(0.2)
        r = c.post(f"/patients/{pid}/delete", data={"csrf_token": tok, "confirm_name": "Mid Run"},
                   follow_redirects=False)
        assert r.status_code == 303
        deadline = time.monotonic() + 60
        while [p for p in ws.data_dir.rglob("*") if f"evaluation-{eid}" in p.as_posix()]:
            assert time.monotonic() < deadline, "the interrupted run's files stayed on disk"
            time.sleep(0.3)
