"""Row access shared by the store modules: one row or NotFound, rows into records, keyset pages."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import fields
from functools import cache
from typing import Any, TypeVar

import aiosqlite

from .db import Database
from .errors import NotFound

R = TypeVar("R")


async def one_row(
    source: Database | aiosqlite.Connection, sql: str, params: Sequence[Any], *, missing: str
) -> aiosqlite.Row:
    """The first row of a query, read from the pool (a Database) or inside a transaction (a
    connection); NotFound(missing) when there is none."""
    if isinstance(source, Database):
        row = await source.fetchone(sql, params)
    else:
        async with source.execute(sql, tuple(params)) as cur:
            row = await cur.fetchone()
    if row is None:
        raise NotFound(missing)
    return row


@cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def from_row(cls: type[R], row: aiosqlite.Row | sqlite3.Row, **computed: Any) -> R:
    """A record dataclass from the row's columns of the same names (other columns are ignored);
    `computed` gives the fields that need converting or have no column of their own."""
    names = _field_names(cls)
    columns = row.keys()  # noqa: SIM118 - iterating a Row yields its values, not its keys
    return cls(**{k: row[k] for k in columns if k in names and k not in computed}, **computed)


async def keyset_rows(
    db: Database,
    select: str,
    where: str,
    params: Sequence[Any],
    *,
    alias: str,
    after: tuple[float, str] | None,
    limit: int,
    newest_first: bool,
) -> list[aiosqlite.Row]:
    """One page of `select WHERE where` in (created_at, id) order of table `alias`, starting past
    the (created_at, id) of the previous page's last row."""
    op, order = ("<", "DESC") if newest_first else (">", "ASC")
    args = list(params)
    if after is not None:
        where += f" AND ({alias}.created_at, {alias}.id) {op} (?, ?)"
        args += [after[0], after[1]]
    return await db.fetchall(
        f"{select} WHERE {where} ORDER BY {alias}.created_at {order}, {alias}.id {order} LIMIT ?",
        [*args, limit],
    )
