"""Fixtures for the server tests: a user owning a seeded ready video, real clips made with PyAV."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from liveserver import LiveServer, test_config
from serverkit import seed_video

from shortstack.media.fixture_clips import write_test_video
from shortstack.server.embedded import EmbeddedServer


@pytest.fixture
def owner(live_server):
    """(handle, token, video id) of a user who owns one ready video (20 s by its row; real files)."""
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
def module_server(tmp_path_factory: pytest.TempPathFactory, real_media, request):
    """One server shared by a module's tests (for tests that need a slow setup, like a transcode)."""
    overrides = {}
    if request.config.getoption("--postgres"):  # see tests/conftest.py
        overrides["database"] = {"url": request.getfixturevalue("pg_cluster").new_database()}
    server = EmbeddedServer(
        test_config(**overrides), tmp_path_factory.mktemp("module-data")
    ).start()
    live = LiveServer(server, real_media)
    yield live
    live.client.close()
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
async def store_db(request, tmp_path):
    """An open store Database on each backend in turn: a SQLite file, then a fresh Postgres
    database (skipped with one line without pgserver)."""
    from shortstack.server.store.db import Database

    location = (
        request.getfixturevalue("pg_url") if request.param == "postgres" else tmp_path / "s.db"
    )
    database = Database(location, readers=2)
    await database.open()
    yield database
    await database.close()
