"""Bad input never gives a 500: list parameters, cursors, malformed and oversize bodies,
unknown ids, bad Authorization headers. Every error is problem details."""

from __future__ import annotations

import base64

import pytest
from serverkit import assert_problem, seed_video


@pytest.fixture(scope="module")
def world(module_server):
    """Bad requests change nothing: the module's tests share one server."""
    token = module_server.register("lister")
    video_id = seed_video(module_server, "lister", "list me #tag")
    return module_server, token, video_id


def _list_paths(video_id: str) -> list[str]:
    return [
        "/api/users/lister/videos",
        f"/api/videos/{video_id}/comments",
        "/api/feed/for-you",
        "/api/feed/trending",
        "/api/feed/following",
        "/api/notifications",
    ]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage",
    "!!!",
    "x" * 600,
    "%00",
    _b64("{}"),
    _b64("[]"),
    _b64("[1,2]"),
    _b64("null"),
    _b64("true"),
    _b64("1" + "0" * 30),  # bigger than SQLite's 64-bit integers
    _b64("-1" + "0" * 30),
    _b64("[1" + "0" * 400 + ', "x"]'),  # too big even for a float
    _b64('[true, "x"]'),
]


def test_list_limits_and_cursors(world):
    live, token, video_id = world
    headers = live.auth(token)
    for path in _list_paths(video_id):
        ok = live.client.get(path, headers=headers, params={"limit": 50})
        assert ok.status_code == 200, (path, ok.text)
        assert set(ok.json()) == {"items", "next_cursor"}
        for limit in ("0", "51", "-1", "abc", "1.5", "", "9" * 30):
            r = live.client.get(path, headers=headers, params={"limit": limit})
            assert_problem(r, (400, 422))
        for cursor in BAD_CURSORS:
            r = live.client.get(path, headers=headers, params={"cursor": cursor})
            assert r.status_code == 400, (path, cursor, r.text[:300])
            assert_problem(r, 400)


MALFORMED = [
    ("POST", "/api/auth/register", b"{not json"),
    ("POST", "/api/auth/register", b'{"handle": "abc", "password": '),
    ("POST", "/api/auth/login", b"\xff\xfe\x00garbage"),
    ("POST", "/api/auth/login", b"null"),
    ("POST", "/api/auth/login", b"[]"),
    ("POST", "/api/auth/login", b'"a string"'),
    ("POST", "/api/auth/login", b""),
    ("PATCH", "/api/me", b"{,}"),
    ("PUT", "/api/feed/weights", b"{"),
    ("POST", "/api/videos/{vid}/comments", b'{"body": '),
    ("POST", "/api/videos/{vid}/views", b"NaN"),
]


def test_malformed_json_is_4xx_problem(world):
    live, token, video_id = world
    for method, path, content in MALFORMED:
        r = live.client.request(
            method,
            path.format(vid=video_id),
            content=content,
            headers=live.auth(token) | {"Content-Type": "application/json"},
        )
        assert_problem(r, (400, 422))


def test_wrong_types_and_unknown_fields(world):
    live, token, video_id = world
    c, h = live.client, live.auth(token)
    cases = [
        ("POST", "/api/auth/register", {"handle": 123, "password": "kettle-harbor-58"}),
        ("POST", "/api/auth/register", {"handle": "newbie", "password": ["kettle-harbor-58"]}),
        (
            "POST",
            "/api/auth/register",
            {"handle": "newbie", "password": "kettle-harbor-58", "x": 1},
        ),
        ("POST", "/api/auth/login", {"handle": None, "password": "kettle-harbor-58"}),
        (
            "POST",
            "/api/auth/login",
            {"handle": "lister", "password": "kettle-harbor-58", "admin": True},
        ),
        ("PATCH", "/api/me", {"bio": 5}),
        ("PATCH", "/api/me", {"is_admin": True}),
        ("POST", f"/api/videos/{video_id}/comments", {"body": {"nested": 1}}),
        ("POST", f"/api/videos/{video_id}/comments", {"body": "hi", "parent_id": 7}),
        ("POST", f"/api/videos/{video_id}/comments", {"body": "hi", "author": "someone"}),
        ("POST", f"/api/videos/{video_id}/views", {"watch_ms": 1e30}),
        ("POST", f"/api/videos/{video_id}/views", {"watch_ms": True}),
        ("PUT", "/api/feed/weights", {"content": None, "trending": [1]}),
    ]
    for method, path, body in cases:
        r = c.request(method, path, json=body, headers=h)
        assert_problem(r, (400, 422))
    assert c.get("/api/me", headers=h).json()["is_admin"] is False


def test_oversize_json_body_is_413(world):
    live, token, video_id = world
    big = {"body": "x" * (65 * 1024)}
    r = live.client.post(f"/api/videos/{video_id}/comments", json=big, headers=live.auth(token))
    assert_problem(r, 413)
    r = live.client.post(
        "/api/auth/login", json={"handle": "lister", "password": "p" * (70 * 1024)}
    )
    assert_problem(r, 413)
    assert live.client.get(f"/api/videos/{video_id}").json()["counts"]["comments"] == 0


def test_huge_and_odd_identifiers(world):
    live, token, _ = world
    c, h = live.client, live.auth(token)
    long = "a" * 10_000
    for method, path in (
        ("GET", f"/api/users/{long}"),
        ("GET", f"/api/users/{long}/videos"),
        ("PUT", f"/api/users/{long}/follow"),
        ("GET", f"/api/videos/{long}"),
        ("PUT", f"/api/videos/{long}/like"),
        ("GET", f"/api/videos/{long}/comments"),
        ("DELETE", f"/api/comments/{long}"),
        ("GET", f"/api/videos/{long}/media/240p"),
        ("GET", "/api/videos/x/media/" + "p" * 100),
        ("GET", "/api/videos/..%2F..%2Fetc/media/240p"),
        ("GET", "/api/videos/%00/poster"),
        ("GET", "/api/users/%F0%9F%98%80"),
        ("GET", "/api/users/a%20b"),
        ("DELETE", "/api/videos/nope"),
    ):
        r = c.request(method, path, headers=h)
        assert_problem(r, (400, 404, 414, 422))
    r = c.post("/api/auth/register", json={"handle": "h" * 10_000, "password": "kettle-harbor-58"})
    assert_problem(r, 422)
    r = c.post("/api/auth/login", json={"handle": "h" * 10_000, "password": "kettle-harbor-58"})
    assert_problem(r, (401, 422))


def test_bad_authorization_headers(world):
    live, _, video_id = world
    for value in (
        "Bearer",
        "Bearer a b c",
        "bearer nope",
        "Token abc",
        "Basic dXNlcjpwYXNz",
        "x" * 8000,
        "Bearer " + "\u00e9" * 10,
    ):
        r = live.client.get("/api/me", headers={"Authorization": value.encode("utf-8")})
        assert_problem(r, 401)
        r = live.client.get(f"/api/videos/{video_id}", headers={"Authorization": value.encode()})
        assert_problem(r, 401)


def test_unknown_routes_and_methods_are_problems(world):
    c = world[0].client
    assert_problem(c.get("/api/nothing-here"), 404)
    assert_problem(c.delete("/api/feed/trending"), 405)
    assert_problem(c.post("/api/me"), 405)
