"""The clinic workflow (issue 15 item 6): edit a patient; remove an evaluation, a video or a log; red-flag and
clearance status on the patient list and page; sectioned, labelled and prefilled forms; a re-assessment that
compares tests and marks better and worse; a filtered audit log; upload progress."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from backtorun.store import repo
from backtorun.web.compare import compare_evaluations, load_better_directions, load_measurement_errors
from backtorun.web.forms import build_form, parse_form
from tests.web.conftest import PASSWORD, SHARED, login

GPX = SHARED / "logs" / "gpx" / "20170319_run_906581465.gpx"


def _patient(c: TestClient, tok: str, name: str = "Wren Workflow", **extra: str) -> int:
    r = c.post("/patients", data={"name": name, "csrf_token": tok, **extra}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def _evaluation(c: TestClient, tok: str, pid: int, label: str = "") -> int:
    r = c.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok, "label": label}, follow_redirects=False)
    return int(r.headers["location"].rsplit("/", 1)[1])


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _wait_done(c: TestClient, eid: int) -> None:
    deadline = time.monotonic() + 120
    while c.get(f"/evaluations/{eid}/status").json()["status"] != "done":
        assert time.monotonic() < deadline, "fake analysis did not finish"
        time.sleep(0.2)


def _add_clinician(world, email: str) -> None:
    with world.app.state.sessions.begin() as s:
        clinic = repo.get_or_create_clinic(s, "Clinic A")
        repo.create_user(s, email=email, password=PASSWORD, clinic=clinic, is_admin=False)


# ------------------------------------------------------------------------------------------------ edit patient


def test_patient_details_can_be_edited_and_the_change_is_audited(world) -> None:
    with TestClient(world.app) as a, TestClient(world.app) as b:
        tok = login(a, world.emails["A"])
        tok_b = login(b, world.emails["B"])
        pid = _patient(a, tok, "Wren Typo", height_cm="170")
        page = a.get(f"/patients/{pid}").text
        assert 'action="/patients/%d/edit"' % pid in page and 'value="170.0"' in page
        r = a.post(f"/patients/{pid}/edit", data={"csrf_token": tok, "name": "Wren Fixed", "height_cm": "172",
                                                  "birth_year": "1990", "sex": "female", "notes": "left-handed"},
                   follow_redirects=False)
        assert r.status_code == 303
        page = a.get(f"/patients/{pid}").text
        assert "<h1>Wren Fixed</h1>" in page and "born 1990" in page and "172 cm" in page
        r = a.post(f"/patients/{pid}/edit", data={"csrf_token": tok, "name": "Wren Fixed", "height_cm": "17"})
        assert r.status_code == 400 and "Height must be between 100 and 230 cm." in r.text
        assert "Wren Fixed" in a.get("/patients").text  # the refused edit changed nothing
        r = b.post(f"/patients/{pid}/edit", data={"csrf_token": tok_b, "name": "Hijacked"})
        assert r.status_code == 404
        audit = a.get(f"/audit?patient={pid}&action=update").text
        assert "details edited: name, birth_year, sex, height_cm, notes" in audit
        assert "left-handed" not in audit  # field names only, never the values


# ------------------------------------------------------------------------------------------------ removal


def test_a_video_and_a_log_are_removed_with_confirmation_and_their_files(world, tiny_video) -> None:
    uploads = world.settings.data_dir / "uploads"
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        eid = _evaluation(c, tok, _patient(c, tok))
        with tiny_video.open("rb") as fh:
            c.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok, "kind": "side"},
                   files={"file": ("my side.mp4", fh, "video/mp4")})
        c.post(f"/evaluations/{eid}/logs", data={"csrf_token": tok},
               files={"file": (GPX.name, GPX.read_bytes(), "application/gpx+xml")})
        assert len(_files(uploads)) == 2
        with world.app.state.sessions() as s:
            video_id, log_id = [u.id for u in sorted(repo.list_uploads(s, eid), key=lambda u: u.kind != "side")]
        page = c.get(f"/evaluations/{eid}").text
        assert f"/evaluations/{eid}/uploads/{video_id}/delete" in page
        assert f"/evaluations/{eid}/uploads/{log_id}/delete" in page
        confirm = c.get(f"/evaluations/{eid}/uploads/{video_id}/delete")
        assert confirm.status_code == 200 and "my side.mp4" in confirm.text and 'name="confirm" value="yes"' in confirm.text
        r = c.post(f"/evaluations/{eid}/uploads/{video_id}/delete", data={"csrf_token": tok})
        assert r.status_code == 400 and len(_files(uploads)) == 2  # not confirmed: nothing removed
        r = c.post(f"/evaluations/{eid}/uploads/{video_id}/delete", data={"csrf_token": tok, "confirm": "yes"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("#videos")
        assert [p.suffix for p in _files(uploads)] == [".gpx"]
        r = c.post(f"/evaluations/{eid}/uploads/{log_id}/delete", data={"csrf_token": tok, "confirm": "yes"},
                   follow_redirects=False)
        assert r.status_code == 303 and _files(uploads) == []
        page = c.get(f"/evaluations/{eid}").text
        assert "my side.mp4" not in page and GPX.name not in page
        assert c.get(f"/evaluations/{eid}/uploads/{video_id}/delete").status_code == 404
        audit = c.get("/audit").text
        assert f"removed side video #{video_id}" in audit and f"removed training log #{log_id}" in audit


def test_an_evaluation_is_removed_with_every_file_and_clinicians_cannot_remove_a_reported_one(world,
                                                                                             tiny_video) -> None:
    data = world.settings.data_dir
    _add_clinician(world, "nurse@clinic.test")
    with TestClient(world.app) as admin, TestClient(world.app) as nurse:
        tok = login(admin, world.emails["A"])
        tok_n = login(nurse, "nurse@clinic.test")
        pid = _patient(admin, tok)
        keep = _evaluation(admin, tok, pid, "keep me")
        eid = _evaluation(admin, tok, pid, "remove me")
        with tiny_video.open("rb") as fh:
            admin.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok, "kind": "side"},
                       files={"file": ("t.mp4", fh, "video/mp4")})
        admin.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        _wait_done(admin, eid)
        assert _files(data / "results" / "clinic-1" / f"evaluation-{eid}")
        # a clinician may not remove an evaluation that has a report
        page = nurse.get(f"/evaluations/{eid}/delete")
        assert page.status_code == 200 and "only a clinic administrator" in page.text
        r = nurse.post(f"/evaluations/{eid}/delete", data={"csrf_token": tok_n, "confirm": "yes"})
        assert r.status_code == 409 and admin.get(f"/evaluations/{eid}").status_code == 200
        # the administrator removes it after the confirmation page
        page = admin.get(f"/evaluations/{eid}/delete").text
        assert "t.mp4" in page and "the analysis results and report" in page
        r = admin.post(f"/evaluations/{eid}/delete", data={"csrf_token": tok, "confirm": "yes"},
                       follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/patients/{pid}"
        assert admin.get(f"/evaluations/{eid}").status_code == 404
        assert not (data / "uploads" / "clinic-1" / f"evaluation-{eid}").exists()
        assert not (data / "results" / "clinic-1" / f"evaluation-{eid}").exists()
        with world.app.state.sessions() as s:
            assert repo.list_uploads(s, eid) == []
            assert [e.id for e in repo.list_evaluations(s, 1, pid)] == [keep]
        # a clinician may remove an evaluation without a report (a draft)
        draft = _evaluation(nurse, tok_n, pid, "draft")
        r = nurse.post(f"/evaluations/{draft}/delete", data={"csrf_token": tok_n, "confirm": "yes"},
                       follow_redirects=False)
        assert r.status_code == 303
        audit = admin.get("/audit?action=delete").text
        assert f"evaluation #{eid}" in audit and f"evaluation #{draft}" in audit and "nurse@clinic.test" in audit


# ------------------------------------------------------------------------------------------------ red flags


def _intake(c: TestClient, tok: str, eid: int, **fields: str) -> None:
    r = c.post(f"/evaluations/{eid}/intake", data={"csrf_token": tok, "age_years": "41", "pain.during_run": "5",
                                                   **fields}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_red_flag_and_clearance_status_show_on_the_patient_list_and_page(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        flagged, calm, empty = _patient(c, tok, "Ada Flagged"), _patient(c, tok, "Ben Calm"), _patient(c, tok, "Cy New")
        ev_flagged = _evaluation(c, tok, flagged)
        _intake(c, tok, ev_flagged, **{"red_flags.cancer_history": "on"})
        _intake(c, tok, _evaluation(c, tok, calm))
        _evaluation(c, tok, empty)

        def row(html: str, name: str) -> str:
            return re.search(rf"<tr><td><a href=\"/patients/\d+\">{name}</a></td>(.*?)</tr>", html, re.S).group(1)

        listing = c.get("/patients").text
        assert "refer · urgent: RF-MALIGNANCY" in row(listing, "Ada Flagged")
        assert "no red flag" in row(listing, "Ben Calm")
        assert "no intake" in row(listing, "Cy New")
        page = c.get(f"/patients/{flagged}").text
        assert "refer · urgent: RF-MALIGNANCY" in page and "withholds the running plan" in page
        # a clinician records clearance in the intake: the status says who cleared which flag
        _intake(c, tok, ev_flagged, **{"red_flags.cancer_history": "on", "clearance.0.flags": "RF-MALIGNANCY",
                                       "clearance.0.who": "Dr Ray", "clearance.0.when": "2026-11-30",
                                       "clearance.0.why": "remote basal-cell carcinoma, discharged"})
        listing = c.get("/patients").text
        assert "cleared · RF-MALIGNANCY by Dr Ray on 2026-11-30" in row(listing, "Ada Flagged")
        assert "refer ·" not in row(listing, "Ada Flagged")
        page = c.get(f"/patients/{flagged}").text
        assert "cleared · RF-MALIGNANCY" in page and "withholds the running plan" not in page


# ------------------------------------------------------------------------------------------------ forms


def _names(group) -> list[str]:
    return [f.name for f in group.fields] + [n for g in group.groups for n in _names(g)]


def test_forms_are_grouped_in_sections_with_human_labels_units_and_help(world) -> None:
    from backtorun.assessment import TestResults
    from backtorun.intake import Intake

    for model in (Intake, TestResults):
        plain = build_form(model, layout=None)
        assert all(g.section for g in plain.groups) and not plain.fields  # only sections at the top
        labels = [f.label for g in plain.groups for f in _walk(g)]
        assert not [lab for lab in labels if re.search(r"\b(Ces|Ibp|Hhd|Rmdq|Odi|Iv)\b", lab)], labels
        assert len(set(_names(plain))) == len(_names(plain))  # no field twice
    intake = build_form(Intake)
    assert [g.label for g in intake.groups][:4] == ["About the runner", "Pain", "History and medication",
                                                    "Red-flag screen"]
    fields = {f.name: f for g in intake.groups for f in _walk(g)}
    assert fields["pain.during_run"].label == "Pain during running" and fields["pain.during_run"].unit == "/10"
    assert fields["red_flags.ces_symptoms_onset_days"].unit == "days"
    assert "cauda-equina" in fields["red_flags.ces_symptoms_onset_days"].help
    assert fields["height_cm"].label == "Height" and fields["height_cm"].unit == "cm"
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        eid = _evaluation(c, tok, _patient(c, tok))
        html = c.get(f"/evaluations/{eid}/intake").text
        assert "Ces symptoms onset days" not in html and "Cauda equina (RF-CES)" in html
        assert '<nav class="toc"' in html and 'href="#section-4"' in html
        html = c.get(f"/evaluations/{eid}/tests").text
        assert "Hhd 1" not in html and "Muscle group 1" in html and "T3 Biering-Sørensen" in html
        assert '<span class="unit">s</span>' in html


def _walk(group):
    yield from group.fields
    for g in group.groups:
        yield from _walk(g)


def test_every_model_field_still_has_exactly_one_input() -> None:
    """Sections only regroup: the inputs are the model's fields, one each (a lost field would lose data)."""
    from backtorun.assessment import TestResults
    from backtorun.intake import Intake
    from backtorun.web.forms import Layout

    empty = Layout(labels={}, units={}, help={}, rows={}, sections={}, suffix_units={})
    for model in (Intake, TestResults):
        assert sorted(_names(build_form(model))) == sorted(_names(build_form(model, layout=empty)))


