"""TUI fixtures: a live server seeded with tiny PyAV clips, and an app factory pointed at it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import pytest
from mediakit import seed_video
from tuikit import make_clip, wait_ready

from shortstack.tui.app import ShortstackApp

PASSWORD = "kettle-harbor-58"


def wait_in_feed(live_server: Any, video_ids: list[str], timeout: float = 20.0) -> None:
    """Poll the anonymous For You feed until it lists every one of ``video_ids``."""
    deadline = time.monotonic() + timeout
    while True:
        items = live_server.client.get("/api/feed/for-you", params={"limit": 50}).json()["items"]
        if set(video_ids) <= {i["video"]["id"] for i in items}:
            return
        assert time.monotonic() < deadline, "seeded videos never reached the feed"
        time.sleep(0.1)


@dataclass
class Seeded:
    """A server with an author (ana), a viewer (bob) and ready videos by ana."""

    server: Any
    tokens: dict[str, str]
    videos: list[dict] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, user: str = "bob") -> Any:
        response = self.server.client.get(path, headers=self.server.auth(self.tokens[user]))
        response.raise_for_status()
        return response.json()


def seed(live_server: Any, tmp_path: Path, captions: list[str]) -> Seeded:
    """@ana's ready videos, in caption order: rows and files of the session's real transcode
    of a clip shaped like ``make_clip``'s (tests/conftest.py REAL_CLIPS["tui"]), so the feed
    tests do not each wait for transcodes (tests/tui/test_tui_app.py uploads for real)."""
    tokens = {
        "ana": live_server.register("ana", PASSWORD, display_name="Ana"),
        "bob": live_server.register("bob", PASSWORD, display_name="Bob"),
    }
    seeded = Seeded(live_server, tokens)
    ids = [
        seed_video(live_server, "ana", caption, clip="tui", duration_s=None)  # type: ignore[arg-type]
        for caption in captions
    ]
    seeded.videos = [wait_ready(live_server, tokens["ana"], video_id) for video_id in ids]
    wait_in_feed(live_server, ids)
    return seeded


@pytest.fixture
def seeded_one(live_server: Any, tmp_path: Path) -> Seeded:
    """One ready video by @ana."""
    return seed(live_server, tmp_path, ["first light #cats"])


@pytest.fixture
def seeded(live_server: Any, tmp_path: Path) -> Seeded:
    """Three ready videos by @ana."""
    return seed(live_server, tmp_path, ["first light #cats", "second #dogs", "third #cats #sea"])


@pytest.fixture
def make_app(tmp_path: Path):
    """Factory: a ShortstackApp with its own config dir (token file) under tmp_path."""

    # The embedded server's transcode workers use multiprocessing, whose resource tracker is
    # spawned with sys.stderr's fd; a running Textual app swaps sys.stderr, so start it now.
    resource_tracker.ensure_running()

    def _make(url: str, token: str | None = None, **kwargs: Any) -> ShortstackApp:
        return ShortstackApp(url, token=token, config_dir=tmp_path / "config", **kwargs)

    return _make


@pytest.fixture
def clip_file(tmp_path: Path):
    """Factory: write a tiny clip (variant changes the bytes) and return its path."""

    def _make(name: str = "clip.mp4", variant: int = 0) -> Path:
        return make_clip(tmp_path / name, variant)

    return _make


@pytest.fixture
def feed_waiter(live_server: Any):
    """Call with video ids: returns once the For You feed lists them."""
    return lambda ids: wait_in_feed(live_server, list(ids))
