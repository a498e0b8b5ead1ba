"""Pilot tests of the whole client against a real server: login, feed, interactions, search, upload."""

from __future__ import annotations

import asyncio
import socket
import stat

from textual.events import MouseScrollUp
from textual.geometry import Region
from textual.widgets import Input, OptionList, ProgressBar, Static
from tuikit import (
    APP_SIZE,
    feed_ready,
    insert_comment,
    make_clip,
    rendered,
    upload,
    wait_for,
    wait_ready,
)

from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.screens.login import LoginScreen
from shortstack.tui.screens.profile import ProfileScreen
from shortstack.tui.screens.search import SearchScreen
from shortstack.tui.screens.upload import UploadScreen
from shortstack.tui.widgets.comments_panel import CommentItem, CommentsPanel
from shortstack.tui.widgets.status_line import StatusLine
from shortstack.tui.widgets.video_info import VideoInfo
from shortstack.tui.widgets.video_list import VideoList
from shortstack.tui.widgets.video_view import VideoView
from shortstack.tui.widgets.why_panel import WhyPanel

SIZE = APP_SIZE


async def test_login_then_swipe_and_watch_time(seeded, make_app, tmp_path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "token").write_text("revoked-token")  # refused: login screen
    app = make_app(seeded.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), what="login")
        assert not (tmp_path / "config" / "token").exists()
        await wait_for(pilot, lambda: app.screen.query_one("#login-submit").region.width > 0)
        await pilot.pause(0.1)
        app.screen.query_one("#login-handle", Input).value = "bob"
        app.screen.query_one("#login-password", Input).value = "wrong-password"
        await pilot.click("#login-submit")
        await wait_for(
            pilot,
            lambda: "Wrong" in rendered(app.screen.query_one("#login-error")),
            what="wrong-password message",
        )
        app.screen.query_one("#login-password", Input).value = "kettle-harbor-58"
        await pilot.click("#login-register")  # bob exists already
        await wait_for(pilot, lambda: "taken" in rendered(app.screen.query_one("#login-error")))
        await pilot.click("#login-submit")
        feed = await feed_ready(pilot)
        token_file = tmp_path / "config" / "token"
        assert token_file.read_text() == app.api.token
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert app.user["handle"] == "bob"

        view = feed.query_one(VideoView)
        await wait_for(pilot, lambda: view.frames_painted >= 3, what="video frames")
        first = feed.current_video["id"]
        await pilot.pause(0.8)  # watch most of the 1 s clip
        await pilot.press("j")
        assert feed.current_video["id"] != first and feed.state.index == 1
        await pilot.press("k")
        assert feed.current_video["id"] == first
        await pilot.press("down")
        assert feed.state.index == 1
        # the mouse wheel swipes too (debounced)
        wheel = MouseScrollUp(view, 3, 3, 0, -1, 0, False, False, False)
        view.post_message(wheel)
        await wait_for(pilot, lambda: feed.state.index == 0, what="wheel up")

        # the watch time of the first video reached the server (>= 50 % counts as a view)
        await wait_for(
            pilot,
            lambda: seeded.get(f"/api/videos/{first}")["counts"]["views"] >= 1,
            what="view counted",
        )

        # quitting sends the watch time of the video on screen
        await pilot.press("j")
        second = feed.current_video["id"]
        painted = view.frames_painted
        await wait_for(pilot, lambda: view.frames_painted >= painted + 3, what="second video plays")
        await pilot.pause(0.8)
        await pilot.press("q")
    for _ in range(100):
        if seeded.get(f"/api/videos/{second}")["counts"]["views"] >= 1:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the watch time sent at quit was not counted")


