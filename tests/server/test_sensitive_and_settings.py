"""Issue 15: an uploader marks their own video sensitive (admins any video), a viewer chooses to
see sensitive media without the notice, and an admin changes the registration mode at run time.
All over real HTTP against a real server; every action is in the audit log."""

from __future__ import annotations

from mediakit import make_admin
from serverkit import assert_problem


def test_uploader_marks_own_video_sensitive_and_others_cannot(live_server, owner):
    c = live_server.client
    handle, token, vid = owner
    stranger = live_server.register("stranger15s")
    admin = make_admin(live_server, "admin15s")

    assert c.get(f"/api/videos/{vid}").json()["sensitive"] is False
    r = c.put(f"/api/videos/{vid}/sensitive", headers=live_server.auth(token))
    assert r.status_code == 200, r.text
    assert c.get(f"/api/videos/{vid}").json()["sensitive"] is True

    # someone else's video: 403 with a problem body, and the mark is unchanged
    r = c.delete(f"/api/videos/{vid}/sensitive", headers=live_server.auth(stranger))
    assert_problem(r, 403)
    assert c.get(f"/api/videos/{vid}").json()["sensitive"] is True
    assert_problem(c.put(f"/api/videos/{vid}/sensitive"), 401)
    assert_problem(c.put("/api/videos/NoSuchVideo/sensitive", headers=live_server.auth(token)), 404)

    # an admin clears it on any video
    r = c.delete(f"/api/videos/{vid}/sensitive", headers=live_server.auth(admin))
    assert r.status_code == 200, r.text
    assert c.get(f"/api/videos/{vid}").json()["sensitive"] is False

    audit = c.get("/api/admin/audit", headers=live_server.auth(admin)).json()["items"]
    mine = [(a["actor"], a["action"]) for a in audit if a["target_id"] == vid]
    assert ("admin15s", "unmark_sensitive") in mine
    assert (handle, "mark_sensitive") in mine


def test_show_sensitive_is_a_setting_of_the_viewer_only(live_server):
    c = live_server.client
    token = live_server.register("viewer15s")
    h = live_server.auth(token)
    assert c.get("/api/me", headers=h).json()["show_sensitive"] is False
    r = c.patch("/api/me", json={"show_sensitive": True}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["show_sensitive"] is True
    assert c.get("/api/me", headers=h).json()["show_sensitive"] is True
    # nobody else learns a viewer's setting from their profile
    assert c.get("/api/users/viewer15s").json().get("show_sensitive") is None
    assert_problem(c.patch("/api/me", json={"show_sensitive": "yes"}, headers=h), 422)


def test_admin_changes_registration_at_run_time(live_server):
    c = live_server.client
    admin = make_admin(live_server, "admin15r")
    user = live_server.register("plain15r")
    h = live_server.auth(admin)

    assert c.get("/api/admin/settings", headers=h).json() == {"registration": "open"}
    assert_problem(c.get("/api/admin/settings", headers=live_server.auth(user)), 403)
    assert_problem(c.patch("/api/admin/settings", json={"registration": "anyone"}, headers=h), 422)
    assert_problem(
        c.patch(
            "/api/admin/settings", json={"registration": "open"}, headers=live_server.auth(user)
        ),
        403,
    )

    r = c.patch("/api/admin/settings", json={"registration": "closed"}, headers=h)
    assert r.json() == {"registration": "closed"}
    body = {"handle": "latecomer15", "password": "kettle-harbor-58"}
    assert_problem(c.post("/api/auth/register", json=body), 403)

    c.patch("/api/admin/settings", json={"registration": "invite"}, headers=h)
    assert_problem(c.post("/api/auth/register", json=body), 403)
    code = c.post("/api/admin/invites", json={}, headers=h).json()["code"]
    r = c.post("/api/auth/register", json={**body, "invite": code})
    assert r.status_code == 201, r.text

    c.patch("/api/admin/settings", json={"registration": "open"}, headers=h)
    r = c.post("/api/auth/register", json={"handle": "free15", "password": "kettle-harbor-58"})
    assert r.status_code == 201, r.text

    actions = [a["action"] for a in c.get("/api/admin/audit", headers=h).json()["items"]]
    assert actions[:3] == ["set_registration"] * 3


def test_an_unknown_report_action_is_a_clear_400(live_server, owner):
    admin = make_admin(live_server, "admin15x")
    _, _, vid = owner
    r = live_server.client.post(
        f"/api/admin/reports/video/{vid}/explode", headers=live_server.auth(admin)
    )
    assert_problem(r, (400, 404, 422))


def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "shortstack", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_sensitive_upload_setting_and_registration(live_server, clip):
    import json

    user = live_server.register("cliuser15")
    admin = make_admin(live_server, "cliadmin15")
    srv = ["--server", live_server.url]

    r = _cli(
        "upload",
        str(clip),
        "--caption",
        "late night",
        "--sensitive",
        "--json",
        f"--token={user}",
        *srv,
    )
    assert r.returncode == 0, r.stderr
    video = json.loads(r.stdout)
    assert video["sensitive"] is True
    r = _cli("sensitive", video["id"], "--undo", f"--token={user}", *srv)
    assert r.returncode == 0, r.stderr
    assert "not sensitive" in r.stdout
    mine = live_server.client.get(f"/api/videos/{video['id']}", headers=live_server.auth(user))
    assert mine.json()["sensitive"] is False

    r = _cli("account", "sensitive-media", "on", f"--token={user}", *srv)
    assert r.returncode == 0 and "without a notice" in r.stdout, r.stderr

    r = _cli("admin", "registration", "invite", f"--token={admin}", *srv)
    assert r.returncode == 0 and r.stdout.strip() == "registration: invite", r.stderr
    r = _cli("admin", "registration", f"--token={user}", *srv)
    assert r.returncode != 0 and "admin" in r.stderr.lower(), (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
