"""Who may do what: the authz matrix of every state-changing endpoint, opaque ids, secrets at rest,
login rate limit, logout and deleted users."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from reliakit import PASSWORD, connect, counter_mismatches, seed_video

from shortstack.server.config import Config
from shortstack.server.embedded import EmbeddedServer
from shortstack.server.store.db import Database
from shortstack.server.store.users import delete_user

ROLES = ("anonymous", "other", "owner", "admin")
_worlds = itertools.count(1)


def make_admin(live, handle: str) -> None:
    """`shortstack admin add HANDLE --data DIR`, as an operator would."""
    out = subprocess.run(
        [sys.executable, "-m", "shortstack", "admin", "add", handle, "--data", str(live.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def authz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One server for the matrix tests (each test makes its own users and videos)."""
    config = msgspec.convert(
        {
            "server": {"log_requests": False},
            "limits": {"api_rate_per_minute": 100_000, "login_rate_per_minute": 100_000},
        },
        Config,
    )
    server = EmbeddedServer(config, tmp_path_factory.mktemp("authz") / "data").start()
    try:
        yield server
    finally:
        server.stop()


class Live:
    """The few LiveServer conveniences the matrix needs, over the module's server."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.url = server.url
        self.data_dir = server.data_dir
        self.db_path = server.data_dir / "shortstack.db"
        self.client = httpx.Client(base_url=server.url, timeout=30)

    def register(self, handle: str) -> str:
        r = self.client.post("/api/auth/register", json={"handle": handle, "password": PASSWORD})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(authz_server: EmbeddedServer, real_media) -> Iterator[dict]:
    """owner (with three ready videos, real media files), other and admin: fresh handles for
    every test."""
    live = Live(authz_server)
    n = next(_worlds)
    handles = {role: f"{role}_{n}" for role in ("owner", "other", "admin")}
    tokens = {role: live.register(handle) for role, handle in handles.items()}
    make_admin(live, handles["admin"])
    videos = [
        seed_video(live.db_path, handles["owner"], f"owned {i}", media=real_media.default)
        for i in range(3)
    ]
    try:
        yield {"live": live, "tokens": tokens, "handles": handles, "videos": videos, "n": n}
    finally:
        live.client.close()


def call(world: dict, role: str, method: str, path: str, **kwargs):
    live = world["live"]
    headers = kwargs.pop("headers", {})
    if role != "anonymous":
        headers = {**headers, **live.auth(world["tokens"][role])}
    return live.client.request(method, path, headers=headers, **kwargs)


def comment(world: dict, role: str, video: str, body: str = "a comment") -> str:
    r = call(world, role, "POST", f"/api/videos/{video}/comments", json={"body": body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# (method, path template, body, {role: expected status}); {v} = owner's video, {h} = owner's handle
SIMPLE_MATRIX = [
    (
        "PUT",
        "/api/videos/{v}/like",
        None,
        {"anonymous": 401, "other": 200, "owner": 200, "admin": 200},
    ),
    (
        "DELETE",
        "/api/videos/{v}/like",
        None,
        {"anonymous": 401, "other": 200, "owner": 200, "admin": 200},
    ),
    (
        "POST",
        "/api/videos/{v}/comments",
        {"body": "hi"},
        {"anonymous": 401, "other": 201, "owner": 201, "admin": 201},
    ),
    (
        "POST",
        "/api/videos/{v}/views",
        {"watch_ms": 1500},
        {"anonymous": 204, "other": 204, "owner": 204, "admin": 204},
    ),
    (
        "POST",
        "/api/videos/{v}/share",
        None,
        {"anonymous": 200, "other": 200, "owner": 200, "admin": 200},
    ),
    (
        "POST",
        "/api/videos/{v}/not-interested",
        None,
        {"anonymous": 401, "other": 204, "owner": 204, "admin": 204},
    ),
    (
        "PUT",
        "/api/users/{h}/follow",
        None,
        {"anonymous": 401, "other": 204, "owner": 422, "admin": 204},
    ),
    (
        "DELETE",
        "/api/users/{h}/follow",
        None,
        {"anonymous": 401, "other": 204, "owner": 422, "admin": 204},
    ),
    (
        "PATCH",
        "/api/me",
        {"bio": "mine"},
        {"anonymous": 401, "other": 200, "owner": 200, "admin": 200},
    ),
    (
        "PUT",
        "/api/feed/weights",
        {"content": 0.5},
        {"anonymous": 401, "other": 200, "owner": 200, "admin": 200},
    ),
    ("POST", "/api/videos", None, {"anonymous": 401}),
    ("POST", "/api/auth/logout", None, {"anonymous": 401}),
]


def test_authz_matrix_simple(world: dict) -> None:
    failures = []
    for method, template, body, expected in SIMPLE_MATRIX:
        path = template.format(v=world["videos"][0], h=world["handles"]["owner"])
        for role, want in expected.items():
            kwargs = {"json": body} if body is not None else {}
            r = call(world, role, method, path, **kwargs)
            if r.status_code != want:
                failures.append(
                    f"{role:9} {method} {template}: {r.status_code} (want {want}) {r.text[:120]}"
                )
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
    assert not failures, "\n".join(failures)
    assert counter_mismatches(world["live"].db_path) == []


def test_media_is_public_for_every_role(world: dict) -> None:
    """A ready video's files (rendition, Range, poster, HLS) answer everyone, for real."""
    video = world["live"].client.get(f"/api/videos/{world['videos'][0]}").json()
    rendition = video["renditions"][0]
    for role in ROLES:
        r = call(world, role, "GET", rendition["url"])
        assert r.status_code == 200 and len(r.content) == rendition["bytes"], role
        assert r.content[4:8] == b"ftyp"
        r = call(world, role, "GET", rendition["url"], headers={"Range": "bytes=0-99"})
        assert r.status_code == 206 and len(r.content) == 100, role
        r = call(world, role, "GET", video["poster_url"])
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8", role
        r = call(world, role, "GET", f"/api/videos/{video['id']}/hls/master.m3u8")
        assert r.status_code == 200 and r.text.startswith("#EXTM3U"), role


