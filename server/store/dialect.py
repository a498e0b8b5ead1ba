"""The seam between the store's SQL and Postgres: placeholders, SQLite-isms, sqlite3-like rows.

The store is written once, in SQL that SQLite runs as it is. On Postgres each statement goes
through ``translate`` (cached per statement text) and runs on psycopg 3 connections wrapped
to keep the call shapes the store already uses: ``conn.execute(sql, params)`` returning a
cursor with ``fetchone``/``fetchall``/``rowcount``, rows readable as ``row["col"]`` and
``row[0]`` like ``sqlite3.Row``.

Why psycopg 3 (and not SQLAlchemy, asyncpg): one driver gives both the synchronous
connections the read pool and the worker threads use and the asynchronous writer the event
loop uses; it ships binary wheels (``psycopg[binary]``), so nothing is compiled; client-side
parameter binding (``ClientCursor``) types a ``?`` the way SQLite does, from the value, so
``? IS NULL OR x < ?`` needs no casts. SQLAlchemy Core would add a second query language
beside the store's SQL; asyncpg has no synchronous side.

What ``translate`` rewrites is deliberately small; the store's SQL was made portable where
that was simple (``ON CONFLICT DO NOTHING``, ``RETURNING id``, ``TRUE``):

- ``?`` placeholders -> ``%s`` (and a literal ``%`` -> ``%%``), outside string literals;
- ``x IS ?`` (SQLite's null-safe equality) -> ``x IS NOT DISTINCT FROM %s``;
- ``BEGIN IMMEDIATE`` -> ``BEGIN``;
- ``INSERT OR IGNORE INTO ...`` -> ``INSERT INTO ... ON CONFLICT DO NOTHING``.

``group_concat`` exists on Postgres as an aggregate made by the migrations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

INSTALL_HINT = "Postgres needs the psycopg driver: pip install 'shortstack[postgres]'"


try:  # the driver's "connection lost" error, for retrying a transaction that never began
    from psycopg import OperationalError
except ImportError:  # pragma: no cover - without psycopg there is no Postgres connection

    class OperationalError(Exception):  # type: ignore[no-redef]
        """Stands in for psycopg's when the driver is not installed."""


class DatabaseUnreachable(RuntimeError):
    """The configured database cannot be reached (message: one line saying which and why)."""


def is_postgres(location: object) -> bool:
    """True when ``location`` (a ``[database] url`` or a SQLite path) names Postgres."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, for log lines and CLI messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_IS_PARAM = re.compile(r"\bIS\s+\?", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQLite-flavoured store SQL -> the same statement for Postgres (psycopg's %s style)."""
    stripped = sql.strip()
    if stripped.upper() == "BEGIN IMMEDIATE":
        return "BEGIN"
    ignore = _INSERT_OR_IGNORE.match(sql)
    if ignore:
        sql = "INSERT INTO" + sql[ignore.end() :]
        sql = _append_before_returning(sql, " ON CONFLICT DO NOTHING")
    sql = _IS_PARAM.sub("IS NOT DISTINCT FROM ?", sql)
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def _append_before_returning(sql: str, clause: str) -> str:
    match = re.search(r"\bRETURNING\b", sql, re.IGNORECASE)
    if match is None:
        return sql.rstrip().rstrip(";") + clause
    return sql[: match.start()].rstrip() + clause + " " + sql[match.start() :]


