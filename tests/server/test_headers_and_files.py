"""Issue 14 item 14: security headers on HTML (nosniff everywhere), private data files, and an
access log that a request path cannot forge or use to reach a terminal."""

from __future__ import annotations

import stat
import time

from serverkit import seed_video

from shortstack.server.maintenance import backup


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_share_page_and_api_carry_security_headers(live_server):
    token = live_server.register("sharer")
    video_id = seed_video(live_server, "sharer", "look at this")
    page = live_server.client.get(f"/v/{video_id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # scripts and styles only from this origin (server/web/static), never inline
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    # JSON, errors and media answers are never sniffed either
    for r in (
        live_server.client.get("/api/me", headers=live_server.auth(token)),
        live_server.client.get("/api/videos/nope-nope-nope"),
        live_server.client.get("/healthz"),
        live_server.client.get("/no/such/route"),
        live_server.client.delete("/healthz"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff", (r.url, r.headers)


def test_database_wal_media_and_backups_are_private(live_server, tmp_path):
    live_server.register("private")  # a write: the WAL and its index exist now
    db = live_server.db_path
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        assert path.exists(), path
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
    for folder in ("media", "tmp"):
        assert _mode(live_server.data_dir / folder) == 0o700, folder
    result = backup(live_server.data_dir, tmp_path / "backups" / "b.db")
    assert _mode(tmp_path / "backups" / "b.db") == 0o600
    assert _mode(tmp_path / "backups" / result["manifest"].rsplit("/", 1)[1]) == 0o600


def test_access_log_escapes_forged_lines_and_terminal_escapes(make_server):
    live = make_server(server={"log_requests": True})
    # a second line that looks like the server's own, a carriage return, clear-screen, a title
    forged = "/api/videos/nothing%0A127.0.0.1%20GET%20admin%20200%0D%1B[2J%1B]0;pwned%07"
    live.client.get(forged)
    live.client.get("/api/videos/after-the-attack")
    log = live.data_dir / "server.log"
    deadline = time.monotonic() + 10
    while "after-the-attack" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    text = log.read_text()
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    lines = text.splitlines()
    assert not any(line.lstrip().startswith("127.0.0.1") for line in lines), lines
    attack = next(line for line in lines if "nothing" in line)
    assert "\\x0a127.0.0.1\\x20GET" in attack and "\\x1b[2J" in attack, attack
