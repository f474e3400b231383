"""Web test fixtures: an app on a temporary data directory (SQLite, or the PostgreSQL the store tests start),
two clinics with one clinician each, and a logged-in client helper."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from backtorun.store import make_engine, repo, session_factory, upgrade
from backtorun.web import WebSettings, create_app

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
MINI_RUN = SHARED / "video" / "treadmill" / "mini_run.mp4"
FAKE_PIPELINE = "tests.web.web_fake_pipeline:run"
PASSWORD = "correct horse battery"


def make_tiny_video(path: Path, *, seconds: float = 1.0, fps: int = 30) -> Path:
    """A small valid MP4 written with PyAV (the project's decoder dependency): moving grey square."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.zeros((48, 64, 3), np.uint8)
            img[10:30, (i % 40):(i % 40) + 20] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@dataclass
class World:
    app: object
    settings: WebSettings
    emails: dict[str, str]


def seed_two_clinics(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        a = repo.get_or_create_clinic(s, "Clinic A")
        b = repo.get_or_create_clinic(s, "Clinic B")
        repo.create_user(s, email="a@clinic.test", password=PASSWORD, clinic=a, is_admin=True)
        repo.create_user(s, email="b@clinic.test", password=PASSWORD, clinic=b, is_admin=True)
    engine.dispose()
    return {"A": "a@clinic.test", "B": "b@clinic.test"}


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the new session."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/patients"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    home = client.get("/patients")
    return re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)


@pytest.fixture
def web_settings(tmp_path: Path) -> WebSettings:
    return WebSettings(data_dir=tmp_path / "data", pipeline=FAKE_PIPELINE, worker_nice=0)


@pytest.fixture
def world(web_settings: WebSettings) -> Iterator[World]:
    emails = seed_two_clinics(web_settings.resolved_database_url())
    app = create_app(web_settings)
    yield World(app=app, settings=web_settings, emails=emails)


@pytest.fixture
def tiny_video(tmp_path: Path) -> Path:
    return make_tiny_video(tmp_path / "tiny.mp4")


def git_ignored(path: Path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO).returncode == 0