class Row:
    """A result row read like ``sqlite3.Row``: by column name or by position; ``keys()``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                return self._values[self._index[key.lower()]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._index == other._index and tuple(self._values) == tuple(other._values)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=False))!r})"


def row_factory(cursor: Any) -> Any:
    """psycopg row factory: ``Row``s sharing one name -> position map per result."""
    description = cursor.description
    index: dict[str, int] = {}
    if description is not None:
        for i, column in enumerate(description):
            index.setdefault(column.name, i)

    def make(values: Sequence[Any]) -> Row:
        return Row(index, values)

    return make


def _param(value: Any) -> Any:
    # Postgres text cannot hold NUL; no stored text has one (user text is checked on the way
    # in), so a NUL in a search or lookup matches nothing either way: U+FFFD keeps that
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _params(params: Iterable[Any] | None) -> tuple:
    # always a tuple, even empty: psycopg then un-escapes the %% that translate wrote
    return () if params is None else tuple(_param(p) for p in params)


def _load_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the hint is the point
        raise DatabaseUnreachable(INSTALL_HINT) from exc
    return psycopg


def _numeric_loader(psycopg: Any) -> type:
    """``numeric`` (what SUM and AVG of integers give on Postgres) as int or float, as SQLite
    gives them, never ``Decimal`` (which JSON encoders and the recommender refuse)."""

    class NumericLoader(psycopg.adapt.Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            if "." in text or "e" in text.lower() or text in ("NaN", "Infinity", "-Infinity"):
                return float(text)
            return int(text)

    return NumericLoader


def _configure(conn: Any, psycopg: Any) -> None:
    conn.adapters.register_loader("numeric", _numeric_loader(psycopg))


def connect_pg(url: str, *, read_only: bool = False) -> PgConnection:
    """A synchronous Postgres connection with sqlite3's call shapes (autocommit: the caller
    sends BEGIN/COMMIT, as the store does with SQLite's ``isolation_level=None``)."""
    psycopg = _load_psycopg()
    try:
        raw = psycopg.connect(
            url,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
            row_factory=row_factory,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachable(_unreachable(url, exc)) from None
    _configure(raw, psycopg)
    if read_only:
        raw.execute("SET default_transaction_read_only = on")
    return PgConnection(raw)


async def connect_pg_async(url: str) -> PgAsyncConnection:
    """The asynchronous Postgres connection the server's one writer uses."""
    psycopg = _load_psycopg()
    try:
        raw = await psycopg.AsyncConnection.connect(
            url,
            autocommit=True,
            cursor_factory=psycopg.AsyncClientCursor,
            row_factory=row_factory,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachable(_unreachable(url, exc)) from None
    _configure(raw, psycopg)
    return PgAsyncConnection(raw)


def _unreachable(url: str, exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"cannot reach the Postgres database {redact(url)}: {reason}"


def integrity_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a constraint violation raises, whichever backend is in use."""
    import sqlite3

    try:
        import psycopg
    except ImportError:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


class PgConnection:
    """A psycopg connection answering like a ``sqlite3.Connection`` (execute, executemany,
    executescript, close) with statements passed through ``translate``."""

    dialect = "postgres"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Iterable[Any] | None = None) -> Any:
        return self.raw.execute(translate(sql), _params(params))

    def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> Any:
        cur = self.raw.cursor()
        cur.executemany(translate(sql), [_params(p) for p in seq])
        return cur

    def executescript(self, script: str) -> None:
        self.raw.execute(script)

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Pending:
    """What ``PgAsyncConnection.execute`` returns: awaitable (the cursor) and an async context
    manager (``async with conn.execute(...) as cur``), like aiosqlite's."""

    __slots__ = ("_coro", "_cursor")

    def __init__(self, coro: Any) -> None:
        self._coro = coro
        self._cursor: Any = None

    def __await__(self) -> Any:
        return self._coro.__await__()

    async def __aenter__(self) -> Any:
        self._cursor = await self._coro
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class PgAsyncConnection:
    """A psycopg async connection answering like an ``aiosqlite.Connection``."""

    dialect = "postgres"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Iterable[Any] | None = None) -> _Pending:
        return _Pending(self.raw.execute(translate(sql), _params(params)))

    def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> _Pending:
        async def run() -> Any:
            cur = self.raw.cursor()
            await cur.executemany(translate(sql), [_params(p) for p in seq])
            return cur

        return _Pending(run())

    async def close(self) -> None:
        await self.raw.close()