def test_forms_are_prefilled_from_the_patient_and_the_previous_visit(world) -> None:
    today = dt.date.today()
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        pid = _patient(c, tok, "Pia Prefill", birth_year="1988", sex="female", height_cm="171")
        first = _evaluation(c, tok, pid, "initial")
        html = c.get(f"/evaluations/{first}/intake").text
        assert f'name="age_years" step="1" min="10.0" max="110.0" value="{today.year - 1988}"' in html
        assert '<option value="female" selected>' in html and 'name="height_cm"' in html and 'value="171.0"' in html
        assert "Filled in from the patient record" in html
        _intake(c, tok, first, **{"age_years": "38", "sex": "female", "weight_kg": "60",
                                   "history.previous_episodes": "3", "medications": "ibuprofen",
                                   "red_flags.cancer_history": "on", "instruments.odi_percent": "30",
                                   "instruments.psfs.0.activity": "run 5 km", "instruments.psfs.0.score": "4",
                                   "clearance.0.flags": "RF-MALIGNANCY", "clearance.0.who": "Dr Ray",
                                   "clearance.0.when": "2026-11-30", "clearance.0.why": "remote, discharged"})
        r = c.post(f"/evaluations/{first}/tests", data={
            "csrf_token": tok, "examiner": "KP", "sorensen.hold_s": "60", "hhd.0.muscle": "hip_extension",
            "hhd.0.left": "100", "hhd.0.right": "80", "hhd.0.unit": "Nm", "hhd.0.position": "prone"},
            follow_redirects=False)
        assert r.status_code == 303, r.text
        # the first visit's forms show what was saved, not a prefill
        assert "Filled in from" not in c.get(f"/evaluations/{first}/intake").text
        second = _evaluation(c, tok, pid, "6 weeks")
        html = c.get(f"/evaluations/{second}/intake").text
        assert re.search(r'id="prefill-note">Filled in from the patient record and the intake of \d{4}-\d\d-\d\d', html)
        assert 'name="history.previous_episodes" step="1" min="0.0" max="1000.0" value="3"' in html
        assert 'value="ibuprofen"' in html and 'value="run 5 km"' in html
        assert 'name="red_flags.cancer_history" checked' in html  # red-flag answers carry over (the safe side)
        assert 'name="pain.during_run" step="1" min="0.0" max="10.0" value=""' in html  # asked again
        assert 'name="instruments.odi_percent" step="any" min="0.0" max="100.0" value=""' in html
        assert "Dr Ray" not in html  # clearances are not carried over
        html = c.get(f"/evaluations/{second}/tests").text
        assert 'name="examiner" value="KP"' in html and 'value="prone"' in html
        assert 'name="hhd.0.previous_left" step="any" min="0.0" max="5000.0" value="100.0"' in html
        assert 'name="hhd.0.left" step="any" min="0.0" max="5000.0" value=""' in html
        assert 'name="sorensen.hold_s" step="any" min="0.0" max="900.0" value=""' in html
        # saving the prefilled forms as they are works: rows without measurements are left out
        form = {m.group(1): m.group(2) for m in re.finditer(r'name="([^"]+)"[^>]*value="([^"]*)"', html)}
        r = c.post(f"/evaluations/{second}/tests", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        with world.app.state.sessions() as s:
            tests = repo.get_evaluation(s, 1, second).tests
        assert not tests.get("hhd") and tests["examiner"] == "KP"  # the unmeasured row was left out


def test_a_psfs_row_without_a_score_is_left_out_and_a_scored_row_kept() -> None:
    from backtorun.intake import Intake

    data = parse_form(Intake, {"age_years": "40", "instruments.psfs.0.activity": "run 5 km",
                               "instruments.psfs.1.activity": "hills", "instruments.psfs.1.score": "6"})
    assert data["instruments"]["psfs"] == [{"activity": "hills", "score": "6"}]


# ------------------------------------------------------------------------------------------------ re-assessment


def test_the_comparison_includes_tests_and_marks_better_and_worse_distinctly() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    def rec(pain: int, sorensen: float, aslr: tuple[int, int], hhd_left: float, knee: float) -> dict:
        return {"intake": {"pain": {"during_run": pain}},
                "tests": {"sorensen": {"hold_s": sorensen}, "aslr": {"left": aslr[0], "right": aslr[1]},
                          "hhd": [{"muscle": "hip_extension", "left": hhd_left, "right": 90.0, "unit": "Nm"}]},
                "side": {"summary_detail": {"knee_flexion_ic_deg": {"mean": knee, "uncertainty": None}}}}

    table = compare_evaluations([(1, t0, "", rec(3, 60.0, (2, 2), 100.0, 20.0)),
                                 (2, t0 + dt.timedelta(days=42), "", rec(7, 120.0, (0, 0), 110.0, 30.0))])
    cells = {r.key: r.cells[1] for r in table.rows}
    errors = load_measurement_errors()
    assert cells["test:sorensen_hold_s"].error == errors["sorensen_hold_s"]
    assert cells["test:sorensen_hold_s"].verdict == "better"  # +60 s > MDC 49.9 s, higher is better
    assert cells["outcome:pain_during_run_nrs"].verdict == "worse"  # +4 points, lower is better
    assert cells["test:aslr_total"].verdict == "better"  # 4 → 0
    assert cells["test:hhd_hip_extension_left_nm"].delta == 10.0 and not cells["test:hhd_hip_extension_left_nm"].marked
    assert cells["test:hhd_hip_extension_right_nm"].delta == 0.0
    assert cells["side:knee_flexion_ic_deg"].verdict == "changed"  # no configured direction for running metrics
    assert [t for t, _ in table.sections()] == ["Patient-reported outcomes", "Strength and flexibility tests",
                                                "Running technique, side view"]
    better = load_better_directions()
    assert better["sorensen_hold_s"] == "higher" and better["pain_during_run_nrs"] == "lower"


def test_the_reassessment_page_compares_tests_without_an_analysis(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        pid = _patient(c, tok)
        for hold, pain in (("60", "6"), ("130", "2")):
            eid = _evaluation(c, tok, pid)
            _intake(c, tok, eid, **{"pain.during_run": pain})
            c.post(f"/evaluations/{eid}/tests", data={"csrf_token": tok, "sorensen.hold_s": hold})
        html = c.get(f"/patients/{pid}/compare").text
        assert "Strength and flexibility tests" in html and "T3 Biering-Sørensen hold (s)" in html
        sorensen = re.search(r'data-key="test:sorensen_hold_s">(.*?)</tr>', html, re.S).group(1)
        pain = re.search(r'data-key="outcome:pain_during_run_nrs">(.*?)</tr>', html, re.S).group(1)
        assert "✓ better" in sorensen and "✓ better" in pain and "✗ worse" not in sorensen + pain
        assert "▲▼" not in html


# ------------------------------------------------------------------------------------------------ audit log


def test_the_audit_log_filters_by_user_patient_action_and_date_without_page_views(world) -> None:
    _add_clinician(world, "nurse@clinic.test")
    with TestClient(world.app) as admin, TestClient(world.app) as nurse:
        tok = login(admin, world.emails["A"])
        tok_n = login(nurse, "nurse@clinic.test")
        p1 = _patient(admin, tok, "Audit One")
        p2 = _patient(nurse, tok_n, "Audit Two")
        e2 = _evaluation(nurse, tok_n, p2)
        nurse.get(f"/patients/{p2}")
        nurse.get(f"/evaluations/{e2}")

        def rows(query: str) -> list[tuple[str, str, str]]:
            html = admin.get("/audit" + query).text
            return re.findall(r"<tr><td>[^<]+</td><td>([^<]*)</td><td>([^<]+)</td><td>([^<]+)</td>", html)

        default = rows("")
        assert default and all(action != "view" for _, action, _ in default)
        assert ("nurse@clinic.test", "view", f"patient #{p2}") in rows("?views=1")
        assert {who for who, _, _ in rows("?user=nurse@clinic.test")} == {"nurse@clinic.test"}
        by_patient = rows(f"?patient={p2}&views=1")
        assert {rec for _, _, rec in by_patient} == {f"patient #{p2}", f"evaluation #{e2}"}
        assert all(rec != f"patient #{p1}" for _, _, rec in rows(f"?patient={p2}"))
        assert {a for _, a, _ in rows("?action=create")} == {"create"}
        today = dt.date.today()
        assert rows(f"?from={today}&to={today}") and not rows(f"?from={today + dt.timedelta(days=1)}")
        assert not rows(f"?to={today - dt.timedelta(days=1)}")
        r = admin.get("/audit?from=yesterday&patient=x")
        assert r.status_code == 200 and "must be written YYYY-MM-DD" in r.text and "patient number" in r.text


# ------------------------------------------------------------------------------------------------ upload progress


def test_uploads_show_progress_with_javascript_and_still_post_without_it(world) -> None:
    with TestClient(world.app) as c:
        tok = login(c, world.emails["A"])
        eid = _evaluation(c, tok, _patient(c, tok))
        html = c.get(f"/evaluations/{eid}").text
        form = re.search(r'<form method="post" action="/evaluations/\d+/videos"[^>]*>', html).group(0)
        assert 'enctype="multipart/form-data"' in form and "data-upload-progress" in form  # plain POST without JS
        assert '<span class="upload-progress" hidden><progress max="100"' in html
        assert ".upload-progress[hidden]" in c.get("/static/app.css").text  # the idle bar stays out of sight
        js = c.get("/static/app.js").text
        assert "XMLHttpRequest" in js and 'upload.addEventListener("progress"' in js and "form[data-upload-progress]" in js
