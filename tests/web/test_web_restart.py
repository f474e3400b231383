"""Kill -9 the server during an analysis and start it again: the job resumes (or, with no attempts left, fails
with a reason) and the uploaded video is intact. Runs the real analysis of a shared treadmill video."""

from __future__ import annotations

import hashlib
import re
import time

import httpx
import psutil
import pytest

from tests.web.conftest import MINI_RUN, ServerProcess, cli

EMAIL, PASSWORD = "admin@restart.test", "restart-test-password"


def _login(client: httpx.Client) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/patients").text).group(1)


def _status(client: httpx.Client, eid: int) -> dict:
    return client.get(f"/evaluations/{eid}/status").json()


def _wait_for(client: httpx.Client, eid: int, predicate, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        st = _status(client, eid)
        if predicate(st):
            return st
        assert time.monotonic() < deadline, f"timed out; last status {st}"
        time.sleep(0.3)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["resumes", pytest.param("fails", marks=pytest.mark.postgres)])
def test_kill_during_analysis_then_restart(outcome: str, tmp_path, request) -> None:
    db_url = None if outcome == "resumes" else request.getfixturevalue("pg_server").create_database()
    data_dir = tmp_path / "data"
    db_args = ["--db", db_url] if db_url else []
    r = cli("admin", "create", "--email", EMAIL, "--clinic", "Restart Clinic", "--password-stdin",
            "--data-dir", str(data_dir), *db_args, input_text=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    server = ServerProcess(data_dir, db_url).start()
    try:
        client = httpx.Client(base_url=server.url, timeout=30, headers={"Accept": "application/json"})
        tok = _login(client)
        r = client.post("/patients", data={"name": "Kill Test", "csrf_token": tok})
        pid = int(r.headers["location"].rsplit("/", 1)[1])
        r = client.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok})
        eid = int(r.headers["location"].rsplit("/", 1)[1])
        with MINI_RUN.open("rb") as fh:
            r = client.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok, "kind": "side"},
                            files={"file": ("mini_run.mp4", fh, "video/mp4")})
        assert r.status_code == 303, r.text
        stored = [p for p in (data_dir / "uploads").rglob("side-*.mp4")]
        assert len(stored) == 1 and _sha256(stored[0]) == _sha256(MINI_RUN)
        client.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        st = _wait_for(client, eid, lambda s: s["status"] == "running" and s["progress"] > 0.0, 120)
        assert st["attempts"] == 1
        workers = psutil.Process(server.proc.pid).children(recursive=True)
        assert workers, "the analysis should run in a worker process"

        server.kill9()
        gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"analysis workers outlived the killed server: {alive}"
        assert _sha256(stored[0]) == _sha256(MINI_RUN)  # the upload is intact

        env = {"BACKTORUN_WEB_JOB_MAX_ATTEMPTS": "1"} if outcome == "fails" else {}
        server = ServerProcess(data_dir, db_url, port=server.port, env=env).start()
        # the session survives the restart (it is in the database)
        if outcome == "resumes":
            st = _wait_for(client, eid, lambda s: s["status"] in ("done", "failed"), 400)
            assert st["status"] == "done", st
            assert st["attempts"] == 2
            assert client.get(f"/evaluations/{eid}/report.pdf").content.startswith(b"%PDF")
        else:
            st = _wait_for(client, eid, lambda s: s["status"] != "running", 30)
            assert st["status"] == "failed" and "server stopped during the analysis" in st["error"]
            assert "videos are kept" in st["error"]
            page = client.get(f"/evaluations/{eid}", headers={"Accept": "text/html"}).text
            assert "mini_run.mp4" in page and "Start analysis" in page
        assert _sha256(stored[0]) == _sha256(MINI_RUN)
    finally:
        server.stop()
