"""The audit's access checks replayed in the security module: anonymous and cross-clinic requests to every route
(enumerated from the app, so a new route is covered automatically), and a forged request without the CSRF token to
every state-changing route."""

from __future__ import annotations

from tests.web.test_web_routes_auth import (  # noqa: F401  (fixture and the route-enumerating checks, re-run here)
    PUBLIC,
    _fill,
    _routes,
    setup,
    test_every_route_but_login_refuses_anonymous_requests,
    test_every_route_refuses_another_clinics_user,
)


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(world, setup) -> None:  # noqa: F811
    """A logged-in clinician's browser tricked into posting (no token, or another session's token): refused, nothing
    changed — the patient list and the evaluation page read the same afterwards."""
    a, ids = setup["a"], setup["ids"]
    posts = [(m, p) for m, p in _routes(world.app) if m in {"POST", "PUT", "PATCH", "DELETE"} and (m, p) not in PUBLIC]
    assert len(posts) >= 10, posts  # the enumeration found the app's forms
    before = (a.get("/patients").text, a.get(f"/evaluations/{ids['evaluation_id']}").status_code)
    wrong = []
    for method, path in posts:
        url = _fill(path, ids)
        for data in ({}, {"csrf_token": setup["tok_b"]}):  # missing, and a valid token of another session
            # the streaming upload routes read multipart bodies only: the forged request carries a file part
            files = {"file": ("forged.mp4", b"\0" * 64, "video/mp4")} if path.endswith(("/videos", "/logs")) else None
            r = a.request(method, url, data={**data, "kind": "side"} if files else data, files=files,
                          follow_redirects=False)
            # 403: the token check; 401: the second-factor step, which needs its own signed login cookie first
            if r.status_code not in (401, 403):
                wrong.append(f"{method} {url} with {sorted(data)}: {r.status_code}")
    assert not wrong, wrong
    assert (a.get("/patients").text, a.get(f"/evaluations/{ids['evaluation_id']}").status_code) == before
