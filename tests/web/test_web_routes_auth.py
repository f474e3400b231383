"""Every page and API except login refuses an unauthenticated request and a user of another clinic.

The routes are enumerated from ``app.routes`` so that a new route is covered automatically; a route with a path
parameter this test does not know makes it fail (add the parameter to ``_fill``).
"""

from __future__ import annotations

import re
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from backtorun.store import repo
from tests.web.conftest import login

PUBLIC = {("GET", "/login"), ("POST", "/login")}
PATIENT_NAME = "Zelda Isolation-Check"


def _fill(path: str, ids: dict[str, int]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1).split(":")[0]
        if name == "file_path":
            return "evaluation.json"
        if name not in ids:
            raise AssertionError(f"route {path} has a path parameter {name!r} this test does not know")
        return str(ids[name])

    return re.sub(r"{([^}]+)}", sub, path)


@pytest.fixture
def setup(world, tiny_video):
    """Clinic A with a patient, an analysed evaluation (fake pipeline) and an upload; clients for A, B, nobody."""
    with TestClient(world.app) as a, TestClient(world.app) as b, TestClient(world.app) as anon:
        tok_a = login(a, world.emails["A"])
        tok_b = login(b, world.emails["B"])
        r = a.post("/patients", data={"name": PATIENT_NAME, "csrf_token": tok_a}, follow_redirects=False)
        pid = int(r.headers["location"].rsplit("/", 1)[1])
        r = a.post(f"/patients/{pid}/evaluations", data={"csrf_token": tok_a}, follow_redirects=False)
        eid = int(r.headers["location"].rsplit("/", 1)[1])
        with tiny_video.open("rb") as fh:
            r = a.post(f"/evaluations/{eid}/videos", data={"csrf_token": tok_a, "kind": "side"},
                       files={"file": ("tiny.mp4", fh, "video/mp4")}, follow_redirects=False)
        assert r.status_code == 303, r.text
        a.post(f"/evaluations/{eid}/analyze", data={"csrf_token": tok_a}, follow_redirects=False)
        deadline = time.monotonic() + 120
        while a.get(f"/evaluations/{eid}/status").json()["status"] != "done":
            assert time.monotonic() < deadline, "fake analysis did not finish"
            time.sleep(0.2)
        with world.app.state.sessions() as s:  # clinic A's administrator (account routes take a user id)
            uid = repo.get_user_by_email(s, world.emails["A"]).id
            upload_id = repo.list_uploads(s, eid)[0].id
        yield {"a": a, "b": b, "anon": anon, "tok_a": tok_a, "tok_b": tok_b,
               "ids": {"patient_id": pid, "evaluation_id": eid, "user_id": uid, "upload_id": upload_id}}


def _flatten(routes, prefix: str = ""):
    """Routes of the app, descending into included routers (FastAPI wraps them in recent versions)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from _flatten(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        else:
            yield prefix, route


def _routes(app) -> list[tuple[str, str]]:
    out = []
    for prefix, route in _flatten(app.routes):
        assert prefix == "", "routers are included without a prefix"
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, APIRoute), f"unexpected route type {route!r}"
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, route.path))
    return out


def test_route_list_is_what_we_expect(world) -> None:
    routes = _routes(world.app)
    paths = {p for _, p in routes}
    assert len(routes) >= 25
    for needed in ("/patients/{patient_id}", "/evaluations/{evaluation_id}/videos", "/evaluations/{evaluation_id}/report.pdf",
                   "/patients/{patient_id}/export.zip", "/evaluations/{evaluation_id}/status", "/audit"):
        assert needed in paths


def test_every_route_but_login_refuses_anonymous_requests(world, setup) -> None:
    anon = setup["anon"]
    checked = 0
    for method, path in _routes(world.app):
        if (method, path) in PUBLIC:
            continue
        url = _fill(path, setup["ids"])
        for accept in ("text/html", "application/json"):
            r = anon.request(method, url, headers={"Accept": accept}, data={"csrf_token": setup["tok_a"]},
                             follow_redirects=False)
            if r.status_code == 303:
                assert method == "GET" and r.headers["location"].startswith("/login"), (method, url)
            else:
                assert r.status_code == 401, (method, url, r.status_code)
            assert PATIENT_NAME not in r.text
            checked += 1
    assert checked >= 40


def test_every_route_refuses_another_clinics_user(world, setup) -> None:
    a, b, ids = setup["a"], setup["b"], setup["ids"]
    with_params = [(m, p) for m, p in _routes(world.app) if "{" in p]
    assert len(with_params) >= 15
    for method, path in with_params:
        url = _fill(path, ids)
        r = b.request(method, url, data={"csrf_token": setup["tok_b"], "confirm_name": PATIENT_NAME,
                                         "name": "x", "label": "x"},
                      files={"file": ("x.mp4", b"\x00" * 10, "video/mp4")} if url.endswith(("/videos", "/logs")) else None,
                      headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code in (403, 404), (method, url, r.status_code)
        assert PATIENT_NAME not in r.text
    # the same URLs work for clinic A (so the refusals above are not just bad ids)
    for method, path in with_params:
        if method == "GET":
            r = a.get(_fill(path, ids), follow_redirects=False)
            assert r.status_code in (200, 303), (path, r.status_code)
    # pages without ids show B only B's records
    for method, path in _routes(world.app):
        if method == "GET" and "{" not in path and (method, path) not in PUBLIC:
            r = b.get(path, follow_redirects=True)
            assert r.status_code == 200, path
            assert PATIENT_NAME not in r.text
    assert a.get(f"/patients/{ids['patient_id']}").status_code == 200  # not deleted by B's attempts
