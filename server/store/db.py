"""Database access: one serialised writer connection and a small pool of readers, on SQLite
(aiosqlite and sqlite3) or Postgres (psycopg 3 through ``dialect``: see its docstring for why)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

from .dialect import (
    OperationalError,
    PgAsyncConnection,
    PgConnection,
    connect_pg,
    connect_pg_async,
    is_postgres,
    redact,
)
from .migrations import migrate, migrate_postgres

PRAGMAS = (
    "PRAGMA busy_timeout=5000",  # first: switching to WAL waits for other connections too
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
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
    """A plain sqlite3 connection with the house pragmas (for CLI tools and worker processes);
    for a Postgres URL (``Database.path`` of a Postgres database) a psycopg connection with
    the same call shapes (``dialect.PgConnection``)."""
    if is_postgres(path):
        return connect_pg(str(path))  # type: ignore[return-value]
    if str(path) != ":memory:":
        secure_database_file(path, create=False)
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


T = TypeVar("T")
V = TypeVar("V")


class ReadCache(Generic[V]):
    """A bounded LRU of values read from the database, each valid only while the database
    has not changed since it was read (``Database.data_version``: a commit by any connection
    of any process, this server's writer included, makes every entry stale). Nothing read
    here can outlive a write, whatever module made the write: no invalidation hook to miss."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, V]] = OrderedDict()

    def get(self, key: Hashable, version: int) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] != version:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, version: int, value: V) -> None:
        """Keep value as read at ``version`` (taken BEFORE the read: a commit racing the read
        leaves the entry marked older than what it holds, never newer)."""
        self._entries[key] = (version, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class Database:
    """The server's database: writes are serialised through one connection, reads use a pool.

    ``run_read(fn)`` runs a whole request's reads in one hop to a reader thread (each thread
    has its own plain sqlite3 connection) instead of a hop per statement; ``data_version()``
    tells on the event loop, in microseconds, whether anything was committed since a value
    was cached (the ``ReadCache``s below)."""

    #: which SQL the store may need to choose ("sqlite" or "postgres": full-text search)
    dialect = "sqlite"

    def __new__(cls, path: Path | str, *, readers: int = 4) -> Database:
        if cls is Database and is_postgres(path):
            return super().__new__(PostgresDatabase)
        return super().__new__(cls)

    def __init__(self, path: Path | str, *, readers: int = 4) -> None:
        #: the SQLite file, or the Postgres URL (what ``connect_sync`` accepts)
        self.path = path
        self._n_readers = max(1, readers)
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._lock = asyncio.Lock()
        self._sync_pool: ThreadPoolExecutor | None = None
        self._sync_local = threading.local()
        self._sync_conns: list[sqlite3.Connection] = []
        self._peek: sqlite3.Connection | None = None
        #: video records by id (store/videos), trending candidates (store/trending)
        self.videos: ReadCache[Any] = ReadCache(4096)
        self.trending: ReadCache[Any] = ReadCache(16)

    async def open(self) -> None:
        secure_database_file(self.path)
        await asyncio.to_thread(migrate, str(self.path))
        self._writer = await self._connect()
        for _ in range(self._n_readers):
            conn = await self._connect()
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)
        self._sync_pool = ThreadPoolExecutor(self._n_readers, thread_name_prefix="sqlite-read")
        self._peek = self._read_only_connection(busy_ms=100)

    def _read_only_connection(self, busy_ms: int = 5000) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            if "journal_mode" not in pragma:  # set by the writer; a reader need not ask again
                conn.execute(pragma)
        conn.execute(f"PRAGMA busy_timeout={busy_ms}")
        conn.execute("PRAGMA query_only=1")
        self._sync_conns.append(conn)
        return conn

    def data_version(self) -> int:
        """A number that changes whenever any connection (any process) commits: PRAGMA
        data_version of a connection that never writes, read on the caller's thread (a few
        microseconds: the WAL index header, no disk read)."""
        assert self._peek is not None, "database not open"
        return self._peek.execute("PRAGMA data_version").fetchone()[0]

    def _run_sync(self, fn: Callable[..., T], args: tuple) -> T:
        conn = getattr(self._sync_local, "conn", None)
        if conn is None:
            conn = self._sync_local.conn = self._read_only_connection()
        conn.execute("BEGIN")  # one snapshot for all of fn's statements
        try:
            return fn(conn, *args)
        finally:
            conn.execute("COMMIT")

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on a reader thread's own sqlite3 connection, inside one read
        transaction (one consistent snapshot): every read of a request in one thread hop."""
        assert self._sync_pool is not None, "database not open"
        return await asyncio.get_running_loop().run_in_executor(
            self._sync_pool, self._run_sync, fn, args
        )

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def close(self) -> None:
        if self._sync_pool is not None:
            self._sync_pool.shutdown(wait=True)
            self._sync_pool = None
        for sync_conn in self._sync_conns:
            sync_conn.close()
        self._sync_conns.clear()
        self._peek = None
        self.videos.clear()
        self.trending.clear()
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
        """The first row of a read, in one thread hop (``run_read``; aiosqlite's execute,
        fetch and close were a hop each)."""
        return await self.run_read(_fetchone, sql, tuple(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Every row of a read, in one thread hop (``run_read``)."""
        return await self.run_read(_fetchall, sql, tuple(params))