def test_authz_matrix_delete_video(world: dict) -> None:
    live, (first, second, third) = world["live"], world["videos"]
    for vid in (first, second):
        assert (live.data_dir / "media" / vid[:2] / vid / "poster.jpg").exists()
    assert call(world, "anonymous", "DELETE", f"/api/videos/{first}").status_code == 401
    assert call(world, "other", "DELETE", f"/api/videos/{first}").status_code == 403
    assert live.client.get(f"/api/videos/{first}").status_code == 200
    assert call(world, "owner", "DELETE", f"/api/videos/{first}").status_code == 204
    assert call(world, "admin", "DELETE", f"/api/videos/{second}").status_code == 204
    for vid in (first, second):
        assert live.client.get(f"/api/videos/{vid}").status_code == 404
        assert live.client.get(f"/api/videos/{vid}/poster").status_code == 404
        assert not (live.data_dir / "media" / vid[:2] / vid).exists()
    assert live.client.get(f"/api/videos/{third}").status_code == 200
    assert live.client.get(f"/api/videos/{third}/poster").status_code == 200
    assert counter_mismatches(live.db_path) == []


def test_authz_matrix_delete_comment(world: dict) -> None:
    video = world["videos"][0]
    by_other = [comment(world, "other", video) for _ in range(4)]
    assert call(world, "anonymous", "DELETE", f"/api/comments/{by_other[0]}").status_code == 401
    by_owner = comment(world, "owner", video)
    # other may not delete the video owner's comment; the owner and admin may delete other's
    assert call(world, "other", "DELETE", f"/api/comments/{by_owner}").status_code == 403
    assert call(world, "admin", "DELETE", f"/api/comments/{by_other[0]}").status_code == 204
    assert call(world, "owner", "DELETE", f"/api/comments/{by_other[1]}").status_code == 204
    assert call(world, "other", "DELETE", f"/api/comments/{by_other[2]}").status_code == 204
    # a third user on someone else's video, deleting someone else's comment: 403
    world["tokens"]["third"] = world["live"].register(f"third_{world['n']}")
    assert call(world, "third", "DELETE", f"/api/comments/{by_other[3]}").status_code == 403
    remaining = {
        c["id"] for c in world["live"].client.get(f"/api/videos/{video}/comments").json()["items"]
    }
    assert remaining == {by_owner, by_other[3]}
    assert counter_mismatches(world["live"].db_path) == []


