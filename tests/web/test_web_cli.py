"""The web app's command line: ``admin create`` (password from stdin) and ``db upgrade``; partial uploads left by
a crash are removed at startup while finished uploads stay."""

from __future__ import annotations

import os
import time

from fastapi.testclient import TestClient

from backtorun.store import make_engine, repo, session_factory
from backtorun.store.migrate import current_revision, head_revision
from backtorun.web import WebSettings, create_app
from tests.web.conftest import cli, login


def test_admin_create_and_db_upgrade(tmp_path) -> None:
    data = tmp_path / "data"
    r = cli("db", "upgrade", "--data-dir", str(data))
    assert r.returncode == 0 and head_revision() in r.stdout
    r = cli("admin", "create", "--email", "boss@clinic.test", "--clinic", "East", "--password-stdin",
            "--data-dir", str(data), input_text="short\n")
    assert r.returncode == 2 and "too short" in r.stderr and "Traceback" not in r.stderr
    r = cli("admin", "create", "--email", "Boss@Clinic.test", "--clinic", "East", "--password-stdin",
            "--data-dir", str(data), input_text="a-long-enough-password\n")
    assert r.returncode == 0, r.stderr
    r = cli("admin", "create", "--email", "boss@clinic.test", "--clinic", "East", "--password-stdin",
            "--data-dir", str(data), input_text="a-long-enough-password\n")
    assert r.returncode == 2 and "already exists" in r.stderr
    settings = WebSettings(data_dir=data)
    engine = make_engine(settings.resolved_database_url())
    assert current_revision(engine) == head_revision()
    with session_factory(engine)() as s:
        user = repo.get_user_by_email(s, "boss@clinic.test")
        assert user.is_admin and user.clinic.name == "East"
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        login(c, "boss@clinic.test", "a-long-enough-password")
        assert "Clinicians" in c.get("/patients").text


def test_stale_partial_uploads_are_removed_at_startup(tmp_path) -> None:
    settings = WebSettings(data_dir=tmp_path / "data")
    folder = settings.data_dir / "uploads" / "clinic-1" / "evaluation-1"
    folder.mkdir(parents=True)
    stale, fresh, done = folder / ".upload-old.part", folder / ".upload-new.part", folder / "side-abc.mp4"
    for p in (stale, fresh, done):
        p.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    os.utime(done, (old, old))
    with TestClient(create_app(settings)):
        pass
    assert not stale.exists() and fresh.exists() and done.exists()