async def test_interactions_on_the_current_video(seeded, make_app) -> None:
    app = make_app(seeded.url, token=seeded.tokens["bob"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        feed = await feed_ready(pilot)
        video_id = feed.current_video["id"]
        info = feed.query_one(VideoInfo)

        await pilot.press("l")
        await wait_for(pilot, lambda: "♥ 1 like " in rendered(info), what="live like count")
        assert seeded.get(f"/api/videos/{video_id}")["liked_by_me"] is True

        # comments: markup and terminal escapes are shown literally
        await pilot.press("c")
        panel = feed.query_one(CommentsPanel)
        assert not panel.has_class("hidden")
        box = panel.query_one("#comments-input", Input)
        await wait_for(pilot, lambda: box.has_focus, what="comment box focus")
        await pilot.press(*"[bold red]x[/]", "enter")
        insert_comment(seeded.server, video_id, "ana", "\x1b[2J\x1b]0;pwned\x07")
        await wait_for(pilot, lambda: len(feed.query(CommentItem)) == 1, what="comment shown")
        await pilot.press("escape")  # leaves the input and closes the panel
        assert panel.has_class("hidden")
        await pilot.press("c")  # reopen: reload
        await wait_for(pilot, lambda: len(feed.query(CommentItem)) == 2, what="both comments")
        texts = [rendered(item) for item in feed.query(CommentItem)]
        assert any("[bold red]x[/]" in t for t in texts), texts
        assert any("\\x1b[2J\\x1b]0;pwned\\x07" in t for t in texts), texts
        assert not any("\x1b" in t or "\x07" in t for t in texts)

        # reply to ana's comment through the command bar, by number
        own = next(n for n, c in enumerate(panel.numbered, 1) if c["author"]["handle"] == "ana")
        await pilot.press("escape")
        await pilot.press("colon")
        await pilot.press(*f"reply {own} thanks!", "enter")
        await wait_for(pilot, lambda: app.history[-1:] == [f"reply {own} thanks!"])
        await pilot.pause(0.5)
        await pilot.press("c")
        await wait_for(
            pilot,
            lambda: any(c["body"] == "thanks!" for c in panel.numbered),
            what="reply in thread",
        )
        reply = next(c for c in panel.numbered if c["body"] == "thanks!")
        assert reply["parent_id"] == panel.numbered[own - 1]["id"]
        assert any(item.depth == 1 for item in feed.query(CommentItem))
        # delete your own comment: pick it, press d
        mine = next(i for i in feed.query(CommentItem) if i.comment["body"] == "[bold red]x[/]")
        mine.focus()
        await pilot.press("d")
        await wait_for(
            pilot,
            lambda: all(c["body"] != "[bold red]x[/]" for c in panel.numbered),
            what="comment deleted",
        )
        await pilot.press("escape")  # close comments
        assert feed.focused is feed.query_one(VideoView)

        await pilot.press("f")
        await wait_for(pilot, lambda: seeded.get("/api/users/ana")["is_following"], what="follow")
        await pilot.press("2")  # the Following feed now has ana's videos
        await wait_for(
            pilot,
            lambda: feed.kind == "following" and feed.current_video["author"]["handle"] == "ana",
            what="following feed",
        )
        await pilot.press("1")
        assert feed.current_video["id"] == video_id  # For You kept its place

        await pilot.press("s")
        await wait_for(pilot, lambda: video_id in app.clipboard, what="share link copied")

        await pilot.press("w")
        why = feed.query_one(WhyPanel)
        assert not why.has_class("hidden")
        text = rendered(why)
        assert "Why this video" in text and "score" in text
        assert feed.current_item["explanation"] in text

        before = len(feed.state.items)
        await pilot.press("n")
        await wait_for(pilot, lambda: len(feed.state.items) == before - 1, what="not interested")
        assert feed.current_video["id"] != video_id


async def test_search_profile_and_follow(seeded, make_app) -> None:
    app = make_app(seeded.url, token=seeded.tokens["bob"])
    async with app.run_test(size=SIZE) as pilot:
        await feed_ready(pilot)
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen), what="search")
        await pilot.press(*"#cats", "enter")
        videos = app.screen.query_one(VideoList)
        await wait_for(pilot, lambda: len(videos.videos) == 2, what="#cats results")
        await pilot.press("enter")  # play the first result
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen) and app.screen.static)
        assert (
            "#cats" in app.screen.current_video["hashtags"]
            or "cats" in app.screen.current_video["hashtags"]
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))

        app.screen.run_search("@ana")
        users = app.screen.query_one("#search-users", OptionList)
        await wait_for(pilot, lambda: users.option_count == 1, what="@ana result")
        users.focus()
        users.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen) and app.screen.profile)
        profile = app.screen
        assert profile.profile["handle"] == "ana"
        await wait_for(pilot, lambda: len(profile.query_one(VideoList).videos) == 3)
        await pilot.press("f")
        await wait_for(pilot, lambda: seeded.get("/api/users/ana")["is_following"], what="follow")
        await wait_for(pilot, lambda: "following" in rendered(profile.query_one("#profile-header")))

        # your own profile is a mode of its own
        await pilot.press("escape")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen) and app.screen.profile)
        assert app.screen.profile["handle"] == "bob" and app.screen.profile["following"] == 1
        assert "(you)" in rendered(app.screen.query_one("#profile-header"))