def test_ids_are_opaque_and_random(world: dict) -> None:
    live = world["live"]
    video = world["videos"][0]
    ids = list(world["videos"]) + [comment(world, "other", video, f"c{i}") for i in range(30)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert re.fullmatch(r"[A-Za-z0-9]{11}", value), value
        assert not value.isdigit()
    # no two consecutive ids share a long common prefix (not a counter or a timestamp)
    common = [len(os.path.commonprefix([a, b])) for a, b in zip(ids, ids[1:], strict=False)]
    assert max(common) <= 3, common
    # neighbours of a real id do not exist
    for probe in (video[:-1] + chr(ord(video[-1]) ^ 1), video.lower(), video[::-1], "1", "2"):
        if probe != video:
            assert live.client.get(f"/api/videos/{probe}").status_code == 404
    # user profiles do not leak the numeric row id
    assert "id" not in live.client.get(f"/api/users/{world['handles']['owner']}").json()


def _database_bytes(live) -> bytes:
    blob = b""
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(live.db_path) + suffix)
        if path.exists():
            blob += path.read_bytes()
    return blob


def test_tokens_hashed_and_passwords_argon2_at_rest(live_server) -> None:
    live = live_server
    password = "correct horse battery"
    token = live.register("secretive", password)
    login = live.client.post("/api/auth/login", json={"handle": "secretive", "password": password})
    second = login.json()["token"]
    blob = _database_bytes(live)
    for raw in (token, second, password):
        assert raw.encode() not in blob, f"{raw!r} is stored in clear"
    conn = connect(live.db_path)
    try:
        stored = {r[0] for r in conn.execute("SELECT hash FROM tokens")}
        pw_hash = conn.execute(
            "SELECT password_hash FROM users WHERE handle = 'secretive'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert pw_hash.startswith("$argon2id$")
    assert len(token) >= 32 and token != second


def test_login_rate_limit_429_with_retry_after(make_server) -> None:
    live = make_server(limits={"login_rate_per_minute": 3, "api_rate_per_minute": 100_000})
    answers = [
        live.client.post("/api/auth/login", json={"handle": "nobody", "password": "wrong-password"})
        for _ in range(5)
    ]
    codes = [r.status_code for r in answers]
    assert codes[:3] == [401, 401, 401] and codes[-1] == 429, codes
    limited = answers[-1]
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["content-type"].startswith("application/problem+json")
    # other endpoints are not throttled by the login limit
    assert live.client.get("/api/feed/trending").status_code == 200


def test_logout_revokes_only_that_token(live_server) -> None:
    live = live_server
    first = live.register("leaver")
    second = live.client.post(
        "/api/auth/login", json={"handle": "leaver", "password": PASSWORD}
    ).json()["token"]
    assert live.client.post("/api/auth/logout", headers=live.auth(first)).status_code == 204
    assert live.client.get("/api/me", headers=live.auth(first)).status_code == 401
    assert live.client.post("/api/auth/logout", headers=live.auth(first)).status_code == 401
    assert live.client.get("/api/me", headers=live.auth(second)).status_code == 200


def test_deleted_user_token_stops_working_and_counters_follow(world: dict) -> None:
    live = world["live"]
    video = world["videos"][0]
    doomed = f"doomed_{world['n']}"
    owner, other = world["handles"]["owner"], world["handles"]["other"]
    token = live.register(doomed)
    h = live.auth(token)
    assert live.client.put(f"/api/videos/{video}/like", headers=h).status_code == 200
    assert live.client.put(f"/api/users/{owner}/follow", headers=h).status_code == 204
    parent = comment(world, "other", video, "parent")
    r = live.client.post(
        f"/api/videos/{video}/comments", json={"body": "bye", "parent_id": parent}, headers=h
    )
    assert r.status_code == 201
    assert (
        live.client.put(
            f"/api/users/{doomed}/follow", headers=live.auth(world["tokens"]["other"])
        ).status_code
        == 204
    )
    conn = connect(live.db_path)
    try:
        user_id = conn.execute("SELECT id FROM users WHERE handle = ?", (doomed,)).fetchone()[0]
    finally:
        conn.close()

    async def remove() -> None:
        db = Database(live.db_path, readers=1)
        await db.open()
        try:
            await delete_user(db, user_id)
        finally:
            await db.close()

    asyncio.run(remove())
    assert live.client.get("/api/me", headers=h).status_code == 401
    assert live.client.put(f"/api/videos/{video}/like", headers=h).status_code == 401
    assert live.client.get(f"/api/users/{doomed}").status_code == 404
    counts = live.client.get(f"/api/videos/{video}").json()["counts"]
    assert counts["likes"] == 0 and counts["comments"] == 1
    assert live.client.get(f"/api/users/{owner}").json()["followers"] == 0
    assert live.client.get(f"/api/users/{other}").json()["following"] == 0
    assert counter_mismatches(live.db_path) == []
