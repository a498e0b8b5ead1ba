"""The caption line under the picture: the cue at the playback position, `C` toggles it,
`:captions LANG|off` chooses, text shown inert; and its snapshot."""

from __future__ import annotations

import pytest
from test_tui_snapshots import feed_settled, settle

from shortstack.tui.widgets.caption_line import CaptionLine
from shortstack.tui.widgets.video_view import VideoView

EN = (
    "WEBVTT\n\n"
    "00:00:00.000 --> 00:00:00.600\n"
    "Hello from [bold]Ana[/bold] <i>in italics</i> &amp; more\n\n"
    "00:00:00.600 --> 00:00:01.000\n"
    "second cue\n"
)
FR = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nBonjour d'Ana\n"


def _put(seeded, lang: str, vtt: str) -> None:
    server = seeded.server
    r = server.client.put(
        f"/api/videos/{seeded.videos[0]['id']}/captions/{lang}",
        content=vtt,
        headers={**server.auth(seeded.tokens["ana"]), "Content-Type": "text/vtt"},
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def captioned(seeded_one):
    _put(seeded_one, "en", EN)
    _put(seeded_one, "fr", FR)
    return seeded_one


@pytest.fixture
def still_app(captioned, make_app):
    return make_app(captioned.url, token=captioned.tokens["bob"], autoplay=False, events=False)


async def captions_settled(pilot, lang: str = "en") -> CaptionLine:
    feed = await feed_settled(pilot)
    line = feed.query_one(CaptionLine)
    await settle(pilot, lambda: line.lang == lang and line.cues)
    # a busy machine may have marked the server slow meanwhile: the snapshot wants "online"
    await settle(pilot, lambda: pilot.app.connection == "online")
    feed.update_caption()
    await pilot.pause(0.1)
    # the caption line takes a row from the picture: once the layout is still, paint the
    # frozen still again at the picture's new size (its playback is stopped: no redraw)
    view = feed.query_one(VideoView)
    await settle(pilot, lambda: line.display)
    size = None
    while size != view.size:
        size = view.size
        await pilot.pause(0.15)
    view._paint_poster()
    await settle(
        pilot,
        lambda: (
            view._frame is not None
            and (view._frame.width, view._frame.height) == (view.size.width, view.size.height)
        ),
    )
    await pilot.pause(0.1)
    return line


def _shown(line: CaptionLine) -> str:
    return str(line.render()) if line.display else ""


async def test_caption_line_follows_position_toggle_and_language(still_app) -> None:
    async with still_app.run_test(size=(80, 24)) as pilot:
        line = await captions_settled(pilot)
        # the cue at the paused position (0 s), tags and entities gone, markup shown as typed
        assert line.display
        assert _shown(line) == "Hello from [bold]Ana[/bold] in italics & more"
        assert line.text_at(0.7) == "second cue"
        assert line.text_at(5.0) == ""
        # C hides it and shows it again
        await pilot.press("C")
        await pilot.pause(0.1)
        assert not line.display
        await pilot.press("C")
        await settle(pilot, lambda: line.display and line.cues)
        # :captions fr chooses French; :captions off hides; a missing language shows nothing
        pilot.app.run_command_line("captions fr")
        await settle(pilot, lambda: line.lang == "fr")
        pilot.app.screen.update_caption()
        await pilot.pause(0.1)
        assert _shown(line) == "Bonjour d'Ana"
        pilot.app.run_command_line("captions off")
        await pilot.pause(0.1)
        assert not line.display
        pilot.app.run_command_line("captions de")
        await pilot.pause(1.0)
        assert not line.display and line.cues == []


def test_caption_line_snapshot(snap_compare, still_app) -> None:
    async def run_before(pilot) -> None:
        await captions_settled(pilot)

    assert snap_compare(still_app, terminal_size=(80, 24), run_before=run_before)


async def test_automatic_captions_are_marked_and_unreadable_text_shows_nothing() -> None:
    from textual.app import App, ComposeResult

    class One(App):
        def compose(self) -> ComposeResult:
            yield CaptionLine()

    app = One()
    async with app.run_test(size=(40, 4)) as pilot:
        line = app.query_one(CaptionLine)
        assert not line.display  # no track: no line
        assert line.set_track("v1", FR, "en", "automatic")
        line.at(0.5)
        await pilot.pause()
        assert line.display and str(line.render()) == "[en auto] Bonjour d'Ana"
        line.at(3.0)  # between cues: an empty line, the picture does not jump
        await pilot.pause()
        assert line.display and str(line.render()) == ""
        assert not line.set_track("v2", "not webvtt", "en", "uploaded")
        await pilot.pause()
        assert not line.display and line.cues == []
