"""Issue 14 item 11: no `shortstack` command lets user text reach the terminal raw. Hostile
captions, names, bios, comments and notifications (stored before the server refused them, or
by another client) are printed through the one sanitiser in tui/plain_text.py."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

STRONG = "kettle-harbor-58"
# set the window title, write the clipboard (OSC 52), erase the line, a C1 CSI, RTL override
HOSTILE = "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2K\x9b31m\u202eevil\x08"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\x08")


@pytest.fixture
def hostile_world(live_server):
    """A victim and an attacker whose name, bio, caption and comment carry terminal escapes
    (written straight into the database, as an older server or another writer could have)."""
    victim = live_server.register("victim", STRONG)
    attacker = live_server.register("attacker", STRONG)
    video_id = "Hostile0001"
    conn = sqlite3.connect(str(live_server.db_path), isolation_level=None, timeout=30)
    try:
        conn.execute(
            "UPDATE users SET display_name = ?, bio = ? WHERE handle = 'attacker'",
            (HOSTILE, HOSTILE),
        )
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width,"
            " height, created_at, likes) SELECT ?, id, ?, 'ready', 1, 10, 320, 240, ?, 5"
            " FROM users WHERE handle = 'attacker'",
            (video_id, f"hello {HOSTILE} #fun", time.time()),
        )
        conn.execute("INSERT INTO renditions VALUES (?, '240p', 320, 240, 1000)", (video_id,))
        conn.execute(
            "INSERT INTO videos_fts (video_id, caption, hashtags, handle) VALUES (?, ?, 'fun', 'attacker')",
            (video_id, f"hello {HOSTILE}"),
        )
        conn.execute(
            "INSERT INTO comments (id, video_id, author_id, body, created_at)"
            " SELECT 'Comment0001', ?, id, ?, ? FROM users WHERE handle = 'attacker'",
            (video_id, HOSTILE, time.time()),
        )
    finally:
        conn.close()
    # the attacker follows the victim: a notification carrying the hostile display name
    r = live_server.client.put("/api/users/victim/follow", headers=live_server.auth(attacker))
    assert r.status_code == 204
    return live_server, victim, video_id


def _run(live, token: str | None, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SHORTSTACK_SERVER=live.url)
    if token:
        env["SHORTSTACK_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "shortstack", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _assert_inert(result: subprocess.CompletedProcess, args) -> None:
    for stream in (result.stdout, result.stderr):
        leaked = [c for c in RAW if c in stream]
        assert not leaked, (args, leaked, stream[:500])


def test_no_command_prints_raw_escapes_from_user_text(hostile_world):
    live, victim, video_id = hostile_world
    deadline = time.monotonic() + 20
    while True:  # the feed engine picks new videos up in the background
        r = _run(live, None, "feed", "--kind", "trending", "--json")
        assert r.returncode == 0, r.stderr
        if json.loads(r.stdout)["items"]:
            break
        assert time.monotonic() < deadline, r.stdout
        time.sleep(0.3)
    commands = [
        ["feed", "--kind", "trending"],
        ["feed", "--kind", "trending", "--json"],
        ["feed"],
        ["search", "hello"],
        ["search", "hello", "--json"],
        ["search", "@attacker"],
        ["profile", "attacker"],
        ["profile", "attacker", "--json"],
        ["comments", video_id],
        ["comments", video_id, "--json"],
        ["notifications"],
        ["notifications", "--json"],
        ["like", video_id],
        ["sessions"],
    ]
    for args in commands:
        r = _run(live, victim, *args)
        assert r.returncode == 0, (args, r.stderr)
        _assert_inert(r, args)
    # the text is still there, made visible
    r = _run(live, victim, "feed", "--kind", "trending")
    assert "\\x1b]0;pwned\\x07" in r.stdout and "\\u202eevil" in r.stdout, r.stdout
    # --json stays valid JSON that decodes to the stored text
    r = _run(live, victim, "comments", video_id, "--json")
    assert json.loads(r.stdout)["items"][0]["body"] == HOSTILE


def test_server_errors_quoting_user_text_are_inert(live_server):
    r = _run(live_server, None, "profile", "no\x1b[2Jbody")
    assert r.returncode == 2
    _assert_inert(r, "profile")
    assert r.stderr.count("\n") == 1