def _fetchone(conn: sqlite3.Connection, sql: str, params: tuple) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _fetchall(conn: sqlite3.Connection, sql: str, params: tuple) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


#: A write transaction on Postgres starts by taking one advisory lock, held to its end: the
#: store's transactions were written for SQLite, where BEGIN IMMEDIATE lets one writer in at a
#: time across every process (check-then-insert rules such as one counted share per account,
#: upload quotas and report limits rely on it). The same lock keeps them exact when many API
#: processes write to one Postgres; reads never take it. Finer locks are for when a benchmark
#: shows this one is the limit.
_PG_WRITE_LOCK = 0x5357_5752  # "SSWR"
_PG_BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({_PG_WRITE_LOCK})"


class PostgresDatabase(Database):
    """The same Database on Postgres: ``Database(url)`` gives one for a ``postgresql://`` URL.

    Writes go through one psycopg async connection per process (serialised, short
    transactions, like SQLite's writer; across processes by an advisory lock, like SQLite's
    file lock: see ``_PG_WRITE_LOCK``); ``run_read`` runs on reader threads, each with its
    own synchronous connection, one REPEATABLE READ READ ONLY transaction per call (one
    snapshot, as on SQLite). ``data_version`` cannot see other processes' commits cheaply, so
    it changes on every call: the read caches never hit (correct first; a LISTEN/NOTIFY
    version is a later step)."""

    dialect = "postgres"

    def __init__(self, path: Path | str, *, readers: int = 4) -> None:
        super().__init__(path, readers=readers)
        self.url = str(path)
        self._pg_writer: PgAsyncConnection | None = None
        self._pg_readers: asyncio.Queue[PgAsyncConnection] = asyncio.Queue()
        self._pg_all_readers: list[PgAsyncConnection] = []
        self._pg_sync_conns: list[PgConnection] = []
        self._sync_lock = threading.Lock()
        self._version = 0

    def __repr__(self) -> str:
        return f"PostgresDatabase({redact(self.url)!r})"

    async def open(self) -> None:
        await asyncio.to_thread(migrate_postgres, self.url)
        self._pg_writer = await connect_pg_async(self.url)
        self._sync_pool = ThreadPoolExecutor(self._n_readers, thread_name_prefix="pg-read")

    def data_version(self) -> int:
        self._version += 1
        return self._version

    def _run_sync(self, fn: Callable[..., T], args: tuple) -> T:
        conn = getattr(self._sync_local, "pg", None)
        if conn is None or conn.raw.closed or conn.raw.broken:
            conn = self._sync_local.pg = connect_pg(self.url, read_only=True)
            with self._sync_lock:
                self._pg_sync_conns.append(conn)
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except OperationalError:  # the server restarted: a new connection, then read
            conn = self._sync_local.pg = connect_pg(self.url, read_only=True)
            with self._sync_lock:
                self._pg_sync_conns.append(conn)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            return fn(conn, *args)
        finally:
            if not conn.raw.broken:
                conn.execute("COMMIT")  # after an error Postgres answers it with a rollback

    async def close(self) -> None:
        if self._sync_pool is not None:
            self._sync_pool.shutdown(wait=True)
            self._sync_pool = None
        with self._sync_lock:
            for sync_conn in self._pg_sync_conns:
                sync_conn.close()
            self._pg_sync_conns.clear()
        self.videos.clear()
        self.trending.clear()
        for conn in self._pg_all_readers:
            await conn.close()
        self._pg_all_readers.clear()
        self._pg_readers = asyncio.Queue()
        if self._pg_writer is not None:
            await self._pg_writer.close()
            self._pg_writer = None

    async def _live_writer(self) -> PgAsyncConnection:
        assert self._pg_writer is not None, "database not open"
        if self._pg_writer.raw.closed or self._pg_writer.raw.broken:
            self._pg_writer = await connect_pg_async(self.url)  # the server restarted
        return self._pg_writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[PgAsyncConnection]:  # type: ignore[override]
        """A short write transaction; commits on success, rolls back on error."""
        async with self._lock:
            conn = await self._live_writer()
            try:
                await conn.raw.execute(_PG_BEGIN_WRITE)
            except OperationalError:  # the server restarted: nothing was done, go again
                self._pg_writer = conn = await connect_pg_async(self.url)
                await conn.raw.execute(_PG_BEGIN_WRITE)
            try:
                yield conn
            except BaseException:
                await self._roll_back(conn)
                raise
            else:
                await conn.raw.execute("COMMIT")

    async def _roll_back(self, conn: PgAsyncConnection) -> None:
        """Roll back; a connection that cannot (broken, or a cancelled query still in
        flight) is closed instead, and the next write opens a new one."""
        try:
            if not conn.raw.broken:
                await conn.raw.execute("ROLLBACK")
                return
        except Exception:  # noqa: BLE001 - closing below ends the transaction either way
            pass
        with contextlib.suppress(Exception):
            await conn.raw.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PgAsyncConnection]:  # type: ignore[override]
        if self._pg_readers.empty() and len(self._pg_all_readers) < self._n_readers:
            conn = await connect_pg_async(self.url)
            self._pg_all_readers.append(conn)
        else:
            conn = await self._pg_readers.get()
        try:
            yield conn
        finally:
            self._pg_readers.put_nowait(conn)
