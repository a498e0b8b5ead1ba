"""Pilot tests (issue 15): a sensitive video waits behind a notice until the viewer shows it (or
turns the setting on); the Admin screen works the report queue and the registration mode, and
only admins get it; deleting your account asks for the password, then the account is gone."""

from __future__ import annotations

import secrets
import time

import pytest
from mediakit import db_connect, seed_video
from textual.widgets import DataTable, Input, RadioButton
from tuikit import feed_ready, wait_for

from shortstack.tui.screens.admin import AdminScreen
from shortstack.tui.screens.delete_account import DeleteAccountScreen
from shortstack.tui.widgets.feed.player import SENSITIVE_NOTICE

PASSWORD = "kettle-harbor-58"
SIZE = (110, 32)


@pytest.fixture
def world(live_server):
    """@maker posted a sensitive video, @viewer is a plain user, @boss is an admin."""
    tokens = {h: live_server.register(h, PASSWORD) for h in ("maker", "viewer", "boss")}
    conn = db_connect(live_server.db_path)
    try:
        conn.execute("UPDATE users SET is_admin = 1 WHERE handle = 'boss'")
    finally:
        conn.close()
    video_id = seed_video(live_server, "maker", "late night #city", duration_s=1.0)
    r = live_server.client.put(
        f"/api/videos/{video_id}/sensitive", headers=live_server.auth(tokens["maker"])
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 20
    while not live_server.client.get("/api/feed/for-you").json()["items"]:
        assert time.monotonic() < deadline, "the seeded video never reached the feed"
        time.sleep(0.1)
    return live_server, tokens, video_id


async def test_a_sensitive_video_waits_behind_a_notice_until_shown(world, make_app) -> None:
    live, tokens, video_id = world
    app = make_app(live.url, token=tokens["viewer"])
    async with app.run_test(size=SIZE) as pilot:
        feed = await feed_ready(pilot)
        assert feed.current_video["id"] == video_id
        player = feed.player
        await wait_for(pilot, lambda: player.notice == SENSITIVE_NOTICE, what="the notice")
        await pilot.pause(0.5)
        assert player.playback is None and player._frame is None  # no picture, no poster
        assert "sensitive" in player.status()
        await pilot.press("v")
        await wait_for(pilot, lambda: player.playback is not None, what="playback after v")
        assert video_id in app.revealed
        # the setting: on shows sensitive videos without asking, kept by the server
        app.revealed.clear()
        app.run_command_line("sensitive-media on")
        await wait_for(pilot, lambda: app.user.get("show_sensitive") is True, what="setting")
        me = live.client.get("/api/me", headers=live.auth(tokens["viewer"])).json()
        assert me["show_sensitive"] is True
        assert not player.behind_notice(feed.current_video)


async def test_anonymous_viewers_always_get_the_notice(world, make_app) -> None:
    live, _, video_id = world
    app = make_app(live.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")  # browse without logging in
        feed = await feed_ready(pilot)
        assert feed.current_video["id"] == video_id
        await wait_for(pilot, lambda: feed.player.notice == SENSITIVE_NOTICE, what="notice")
        app.run_command_line("sensitive-media on")  # only an account has the setting
        await pilot.pause(0.3)
        assert feed.player.behind_notice(feed.current_video)


async def test_admin_screen_removes_a_reported_video_and_sets_registration(world, make_app) -> None:
    live, tokens, video_id = world
    r = live.client.post(
        "/api/reports",
        json={"target": "video", "id": video_id, "reason": "spam"},
        headers=live.auth(tokens["viewer"]),
    )
    assert r.status_code == 201, r.text
    app = make_app(live.url, token=tokens["boss"])
    async with app.run_test(size=SIZE) as pilot:
        await feed_ready(pilot)
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        assert app.check_action("admin", ()) is True
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin screen")
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.reports) == 1, what="the report")
        table = screen.query_one("#admin-reports", DataTable)
        assert "late night" in str(table.get_row_at(0)[4])
        screen.query_one("#admin-reason", Input).value = "spam ring"
        table.focus()
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.reports == [], what="queue emptied")
        assert live.client.get(f"/api/videos/{video_id}").status_code == 404
        await wait_for(
            pilot,
            lambda: any(a["action"] == "remove" for a in screen.audit),
            what="audit entry",
        )
        entry = next(a for a in screen.audit if a["action"] == "remove")
        assert (entry["actor"], entry["reason"]) == ("boss", "spam ring")

        # the registration mode, from the Settings tab
        await wait_for(pilot, lambda: screen.registration == "open", what="settings")
        await pilot.press("3")
        await wait_for(
            pilot, lambda: screen.query_one("#admin-tabs").active == "tab-settings", what="tab"
        )
        await pilot.click("#registration-invite")
        await wait_for(pilot, lambda: screen.registration == "invite", what="invite mode")
        assert screen.query_one("#registration-invite", RadioButton).value
        settings = live.client.get("/api/admin/settings", headers=live.auth(tokens["boss"]))
        assert settings.json() == {"registration": "invite"}

        # an invite code from the same tab lets someone in
        await pilot.click("#admin-invite-create")
        shown = screen.query_one("#admin-invite-code")
        await wait_for(pilot, lambda: "use(s)" in str(shown.render()), what="invite code")
        code = str(shown.render()).split()[0]
        r = live.client.post(
            "/api/auth/register",
            json={"handle": "invited15", "password": PASSWORD, "invite": code},
        )
        assert r.status_code == 201, r.text


