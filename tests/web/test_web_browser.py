"""The whole evaluation in a real browser (Debian's Chromium through Playwright) against ``backtorun serve``:
log in, create a patient, fill in the intake and the tests, upload a training log and a shared treadmill video,
watch the progress, read the report, download the PDF — on SQLite and on PostgreSQL. Screenshots are checked for content (not blank)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.web.browser_kit import (assert_not_blank, create_admin, fill_tests, launch_chromium, shots_dir,
                                   upload_log_and_side_video)
from tests.web.conftest import MINI_RUN, SHARED, ServerProcess

ADMIN = "admin@north.test"
GPX = SHARED / "logs" / "gpx" / "20170319_run_906581465.gpx"
ADMIN_PASSWORD = "browser-test-password"


@pytest.mark.browser
@pytest.mark.slow
def test_whole_evaluation_in_the_browser(server_db, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert MINI_RUN.is_file(), f"shared video missing: {MINI_RUN}"
    data_dir = tmp_path / "data"
    create_admin(data_dir, server_db, email=ADMIN, clinic="North Clinic", password=ADMIN_PASSWORD)
    server = ServerProcess(data_dir, server_db).start()
    shots = shots_dir(tmp_path)
    tag = "pg" if server_db else "sqlite"
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.set_default_timeout(30_000)
            page.goto(server.url + "/patients")
            expect(page).to_have_url(server.url + "/login?next=/patients")
            page.fill("input[name=email]", ADMIN)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button:has-text('Log in')")
            expect(page.locator("h1")).to_have_text("Patients")
            page.screenshot(path=shots / f"{tag}-1-patients.png")

            page.fill("#new-patient input[name=name]", "Mia Treadmill")
            page.fill("#new-patient input[name=height_cm]", "168")
            page.click("#new-patient button[type=submit]")
            expect(page.locator("h1")).to_have_text("Mia Treadmill")
            page.fill("input[name=label]", "initial")
            page.click("#new-evaluation")
            expect(page.locator("h1")).to_contain_text("Evaluation")

            page.click("a:has-text('Fill in the intake form')")
            page.fill("input[name=age_years]", "38")
            page.fill("input[name='pain.during_run']", "5")
            page.check("input[name='location.central_lumbar']")
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#intake")).to_contain_text("Red-flag screen: none")

            page.click("a:has-text('Enter test results')")
            fill_tests(page)
            page.click("form.schema-form button[type=submit]")
            expect(page.locator("#tests")).to_contain_text("Test results recorded")

            upload_log_and_side_video(page, expect, GPX, MINI_RUN)

            page.click("#start-analysis")
            expect(page.locator("#job-status")).to_have_text("running", timeout=120_000)
            expect(page.locator("#job-progress")).to_be_visible()
            page.screenshot(path=shots / f"{tag}-2-progress.png", full_page=True)
            seen = set()
            for _ in range(900):  # watch the bar move (polling, no reload)
                status = page.locator("#job-status").inner_text()
                seen.add(page.locator("#job-progress").get_attribute("value") or "")
                if status in ("done", "failed"):
                    break
                page.wait_for_timeout(500)
            assert page.locator("#job-status").inner_text() == "done", page.locator("#job-error").inner_text()
            assert len(seen) >= 2, f"progress never changed: {seen}"

            page.click("#report-link")
            expect(page.locator("h1")).to_contain_text("Report: Mia Treadmill")
            expect(page.locator("#summary")).to_contain_text("Running metrics")
            assert page.locator("table.metrics tbody tr").count() >= 3
            frame = page.frame_locator("iframe.report")
            expect(frame.locator("body")).not_to_be_empty()
            page.screenshot(path=shots / f"{tag}-3-report.png", full_page=True)

            with page.expect_download() as dl_info:
                page.click("#download-pdf")
            pdf = tmp_path / "report.pdf"
            dl_info.value.save_as(pdf)
            browser.close()
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000
        if shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(shots / f"{tag}-4-pdf")],
                           check=True, timeout=120)
        for png in sorted(shots.glob(f"{tag}-*.png")):
            assert_not_blank(png)
        assert len(list(shots.glob(f"{tag}-*.png"))) == 4
    finally:
        server.stop()
