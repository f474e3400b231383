"""Web test fixtures: an app on a temporary data directory (SQLite, or the PostgreSQL the store tests start),
two clinics with one clinician each, and a logged-in client helper."""

from __future__ import annotations

import re
import time
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



def start_side_analysis(client: TestClient, tok: str, video: Path, *, patient_name: str) -> tuple[int, int]:
    """Create a patient and an evaluation, upload ``video`` as the side view and start the analysis.

    Returns (patient id, evaluation id)."""
    r = client.post("/patients", data={"name": patient_name, "csrf_token": tok}, follow_redirects=False)
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    r = client.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok}, follow_redirects=False)
    eid = int(r.headers["location"].rsplit("/", 1)[1])
    client.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok, "kind": "side"},
                files={"file": ("t.mp4", video.read_bytes(), "video/mp4")})
    client.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
    return pid, eid

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


# ----------------------------------------------------------------------------------------- a real server process

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import urllib.request  # noqa: E402

from tests.store.pg_server import free_port, pg_server  # noqa: E402,F401

CLI = ["-c", "import sys; from backtorun.cli import app; sys.argv[0] = 'backtorun'; app()"]


def cli(*args: str, input_text: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the ``backtorun`` command line in a subprocess."""
    return subprocess.run([sys.executable, *CLI, *args], input=input_text, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, cwd=REPO)


class ServerProcess:
    """``backtorun serve`` in a subprocess (its own process group, so kill -9 reaches only what it started)."""

    def __init__(self, data_dir: Path, db_url: str | None, port: int | None = None,
                 env: dict | None = None) -> None:
        self.data_dir = data_dir
        self.db_url = db_url
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> "ServerProcess":
        args = [sys.executable, *CLI, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.db_url:
            args += ["--db", self.db_url]
        self._log_fh = self.log.open("ab")
        self.proc = subprocess.Popen(args, stdout=self._log_fh, stderr=subprocess.STDOUT, env=self.env, cwd=REPO,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"server did not start: {self.log.read_text(errors='replace')[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the server process only (its analysis workers must notice and stop by themselves)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if getattr(self, "_log_fh", None):
            self._log_fh.close()




@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (SQLite in the data directory) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_server").create_database()
