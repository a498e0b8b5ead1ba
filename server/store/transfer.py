"""Moving house: copy a SQLite instance's database into Postgres, verified, exactly once."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dialect import connect_pg, redact
from .migrations import migrate_postgres

#: counters checked after the copy: (table, column) summed on both sides
COUNTERS = (
    ("users", "followers"),
    ("users", "following"),
    ("users", "videos"),
    ("users", "likes_received"),
    ("videos", "likes"),
    ("videos", "comments"),
    ("videos", "shares"),
    ("videos", "views"),
    ("comments", "reply_count"),
    ("hashtags", "videos"),
)

#: parents before children where a table refers to itself (replies after what they answer)
_ORDER_BY = {"comments": "created_at, id", "video_hashtags": "rowid"}

_MOVES_TABLE = (
    "CREATE TABLE IF NOT EXISTS shortstack_moves (source TEXT NOT NULL,"
    " moved_at DOUBLE PRECISION NOT NULL, rows TEXT NOT NULL)"
)


class MoveRefused(RuntimeError):
    """The move cannot be done (target not empty, counts differ): the message says why."""


@dataclass
class MoveReport:
    target: str
    already_done: bool = False
    moved_at: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    migrations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "already_done": self.already_done,
            "moved_at": self.moved_at,
            "rows": self.rows,
            "counters": self.counters,
            "migrations": self.migrations,
        }


def snapshot(src_path: Path, target_path: Path) -> None:
    """One consistent copy of the live SQLite database (the backup API in one step: one WAL
    snapshot, while the server goes on writing)."""
    src = sqlite3.connect(str(src_path), timeout=30)
    try:
        target = sqlite3.connect(str(target_path))
        try:
            src.backup(target)
        finally:
            target.close()
    finally:
        src.close()


def move_to_postgres(src_path: Path, url: str) -> MoveReport:
    """Copy the SQLite database at src_path into the Postgres database at url, in one
    transaction: schema (the migrations), every row, identity counters moved past the copied
    ids; then row counts and counters compared with the snapshot. A second run finds its
    record and does nothing; a target holding other data is refused."""
    report = MoveReport(target=redact(url))
    report.migrations = migrate_postgres(url)
    with tempfile.TemporaryDirectory(prefix="shortstack-move-") as tmp:
        snap_path = Path(tmp) / "snapshot.db"
        snapshot(src_path, snap_path)
        src = sqlite3.connect(str(snap_path))
        pg = connect_pg(url)
        try:
            _copy(src, pg, report, str(src_path))
        finally:
            pg.close()
            src.close()
    return report


def _copy(src: sqlite3.Connection, pg: Any, report: MoveReport, source: str) -> None:
    pg.execute("BEGIN")
    try:
        pg.execute("SELECT pg_advisory_xact_lock(?)", (0x5357_4D56,))
        pg.execute(_MOVES_TABLE)
        done = pg.execute(
            "SELECT moved_at, rows FROM shortstack_moves ORDER BY moved_at LIMIT 1"
        ).fetchone()
        if done is not None:
            pg.execute("ROLLBACK")
            report.already_done = True
            report.moved_at = done[0]
            report.rows = json.loads(done[1])
            return
        tables = _tables(pg)
        busy = [t for t in tables if pg.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
        if busy:
            raise MoveRefused(
                f"{report.target} already holds data (tables {', '.join(busy[:5])}) that no"
                " earlier move wrote: use an empty database"
            )
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in tables:
            if table not in present:
                continue
            report.rows[table] = _copy_table(src, pg, table)
        _reset_identities(pg, tables)
        _verify(src, pg, report)
        pg.execute(
            "INSERT INTO shortstack_moves (source, moved_at, rows) VALUES (?, ?, ?)",
            (source, time.time(), json.dumps(report.rows)),
        )
    except BaseException:
        if not pg.raw.closed:
            pg.execute("ROLLBACK")
        raise
    pg.execute("COMMIT")
    report.moved_at = time.time()


def _tables(pg: Any) -> list[str]:
    """The store's tables in creation order (referenced tables before those referring)."""
    rows = pg.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r'"
        " AND c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'shortstack\\_%'"
        " ORDER BY c.oid"
    ).fetchall()
    return [r[0] for r in rows]


def _pg_columns(pg: Any, table: str) -> list[str]:
    rows = pg.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _copy_table(src: sqlite3.Connection, pg: Any, table: str) -> int:
    have = {r[1] for r in src.execute(f"PRAGMA table_info({table})")} | {"rowid"}
    columns = [c for c in _pg_columns(pg, table) if c in have]
    order = f" ORDER BY {_ORDER_BY[table]}" if table in _ORDER_BY else ""
    cursor = src.execute(f"SELECT {', '.join(columns)} FROM {table}{order}")
    n = 0
    names = ", ".join(columns)
    with pg.raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in cursor:
            copy.write_row(row)
            n += 1
    return n


def _reset_identities(pg: Any, tables: list[str]) -> None:
    rows = pg.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND is_identity = 'YES'"
    ).fetchall()
    for table, column in rows:
        if table in tables:
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
            )


def _verify(src: sqlite3.Connection, pg: Any, report: MoveReport) -> None:
    for table, copied in report.rows.items():
        there = pg.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        if there != copied:
            raise MoveRefused(f"{table}: {copied} rows read, {there} in Postgres")
    for table, column in COUNTERS:
        if table not in report.rows:
            continue
        here = src.execute(f"SELECT COALESCE(SUM({column}), 0) FROM {table}").fetchone()[0]
        there = pg.execute(f"SELECT COALESCE(SUM({column}), 0) FROM {table}").fetchone()[0]
        if int(here) != int(there):
            raise MoveRefused(f"{table}.{column}: {here} in SQLite, {there} in Postgres")
        report.counters[f"{table}.{column}"] = int(there)


def postgres_row_counts(url: str) -> dict[str, int]:
    """Rows per table of the Postgres database (what `shortstack migrate` prints)."""
    pg = connect_pg(url)
    try:
        return {t: pg.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _tables(pg)}
    finally:
        pg.close()
