"""SQLite access: one serialised writer connection and a small pool of readers (aiosqlite)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from .migrations import migrate

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


#: The database, its WAL and shared-memory files hold password hashes and tokens: owner only.
FILE_MODE = 0o600
DIR_MODE = 0o700
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def secure_database_file(path: Path | str, *, create: bool = True) -> None:
    """Create the database file (and its folder) private before SQLite opens it.

    SQLite gives the -wal and -shm files the mode of the database file, so a database made
    0600 keeps them 0600 too; files from an older version are tightened here."""
    path = Path(path)
    if create:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=DIR_MODE)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for suffix in _COMPANIONS:
        with contextlib.suppress(OSError):
            os.chmod(f"{path}{suffix}", FILE_MODE)


def connect_sync(path: Path | str) -> sqlite3.Connection:
    """A plain sqlite3 connection with the house pragmas (for CLI tools and worker processes)."""
    if str(path) != ":memory:":
        secure_database_file(path, create=False)
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


class Database:
    """The server's database: writes are serialised through one connection, reads use a pool."""

    def __init__(self, path: Path, *, readers: int = 4) -> None:
        self.path = path
        self._n_readers = max(1, readers)
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        secure_database_file(self.path)
        await asyncio.to_thread(migrate, str(self.path))
        self._writer = await self._connect()
        for _ in range(self._n_readers):
            conn = await self._connect()
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def close(self) -> None:
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        assert self._writer is not None, "database not open"
        async with self._lock:
            conn = self._writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.read() as conn, conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.read() as conn, conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())