async def test_the_admin_screen_is_for_admins_only(world, make_app) -> None:
    live, tokens, _ = world
    app = make_app(live.url, token=tokens["viewer"])
    async with app.run_test(size=SIZE) as pilot:
        await feed_ready(pilot)
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        assert app.check_action("admin", ()) is False  # not listed, not bound
        app.action_admin()
        await pilot.pause(0.3)
        assert not isinstance(app.screen, AdminScreen)


async def test_delete_account_asks_the_password_then_deletes(world, make_app) -> None:
    live, _, _ = world
    handle = f"leaver{secrets.randbelow(10**6)}"
    token = live.register(handle, PASSWORD)
    app = make_app(live.url, token=token)
    async with app.run_test(size=SIZE) as pilot:
        await feed_ready(pilot)
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        app.run_command_line("delete-account")
        await wait_for(
            pilot, lambda: isinstance(app.screen, DeleteAccountScreen), what="confirmation"
        )
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#delete-confirm").region.width > 0)
        screen.query_one("#delete-password", Input).value = "not-my-password-1"
        await pilot.click("#delete-confirm")
        await wait_for(
            pilot,
            lambda: "password" in str(screen.query_one("#delete-error").render()).lower(),
            what="wrong password said",
        )
        assert app.screen is screen  # still asking; nothing deleted
        assert live.client.get(f"/api/users/{handle}").status_code == 200

        await wait_for(pilot, lambda: not screen.query_one("#delete-confirm").disabled)
        box = screen.query_one("#delete-password", Input)
        box.value = PASSWORD
        box.focus()
        await pilot.pause(0.1)
        await pilot.press("enter")  # Enter in the password box confirms, like the button
        await wait_for(pilot, lambda: app.user is None, timeout=40, what="signed out")
        assert live.client.get(f"/api/users/{handle}").status_code == 404
        r = live.client.post("/api/auth/login", json={"handle": handle, "password": PASSWORD})
        assert r.status_code == 401


async def test_cancelling_deletes_nothing(world, make_app) -> None:
    live, tokens, _ = world
    app = make_app(live.url, token=tokens["viewer"])
    async with app.run_test(size=SIZE) as pilot:
        await feed_ready(pilot)
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        app.action_delete_account()
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteAccountScreen), what="modal")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DeleteAccountScreen), what="gone")
        assert live.client.get("/api/users/viewer").status_code == 200
        assert app.user is not None


def test_snapshot_sensitive_notice(snap_compare, world, make_app) -> None:
    live, tokens, _ = world
    app = make_app(live.url, token=tokens["viewer"], events=False)

    async def run_before(pilot) -> None:
        feed = await feed_ready(pilot)
        await wait_for(pilot, lambda: feed.player.notice == SENSITIVE_NOTICE, what="notice")
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        await pilot.pause(0.3)
        feed.update_status()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_snapshot_delete_account_confirmation(snap_compare, world, make_app) -> None:
    live, tokens, _ = world
    # paused, without events: nothing behind the dialog changes while it is drawn
    app = make_app(live.url, token=tokens["viewer"], autoplay=False, events=False)

    async def run_before(pilot) -> None:
        feed = await feed_ready(pilot)
        await wait_for(pilot, lambda: feed.player.notice == SENSITIVE_NOTICE, what="notice")
        await wait_for(pilot, lambda: app.user is not None, what="signed in")
        await wait_for(pilot, lambda: app.connection == "online", what="online")
        feed.update_status()
        app.action_delete_account()
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteAccountScreen), what="modal")
        await wait_for(pilot, lambda: app.screen.query_one("#delete-confirm").region.width > 0)
        app.screen.query_one("#delete-password", Input).value = "secret-typed"
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
