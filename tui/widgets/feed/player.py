"""The feed's playback region: the current video (poster first), and the watch time when left."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

from textual import work

from shortstack.tui.client_app import ClientApp
from shortstack.tui.playback import still_image
from shortstack.tui.widgets.video_view import VideoView

PREFETCH_AHEAD = 2

SENSITIVE_NOTICE = (
    "⚠ Sensitive video\n\n"
    "Its uploader or a moderator marked it sensitive.\n"
    "Press v to show it.\n\n"
    "To see sensitive videos without this notice: sensitive-media on (the : command bar)"
)


def fmt_time(seconds: float) -> str:
    """``m:ss``."""
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class FeedPlayer(VideoView):
    """Plays one feed video at a time and reports how long it was watched when it is left.

    ``show(video)`` shows the poster, fetches the rendition and plays it (unless the viewer has
    moved on by then); ``leave()`` stops and sends the watch time. Server calls go through the
    app's ``api``, ``media`` and ``call`` in workers.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.video_id: str | None = None  # the video shown (its watch time is reported)
        self.video: dict[str, Any] | None = None

    def behind_notice(self, video: dict[str, Any]) -> bool:
        """A sensitive video waits behind a notice unless the viewer chose otherwise: signed
        in with the show_sensitive setting on, or shown it once this session ('v')."""
        app = self._app
        return (
            bool(video.get("sensitive"))
            and not (app.user or {}).get("show_sensitive")
            and video.get("id") not in app.revealed
        )

    def recheck(self) -> None:
        """The viewer's setting changed: play the video behind the notice if it may show now."""
        video = self.video
        waiting = video is not None and self.playback is None and bool(video.get("sensitive"))
        if waiting and video is not None and not self.behind_notice(video):
            self.clear("loading…")
            self.play_video(video)

    def reveal(self) -> bool:
        """Show the sensitive video behind the notice; False when there is none."""
        video = self.video
        if video is None or not self.behind_notice(video):
            return False
        self._app.revealed.add(video["id"])
        self.clear("loading…")
        self.play_video(video)
        return True

    @property
    def _app(self) -> ClientApp:
        return cast(ClientApp, self.app)

    def show(self, video: dict[str, Any]) -> None:
        """Leave what played and start on ``video``."""
        self.leave()
        self.video_id = video["id"]
        self.video = video
        if self.behind_notice(video):  # no poster, no bytes fetched until the viewer asks
            self.clear(SENSITIVE_NOTICE)
            return
        self.clear("loading…")
        self.play_video(video)

    @work(exclusive=True, group="play", exit_on_error=False)
    async def play_video(self, video: dict[str, Any]) -> None:
        """Show the poster, fetch the rendition, then play it (unless the viewer moved on)."""
        if video.get("status", "ready") != "ready":
            self.clear(f"this video is {video.get('status')}")
            return
        app = self._app
        poster = await app.call(app.media.poster(video), quiet=True)
        if isinstance(poster, bytes) and poster and self.video_id == video["id"]:
            image = await asyncio.to_thread(still_image, poster)
            if image is not None and self.video_id == video["id"]:
                self.notice = ""
                self.show_poster(image)
        path = await app.call(app.media.rendition(video))
        if self.video_id != video["id"] or not self.screen.is_current:
            return
        if path is None or path is True:
            self.clear("no playable rendition")
            return
        self.play(path, paused=not app.autoplay)

    @work(exclusive=True, group="prefetch", exit_on_error=False)
    async def prefetch(self, items: list[dict[str, Any]]) -> None:
        """Fetch the posters and first rendition bytes of the next feed ``items``."""
        app = self._app
        for item in items[:PREFETCH_AHEAD]:
            if not self.behind_notice(item["video"]):
                await app.call(app.media.prefetch(item["video"]), quiet=True)

    def leave(self) -> None:
        """Stop playback and report the watch time of the video being left."""
        playback, video_id = self.playback, self.video_id
        self.video_id = None
        watch_ms = self.stop()
        if playback is not None and video_id and watch_ms > 0 and self._app.user is not None:
            self.report_view(video_id, watch_ms)

    async def flush(self) -> None:
        """Stop playback and send its watch time now (used when the app quits)."""
        playback, video_id = self.playback, self.video_id
        watch_ms = self.stop()
        if playback is None or not video_id or watch_ms <= 0 or self._app.user is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._app.api.view(video_id, watch_ms), 1.5)

    @work(group="views", exit_on_error=False)
    async def report_view(self, video_id: str, watch_ms: int) -> None:
        """POST the watch time (silently: a lost report is not worth a toast)."""
        await self._app.call(self._app.api.view(video_id, watch_ms), quiet=True)

    def toggle_loop(self) -> None:
        """Loop the video on or off."""
        if self.playback is not None:
            self.playback.set_loop(not self.playback.loop)
            self._app.toast(f"Loop {'on' if self.playback.loop else 'off'}")

    def status(self) -> str:
        """Playback state for the status line: paused or playing, position, loop."""
        playback = self.playback
        if playback is None and self.video is not None and self.behind_notice(self.video):
            return "⚠ sensitive: v to show"
        if playback is None:
            return "⏳ loading"
        icon = "⏸ paused" if playback.paused else "■ ended" if playback.ended else "▶"
        return "  ·  ".join(
            [
                f"{icon} {fmt_time(playback.duration if playback.ended else playback.position)}"
                f"/{fmt_time(playback.duration)}",
                "loop" if playback.loop else "once",
                self.sound_status(),
            ]
        )

    def sound_status(self) -> str:
        """The volume or mute; why there is no sound; or that this video has none."""
        sound = self._app.sound
        playback = self.playback
        if sound.available and playback is not None and playback.audio_track is False:
            return "🔇 video without sound"
        return sound.status()
