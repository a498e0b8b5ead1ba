"""Web fixtures: one real server per module with seeded videos (real media), and a browser."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from liveserver import LiveServer, test_config

from shortstack.server.embedded import EmbeddedServer

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))  # serverkit

from browserkit import CHROMIUM, ENABLE  # noqa: E402
from serverkit import db_connect, seed_video  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_media):
    """A server with @maker's three ready videos (one #cats, one sensitive) and @viewer."""
    server = EmbeddedServer(test_config(), tmp_path_factory.mktemp("web-data")).start()
    live = LiveServer(server, real_media)
    live.maker = live.register("maker", display_name="Mia Maker")
    live.viewer = live.register("viewer")
    live.videos = [
        seed_video(live, "maker", "first clip with #cats and @viewer <b>bold</b>", clip="portrait"),
        seed_video(live, "maker", "second clip #dogs", clip="landscape", duration_s=1.0),
        # older, so the feed opens on a video that plays at once
        seed_video(
            live, "maker", "third clip, sensitive", clip="portrait", created_at=time.time() - 7200
        ),
    ]
    conn = db_connect(live.db_path)
    try:
        conn.execute("UPDATE videos SET sensitive = 1 WHERE id = ?", (live.videos[2],))
    finally:
        conn.close()
    # rows written behind the server's back reach its feeds at the next catalogue refresh
    deadline = time.monotonic() + 30
    while True:
        items = live.client.get("/api/feed/trending", params={"limit": 50}).json()["items"]
        if set(live.videos) <= {i["video"]["id"] for i in items}:
            break
        assert time.monotonic() < deadline, "the seeded videos never reached Trending"
        time.sleep(0.2)
    yield live
    live.client.close()
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Playwright, or one clear skip line."""
    if CHROMIUM is None:
        pytest.skip(ENABLE)
    sync_api = pytest.importorskip("playwright.sync_api", reason=ENABLE)
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox"],
        )
        yield b
        b.close()
