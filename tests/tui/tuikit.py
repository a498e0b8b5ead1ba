"""Helpers shared by the TUI pilot tests: wait for a condition, read a widget's text, store
hostile text the server itself would refuse, an app playing one clip."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Static

from shortstack.media.fixture_clips import write_test_video
from shortstack.tui.halfblocks import ColorMode
from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.widgets.video_view import VideoView


async def wait_for(pilot, predicate, timeout: float = 15.0, what: str = "condition") -> None:
    """Pause the pilot until predicate() is true (widgets may not exist yet: errors retry)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - widgets may not exist yet
            pass
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


class PlayerApp(App[None]):
    """A VideoView alone, playing ``clip`` from the start."""

    def __init__(self, clip, mode: ColorMode = ColorMode.TRUECOLOR) -> None:
        super().__init__()
        self.clip, self.mode = clip, mode

    def compose(self) -> ComposeResult:
        yield VideoView(id="video", color_mode=self.mode)

    def on_mount(self) -> None:
        self.query_one(VideoView).play(self.clip)


def rendered(widget: Static) -> str:
    return str(widget.render())


def insert_comment(server, video_id: str, handle: str, body: str) -> str:
    """Write a comment straight into the database (as an older server could have stored it:
    the API now refuses control characters), keeping the video's counter in step."""
    comment_id = "H" + secrets.token_hex(5)
    conn = sqlite3.connect(str(server.db_path), isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO comments (id, video_id, author_id, body, created_at)"
            " SELECT ?, ?, id, ?, ? FROM users WHERE handle = ?",
            (comment_id, video_id, body, time.time(), handle),
        )
        conn.execute("UPDATE videos SET comments = comments + 1 WHERE id = ?", (video_id,))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return comment_id


def make_clip(path: Path, variant: int = 0) -> Path:
    """A tiny portrait clip (64x112, 1 s), different bytes per variant."""
    return write_test_video(
        path, width=64, height=112, duration_s=1.0, fps=20 + variant, audio=False
    )


def wait_ready(live_server: Any, token: str, video_id: str, timeout: float = 60.0) -> dict:
    """Poll until the server has transcoded the video."""
    deadline = time.monotonic() + timeout
    while True:
        video = live_server.client.get(
            f"/api/videos/{video_id}", headers=live_server.auth(token)
        ).json()
        if video["status"] in ("ready", "failed") or time.monotonic() > deadline:
            assert video["status"] == "ready", video
            return video
        time.sleep(0.1)


def upload(live_server: Any, token: str, path: Path, caption: str) -> dict:
    with path.open("rb") as fh:
        response = live_server.client.post(
            "/api/videos",
            files={"file": (path.name, fh, "video/mp4")},
            data={"caption": caption},
            headers=live_server.auth(token),
        )
    assert response.status_code == 202, response.text
    return response.json()


APP_SIZE = (100, 30)  # the client's terminal in most app tests


async def feed_ready(pilot) -> FeedScreen:
    """Wait until the app is on its feed with a video; the feed screen."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FeedScreen), what="feed screen")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.current_video is not None, what="a video")
    return screen
