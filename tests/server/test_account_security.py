"""Issue 14 items 13 and 10 (part): the password policy, password change, token expiry with
sliding renewal, sessions, log out everywhere, and the per-account login limit. Every attack
is replayed over HTTP against a real server."""

from __future__ import annotations

import time

from serverkit import assert_problem, query

from shortstack.server.store.ids import hash_token, new_token

STRONG = "kettle-harbor-58"
DAY = 86400


def _login(live, handle: str, password: str = STRONG, agent: str = "pytest") -> str:
    r = live.client.post(
        "/api/auth/login",
        json={"handle": handle, "password": password},
        headers={"User-Agent": agent},
    )
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_weak_passwords_are_refused_naming_the_rule(live_server):
    c = live_server.client
    for handle, password, rule in (
        ("weak1", "password", "at least 10"),
        ("weak2", "12345678", "at least 10"),
        ("weak3", " " * 8, "blank"),
        ("weak4", " " * 12, "blank"),
        ("weak5", "password1234", "common"),
        ("weak6", "1234567890", "common"),
        ("weak7", "qwertyuiop", "common"),
        ("mallory_the_great", "mallory_the_great", "handle"),
        ("mallory_the_great", "@Mallory_The_Great", "handle"),
    ):
        body = assert_problem(
            c.post("/api/auth/register", json={"handle": handle, "password": password}), 422
        )
        assert "password" in body["detail"] and rule in body["detail"], (password, body)
    assert query(live_server, "SELECT COUNT(*) FROM users")[0][0] == 0
    assert c.post("/api/auth/register", json={"handle": "strong", "password": STRONG}).is_success
    # long passwords are checked too (zxcvbn itself refuses more than 72 characters)
    long_weak = {"handle": "longweak", "password": "a" * 256}
    assert "password" in assert_problem(c.post("/api/auth/register", json=long_weak), 422)["detail"]
    long_ok = {"handle": "longstrong", "password": "Q7#kettle-harbor-" * 15}
    assert c.post("/api/auth/register", json=long_ok).status_code == 201


def test_password_change_needs_the_current_one_and_revokes_other_sessions(live_server):
    c = live_server.client
    here = live_server.register("pat", STRONG)
    elsewhere = _login(live_server, "pat")  # e.g. a stolen token
    h = live_server.auth(here)
    new = "lantern-copper-91"
    r = c.put(
        "/api/me/password",
        json={"current_password": "guess-guess-1", "new_password": new},
        headers=h,
    )
    assert_problem(r, 401)
    r = c.put(
        "/api/me/password",
        json={"current_password": STRONG, "new_password": "password1"},
        headers=h,
    )
    assert "password" in assert_problem(r, 422)["detail"]
    r = c.put("/api/me/password", json={"current_password": STRONG, "new_password": new})
    assert_problem(r, 401)
    r = c.put("/api/me/password", json={"current_password": STRONG, "new_password": new}, headers=h)
    assert r.status_code == 204, r.text
    assert c.get("/api/me", headers=h).status_code == 200  # this session goes on
    assert_problem(c.get("/api/me", headers=live_server.auth(elsewhere)), 401)
    assert_problem(c.post("/api/auth/login", json={"handle": "pat", "password": STRONG}), 401)
    assert _login(live_server, "pat", new)


def test_log_out_everywhere(live_server):
    c = live_server.client
    tokens = [
        live_server.register("quinn", STRONG),
        _login(live_server, "quinn"),
        _login(live_server, "quinn"),
    ]
    r = c.post("/api/auth/logout-everywhere", headers=live_server.auth(tokens[1]))
    assert r.status_code == 204
    for token in tokens:
        assert_problem(c.get("/api/me", headers=live_server.auth(token)), 401)


