"""SVG snapshots of the main screens at 80x24 and 120x40 (playback paused on frame one, no events)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from textual.widgets import Input
from tuikit import insert_comment

from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.widgets.comments_panel import CommentItem
from shortstack.tui.widgets.video_view import VideoView


def _pattern() -> np.ndarray:
    ys, xs = np.mgrid[0:112, 0:64]
    return np.stack([xs * 4, ys * 2, 255 - xs * 4], axis=-1).astype(np.uint8)


PATTERN = _pattern()


async def settle(pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                break
        except Exception:  # noqa: BLE001 - screens still mounting
            pass
        assert time.monotonic() < deadline, "app did not settle"
        await pilot.pause(0.05)


async def feed_settled(pilot) -> FeedScreen:
    await settle(pilot, lambda: isinstance(pilot.app.screen, FeedScreen))
    feed = pilot.app.screen
    await settle(pilot, lambda: "ana" in feed.interactions.following)
    view = feed.query_one(VideoView)
    await settle(
        pilot,
        lambda: (
            view.playback is not None
            and view.playback.frames_shown >= 1
            and view._frame is not None
            and view._frame.width == view.size.width
        ),
    )
    # Freeze the picture to a fixed pattern: decoded pixels depend on the encoder build.
    playback = view.playback
    playback.stop()
    view.show_poster(PATTERN)
    view._paint_poster()
    await pilot.pause(0.2)
    feed.update_status()
    return feed


@pytest.fixture
def still_app(seeded_one, make_app):
    """The client signed in as bob, paused on the first frame, without the event stream."""
    return make_app(seeded_one.url, token=seeded_one.tokens["bob"], autoplay=False, events=False)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_feed(snap_compare, still_app, size) -> None:
    assert snap_compare(still_app, terminal_size=size, run_before=feed_settled)


def test_feed_why_panel(snap_compare, still_app) -> None:
    async def run_before(pilot) -> None:
        feed = await feed_settled(pilot)
        # the server's reasons mention the upload's age ("1 min ago"): freeze them
        feed.current_item.update(
            score=0.873,
            reasons=[
                {"kind": "content", "weight": 0.61, "text": "More #cats like videos you liked"},
                {"kind": "freshness", "weight": 0.2, "text": "New upload"},
                {"kind": "explore", "weight": -0.05, "text": "Something different"},
            ],
            explanation="Because you liked #cats videos",
        )
        await pilot.press("w")

    assert snap_compare(still_app, terminal_size=(120, 40), run_before=run_before)


def test_comments_with_hostile_text(snap_compare, seeded_one, still_app) -> None:
    server = seeded_one.server
    video_id = seeded_one.videos[0]["id"]
    for body in ("[bold red]x[/]", "\x1b[2J\x1b]0;pwned\x07", "nice \u202eshot"):
        insert_comment(server, video_id, "ana", body)  # the API refuses the last two now

    async def run_before(pilot) -> None:
        feed = await feed_settled(pilot)
        await pilot.press("c")
        await settle(pilot, lambda: len(feed.query(CommentItem)) == 3)
        feed.query_one("#comments-input", Input).cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(still_app, terminal_size=(80, 24), run_before=run_before)


def test_login(snap_compare, live_server, make_app) -> None:
    app = make_app(live_server.url, events=False)

    async def run_before(pilot) -> None:
        from shortstack.tui.screens.login import LoginScreen

        await settle(pilot, lambda: isinstance(pilot.app.screen, LoginScreen))
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
