"""Issue 14 items 13 and 16 from the shell: `shortstack password`, `sessions`, `logout
--everywhere` against a live server, run as the real console command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

STRONG = "kettle-harbor-58"


def _run(live, token: str | None, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, SHORTSTACK_SERVER=live.url)
    env.pop("SHORTSTACK_TOKEN", None)
    if token:
        env["SHORTSTACK_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "shortstack", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_password_sessions_and_logout_everywhere(live_server):
    c = live_server.client
    token = live_server.register("uma", STRONG)
    other = c.post("/api/auth/login", json={"handle": "uma", "password": STRONG}).json()["token"]

    r = _run(live_server, token, "sessions", "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["items"]) == 2

    r = _run(live_server, token, "password", "--password-stdin", stdin=f"{STRONG}\n12345678\n")
    assert r.returncode == 2 and "password:" in r.stderr, r
    new = "orchid-tunnel-73"
    r = _run(live_server, token, "password", "--password-stdin", stdin=f"{STRONG}\n{new}\n")
    assert r.returncode == 0, r.stderr
    assert c.get("/api/me", headers=live_server.auth(other)).status_code == 401
    assert c.get("/api/me", headers=live_server.auth(token)).status_code == 200

    third = c.post("/api/auth/login", json={"handle": "uma", "password": new}).json()["token"]
    listed = json.loads(_run(live_server, token, "sessions", "--json").stdout)["items"]
    (sid,) = [s["id"] for s in listed if not s["current"]]
    r = _run(live_server, token, "sessions", "--revoke", sid)
    assert r.returncode == 0, r.stderr
    assert c.get("/api/me", headers=live_server.auth(third)).status_code == 401

    fourth = c.post("/api/auth/login", json={"handle": "uma", "password": new}).json()["token"]
    r = _run(live_server, token, "logout", "--everywhere")
    assert r.returncode == 0, r.stderr
    for t in (token, fourth):
        assert c.get("/api/me", headers=live_server.auth(t)).status_code == 401


def test_notifications_read_all(live_server):
    c, auth = live_server.client, live_server.auth
    token = live_server.register("inbox", STRONG)
    fan = live_server.register("inbox_fan", STRONG)
    assert c.put("/api/users/inbox/follow", headers=auth(fan)).status_code == 204
    assert c.get("/api/me", headers=auth(token)).json()["unread_notifications"] == 1
    r = _run(live_server, token, "notifications", "--read-all", "--json")
    assert r.returncode == 0, r.stderr
    assert [n["kind"] for n in json.loads(r.stdout)["items"]] == ["follow"]
    assert c.get("/api/me", headers=auth(token)).json()["unread_notifications"] == 0


def test_account_delete(live_server):
    c = live_server.client
    token = live_server.register("goner", STRONG)
    r = _run(live_server, token, "account", "delete", "--password-stdin", stdin="wrong-one-123\n")
    assert r.returncode == 2 and "401" in r.stderr, r
    assert c.get("/api/me", headers=live_server.auth(token)).status_code == 200
    r = _run(live_server, token, "account", "delete", "--password-stdin", stdin=f"{STRONG}\n")
    assert r.returncode == 0, r.stderr
    assert c.get("/api/me", headers=live_server.auth(token)).status_code == 401
    assert c.get("/api/users/goner").status_code == 404


def test_account_export(live_server, tmp_path):
    import zipfile

    token = live_server.register("zipper", STRONG)
    dest = tmp_path / "mine.zip"
    r = _run(live_server, token, "account", "export", "--output", str(dest), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bytes"] == dest.stat().st_size
    with zipfile.ZipFile(dest) as zf:
        assert json.loads(zf.read("profile.json"))["handle"] == "zipper"
