"""Shared fixtures: a temp data dir, a real server on a free loopback port, users and media."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from shortstack.server.config import Config
from shortstack.server.embedded import EmbeddedServer

_handles = itertools.count(1)


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


def test_config(**overrides: dict) -> Config:
    """Defaults tuned for tests: generous rate limits, no request log."""
    base = {
        "server": {"log_requests": False, "workers": 1},
        "limits": {"api_rate_per_minute": 100_000, "login_rate_per_minute": 100_000},
    }
    for section, values in overrides.items():
        base.setdefault(section, {}).update(values)
    return msgspec.convert(base, Config)


class LiveServer:
    """A running server plus conveniences for tests."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.server = server
        self.url = server.url
        self.data_dir = server.data_dir
        self.config = server.config
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def register(
        self, handle: str | None = None, password: str = "kettle-harbor-58", **extra: str
    ) -> str:
        """Register a user and return its bearer token."""
        handle = handle or f"user{next(_handles)}"
        r = self.client.post(
            "/api/auth/register", json={"handle": handle, "password": password, **extra}
        )
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def db_path(self) -> Path:
        return self.data_dir / "shortstack.db"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator:
    """Factory: start a server with config overrides on a fresh (or given) data dir."""
    started: list[LiveServer] = []

    def _make(data_dir: Path | None = None, **overrides: dict) -> LiveServer:
        server = EmbeddedServer(
            test_config(**overrides), data_dir or tmp_path / f"data{len(started)}"
        ).start()
        live = LiveServer(server)
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
