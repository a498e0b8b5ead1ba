"""The upload screen's edit form: recipe from the inputs, live preview stills from a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Input, Select, Static

from shortstack.media.fixture_clips import write_test_video
from shortstack.media.looks import LOOKS
from shortstack.tui.api import ApiClient, ApiError, ServerUnavailable
from shortstack.tui.widgets.edit_form import NO_LOOKS_PROMPT, EditForm
from shortstack.tui.widgets.video_view import VideoView


class FormApp(App[None]):
    """Hosts the form; ``api`` and ``call`` mirror ShortstackApp's (the form's default fetch)."""

    def __init__(self, api: ApiClient, *, own_fetch: bool = True) -> None:
        super().__init__()
        self.api = api
        self.own_fetch = own_fetch

    async def call(self, awaitable, *, quiet: bool = False):
        try:
            return await awaitable
        except (ApiError, ServerUnavailable):
            return None

    def compose(self) -> ComposeResult:
        yield EditForm(fetch=self.api.edit_preview if self.own_fetch else None, id="form")


async def _until(pilot, check, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await pilot.pause(0.05)


async def test_edit_form_previews_the_recipe(live_server, tmp_path: Path) -> None:
    clip = write_test_video(tmp_path / "c.mp4", width=120, height=200, duration_s=1.0)
    api = ApiClient(live_server.url, live_server.register(), timeout=30.0)
    app = FormApp(api)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            form = app.query_one(EditForm)
            assert form.recipe is None
            await _until(pilot, lambda: form.looks)  # fetched from the server
            form.set_source(clip)
            await _until(pilot, lambda: form.previews_shown >= 1)
            colourful = app.query_one(VideoView)._poster
            assert colourful is not None
            assert (colourful.max(axis=2).astype(int) - colourful.min(axis=2)).mean() > 20

            app.query_one("#edit-look", Select).value = "mono"
            app.query_one("#edit-start", Input).value = "0.2"
            app.query_one("#edit-text", Input).value = "hello there"
            await _until(pilot, lambda: form.previews_shown >= 2 and form.recipe is not None)
            assert form.recipe == {
                "trim": {"start": 0.2, "end": None},
                "look": "mono",
                "text": "hello there",
            }
            mono = app.query_one(VideoView)._poster
            spread = mono.max(axis=2).astype(int) - mono.min(axis=2)
            assert spread.mean() < 3
            assert (mono.min(axis=2) > 230).sum() > 10  # the white caption text

            app.query_one("#edit-end", Input).value = "9"  # past the end: the server says why
            error = app.query_one("#edit-error", Static)
            await _until(pilot, lambda: "past the end" in str(error.render()))
            app.query_one("#edit-end", Input).value = "abc"
            await _until(pilot, lambda: "not a number" in str(error.render()))
    finally:
        await api.aclose()


async def test_edit_form_default_fetch_uses_the_app_api(live_server, tmp_path: Path) -> None:
    clip = write_test_video(tmp_path / "d.mp4", width=96, height=160, duration_s=1.0)
    api = ApiClient(live_server.url, live_server.register(), timeout=30.0)
    app = FormApp(api, own_fetch=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            form = app.query_one(EditForm)
            form.set_source(clip)
            await _until(pilot, lambda: form.previews_shown >= 1)
            app.query_one("#edit-start", Input).value = "5"
            error = app.query_one("#edit-error", Static)
            await _until(pilot, lambda: "past the end" in str(error.render()))
    finally:
        await api.aclose()


async def test_edit_form_lists_the_servers_looks(live_server) -> None:
    api = ApiClient(live_server.url, live_server.register())
    app = FormApp(api)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            form = app.query_one(EditForm)
            await _until(pilot, lambda: form.looks)
            assert form.looks == {name: look.description for name, look in LOOKS.items()}
            select = app.query_one("#edit-look", Select)
            for name in LOOKS:  # each is an option (setting anything else raises)
                select.value = name
                await pilot.pause()
                assert form.recipe == {"look": name}
    finally:
        await api.aclose()


async def test_edit_form_without_the_server_has_no_looks_but_works() -> None:
    api = ApiClient("http://127.0.0.1:9", "token", timeout=1.0)  # nothing listens there
    app = FormApp(api)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            form = app.query_one(EditForm)
            select = app.query_one("#edit-look", Select)
            await _until(pilot, lambda: select.prompt == NO_LOOKS_PROMPT)
            assert form.looks == {}
            app.query_one("#edit-text", Input).value = "hi"
            await pilot.pause()
            assert form.recipe == {"text": "hi"}
    finally:
        await api.aclose()
