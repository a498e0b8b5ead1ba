"""A real Postgres for tests (pgserver's binaries in a temp dir) and a fresh database per test."""

from __future__ import annotations

import itertools
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENABLE_HINT = "Postgres tests need a local Postgres: pip install pgserver (in the 'test' extra)"

_names = itertools.count(1)


class PostgresCluster:
    """One running Postgres server; ``new_database()`` gives the URL of an empty database."""

    def __init__(self, server) -> None:
        self.server = server
        self.url = server.get_uri()

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + name))

    def new_database(self, prefix: str = "t") -> str:
        import psycopg

        name = f"{prefix}_{next(_names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        self.server.cleanup()

    @property
    def bin_dir(self) -> Path:
        import pgserver

        return Path(pgserver.__file__).parent / "pginstall" / "bin"


def start_cluster(root: Path) -> PostgresCluster:
    """Start Postgres in ``root`` (skips the calling test, with one line, without pgserver)."""
    try:
        import pgserver
        import psycopg  # noqa: F401 - the driver the server uses
    except ImportError:
        pytest.skip(ENABLE_HINT)
    return PostgresCluster(pgserver.get_server(root, cleanup_mode="stop"))
