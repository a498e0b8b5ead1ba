"""A real server for tests: the test configuration and a running server's conveniences."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import msgspec
from mediakit import RealMedia

from shortstack.server.config import Config
from shortstack.server.embedded import EmbeddedServer

_handles = itertools.count(1)


def test_config(**overrides: dict) -> Config:
    """Defaults tuned for tests: generous rate limits, no request log."""
    base = {
        "server": {"log_requests": False, "workers": 1},
        # the transcode child starts on its first job: most test servers never transcode
        "media": {"prestart_workers": False},
        # rows a test writes straight into the database reach the feeds within 0.1 s, not 2 s
        "feed": {"poll_s": 0.1},
        "limits": {"api_rate_per_minute": 100_000, "login_rate_per_minute": 100_000},
    }
    for section, values in overrides.items():
        base.setdefault(section, {}).update(values)
    return msgspec.convert(base, Config)


class LiveServer:
    """A running server plus conveniences for tests; `media` gives seeded videos real files."""

    def __init__(self, server: EmbeddedServer, media: RealMedia | None = None) -> None:
        self.server = server
        self.url = server.url
        self.data_dir = server.data_dir
        self.config = server.config
        self.media = media
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
    def db_path(self) -> Path | str:
        """The SQLite file, or the Postgres URL of a server with ``[database] url``."""
        return self.config.database.url or self.data_dir / "shortstack.db"
