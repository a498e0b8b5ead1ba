"""A database made by the first migration, with rows in it, upgrades in place without data loss."""

from __future__ import annotations

import sqlite3
import time

from shortstack.server.store.ids import hash_token
from shortstack.server.store.migrations import migrate, migrations
from shortstack.server.store.users import hash_password

TOKEN = "legacy-token-0123456789abcdefghijklmnopqrstuvwxyz"


def _old_database(path) -> None:
    applied = migrate(str(path), stop_before="0002_notifications_and_weights")
    assert applied == ["0001_core"]
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    ts = time.time() - 3600
    conn.execute(
        "INSERT INTO users (id, handle, display_name, password_hash, created_at, videos, likes_received)"
        " VALUES (1, 'oldtimer', 'Old Timer', ?, ?, 1, 1)",
        (hash_password("kettle-harbor-58"), ts),
    )
    conn.execute(
        "INSERT INTO users (id, handle, display_name, password_hash, created_at)"
        " VALUES (2, 'fan', 'Fan', ?, ?)",
        (hash_password("kettle-harbor-58"), ts),
    )
    conn.execute(
        "INSERT INTO tokens (hash, user_id, created_at) VALUES (?, 2, ?)", (hash_token(TOKEN), ts)
    )
    conn.execute(
        "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
        " created_at, likes, comments) VALUES ('OldVideo001', 1, 'vintage #retro', 'ready', 1, 12.0,"
        " 320, 240, ?, 1, 1)",
        (ts,),
    )
    conn.execute(
        "INSERT INTO renditions VALUES ('OldVideo001', '240p', 320, 240, 12345)",
    )
    conn.execute("INSERT INTO hashtags (id, tag, videos) VALUES (1, 'retro', 1)")
    conn.execute("INSERT INTO video_hashtags VALUES ('OldVideo001', 1)")
    conn.execute("INSERT INTO likes VALUES (2, 'OldVideo001', ?)", (ts,))
    conn.execute(
        "INSERT INTO comments (id, video_id, author_id, body, created_at)"
        " VALUES ('OldComment1', 'OldVideo001', 2, 'classic', ?)",
        (ts,),
    )
    conn.execute(
        "INSERT INTO events (ts, user_id, video_id, kind) VALUES (?, 2, 'OldVideo001', 'like')",
        (ts,),
    )
    conn.close()


def _counts(path) -> dict[str, int]:
    conn = sqlite3.connect(str(path))
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in (
                "users",
                "tokens",
                "videos",
                "renditions",
                "likes",
                "comments",
                "hashtags",
                "events",
            )
        }
    finally:
        conn.close()


def test_migrate_from_first_version(tmp_path):
    db_path = tmp_path / "shortstack.db"
    _old_database(db_path)
    before = _counts(db_path)
    applied = migrate(str(db_path))
    assert applied == [m.name for m in migrations._migrations][1:]
    assert _counts(db_path) == before
    assert migrate(str(db_path)) == []  # idempotent
    conn = sqlite3.connect(str(db_path))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"notifications", "feed_weights", "videos_fts", "users_fts"} <= tables
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_old_database_served_after_upgrade(make_server, tmp_path):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    _old_database(data_dir / "shortstack.db")
    before = _counts(data_dir / "shortstack.db")
    live = make_server(data_dir=data_dir)
    c = live.client
    # the old token still works; old rows are served; search was back-filled
    me = c.get("/api/me", headers=live.auth(TOKEN))
    assert me.status_code == 200 and me.json()["handle"] == "fan"
    login = c.post("/api/auth/login", json={"handle": "oldtimer", "password": "kettle-harbor-58"})
    assert login.status_code == 200
    video = c.get("/api/videos/OldVideo001", headers=live.auth(TOKEN)).json()
    assert video["caption"] == "vintage #retro"
    assert video["hashtags"] == ["retro"]
    assert video["counts"]["likes"] == 1 and video["liked_by_me"] is True
    assert [r["name"] for r in video["renditions"]] == ["240p"]
    comments = c.get("/api/videos/OldVideo001/comments").json()["items"]
    assert [x["body"] for x in comments] == ["classic"]
    found = c.get("/api/search", params={"q": "vintage"}).json()
    assert [v["id"] for v in found["videos"]] == ["OldVideo001"]
    assert [
        u["handle"] for u in c.get("/api/search", params={"q": "@oldtimer"}).json()["users"]
    ] == ["oldtimer"]
    assert c.get("/api/users/oldtimer").json()["likes_received"] == 1
    # new features work on the upgraded file
    r = c.put("/api/feed/weights", json={"trending": 3.0}, headers=live.auth(TOKEN))
    assert r.status_code == 200
    after = _counts(data_dir / "shortstack.db")
    for table, n in before.items():
        assert after[table] >= n, table


def _migrate_at(path: str, start_at: float) -> list[str]:
    time.sleep(max(0.0, start_at - time.time()))
    return migrate(path)


def test_processes_starting_together_migrate_once(tmp_path):
    """`serve --workers N` on a fresh data dir: N processes migrate the same new file at the
    same moment. Each start succeeds and every migration is applied exactly once (one of them
    failed the start with "database is locked" or "table already exists")."""
    import multiprocessing as mp

    path = str(tmp_path / "shortstack.db")
    start_at = time.time() + 2.0  # the spawned children import first, then start together
    with mp.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_migrate_at, [(path, start_at)] * 4)
    names = [m.name for m in migrations._migrations]
    assert sorted(sum(results, [])) == sorted(names)  # each applied once, by someone
    conn = sqlite3.connect(path)
    table = migrations.migrations_table
    query = f"SELECT name FROM {table} WHERE migration_set = ?"
    applied = [r[0] for r in conn.execute(query, (migrations.name,))]
    conn.close()
    assert sorted(applied) == sorted(names)
