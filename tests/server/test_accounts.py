"""Accounts: register, login, logout, /api/me, hashed tokens and argon2 passwords, admins."""

from __future__ import annotations

from serverkit import assert_problem, query, seed_video

from shortstack.cli import main as cli_main


def test_register_returns_token_and_user(live_server):
    c = live_server.client
    r = c.post(
        "/api/auth/register",
        json={"handle": "alice_1", "password": "longenough-and-odd", "display_name": "Alice"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert body["user"]["handle"] == "alice_1"
    assert body["user"]["display_name"] == "Alice"
    me = c.get("/api/me", headers=live_server.auth(body["token"]))
    assert me.status_code == 200
    assert me.json()["handle"] == "alice_1"


def test_register_taken_handle_is_409(live_server):
    live_server.register("bob")
    r = live_server.client.post(
        "/api/auth/register", json={"handle": "bob", "password": "another-strong-pw-7"}
    )
    assert_problem(r, 409)


def test_register_invalid_input_is_422(live_server):
    c = live_server.client
    for body in (
        {"handle": "ab", "password": "kettle-harbor-58"},  # too short
        {"handle": "a" * 31, "password": "kettle-harbor-58"},  # too long
        {"handle": "Has Space", "password": "kettle-harbor-58"},
        {"handle": "UPPER", "password": "kettle-harbor-58"},
        {"handle": "émile", "password": "kettle-harbor-58"},
        {"handle": "carol", "password": "short"},  # password < 10
        {"handle": "carol"},
        {"handle": "carol", "password": "kettle-harbor-58", "display_name": ""},
    ):
        assert_problem(c.post("/api/auth/register", json=body), 422)
    # nothing was created
    assert query(live_server, "SELECT COUNT(*) FROM users")[0][0] == 0


def test_registration_closed_is_403(make_server):
    live = make_server(server={"registration": "closed"})
    r = live.client.post(
        "/api/auth/register", json={"handle": "dave", "password": "kettle-harbor-58"}
    )
    assert_problem(r, 403)


def test_login_and_wrong_password(live_server):
    live_server.register("erin", password="correct horse")
    c = live_server.client
    ok = c.post("/api/auth/login", json={"handle": "erin", "password": "correct horse"})
    assert ok.status_code == 200
    assert ok.json()["user"]["handle"] == "erin"
    assert c.get("/api/me", headers=live_server.auth(ok.json()["token"])).status_code == 200
    assert_problem(c.post("/api/auth/login", json={"handle": "erin", "password": "wrong one"}), 401)
    assert_problem(
        c.post("/api/auth/login", json={"handle": "nobody", "password": "whatever1"}), 401
    )


def test_logout_revokes_only_that_token(live_server):
    c = live_server.client
    first = live_server.register("frank")
    second = c.post(
        "/api/auth/login", json={"handle": "frank", "password": "kettle-harbor-58"}
    ).json()["token"]
    r = c.post("/api/auth/logout", headers=live_server.auth(first))
    assert r.status_code == 204
    assert_problem(c.get("/api/me", headers=live_server.auth(first)), 401)
    assert c.get("/api/me", headers=live_server.auth(second)).status_code == 200
    assert_problem(c.post("/api/auth/logout"), 401)


def test_me_requires_valid_token(live_server):
    c = live_server.client
    assert_problem(c.get("/api/me"), 401)
    assert_problem(c.get("/api/me", headers={"Authorization": "Bearer not-a-token"}), 401)
    assert_problem(c.get("/api/me", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401)
    assert_problem(c.get("/api/me", headers={"Authorization": "Bearer"}), 401)
    assert_problem(c.get("/api/me", headers={"Authorization": "Bearer " + "x" * 5000}), 401)


def test_patch_me(live_server):
    token = live_server.register("gina")
    c = live_server.client
    r = c.patch("/api/me", json={"bio": "I film birds"}, headers=live_server.auth(token))
    assert r.status_code == 200, r.text
    assert r.json()["bio"] == "I film birds"
    assert r.json()["display_name"] == "gina"
    r = c.patch("/api/me", json={"display_name": "Gina G"}, headers=live_server.auth(token))
    assert r.json()["display_name"] == "Gina G"
    assert r.json()["bio"] == "I film birds"
    profile = c.get("/api/users/gina").json()
    assert (profile["display_name"], profile["bio"]) == ("Gina G", "I film birds")
    assert_problem(
        c.patch("/api/me", json={"bio": "x" * 301}, headers=live_server.auth(token)), 422
    )
    assert_problem(
        c.patch("/api/me", json={"handle": "other"}, headers=live_server.auth(token)), 422
    )
    assert_problem(c.patch("/api/me", json={"bio": "nope"}), 401)


def test_tokens_hashed_and_passwords_argon2_at_rest(live_server):
    token = live_server.register("hank", password="secret-password")
    rows = query(live_server, "SELECT hash FROM tokens")
    assert len(rows) == 1
    assert rows[0]["hash"] != token
    raw = live_server.db_path.read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = live_server.db_path.with_name(live_server.db_path.name + suffix)
        if extra.exists():
            raw += extra.read_bytes()
    assert token.encode() not in raw
    assert b"secret-password" not in raw
    (pw,) = query(live_server, "SELECT password_hash FROM users WHERE handle = 'hank'")
    assert pw[0].startswith("$argon2")


def test_admin_add_makes_an_admin(live_server, capsys):
    c = live_server.client
    author = live_server.register("ivy")
    video_id = seed_video(live_server, "ivy")
    comment = c.post(
        f"/api/videos/{video_id}/comments", json={"body": "mine"}, headers=live_server.auth(author)
    ).json()
    boss = live_server.register("boss")
    # not an admin yet: cannot delete someone else's things
    assert_problem(c.delete(f"/api/comments/{comment['id']}", headers=live_server.auth(boss)), 403)
    assert_problem(c.delete(f"/api/videos/{video_id}", headers=live_server.auth(boss)), 403)
    assert cli_main(["admin", "add", "boss", "--data", str(live_server.data_dir)]) == 0
    assert "admin" in capsys.readouterr().out
    assert c.get("/api/me", headers=live_server.auth(boss)).json()["is_admin"] is True
    r = c.delete(f"/api/comments/{comment['id']}", headers=live_server.auth(boss))
    assert r.status_code == 204
    r = c.delete(f"/api/videos/{video_id}", headers=live_server.auth(boss))
    assert r.status_code == 204
    assert_problem(c.get(f"/api/videos/{video_id}"), 404)
    # unknown handle: one-line error, exit 2
    assert cli_main(["admin", "add", "ghost", "--data", str(live_server.data_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "ghost" in err and "\n" not in err