async def test_upload_with_transcode_progress(live_server, make_app, clip_file) -> None:
    token = live_server.register("dora")
    app = make_app(live_server.url, token=token)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen), what="upload screen")
        screen = app.screen
        seen: list[str] = []
        original = screen.on_shortstack_app_event_received

        def spy(message) -> None:
            seen.append(message.event.event)
            original(message)

        screen.on_shortstack_app_event_received = spy  # type: ignore[method-assign]
        app.run_command_line(f'upload {clip_file("mine.mp4", 7)} "my first #upload"')
        await wait_for(pilot, lambda: screen.finished.is_set(), timeout=60, what="transcode")
        assert screen.query_one("#upload-send", ProgressBar).percentage == 1.0
        assert screen.query_one("#upload-transcode", ProgressBar).percentage == 1.0
        assert "Ready" in rendered(screen.query_one("#upload-status"))
        mine = live_server.client.get("/api/users/dora/videos").json()["items"]
        assert [v["caption"] for v in mine] == ["my first #upload"]
        assert mine[0]["status"] == "ready"


async def test_an_upload_that_cannot_start_says_why_where_it_can_be_seen(
    live_server, make_app, tmp_path
) -> None:
    """The status sits below the form: in a 100x30 terminal it was out of sight, so Enter on a
    missing file seemed to do nothing."""
    token = live_server.register("ezra")
    app = make_app(live_server.url, token=token)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen), what="upload screen")
        screen = app.screen
        await pilot.press(*str(tmp_path / "nope.mp4"), "enter", *"hello", "enter")
        status = screen.query_one("#upload-status", Static)
        await wait_for(pilot, lambda: "No such file" in rendered(status), what="the reason")
        box = screen.query_one("#upload-box")
        await wait_for(
            pilot,
            lambda: status.region.height > 0 and box.region.contains_region(status.region),
            what="the reason in view",
        )


async def test_server_down_shows_status_and_keeps_running(make_app) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}", token="stale-token")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: "unreachable" in app.connection, what="offline status")
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen), what="feed")
        status = app.screen.query_one(StatusLine)
        await wait_for(pilot, lambda: "unreachable" in str(status.render()), what="status line")
        await pilot.press("j", "l", "c", "w", "slash")
        await pilot.pause(0.2)
        assert app.is_running

        # an unexpected bug inside a worker becomes a toast, not a traceback
        async def broken(query: str) -> dict:
            raise KeyError("items")

        app.api.search = broken  # type: ignore[method-assign]
        app.open_search(None)
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
        app.screen.run_search("cats")
        await wait_for(
            pilot,
            lambda: any("Something went wrong" in n.message for n in app._notifications),
            what="error toast",
        )
        assert app.is_running


async def test_notifications_palette_and_help(seeded, make_app) -> None:
    from textual.command import CommandPalette

    from shortstack.tui.app import ShortstackApp
    from shortstack.tui.palette import ActionsProvider
    from shortstack.tui.screens.help import HelpScreen
    from shortstack.tui.screens.notifications import NotificationsScreen

    app = make_app(seeded.url, token=seeded.tokens["ana"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        feed = await feed_ready(pilot)
        # bob likes ana's video: ana gets a live notification (toast + inbox)
        video_id = feed.current_video["id"]
        seeded.server.client.put(
            f"/api/videos/{video_id}/like", headers=seeded.server.auth(seeded.tokens["bob"])
        ).raise_for_status()
        await wait_for(pilot, lambda: app.notifications, what="live notification")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, NotificationsScreen))
        await wait_for(
            pilot,
            lambda: any("@bob liked your video" in rendered(s) for s in app.screen.query(Static)),
            what="notification listed",
        )

        # every bound action of the app and the feed is in the command palette
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen))
        provider = ActionsProvider(app.screen)
        titles = [hit.text for hit in [h async for h in provider.discover()]]
        for binding in [*ShortstackApp.BINDINGS, *FeedScreen.BINDINGS]:
            if binding.action != "back":
                assert binding.description in titles, binding.description
        hits = [h async for h in provider.search("like")]
        assert hits and hits[0].text == "Like"
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Why", "enter")
        await wait_for(
            pilot, lambda: not feed.query_one(WhyPanel).has_class("hidden"), what="palette ran why"
        )

        # the help screen lists every key binding of the feed
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = " ".join(text for _, text in app.screen.rows)
        for binding in FeedScreen.BINDINGS:
            assert binding.tooltip in help_text, binding.tooltip
        # and its tables line up: every description starts in the same column
        lines = [
            strip.text
            for static in app.screen.query(Static)
            for strip in static.render_lines(Region(0, 0, static.size.width, static.size.height))
        ]
        starts = set()
        for keys, text in app.screen.rows:
            line = next(line for line in lines if keys in line and text in line)
            starts.add(line.index(text))
        assert len(starts) == 1, f"descriptions start at columns {sorted(starts)}"


