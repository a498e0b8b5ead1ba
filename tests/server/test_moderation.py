"""Issue 15 (reports part): users report videos, comments and accounts; admins work the queue
(dismiss, remove, mark sensitive, suspend), every action lands in an append-only audit log, and
blocked terms are refused in captions, comments and display names. All over real HTTP."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from mediakit import make_admin
from serverkit import assert_problem, db_connect, seed_video

STRONG = "kettle-harbor-58"


def _ids(items) -> set[str]:
    out = set()
    for item in items:
        video = item.get("video", item)
        out.add(video["id"])
    return out


def _surfaces(c, vid: str, handle: str, h: dict, media_url: str) -> dict[str, bool]:
    """Where the video shows up for the holder of headers h."""
    return {
        "get": c.get(f"/api/videos/{vid}", headers=h).status_code == 200,
        "media": c.get(media_url, headers=h).status_code in (200, 206),
        "poster": c.get(f"/api/videos/{vid}/poster", headers=h).status_code == 200,
        "hls": c.get(f"/api/videos/{vid}/hls/master.m3u8", headers=h).status_code == 200,
        "share_page": c.get(f"/v/{vid}", headers=h).status_code == 200,
        "comments": c.get(f"/api/videos/{vid}/comments", headers=h).status_code == 200,
        "profile": vid
        in _ids(c.get(f"/api/users/{handle}/videos", headers=h).json().get("items", [])),
        "following": vid
        in _ids(
            c.get("/api/feed/following", headers=h, params={"limit": 50}).json().get("items", [])
        ),
        "for_you": vid
        in _ids(
            c.get("/api/feed/for-you", headers=h, params={"limit": 50}).json().get("items", [])
        ),
        "trending": vid
        in _ids(
            c.get("/api/feed/trending", headers=h, params={"limit": 50}).json().get("items", [])
        ),
        "search": vid
        in _ids(c.get("/api/search", headers=h, params={"q": "zebracorn"}).json()["videos"]),
    }


def test_report_remove_hides_everywhere_and_notifies(live_server, owner):
    live, c = live_server, live_server.client
    handle, owner_token, vid = owner
    vid = seed_video(live, handle, "zebracorn #stripes")
    reporter = live.register("reporter1")
    rh = live.auth(reporter)
    admin = live.auth(make_admin(live, "mod1"))
    assert c.put(f"/api/users/{handle}/follow", headers=rh).status_code == 204

    media_url = c.get(f"/api/videos/{vid}").json()["renditions"][0]["url"]
    before = _surfaces(c, vid, handle, rh, media_url)
    for surface in (
        "get",
        "media",
        "poster",
        "hls",
        "share_page",
        "comments",
        "profile",
        "following",
    ):
        assert before[surface], (surface, before)
    assert before["search"], before

    # a report: 201; the same report again is the same report (200)
    assert_problem(
        c.post("/api/reports", json={"target": "video", "id": vid, "reason": "spam"}), 401
    )
    body = {"target": "video", "id": vid, "reason": "spam", "text": "buy now"}
    r = c.post("/api/reports", json=body, headers=rh)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "open" and report["target"] == "video"
    r2 = c.post("/api/reports", json=body, headers=rh)
    assert r2.status_code == 200 and r2.json()["id"] == report["id"]
    second = live.auth(live.register("reporter2"))
    assert (
        c.post("/api/reports", json={**body, "reason": "illegal"}, headers=second).status_code
        == 201
    )

    # bad reports
    assert_problem(c.post("/api/reports", json={**body, "reason": "meh"}, headers=rh), (400, 422))
    assert_problem(
        c.post("/api/reports", json={"target": "video", "id": vid, "reason": "other"}, headers=rh),
        422,
    )
    assert_problem(
        c.post("/api/reports", json={**body, "text": "x" * 1001}, headers=rh), (400, 422)
    )
    assert_problem(c.post("/api/reports", json={**body, "id": "nope"}, headers=rh), 404)
    assert_problem(
        c.post(
            "/api/reports", json={"target": "user", "id": "reporter1", "reason": "spam"}, headers=rh
        ),
        422,
    )

    # the queue: admins only, grouped by target with the content, reporter count and reasons
    assert_problem(c.get("/api/admin/reports", headers=rh), 403)
    queue = c.get("/api/admin/reports", headers=admin).json()["items"]
    item = next(i for i in queue if i["target_id"] == vid)
    assert item["target"] == "video" and item["reporters"] == 2
    assert item["reasons"] == ["illegal", "spam"]
    assert item["content"]["caption"] == "zebracorn #stripes"
    assert "buy now" in item["texts"]

    # non-admins cannot act
    assert_problem(c.post(f"/api/admin/reports/video/{vid}/remove", headers=rh), 403)
    r = c.post(
        f"/api/admin/reports/video/{vid}/remove", json={"reason": "spam ring"}, headers=admin
    )
    assert r.status_code == 200, r.text

    # gone from every surface for everyone but admins, within the next request
    for who, h in (("reporter", rh), ("owner", live.auth(owner_token)), ("anonymous", {})):
        after = _surfaces(c, vid, handle, h, media_url)
        assert not any(after.values()), (who, after)
    assert c.get(f"/api/videos/{vid}", headers=admin).status_code == 200
    assert vid in _ids(c.get(f"/api/users/{handle}/videos", headers=admin).json()["items"])
    assert_problem(c.put(f"/api/videos/{vid}/like", headers=rh), 404)

    # the queue is empty for it; each reporter was notified
    queue = c.get("/api/admin/reports", headers=admin).json()["items"]
    assert vid not in {i["target_id"] for i in queue}
    for h in (rh, second):
        kinds = [n["kind"] for n in c.get("/api/notifications", headers=h).json()["items"]]
        assert "report_resolved" in kinds

    # audited
    audit = c.get("/api/admin/audit", headers=admin).json()["items"]
    assert audit[0]["action"] == "remove" and audit[0]["target_id"] == vid
    assert audit[0]["actor"] == "mod1" and audit[0]["reason"] == "spam ring"
    assert_problem(c.get("/api/admin/audit", headers=rh), 403)


def test_dismiss_sensitive_and_comment_removal(live_server, owner):
    live, c = live_server, live_server.client
    handle, owner_token, vid = owner
    oh = live.auth(owner_token)
    rh = live.auth(live.register("reporter3"))
    admin = live.auth(make_admin(live, "mod2"))

    comment = c.post(f"/api/videos/{vid}/comments", json={"body": "rude words"}, headers=oh).json()
    r = c.post(
        "/api/reports",
        json={"target": "comment", "id": comment["id"], "reason": "harassment"},
        headers=rh,
    )
    assert r.status_code == 201, r.text
    assert (
        c.post(f"/api/admin/reports/comment/{comment['id']}/remove", headers=admin).status_code
        == 200
    )
    listed = c.get(f"/api/videos/{vid}/comments", headers=rh).json()["items"]
    assert comment["id"] not in {x["id"] for x in listed}
    listed = c.get(f"/api/videos/{vid}/comments", headers=admin).json()["items"]
    assert comment["id"] in {x["id"] for x in listed}

    assert c.get(f"/api/videos/{vid}").json()["sensitive"] is False
    assert (
        c.post(
            "/api/reports", json={"target": "video", "id": vid, "reason": "sexual"}, headers=rh
        ).status_code
        == 201
    )
    assert c.post(f"/api/admin/reports/video/{vid}/sensitive", headers=admin).status_code == 200
    assert c.get(f"/api/videos/{vid}").json()["sensitive"] is True

    # a dismissed report closes; reporting again opens a new one
    assert (
        c.post(
            "/api/reports", json={"target": "user", "id": handle, "reason": "spam"}, headers=rh
        ).status_code
        == 201
    )
    assert (
        c.post(
            f"/api/admin/reports/user/{handle}/dismiss", json={"reason": "fine"}, headers=admin
        ).status_code
        == 200
    )
    queue = c.get("/api/admin/reports", headers=admin).json()["items"]
    assert handle not in {i["target_id"] for i in queue}
    actions = [a["action"] for a in c.get("/api/admin/audit", headers=admin).json()["items"]]
    assert actions[:3] == ["dismiss", "mark_sensitive", "remove"]


def test_report_rate_limit(make_server, real_media):
    live = make_server(limits={"reports_per_hour": 2})
    c = live.client
    author = live.register("author9")
    vids = [seed_video(live, "author9", f"clip {i}") for i in range(3)]
    rh = live.auth(live.register("eager"))
    for vid in vids[:2]:
        assert (
            c.post(
                "/api/reports", json={"target": "video", "id": vid, "reason": "spam"}, headers=rh
            ).status_code
            == 201
        )
    # the same report again is still fine (idempotent), a new one is 429 with Retry-After
    assert (
        c.post(
            "/api/reports", json={"target": "video", "id": vids[0], "reason": "spam"}, headers=rh
        ).status_code
        == 200
    )
    r = c.post(
        "/api/reports", json={"target": "video", "id": vids[2], "reason": "spam"}, headers=rh
    )
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) > 0
    assert author


def test_suspension(live_server, owner):
    live, c = live_server, live_server.client
    handle, owner_token, vid = owner
    oh = live.auth(owner_token)
    rh = live.auth(live.register("reporter4"))
    admin = live.auth(make_admin(live, "mod3"))
    assert (
        c.post(
            "/api/reports", json={"target": "user", "id": handle, "reason": "spam"}, headers=rh
        ).status_code
        == 201
    )

    assert_problem(
        c.post(f"/api/admin/reports/user/{handle}/suspend", json={}, headers=admin), (400, 422)
    )
    r = c.post(
        f"/api/admin/reports/user/{handle}/suspend", json={"reason": "spam ring"}, headers=admin
    )
    assert r.status_code == 200, r.text
    # the token stops working, login is a 403 naming the suspension, the content is hidden
    assert_problem(c.get("/api/me", headers=oh), 401)
    p = assert_problem(c.post("/api/auth/login", json={"handle": handle, "password": STRONG}), 403)
    assert "suspended" in p["detail"] and "spam ring" in p["detail"]
    assert_problem(c.get(f"/api/videos/{vid}", headers=rh), 404)
    assert c.get(f"/api/users/{handle}/videos", headers=rh).json()["items"] == []
    assert c.get(f"/api/videos/{vid}", headers=admin).status_code == 200
    found = c.get("/api/search", params={"q": f"@{handle}"}, headers=rh).json()["users"]
    assert handle not in {u["handle"] for u in found}
    found = c.get("/api/search", params={"q": f"@{handle}"}, headers=admin).json()["users"]
    assert handle in {u["handle"] for u in found}
    kinds = [n["kind"] for n in c.get("/api/notifications", headers=rh).json()["items"]]
    assert "report_resolved" in kinds

    r = c.post(f"/api/admin/reports/user/{handle}/unsuspend", headers=admin)
    assert r.status_code == 200, r.text
    assert c.post("/api/auth/login", json={"handle": handle, "password": STRONG}).status_code == 200
    assert c.get(f"/api/videos/{vid}", headers=rh).status_code == 200
    found = c.get("/api/search", params={"q": f"@{handle}"}, headers=rh).json()["users"]
    assert handle in {u["handle"] for u in found}
    actions = [a["action"] for a in c.get("/api/admin/audit", headers=admin).json()["items"]]
    assert actions[:2] == ["unsuspend", "suspend"]


def test_audit_log_is_append_only(live_server):
    live, c = live_server, live_server.client
    admin = live.auth(make_admin(live, "mod4"))
    assert (
        c.put("/api/admin/blocked-terms", json={"terms": ["x"]}, headers=admin).status_code == 200
    )
    # no route changes or deletes an entry
    for method in ("PUT", "PATCH", "DELETE"):
        r = c.request(method, "/api/admin/audit", headers=admin)
        assert r.status_code == 405, (method, r.status_code)
        r = c.request(method, "/api/admin/audit/1", headers=admin)
        assert r.status_code in (404, 405), (method, r.status_code)
    schema = c.get("/schema/openapi.json").json()["paths"]
    audit_paths = {p: set(ops) for p, ops in schema.items() if "audit" in p}
    assert audit_paths == {"/api/admin/audit": {"get"}}, audit_paths
    # and the database itself refuses
    conn = db_connect(live.db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET reason = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    finally:
        conn.close()


def test_blocked_terms(live_server, owner, clip):
    live, c = live_server, live_server.client
    handle, owner_token, vid = owner
    oh = live.auth(owner_token)
    admin = live.auth(make_admin(live, "mod5"))
    assert_problem(c.put("/api/admin/blocked-terms", json={"terms": ["x"]}, headers=oh), 403)
    r = c.put(
        "/api/admin/blocked-terms",
        json={"terms": ["Scamcoin", " bad-word ", "scamcoin"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["terms"] == ["bad-word", "scamcoin"]
    assert c.get("/api/admin/blocked-terms", headers=admin).json()["terms"] == [
        "bad-word",
        "scamcoin",
    ]

    # comments, display names and captions: case-insensitive substring; the 422 names the rule
    p = assert_problem(
        c.post(f"/api/videos/{vid}/comments", json={"body": "get SCAMCOINS now"}, headers=oh), 422
    )
    assert "blocked terms" in p["detail"] and "scamcoin" not in p["detail"].lower()
    assert p["detail"].startswith("body:")
    assert (
        c.post(
            f"/api/videos/{vid}/comments", json={"body": "a fine comment"}, headers=oh
        ).status_code
        == 201
    )
    p = assert_problem(c.patch("/api/me", json={"display_name": "Mr Bad-Word"}, headers=oh), 422)
    assert p["detail"].startswith("display_name:")
    r = c.post(
        "/api/auth/register",
        json={"handle": "newbie", "password": STRONG, "display_name": "ScamCoin fan"},
    )
    assert_problem(r, 422)
    with open(clip, "rb") as f:
        r = c.post(
            "/api/videos",
            files={"file": ("c.mp4", f, "video/mp4")},
            data={"caption": "free scamcoin"},
            headers=oh,
        )
    p = assert_problem(r, 422)
    assert p["detail"].startswith("caption:")

    # caption tracks: a blocked term in a cue is refused naming its line, by PUT or the upload
    vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:00.400\nhello\n\n00:00:00.400 --> 00:00:00.500\nbuy ScamCoin\n"
    r = c.put(
        f"/api/videos/{vid}/captions/en",
        content=vtt.encode(),
        headers={**oh, "Content-Type": "text/vtt"},
    )
    p = assert_problem(r, 422)
    assert p["detail"].startswith("captions line 7:") and "blocked terms" in p["detail"], p
    assert c.get(f"/api/videos/{vid}/captions").json()["items"] == []
    before = c.get(f"/api/users/{handle}/videos", headers=oh).json()["items"]
    with open(clip, "rb") as f:
        r = c.post(
            "/api/videos",
            files={"file": ("c2.mp4", f, "video/mp4"), "captions": ("c.vtt", vtt, "text/vtt")},
            headers=oh,
        )
    assert assert_problem(r, 422)["detail"].startswith("captions line 7:")
    assert c.get(f"/api/users/{handle}/videos", headers=oh).json()["items"] == before
    assert list((live.data_dir / "tmp").iterdir()) == []
    assert (
        c.put(
            f"/api/videos/{vid}/captions/en",
            content=vtt.replace("ScamCoin", "bread").encode(),
            headers={**oh, "Content-Type": "text/vtt"},
        ).json()["cues"]
        == 2
    )


def test_automatic_captions_leave_out_cues_with_blocked_terms() -> None:
    from shortstack.media.captions import Cue, parse_vtt
    from shortstack.server.captions import automatic_vtt

    cues = [Cue(0.0, 1.0, "hello there"), Cue(1.0, 2.0, "free scamcoin"), Cue(2.0, 3.0, "bye")]
    vtt, count = automatic_vtt(cues, ["scamcoin"])
    assert count == 2 and [c.text for c in parse_vtt(vtt)] == ["hello there", "bye"]
    assert automatic_vtt(cues)[1] == 3


def _removed_long_ago_and_today(make_server, author: str, mod: str):
    """A stopped server's instance where @mod removed two videos of @author: one 31 days ago
    (past the 30-day appeal time), one today. (live, admin headers, old id, recent id)"""
    live = make_server()
    live.register(author)
    admin = live.auth(make_admin(live, mod))
    old, recent = seed_video(live, author, "old one"), seed_video(live, author, "new one")
    for vid in (old, recent):
        r = live.client.post(f"/api/admin/reports/video/{vid}/remove", headers=admin)
        assert r.status_code == 200
    conn = db_connect(live.db_path)
    try:
        conn.execute("UPDATE videos SET removed_at = removed_at - 31 * 86400 WHERE id = ?", (old,))
    finally:
        conn.close()
    live.client.close()
    live.server.stop()
    return live, admin, old, recent


def test_removed_content_is_purged_after_the_appeal_time(make_server):
    live, admin, old, recent = _removed_long_ago_and_today(make_server, "author7", "mod6")

    again = make_server(live.data_dir)  # the start-up sweep purges what is past 30 days
    assert_problem(again.client.get(f"/api/videos/{old}", headers=admin), (401, 404))
    admin = again.auth(
        again.client.post("/api/auth/login", json={"handle": "mod6", "password": STRONG}).json()[
            "token"
        ]
    )
    assert_problem(again.client.get(f"/api/videos/{old}", headers=admin), 404)
    assert again.client.get(f"/api/videos/{recent}", headers=admin).status_code == 200
    actions = [
        a["action"] for a in again.client.get("/api/admin/audit", headers=admin).json()["items"]
    ]
    assert actions.count("remove") == 2  # the audit log keeps its entries


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shortstack", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_report_queue_suspend_and_terms(live_server, owner):
    live, c = live_server, live_server.client
    handle, owner_token, vid = owner
    reporter = live.register("reporter8")
    admin = make_admin(live, "mod8")
    server = ["--server", live.url]

    r = _cli("report", "video", vid, "--reason", "spam", "--token", reporter, *server)
    assert r.returncode == 0, r.stderr
    assert "open" in r.stdout
    r = _cli("report", "video", vid, "--reason", "other", "--token", reporter, *server)
    assert r.returncode != 0 and "422" in r.stderr  # other needs --text
    r = _cli("admin", "reports", "--json", "--token", admin, *server)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["items"][0]["target_id"] == vid
    r = _cli("admin", "reports", "--token", reporter, *server)
    assert r.returncode != 0 and "403" in r.stderr

    r = _cli("admin", "suspend", handle, "--reason", "spam ring", "--token", admin, *server)
    assert r.returncode == 0, r.stderr
    p = assert_problem(c.post("/api/auth/login", json={"handle": handle, "password": STRONG}), 403)
    assert "spam ring" in p["detail"]
    r = _cli("admin", "unsuspend", handle, "--token", admin, *server)
    assert r.returncode == 0, r.stderr
    assert c.post("/api/auth/login", json={"handle": handle, "password": STRONG}).status_code == 200

    data = ["--data", str(live.data_dir)]
    r = _cli("admin", "terms", "add", "Scamcoin", "rugpull", *data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["rugpull", "scamcoin"]
    r = _cli("admin", "terms", "remove", "rugpull", *data)
    assert r.returncode == 0 and r.stdout.split() == ["scamcoin"]
    r = _cli("admin", "terms", "list", "--json", *data)
    assert json.loads(r.stdout) == {"terms": ["scamcoin"]}
    oh = live.auth(
        c.post("/api/auth/login", json={"handle": handle, "password": STRONG}).json()["token"]
    )
    body = {"body": "scamcoin!"}
    assert_problem(c.post(f"/api/videos/{vid}/comments", json=body, headers=oh), 422)
    audit = c.get("/api/admin/audit", headers=live.auth(admin)).json()["items"]
    assert [a["action"] for a in audit[:4]] == [
        "edit_blocked_terms",
        "edit_blocked_terms",
        "unsuspend",
        "suspend",
    ]


def test_doctor_fix_purges_removed_content_past_its_appeal_time(make_server):
    """`shortstack doctor --fix` on a stopped server's data dir: the video removed 31 days ago
    goes, rows and files; the one removed today stays."""
    live, _, old, recent = _removed_long_ago_and_today(make_server, "author9", "mod9")
    folder = {v: live.data_dir / "media" / v[:2] / v for v in (old, recent)}
    assert folder[old].exists()

    r = _cli("doctor", "--fix", "--json", "--data", str(live.data_dir))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["purged_removed"] == {"videos": 1, "comments": 0}
    conn = db_connect(live.db_path)
    try:
        ids = {row[0] for row in conn.execute("SELECT id FROM videos")}
    finally:
        conn.close()
    assert old not in ids and recent in ids
    assert not folder[old].exists()
    assert folder[recent].exists()
