"""The clinician's whole journey in a real browser (Debian's Chromium through Playwright) against ``backtorun serve``,
on SQLite and on PostgreSQL (issue 15, Done-when):

admin login → create a clinician (one-time password) → clinician login and forced password change → new patient →
intake with a red flag (badge "refer" on the patient list) → the clinician records clearance (badge "cleared") →
tests → training log → side video → analysis (the fake pipeline of the web tests) → report and PDF → second visit
(intake prefilled from the first) → re-assessment comparing tests with better/worse marks → export (admin) →
permanent deletion (admin), after which no row, file or byte of the patient remains.

Every step takes a screenshot and checks it: not blank (pixel variance), its key text shown in the page,
no horizontal scrollbar at 1280 px, no console error or uncaught script error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from backtorun.store import make_engine
from backtorun.store.db import default_db_url
from tests.web.browser_kit import (assert_not_blank, create_admin, fill_tests, launch_chromium, shots_dir,
                                   upload_log_and_side_video)
from tests.web.conftest import FAKE_PIPELINE, SHARED, ServerProcess, make_tiny_video

ADMIN = "admin@journey.test"
ADMIN_PASSWORD = "journey admin passphrase"
CLINICIAN = "clinician@journey.test"
CLINICIAN_PASSWORD = "orange kettle winter harbour"
PATIENT = "Journey Testpatient"
GPX = SHARED / "logs" / "gpx" / "20170319_run_906581465.gpx"
VIEWPORT = {"width": 1280, "height": 900}
UNSTICK = "nav.toc, p.actions { position: static !important; }"
"""Sticky bars (the form's section links and Save) would be painted mid-page in a whole-page capture."""


def capture_screenshot(page: Any, png: Path, tries: int = 3) -> None:
    """Whole-page screenshot; Chromium's capture occasionally answers "Unable to capture screenshot" on a busy
    machine (a compositor hiccup, not a page fault), so it is retried a few times before the step fails."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(tries):
        try:
            page.screenshot(path=png, full_page=True, style=UNSTICK)
            return
        except PlaywrightError as exc:
            if "Unable to capture screenshot" not in str(exc) or attempt == tries - 1:
                raise
            page.wait_for_timeout(500)


class Journey:
    """One browser page with the per-step screenshot checks and the console-error collector."""

    def __init__(self, page: Any, base_url: str, shots: Path, tag: str) -> None:
        self.page, self.url, self.shots, self.tag = page, base_url, shots, tag
        self.errors: list[str] = []
        self.steps: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text} ({m.location.get('url')})")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"script: {e}"))

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)

    def shot(self, name: str, *must_see: str) -> Path:
        """Screenshot of the whole page, checked: content (not blank), ``must_see`` texts rendered, no horizontal
        scrollbar at 1280 px, no console error since the previous step."""
        page = self.page
        page.wait_for_load_state("load")
        n = len(self.steps) + 1
        png = self.shots / f"{self.tag}-{n:02d}-{name}.png"
        capture_screenshot(page, png)
        self.steps.append(name)
        assert_not_blank(png)
        shown = page.locator("body").inner_text()
        for words in must_see:
            assert words in shown, f"step {name}: {words!r} not shown on {page.url}"
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"step {name}: horizontal scrollbar ({widths[0]} px > {widths[1]} px)"
        assert not self.errors, f"step {name}: {self.errors}"
        return png

    def login(self, email: str, password: str) -> None:
        page = self.page
        self.go("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button:has-text('Log in')")
        page.wait_for_load_state("load")

    def logout(self) -> None:
        self.page.click("header button:has-text('Log out')")
        self.page.wait_for_url(self.url + "/login")

    def download(self, selector: str, dest: Path) -> Path:
        with self.page.expect_download() as info:
            self.page.click(selector)
        info.value.save_as(dest)
        return dest

    def clear_flag(self, code: str) -> None:
        """Record a clinician's clearance of ``code`` in the open intake form (first clearance row)."""
        page = self.page
        page.fill("input[name='clearance.0.flags']", code)
        page.fill("input[name='clearance.0.who']", "Dr Journey")
        page.fill("input[name='clearance.0.when']", dt.date.today().isoformat())
        page.fill("input[name='clearance.0.why']", "Examined today: no fracture signs; imaging not needed")


def _rows_about(db_url: str, patient_id: int, eval_ids: list[int], name: str) -> dict[str, int]:
    """Rows left in the database that belong to or mention the patient."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            left = {"patients": conn.execute(text("SELECT count(*) FROM patients WHERE id = :p OR name = :n"),
                                             {"p": patient_id, "n": name}).scalar_one()}
            ids = ",".join(str(i) for i in eval_ids)
            left["evaluations"] = conn.execute(text(f"SELECT count(*) FROM evaluations WHERE id IN ({ids}) "
                                                    "OR patient_id = :p"), {"p": patient_id}).scalar_one()
            for table in ("uploads", "jobs"):
                left[table] = conn.execute(text(f"SELECT count(*) FROM {table} WHERE evaluation_id IN ({ids})")
                                           ).scalar_one()
            left["audit rows about the evaluations"] = conn.execute(text(
                f"SELECT count(*) FROM audit_log WHERE entity = 'evaluation' AND entity_id IN ({ids})")).scalar_one()
            left["audit rows naming the patient"] = conn.execute(text(
                "SELECT count(*) FROM audit_log WHERE detail LIKE :n"), {"n": f"%{name}%"}).scalar_one()
            deletions = conn.execute(text("SELECT detail FROM audit_log WHERE entity = 'patient' AND entity_id = :p"),
                                     {"p": patient_id}).scalars().all()
    finally:
        engine.dispose()
    assert len(deletions) == 1 and "erased" in deletions[0], deletions  # one entry, counts only
    for words in ("RF-FRACTURE", "trauma", "Dr Journey", GPX.name):
        assert words not in deletions[0]
    return left


@pytest.mark.browser
def test_clinician_journey(server_db: str | None, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert GPX.is_file(), f"shared training log missing: {GPX}"
    data_dir = tmp_path / "data"
    create_admin(data_dir, server_db, email=ADMIN, clinic="Journey Clinic", password=ADMIN_PASSWORD)
    clip = make_tiny_video(tmp_path / "clip" / "side_clip.mp4", seconds=1.0)
    server = ServerProcess(data_dir, server_db, env={"BACKTORUN_WEB_PIPELINE": FAKE_PIPELINE,
                                                     "BACKTORUN_WEB_WORKER_NICE": "0"}).start()
    tag = "journey-pg" if server_db else "journey-sqlite"  # apart from test_web_browser's shots in a shared folder
    shots = shots_dir(tmp_path)
    for old in shots.glob(f"{tag}-*.png"):
        old.unlink()
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30_000)
            j = Journey(page, server.url, shots, tag)

            # -- administrator: log in, add a clinician with a one-time password
            j.go("/patients")
            expect(page).to_have_url(server.url + "/login?next=/patients")
            j.shot("login", "Log in")
            j.login(ADMIN, ADMIN_PASSWORD)
            expect(page.locator("h1")).to_have_text("Patients")
            j.go("/users")
            page.fill("input[name=email]", CLINICIAN)
            page.select_option("select[name=role]", "clinician")
            page.click("form[action='/users'] button[type=submit]")
            one_time = page.locator("code.secret").inner_text().strip()
            assert len(one_time) >= 12
            j.shot("clinician-created", f"One-time password for {CLINICIAN}", "must choose a password")
            j.logout()

            # -- clinician: first login must replace the one-time password
            j.login(CLINICIAN, one_time)
            expect(page).to_have_url(server.url + "/account/password")
            j.shot("forced-password-change", "Change password", "Your administrator reset your password")
            page.fill("input[name=current_password]", one_time)
            page.fill("input[name=new_password]", CLINICIAN_PASSWORD)
            page.fill("input[name=confirm_password]", CLINICIAN_PASSWORD)
            page.click("main button[type=submit]")
            expect(page).to_have_url(re.compile(r"/account\?done=password$"))
            j.shot("password-changed", "Saved.")
            assert page.locator("header nav a[href='/users']").count() == 0  # a clinician, not an administrator

            # -- new patient
            j.go("/patients")
            page.fill("#new-patient input[name=name]", PATIENT)
            page.fill("#new-patient input[name=birth_year]", "1987")
            page.select_option("#new-patient select[name=sex]", "female")
            page.fill("#new-patient input[name=height_cm]", "168")
            page.click("#new-patient button[type=submit]")
            expect(page.locator("h1")).to_have_text(PATIENT)
            patient_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
            j.shot("patient", "born 1987", "no intake")
            page.fill("input[name=label]", "initial")
            page.click("#new-evaluation")
            expect(page.locator("h1")).to_contain_text("Evaluation")
            first_ev = int(page.url.split("#")[0].rsplit("/", 1)[1])

            # -- intake with a red flag: the patient list shows "refer"
            page.click("a:has-text('Fill in the intake form')")
            assert page.locator("input[name=age_years]").input_value() != ""  # prefilled from the birth year
            page.fill("input[name='pain.now']", "4")
            page.fill("input[name='pain.during_run']", "6")
            page.check("input[name='location.central_lumbar']")
            page.check("input[name='red_flags.significant_trauma']")
            j.shot("intake-form", "Intake", "Significant trauma")
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#redflags")).to_contain_text("RF-FRACTURE")
            j.shot("evaluation-red-flag", "Red-flag screen: urgent", "RF-FRACTURE")
            j.go("/patients")
            badge = page.locator("tr", has_text=PATIENT).locator(".badge")
            expect(badge).to_have_class(re.compile("rf-refer"))
            j.shot("list-refer", "refer · urgent: RF-FRACTURE")

            # -- the clinician assesses and records clearance: the badge turns to "cleared"
            j.go(f"/evaluations/{first_ev}/intake")
            j.clear_flag("RF-FRACTURE")
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#redflags")).to_contain_text("cleared by Dr Journey")
            j.go("/patients")
            expect(badge).to_have_class(re.compile("rf-cleared"))
            j.shot("list-cleared", "cleared · RF-FRACTURE by Dr Journey")

            # -- tests, training log, side video
            j.go(f"/evaluations/{first_ev}/tests")
            fill_tests(page)
            j.shot("tests-form", "Strength and flexibility tests")
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#tests")).to_contain_text("Test results recorded")
            upload_log_and_side_video(page, expect, GPX, clip)
            j.shot("uploads", GPX.name, clip.name, "Test results recorded")

            # -- analysis (fake pipeline), report page and PDF
            page.fill("#session input[name=speed_kmh]", "10")
            page.click("#session button[type=submit]")
            page.click("#start-analysis")
            expect(page.locator("#job-status")).to_have_text("done", timeout=120_000)
            expect(page.locator("#job-report")).to_be_visible()
            expect(page.locator("#start-analysis")).to_have_text("Run the analysis again")
            j.shot("analysis-done", "Open the report")
            page.click("#report-link")
            expect(page.locator("h1")).to_contain_text(f"Report: {PATIENT}")
            expect(page.frame_locator("iframe.report").locator("h1")).to_have_text("Full report")
            j.shot("report", "Running metrics", "Download PDF")
            pdf = j.download("#download-pdf", tmp_path / "report.pdf")
            assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000
            subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                            str(shots / f"{tag}-pdf-page1")], check=True, timeout=120)
            assert_not_blank(shots / f"{tag}-pdf-page1.png")

            # -- second visit: the intake starts from the first visit's answers
            j.go(f"/patients/{patient_id}")
            page.fill("input[name=label]", "6-week review")
            page.click("#new-evaluation")
            second_ev = int(page.url.split("#")[0].rsplit("/", 1)[1])
            assert second_ev != first_ev
            page.click("a:has-text('Fill in the intake form')")
            expect(page.locator("#prefill-note")).to_be_visible()
            assert page.locator("input[name='red_flags.significant_trauma']").is_checked()  # answers carry over
            assert page.locator("input[name='location.central_lumbar']").is_checked()
            assert page.locator("input[name='pain.during_run']").input_value() == ""  # scores asked again
            assert page.locator("input[name='clearance.0.flags']").input_value() == ""  # cleared again per visit
            j.shot("second-intake-prefilled", "Intake")
            page.fill("input[name='pain.now']", "1")
            page.fill("input[name='pain.during_run']", "1")
            j.clear_flag("RF-FRACTURE")
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#intake")).to_contain_text("Intake recorded")
            page.click("a:has-text('Enter test results')")
            page.fill("input[name='sorensen.hold_s']", "100")
            page.fill("input[name='single_leg_bridge.left_reps']", "14")
            page.fill("input[name='single_leg_bridge.right_reps']", "15")
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#tests")).to_contain_text("Test results recorded")

            # -- re-assessment: pain during running better, left single-leg bridge worse, Sorensen within error
            j.go(f"/patients/{patient_id}/compare")
            table = page.locator("table.compare")

            def marks(key: str) -> Any:
                return table.locator(f"tr[data-key='{key}'] td:last-child .mark")

            expect(marks("outcome:pain_during_run_nrs")).to_have_class(re.compile(r"\bbetter\b"))  # 6 → 1, MIC 2
            expect(marks("test:single_leg_bridge_left_reps")).to_have_class(re.compile(r"\bworse\b"))  # 20 → 14
            expect(marks("test:single_leg_bridge_right_reps")).to_have_count(0)  # 14 → 15, within the error
            expect(marks("test:sorensen_hold_s")).to_have_count(0)  # 95 → 100 s, MDC 49.9 s
            j.shot("re-assessment", "Re-assessment", "✓ better", "✗ worse")
            j.logout()

            # -- administrator: export, then permanent deletion
            j.login(ADMIN, ADMIN_PASSWORD)
            j.go(f"/patients/{patient_id}")
            j.shot("patient-admin", "Export everything (zip)", "cleared · RF-FRACTURE")
            zipped = j.download(f"a[href='/patients/{patient_id}/export.zip']", tmp_path / "export.zip")
            with zipfile.ZipFile(zipped) as zf:
                names = zf.namelist()
                exported = json.loads(zf.read("patient.json"))
            assert exported["patient"]["name"] == PATIENT
            assert [e["id"] for e in exported["evaluations"]] == [first_ev, second_ev]
            assert any(n.startswith(f"evaluation-{first_ev}/uploads/") and n.endswith(".gpx") for n in names)
            assert any(n.startswith(f"evaluation-{first_ev}/uploads/") and n.endswith(".mp4") for n in names)
            assert f"evaluation-{first_ev}/results/evaluation.json" in names
            stored = [Path(u["archive_path"]).name.split("-", 1)[1] for e in exported["evaluations"]
                      for u in e["uploads"]]
            page.locator("summary", has_text="Delete this patient").click()
            page.fill("input[name=confirm_name]", PATIENT)
            page.click("button:has-text('Delete permanently')")
            expect(page.locator("h1")).to_have_text("Patients")
            j.shot("deleted", "No patients yet.")
            j.go(f"/audit?patient={patient_id}")
            j.shot("audit-after-delete", "Audit")
            assert PATIENT not in page.locator("body").inner_text()
            resp = page.goto(f"{server.url}/patients/{patient_id}")
            assert resp is not None and resp.status == 404
            j.errors.clear()  # the 404 just asked for is the only console error allowed
            browser.close()
    finally:
        server.stop()

    # -- nothing of the patient remains: rows, files, bytes
    db_url = server_db or default_db_url(data_dir)
    left = _rows_about(db_url, patient_id, [first_ev, second_ev], PATIENT)
    assert not any(left.values()), left
    files = [f for f in data_dir.rglob("*") if f.is_file()]
    for ev_id in (first_ev, second_ev):
        assert not [f for f in files if f"evaluation-{ev_id}" in f.as_posix()], f"files of evaluation {ev_id} left"
    assert not [f for f in files if any(name in f.name for name in stored)], "uploaded files left"
    assert not [f for f in files if f.relative_to(data_dir).parts[0] in ("uploads", "results")], \
        "uploads or analysis results left (the patient was the clinic's only one)"
    needle = PATIENT.encode()
    holding = [f.name for f in files if needle in f.read_bytes()]
    assert not holding, f"the patient's name is still stored in {holding}"