async def test_slow_server_shows_status_then_recovers(make_app) -> None:
    """A server that takes 3 s to answer: the status says so, then goes back to normal."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            await asyncio.sleep(3)
            body = b'{"items": [], "next_cursor": null}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}", events=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "slow" in app.connection, what="slow status")
            await wait_for(pilot, lambda: app.connection == "online", what="recovered")
            assert app.is_running
    finally:
        server.close()


async def test_keymap_file_remaps_bindings_by_id(make_app, tmp_path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "keymap.toml").write_text('[keymap]\n"feed.like" = "x"\n"app.help" = "f1"\n')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}", token="t", events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen), what="feed")
        keys = {key: b.binding.action for key, b in app.screen.active_bindings.items()}
        assert keys.get("x") == "like" and "l" not in keys
        assert keys.get("f1") == "help"

        # mode switches from the command bar
        from shortstack.tui.screens.lab import LabScreen
        from shortstack.tui.screens.notifications import NotificationsScreen

        app.run_command_line("notifications")
        await wait_for(pilot, lambda: isinstance(app.screen, NotificationsScreen))
        app.run_command_line("lab")
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen))
        await pilot.press("escape")  # the lab's own back goes home
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen))


async def test_the_end_of_the_feed_looks_again_for_new_videos(
    seeded_one, make_app, tmp_path
) -> None:
    server, ana = seeded_one.server, seeded_one.tokens["ana"]
    app = make_app(seeded_one.url, token=seeded_one.tokens["bob"])
    async with app.run_test(size=SIZE) as pilot:
        feed = await feed_ready(pilot)
        first = feed.current_video["id"]
        await wait_for(pilot, lambda: feed.state.exhausted, what="the one-video feed ends")
        await pilot.press("j")  # nothing new yet: told so, and still on the only video
        await wait_for(
            pilot,
            lambda: any("caught up" in str(n.message) for n in app._notifications),
            what="caught-up notice",
        )
        assert feed.current_video["id"] == first and len(feed.state.items) == 1
        for _ in range(3):  # pressing on does not stack copies of the notice
            await pilot.press("j")
            await pilot.pause(0.2)
        caught = [n for n in app._notifications if "caught up" in str(n.message)]
        assert len(caught) == 1
        # two uploads finish processing while the viewer sits at the end of the feed
        later = [
            upload(server, ana, make_clip(tmp_path / f"late{i}.mp4", 7 + i), f"late {i} #cats")
            for i in range(2)
        ]
        for video in later:
            wait_ready(server, ana, video["id"])
        await pilot.press("j")
        await wait_for(pilot, lambda: feed.current_video["id"] != first, what="a new video")
        assert feed.current_video["id"] in {v["id"] for v in later}
        assert len({i["video"]["id"] for i in feed.state.items}) == len(feed.state.items) == 3


async def test_unread_count_in_status_and_read_on_open(seeded, make_app) -> None:
    """The status line shows the unread count; opening the notifications marks them read."""
    from shortstack.tui.screens.notifications import NotificationsScreen

    server, auth = seeded.server, seeded.server.auth
    ana, bob = seeded.tokens["ana"], seeded.tokens["bob"]
    server.client.post("/api/notifications/read-all", headers=auth(ana)).raise_for_status()
    server.client.delete("/api/users/ana/follow", headers=auth(bob)).raise_for_status()
    server.client.put("/api/users/ana/follow", headers=auth(bob)).raise_for_status()
    app = make_app(seeded.url, token=ana)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        feed = await feed_ready(pilot)
        status = feed.query_one(StatusLine)
        await wait_for(pilot, lambda: "✉ 1 unread" in str(status.render()), what="count")
        video_id = feed.current_video["id"]
        server.client.delete(f"/api/videos/{video_id}/like", headers=auth(bob))
        server.client.put(f"/api/videos/{video_id}/like", headers=auth(bob)).raise_for_status()
        await wait_for(pilot, lambda: "✉ 2 unread" in str(status.render()), what="live count")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, NotificationsScreen))
        await wait_for(pilot, lambda: app.unread == 0, what="marked read")
        me = server.client.get("/api/me", headers=auth(ana)).json()
        assert me["unread_notifications"] == 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen))
        assert "unread" not in str(feed.query_one(StatusLine).render())
