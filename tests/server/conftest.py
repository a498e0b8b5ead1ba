"""Fixtures for the server tests: a user owning a seeded ready video, real clips made with PyAV."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from serverkit import seed_video

from shortstack.media.fixture_clips import write_test_video


@pytest.fixture
def owner(live_server):
    """(live server, handle, token) of a user who owns one ready 20-second video; plus its id."""
    handle = f"owner{secrets.randbelow(10**6)}"
    token = live_server.register(handle)
    video_id = seed_video(live_server, handle, "hello #world")
    return handle, token, video_id


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 1-second 160x120 H.264/AAC MP4 made with PyAV."""
    return write_test_video(
        tmp_path_factory.mktemp("clips") / "clip.mp4", width=160, height=120, duration_s=1.0
    )


@pytest.fixture(scope="session")
def clip2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A different real clip (other content hash)."""
    return write_test_video(
        tmp_path_factory.mktemp("clips") / "clip2.mp4",
        width=128,
        height=96,
        duration_s=1.0,
        audio=False,
    )


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory):
    """One server shared by a module's tests (for tests that need a slow setup, like a transcode)."""
    import httpx
    import msgspec

    from shortstack.server.config import Config
    from shortstack.server.embedded import EmbeddedServer

    config = msgspec.convert(
        {
            "server": {"log_requests": False, "workers": 1},
            "limits": {"api_rate_per_minute": 100_000, "login_rate_per_minute": 100_000},
        },
        Config,
    )
    server = EmbeddedServer(config, tmp_path_factory.mktemp("module-data")).start()

    class _Live:
        url = server.url
        data_dir = server.data_dir
        db_path = server.data_dir / "shortstack.db"
        client = httpx.Client(base_url=server.url, timeout=30)

        def register(self, handle: str | None = None, password: str = "kettle-harbor-58") -> str:
            handle = handle or f"m{secrets.token_hex(6)}"
            r = self.client.post(
                "/api/auth/register", json={"handle": handle, "password": password}
            )
            assert r.status_code == 201, r.text
            return r.json()["token"]

        def auth(self, token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

    live = _Live()
    live.config = config
    yield live
    live.client.close()
    server.stop()
