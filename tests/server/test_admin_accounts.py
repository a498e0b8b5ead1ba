"""Issue 14 item 16: with registration closed, admins create accounts (CLI and API); with
registration = "invite", admins hand out codes with uses and an expiry, and register takes one."""

from __future__ import annotations

import json
import subprocess
import sys

from serverkit import assert_problem, db_connect

STRONG = "kettle-harbor-58"


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shortstack", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _login(live, handle: str, password: str = STRONG) -> str:
    r = live.client.post("/api/auth/login", json={"handle": handle, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_closed_registration_admin_creates_accounts(make_server):
    live = make_server(server={"registration": "closed"})
    c = live.client
    assert_problem(c.post("/api/auth/register", json={"handle": "walkin", "password": STRONG}), 403)

    # the first admin, from the shell (the server is running on the same data dir)
    data = str(live.data_dir)
    r = _cli(
        "admin",
        "create-user",
        "root",
        "--admin",
        "--password-stdin",
        "--data",
        data,
        stdin="password\n",
    )
    assert r.returncode == 2 and "password" in r.stderr, r  # the policy holds here too
    r = _cli(
        "admin",
        "create-user",
        "root",
        "--admin",
        "--password-stdin",
        "--data",
        data,
        stdin=STRONG + "\n",
    )
    assert r.returncode == 0, r.stderr
    r = _cli(
        "admin", "create-user", "root", "--password-stdin", "--data", data, stdin=STRONG + "\n"
    )
    assert r.returncode == 2 and "taken" in r.stderr, r
    admin = live.auth(_login(live, "root"))
    assert c.get("/api/me", headers=admin).json()["is_admin"] is True

    # then over the API
    body = {"handle": "newbie", "password": "maple-signal-204", "display_name": "New Bie"}
    assert_problem(c.post("/api/admin/users", json=body), 401)
    second_admin_session = live.auth(_login(live, "root"))
    r = c.post("/api/admin/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["handle"] == "newbie" and r.json()["display_name"] == "New Bie"
    newbie = live.auth(_login(live, "newbie", "maple-signal-204"))
    assert c.get("/api/me", headers=newbie).json()["is_admin"] is False
    assert_problem(
        c.post("/api/admin/users", json={**body, "handle": "other"}, headers=newbie), 403
    )
    assert_problem(c.post("/api/admin/users", json=body, headers=second_admin_session), 409)
    weak = {"handle": "weakling", "password": "12345678910"}
    assert_problem(c.post("/api/admin/users", json=weak, headers=admin), 422)
    hostile = {"handle": "sneaky", "password": STRONG, "display_name": "root\u202e"}
    assert_problem(c.post("/api/admin/users", json=hostile, headers=admin), 422)
    # search finds accounts made both ways
    found = {u["handle"] for u in c.get("/api/search", params={"q": "@newbie"}).json()["users"]}
    assert "newbie" in found


def test_invite_registration(make_server):
    live = make_server(server={"registration": "invite"})
    c = live.client
    data = str(live.data_dir)
    assert (
        _cli(
            "admin",
            "create-user",
            "boss",
            "--admin",
            "--password-stdin",
            "--data",
            data,
            stdin=STRONG + "\n",
        ).returncode
        == 0
    )
    admin = live.auth(_login(live, "boss"))

    def register(handle: str, invite: str | None = None):
        body = {"handle": handle, "password": STRONG}
        if invite is not None:
            body["invite"] = invite
        return c.post("/api/auth/register", json=body)

    assert_problem(register("nocode"), 403)
    assert_problem(register("badcode", "not-a-real-code"), 403)
    assert_problem(c.post("/api/admin/invites", json={"uses": 2}), 401)
    r = c.post("/api/admin/invites", json={"uses": 2, "expires_in_days": 1}, headers=admin)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert register("first", code).status_code == 201
    assert register("second", code).status_code == 201
    assert_problem(register("third", code), 403)  # used up
    listed = c.get("/api/admin/invites", headers=admin).json()["items"]
    assert [(i["uses"], i["uses_left"]) for i in listed] == [(2, 0)]
    assert all("code" not in i or i["code"] is None for i in listed)
    member = live.auth(_login(live, "first"))
    assert_problem(c.post("/api/admin/invites", json={"uses": 1}, headers=member), 403)

    # a code from the shell, and an expired one
    r = _cli("admin", "invite", "--uses", "1", "--data", data, "--json")
    assert r.returncode == 0, r.stderr
    shell_code = json.loads(r.stdout)["code"]
    r = c.post("/api/admin/invites", json={"uses": 5}, headers=admin)
    stale = r.json()["code"]
    conn = db_connect(live.db_path)
    try:
        conn.execute("UPDATE invites SET expires_at = 0 WHERE uses_left = 5")
    finally:
        conn.close()
    assert_problem(register("late", stale), 403)
    assert register("fromshell", shell_code).status_code == 201
    # a rejected registration (taken handle) does not spend a use
    r = c.post("/api/admin/invites", json={"uses": 1}, headers=admin)
    one = r.json()["code"]
    assert_problem(register("first", one), 409)
    assert register("fourth", one).status_code == 201
    # an admin revokes a code before it is used
    r = c.post("/api/admin/invites", json={"uses": 3}, headers=admin)
    revoked, invite_id = r.json()["code"], r.json()["id"]
    assert_problem(c.delete(f"/api/admin/invites/{invite_id}", headers=member), 403)
    assert c.delete(f"/api/admin/invites/{invite_id}", headers=admin).status_code == 204
    assert_problem(register("fifth", revoked), 403)
    assert_problem(c.delete("/api/admin/invites/0123456789abcdef", headers=admin), 404)
