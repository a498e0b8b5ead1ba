"""Sound keys through the pilot: `m` mutes, `+`/`-` step the volume (shown a moment in the
status line), `:volume N`; volume, mute and the caption language outlast the session; without
a device the status line says why, and nothing else does."""

from __future__ import annotations

import json

import pytest
from tuikit import wait_for

from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.session import Session
from shortstack.tui.sound import open_sound
from shortstack.tui.widgets.status_line import StatusLine


def status_text(app) -> str:
    return str(app.screen.query_one("#status", StatusLine).render())


async def playing(pilot) -> FeedScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FeedScreen), what="the feed")
    feed = pilot.app.screen
    await wait_for(pilot, lambda: feed.player.playback is not None, what="playback")
    return feed


async def test_m_and_plus_minus_change_the_sound_and_are_remembered(
    seeded_one, make_app, tmp_path
) -> None:
    pytest.importorskip("miniaudio", reason="miniaudio is not installed: no sound tests")
    sound = open_sound(backend="null")
    try:
        app = make_app(seeded_one.url, token=seeded_one.tokens["bob"], events=False, sound=sound)
        async with app.run_test(size=(120, 30)) as pilot:
            feed = await playing(pilot)
            assert sound.volume == 0.8 and not sound.muted
            await pilot.press("m")
            assert sound.muted
            await wait_for(pilot, lambda: "🔇 muted" in status_text(app), what="muted shown")
            await pilot.press("m")
            assert not sound.muted
            await pilot.press("minus", "minus", "minus")
            assert sound.volume == pytest.approx(0.5)
            await wait_for(pilot, lambda: "volume ▮▮▮▮▮▯▯▯▯▯ 50%" in status_text(app))
            await pilot.press("plus")
            assert sound.volume == pytest.approx(0.6)
            # the flash goes, the status keeps the volume
            await wait_for(pilot, lambda: "volume" not in status_text(app), timeout=5)
            feed.update_status()
            await wait_for(pilot, lambda: "🔊 60%" in status_text(app))
            app.run_command_line("volume 35")
            assert sound.volume == pytest.approx(0.35)
            app.run_command_line("mute")
            app.run_command_line("captions fr")
            await wait_for(
                pilot,
                lambda: json.loads((tmp_path / "config" / "settings.json").read_text())["muted"],
                what="settings written",
            )
            # the keys are listed (footer for m; all in help and the palette via bindings)
            keys = {b.id for b in FeedScreen.BINDINGS}
            assert {"feed.mute", "feed.volume_up", "feed.volume_down"} <= keys
    finally:
        sound.close()
    settings = Session(tmp_path / "config").load_settings()
    assert (settings.volume, settings.muted, settings.caption_lang) == (0.35, True, "fr")
    # the next session starts where this one left off
    again = make_app(seeded_one.url, token=seeded_one.tokens["bob"], events=False)
    assert (again.sound.volume, again.sound.muted) == (0.35, True)
    assert again._caption_prefs.lang == "fr"


async def test_without_a_device_the_status_line_says_why_once(seeded_one, make_app) -> None:
    sound = open_sound(enabled=False)
    app = make_app(seeded_one.url, token=seeded_one.tokens["bob"], events=False, sound=sound)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        feed = await playing(pilot)
        await wait_for(pilot, lambda: feed.player.playback.frames_shown > 2)
        feed.update_status()
        await wait_for(
            pilot, lambda: "🔇 no sound: turned off (--no-sound)" in status_text(app), what="why"
        )
        await pilot.press("m")  # still works (remembered), still says why
        assert sound.muted
        await wait_for(pilot, lambda: "no sound: turned off" in status_text(app))
        assert not [n for n in app._notifications if "sound" in n.message.lower()]
