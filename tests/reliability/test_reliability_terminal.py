"""Terminal safety: hostile user text (Rich markup, ANSI/OSC escapes, bidi, zero-width) is refused
by the API; rows that hold it anyway (an older server, another writer) round-trip unchanged and
are shown inert by the terminal client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from reliakit import connect, make_clip, wait_status

from shortstack.tui.app import ShortstackApp
from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.widgets.comments_panel import CommentItem
from shortstack.tui.widgets.video_info import VideoInfo

MARKUP = "[bold red]x[/]"
ANSI = "\x1b[2J\x1b]0;pwned\x07"
BIDI = "abc\u202edcba"
ZERO_WIDTH = "zero\u200bwidth\u2066iso\u2069"
HOSTILE = f"{MARKUP} {ANSI} {BIDI} {ZERO_WIDTH} [link=http://evil]click[/link]"
NAME = f"{MARKUP}\x1b[31m\u202eeman"
FORBIDDEN = ("\x1b", "\x07", "\u202e", "\u200b", "\u2066", "\u2069")


def seed(live, tmp_path: Path) -> tuple[str, str, str]:
    """A user with a hostile display name and bio, a ready video with a hostile caption and a
    hostile comment; returns (token, video id, comment id). The API refuses such text now, so
    it is written into the rows directly, as an older server could have stored it."""
    token = live.register("mallory", display_name="placeholder")
    h = live.auth(token)
    r = live.client.patch("/api/me", json={"display_name": NAME, "bio": HOSTILE}, headers=h)
    assert r.status_code == 422, r.text
    clip = make_clip(tmp_path / "hostile.mp4")
    with clip.open("rb") as fh:
        r = live.client.post(
            "/api/videos",
            files={"file": ("hostile.mp4", fh, "video/mp4")},
            data={"caption": "cap #safe"},
            headers=h,
        )
    assert r.status_code == 202, r.text
    video_id = r.json()["id"]
    wait_status(live.url, video_id)
    r = live.client.post(
        f"/api/videos/{video_id}/comments", json={"body": f"c {HOSTILE}"}, headers=h
    )
    assert r.status_code == 422, r.text
    r = live.client.post(f"/api/videos/{video_id}/comments", json={"body": "c"}, headers=h)
    assert r.status_code == 201, r.text
    conn = connect(live.db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE users SET display_name = ?, bio = ? WHERE handle = 'mallory'", (NAME, HOSTILE)
        )
        conn.execute(
            "UPDATE videos SET caption = ? WHERE id = ?", (f"cap {HOSTILE} #safe", video_id)
        )
        conn.execute(
            "UPDATE videos_fts SET caption = ? WHERE video_id = ?",
            (f"cap {HOSTILE} #safe", video_id),
        )
        conn.execute("UPDATE comments SET body = ? WHERE id = ?", (f"c {HOSTILE}", r.json()["id"]))
        conn.execute("COMMIT")
    finally:
        conn.close()
    deadline = time.monotonic() + 20
    while video_id not in {
        i["video"]["id"]
        for i in live.client.get("/api/feed/for-you", params={"limit": 50}).json()["items"]
    }:
        assert time.monotonic() < deadline, "the video never reached the feed"
        time.sleep(0.1)
    return token, video_id, r.json()["id"]


def test_hostile_rows_round_trip_unchanged(live_server, tmp_path: Path) -> None:
    live = live_server
    token, video_id, comment_id = seed(live, tmp_path)
    video = live.client.get(f"/api/videos/{video_id}").json()
    assert video["caption"] == f"cap {HOSTILE} #safe"
    assert video["author"]["display_name"] == NAME
    profile = live.client.get("/api/users/mallory").json()
    assert (profile["display_name"], profile["bio"]) == (NAME, HOSTILE)
    comments = live.client.get(f"/api/videos/{video_id}/comments").json()["items"]
    assert [c["body"] for c in comments if c["id"] == comment_id] == [f"c {HOSTILE}"]
    found = live.client.get("/api/search", params={"q": "cap"}).json()["videos"]
    assert any(v["caption"] == f"cap {HOSTILE} #safe" for v in found)
    # handles cannot carry any of it: [a-z0-9_]{3,30} only
    for handle in ("[bold]x[/]", "ab\x1b[2J", "abc\u202e", "ab\u200bc", "ABC"):
        r = live.client.post(
            "/api/auth/register", json={"handle": handle, "password": "kettle-harbor-58"}
        )
        assert r.status_code == 422, (handle, r.text)


def _plain(widget) -> str:
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))


async def _wait(pilot, predicate, what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - widgets may not be mounted yet
            pass
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def _assert_inert(text: str) -> None:
    for char in FORBIDDEN:
        assert char not in text, f"{char!r} reached the screen"
    assert MARKUP in text, "the markup was parsed instead of shown literally"


async def test_hostile_text_renders_inert_in_the_client(live_server, tmp_path: Path) -> None:
    live = live_server
    _, video_id, _ = await asyncio.to_thread(seed, live, tmp_path)
    viewer = await asyncio.to_thread(live.register, "victim")
    app = ShortstackApp(live.url, token=viewer, config_dir=tmp_path / "config", events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait(pilot, lambda: isinstance(app.screen, FeedScreen), "the feed")
        feed = app.screen
        await _wait(pilot, lambda: feed.current_video["id"] == video_id, "the hostile video")
        info = feed.query_one(VideoInfo)
        await _wait(pilot, lambda: "cap " in _plain(info), "the caption")
        shown = _plain(info)
        _assert_inert(shown)
        assert "\\x1b[2J\\x1b]0;pwned\\x07" in shown  # the escapes are visible as text
        assert "\\u202e" in shown and "[link=http://evil]click[/link]" in shown
        assert app.title != "pwned"

        await pilot.press("c")
        await _wait(pilot, lambda: feed.query(CommentItem), "the comments")
        comment_text = _plain(feed.query(CommentItem).first())
        _assert_inert(comment_text)
        assert "c " + MARKUP in comment_text

        screen = app.export_screenshot()
        for char in FORBIDDEN:
            assert char not in screen
        assert "pwned" in screen  # shown as inert text, not executed
