"""Web app latency under load: N concurrent clinicians browse and upload while one real analysis runs.

    .venv/bin/python benchmarks/web_load.py                  # 20 users, 30 requests each, at most 90 s
    .venv/bin/python benchmarks/web_load.py --users 40 --requests 50 --db postgresql://user@host:port/db

Starts ``backtorun serve`` (uvicorn) on 127.0.0.1 with a fresh data directory, creates one clinic with N
clinicians (logins are timed separately: Argon2 is deliberately slow), uploads the shared treadmill video and
starts its analysis, waits until it is running, then lets every user loop over: patient list, patient page,
evaluation page, status poll, report page of an analysed evaluation, and (every 5th step) a small video upload
(a clip generated with PyAV, content-checked by the server like any upload). Each user stops after
``--requests`` requests or when ``--max-seconds`` have passed; between requests a user pauses ``--think-ms``
(±50 %). The machine's load average is printed: other processes on the machine change the result. Prints p50/p95/p99 latency per request kind and
overall, the error count, and whether the analysis was running throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "data" / "video" / "treadmill" / "mini_run.mp4"
PASSWORD = "load-test-password"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    p.add_argument("--requests", type=int, default=30, help="requests per user (default 30)")
    p.add_argument("--max-seconds", type=float, default=90.0, help="stop after this long (default 90)")
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video analysed during the load")
    p.add_argument("--db", default=None, help="database URL (default: SQLite in a temporary data directory)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--think-ms", type=float, default=1000.0,
                   help="mean pause between a user's requests, jittered ±50 %% (default 1000, a brisk clinician)")
    return p.parse_args(argv)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tiny_video(path: Path) -> bytes:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(15):
            img = np.zeros((48, 64, 3), np.uint8)
            img[10:30, i:i + 20] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


def _seed(data_dir: Path, db: str | None, users: int) -> list[str]:
    from backtorun.store import make_engine, repo, session_factory, upgrade
    from backtorun.web.settings import WebSettings

    settings = WebSettings(data_dir=data_dir, database_url=db)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    emails = [f"user{i}@load.test" for i in range(users)]
    with session_factory(engine).begin() as s:
        clinic = repo.get_or_create_clinic(s, "Load Clinic")
        for i, email in enumerate(emails):
            repo.create_user(s, email=email, password=PASSWORD, clinic=clinic, is_admin=(i == 0))
    engine.dispose()
    return emails


@dataclass
class Stats:
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, ms: float) -> None:
        self.samples.setdefault(kind, []).append(ms)


async def _timed(stats: Stats, kind: str, coro, ok=(200, 303)) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        r = await coro
    except httpx.HTTPError as exc:
        stats.errors.append(f"{kind}: {exc.__class__.__name__}")
        return None
    stats.add(kind, (time.perf_counter() - t0) * 1000)
    if r.status_code not in ok:
        stats.errors.append(f"{kind}: HTTP {r.status_code}")
    return r


async def _login(client: httpx.AsyncClient, email: str, stats: Stats) -> str:
    page = await client.get("/login")
    token = TOKEN_RE.search(page.text).group(1)
    await _timed(stats, "login", client.post("/login", data={"email": email, "password": PASSWORD,
                                                             "csrf_token": token}))
    return TOKEN_RE.search((await client.get("/patients")).text).group(1)


async def _user(i: int, base: str, email: str, ids: dict, clip: bytes, args, stats: Stats, t_end: float) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Accept": "text/html"}) as c:
        tok = await _login(c, email, Stats())
        r = await c.post("/patients", data={"name": f"Load patient {i}", "csrf_token": tok})
        pid = int(r.headers["location"].rsplit("/", 1)[1])
        r = await c.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok})
        eid = int(r.headers["location"].rsplit("/", 1)[1])
        steps = [
            ("page", lambda: c.get("/patients")),
            ("page", lambda: c.get(f"/patients/{pid}")),
            ("page", lambda: c.get(f"/evaluations/{ids['evaluation_id']}")),
            ("api", lambda: c.get(f"/evaluations/{ids['evaluation_id']}/status", headers={"Accept": "application/json"})),
            ("upload", lambda: c.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok, "kind": "side"},
                                      files={"file": ("clip.mp4", clip, "video/mp4")})),
            ("page", lambda: c.get(f"/evaluations/{eid}")),
            ("page", lambda: c.get(f"/patients/{ids['patient_id']}")),
        ]
        for n in range(args.requests):
            if time.monotonic() > t_end:
                break
            kind, make = steps[(n + i) % len(steps)]
            await _timed(stats, kind, make())
            await asyncio.sleep(args.think_ms / 1000 * (0.5 + ((n * 7 + i) % 10) / 10))


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))]


async def _run(args, base: str) -> int:
    stats = Stats()
    emails = args.emails
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Accept": "text/html"}) as admin:
        tok = await _login(admin, emails[0], Stats())
        r = await admin.post("/patients", data={"name": "Analysed runner", "csrf_token": tok})
        pid = int(r.headers["location"].rsplit("/", 1)[1])
        r = await admin.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok})
        eid = int(r.headers["location"].rsplit("/", 1)[1])
        r = await admin.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok, "kind": "side"},
                             files={"file": (args.video.name, args.video.read_bytes(), "video/mp4")})
        assert r.status_code == 303, r.text[:500]
        await admin.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
        status = lambda: admin.get(f"/evaluations/{eid}/status", headers={"Accept": "application/json"})  # noqa: E731
        t0 = time.monotonic()
        while (await status()).json()["status"] != "running":
            if time.monotonic() - t0 > 120:
                print("the analysis did not start", file=sys.stderr)
                return 2
            await asyncio.sleep(0.2)
        ids = {"patient_id": pid, "evaluation_id": eid}
        clip = _tiny_video(Path(args.tmp) / "clip.mp4")
        load_before = os.getloadavg()[0]
        t_start = time.monotonic()
        t_end = t_start + args.max_seconds
        busy = {"restarts": 0, "idle_polls": 0, "polls": 0, "stop": False, "done": 0, "failed": 0}

        async def keep_analysing() -> None:
            """Start the analysis again whenever it finishes, so one is always running during the load."""
            while not busy["stop"]:
                st = (await status()).json()
                busy["polls"] += 1
                if st["status"] in ("done", "failed"):
                    busy[st["status"]] += 1
                    busy["idle_polls"] += 1
                    busy["restarts"] += 1
                    await admin.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok})
                await asyncio.sleep(0.5)

        keeper = asyncio.create_task(keep_analysing())
        await asyncio.gather(*(_user(i, base, emails[i], ids, clip, args, stats, t_end)
                               for i in range(args.users)))
        elapsed = time.monotonic() - t_start
        busy["stop"] = True
        await keeper
        end_status = (await status()).json()
    all_ms = [v for vs in stats.samples.values() for v in vs]
    page_ms = stats.samples.get("page", []) + stats.samples.get("api", [])
    print(f"users={args.users} requests={len(all_ms)} wall={elapsed:.1f}s errors={len(stats.errors)} "
          f"think={args.think_ms:.0f}ms cpus={os.cpu_count()} db={'postgresql' if args.db else 'sqlite'} "
          f"loadavg(1 min) before={load_before:.1f} after={os.getloadavg()[0]:.1f}")
    print(f"analysis during the load: finished {busy['done']} time(s), failed {busy['failed']} time(s), restarted "
          f"each time; found idle in "
          f"{busy['idle_polls']} of {busy['polls']} status polls; at end: {end_status['status']} "
          f"({end_status['progress'] * 100:.0f} %, {end_status['stage']})")
    print(f"{'kind':8s} {'n':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for kind in ("page", "api", "upload"):
        vs = stats.samples.get(kind, [])
        if vs:
            print(f"{kind:8s} {len(vs):5d} {statistics.median(vs):8.1f} {_pct(vs, 95):8.1f} {_pct(vs, 99):8.1f} "
                  f"{max(vs):8.1f}")
    print(f"{'pages+api':8s} {len(page_ms):5d} {statistics.median(page_ms):8.1f} {_pct(page_ms, 95):8.1f} "
          f"{_pct(page_ms, 99):8.1f} {max(page_ms):8.1f}")
    print(f"{'all':8s} {len(all_ms):5d} {statistics.median(all_ms):8.1f} {_pct(all_ms, 95):8.1f} "
          f"{_pct(all_ms, 99):8.1f} {max(all_ms):8.1f}")
    verdict = "PASS" if _pct(page_ms, 95) < 200 else "FAIL"
    print(f"target p95 < 200 ms for pages with one analysis running: {verdict}")
    for e in sorted(set(stats.errors))[:10]:
        print(f"error: {e} (x{stats.errors.count(e)})")
    return 0 if not stats.errors else 1


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="btr-webload-") as tmp:
        args.tmp = tmp
        data_dir = Path(tmp) / "data"
        args.emails = _seed(data_dir, args.db, args.users)
        port = args.port or _free_port()
        cmd = [sys.executable, "-c", "import sys; from backtorun.cli import app; sys.argv[0]='backtorun'; app()",
               "serve", "--port", str(port), "--data-dir", str(data_dir)] + (["--db", args.db] if args.db else [])
        log = open(Path(tmp) / "server.log", "wb")
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/login", timeout=2)
                    break
                except OSError:
                    time.sleep(0.3)
            return asyncio.run(_run(args, base))
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    sys.exit(main())