def test_sessions_are_listed_and_one_can_be_revoked(live_server):
    c = live_server.client
    live_server.register("rosa", STRONG)
    phone = _login(live_server, "rosa", agent="phone-app/1.0")
    laptop = _login(live_server, "rosa", agent="laptop\x1b[2J")  # a hostile label is dropped
    other = live_server.register("sam", STRONG)
    r = c.get("/api/me/sessions", headers=live_server.auth(phone))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 3
    current = [s for s in items if s["current"]]
    assert len(current) == 1 and current[0]["user_agent"] == "phone-app/1.0"
    assert all("\x1b" not in (s["user_agent"] or "") for s in items)
    assert all(set(s) >= {"id", "created_at", "last_used_at", "expires_at"} for s in items)
    laptop_id = hash_token(laptop)[:16]
    assert laptop_id in {s["id"] for s in items}
    # someone else cannot revoke it, nor see it
    assert_problem(c.delete(f"/api/me/sessions/{laptop_id}", headers=live_server.auth(other)), 404)
    assert laptop_id not in {
        s["id"] for s in c.get("/api/me/sessions", headers=live_server.auth(other)).json()["items"]
    }
    assert c.get("/api/me", headers=live_server.auth(laptop)).status_code == 200
    r = c.delete(f"/api/me/sessions/{laptop_id}", headers=live_server.auth(phone))
    assert r.status_code == 204
    assert_problem(c.get("/api/me", headers=live_server.auth(laptop)), 401)
    assert c.get("/api/me", headers=live_server.auth(phone)).status_code == 200
    assert_problem(
        c.delete("/api/me/sessions/0123456789abcdef", headers=live_server.auth(phone)), 404
    )


def _set_token_times(live, token: str, *, created: float, used: float) -> None:
    from serverkit import db_connect

    conn = db_connect(live.db_path)
    try:
        conn.execute(
            "UPDATE tokens SET created_at = ?, last_used_at = ? WHERE hash = ?",
            (created, used, hash_token(token)),
        )
    finally:
        conn.close()


def test_tokens_expire_when_idle_and_at_the_latest_after_max_age(live_server):
    """Defaults: 30 days idle (each use renews), 365 days at most. The clock is moved by
    ageing the token's rows."""
    c = live_server.client
    now = time.time()
    live_server.register("tess", STRONG)
    idle = _login(live_server, "tess")
    _set_token_times(live_server, idle, created=now - 40 * DAY, used=now - 31 * DAY)
    assert_problem(c.get("/api/me", headers=live_server.auth(idle)), 401)

    sliding = _login(live_server, "tess")
    _set_token_times(live_server, sliding, created=now - 100 * DAY, used=now - 29 * DAY)
    assert c.get("/api/me", headers=live_server.auth(sliding)).status_code == 200
    (used,) = query(
        live_server, "SELECT last_used_at FROM tokens WHERE hash = ?", (hash_token(sliding),)
    )
    assert used[0] > now - 60  # the use renewed it: another 30 days from now

    old = _login(live_server, "tess")
    _set_token_times(live_server, old, created=now - 366 * DAY, used=now - 10)
    assert_problem(c.get("/api/me", headers=live_server.auth(old)), 401)


def test_failed_logins_lock_the_account_whatever_the_address(make_server):
    """The per-address limit is out of the way (as for an attacker rotating addresses): after
    the per-account number of failures even the right password gets a 429 with Retry-After."""
    live = make_server(limits={"login_failures_per_account": 3, "login_failure_window_s": 600})
    c = live.client
    live.register("victim", STRONG)
    live.register("bystander", STRONG)
    for i in range(3):
        r = c.post(
            "/api/auth/login",
            json={"handle": "victim", "password": f"guess-number-{i}"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert_problem(r, 401)
    for password in ("guess-number-4", STRONG):
        r = c.post("/api/auth/login", json={"handle": "@Victim", "password": password})
        assert_problem(r, 429)
        assert 0 < int(r.headers["retry-after"]) <= 600
    # other accounts are not affected
    assert _login(live, "bystander")


def test_concurrent_guesses_cannot_slip_past_the_account_limit(make_server):
    import concurrent.futures

    import httpx

    live = make_server(limits={"login_failures_per_account": 5})
    live.register("target", STRONG)

    def guess(i: int) -> int:
        with httpx.Client(base_url=live.url, timeout=60) as client:
            return client.post(
                "/api/auth/login", json={"handle": "target", "password": f"guess-{i}-xyz"}
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(guess, range(20)))
    assert codes.count(401) == 5 and codes.count(429) == 15, codes


def test_tokens_are_safe_as_command_line_arguments(live_server):
    """A token that starts with '-' broke `shortstack report ... --token TOKEN` (argparse read
    it as an option): tokens are base62, issued by login as by the store."""
    import re

    shape = re.compile(r"[A-Za-z0-9]{43}")
    assert all(shape.fullmatch(new_token()[0]) for _ in range(2000))
    token = live_server.register("argvsafe")
    assert shape.fullmatch(token), token
