"""The store on both backends: the same store functions, the same answers, on a SQLite file
and on a real Postgres database (a fresh one per test)."""

from __future__ import annotations

import asyncio

import pytest

from shortstack.server.store import dialect, jobs, migrations
from shortstack.server.store.catalogue import viewer_events
from shortstack.server.store.comments import add_comment
from shortstack.server.store.db import Database, connect_sync
from shortstack.server.store.errors import Conflict
from shortstack.server.store.events import list_notifications
from shortstack.server.store.feeds import following_ids, log_impressions
from shortstack.server.store.interactions import record_share, record_view, set_like
from shortstack.server.store.lab import feed_diet, video_durations
from shortstack.server.store.search import search_hashtags, search_users, search_videos
from shortstack.server.store.users import create_user, get_user, set_follow
from shortstack.server.store.videos import create_video, get_video


@pytest.fixture
def db(store_db):
    return store_db


async def _ready(db: Database, author_id: int, caption: str) -> str:
    video_id = await create_video(db, author_id, caption)
    job = await jobs.claim(db, 60)
    assert job is not None and job.video_id == video_id
    done = await jobs.complete_transcode(
        db,
        job,
        {
            "renditions": [{"name": "240p", "width": 320, "height": 240, "bytes": 1000}],
            "info": {"width": 320, "height": 240, "fps": 25.0},
            "duration_s": 10.0,
            "poster": "poster.jpg",
            "features": b"\x00\x01\x02",
        },
    )
    assert done
    return video_id


def test_registries_match():
    """Every migration has a step on each backend, in the same order."""
    assert [m.name for m in migrations.migrations._migrations] == list(migrations.POSTGRES_STEPS)


def test_translate_keeps_literals_and_rewrites_sqlite_isms():
    t = dialect.translate
    assert t("SELECT '?', ? FROM x WHERE a LIKE '50%'") == (
        "SELECT '?', %s FROM x WHERE a LIKE '50%%'"
    )
    assert t("INSERT OR IGNORE INTO likes (a) VALUES (?)") == (
        "INSERT INTO likes (a) VALUES (%s) ON CONFLICT DO NOTHING"
    )
    assert t("UPDATE jobs SET a = 1 WHERE video_id IS ?") == (
        "UPDATE jobs SET a = 1 WHERE video_id IS NOT DISTINCT FROM %s"
    )
    assert t("BEGIN IMMEDIATE") == "BEGIN"
    assert not dialect.is_postgres("/data/shortstack.db")
    assert dialect.redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


async def test_users_follows_likes_and_counters(db):
    alice = await create_user(db, "alice", "hash")
    bob = await create_user(db, "bob", "hash", "Bob B")
    with pytest.raises(Conflict):
        await create_user(db, "alice", "hash")
    assert bob.id != alice.id and bob.display_name == "Bob B"
    video = await _ready(db, alice.id, "Hello #World from the #sea")
    assert (await set_like(db, bob.id, video, True))[:2] == (True, 1)
    assert (await set_like(db, bob.id, video, True))[:2] == (True, 1)  # idempotent
    await set_follow(db, bob, "alice", True)
    await set_follow(db, bob, "alice", True)
    assert (await get_user(db, "alice")).followers == 1
    assert (await get_user(db, "alice")).likes_received == 1
    record = await get_video(db, video, bob.id)
    assert record.hashtags == ["world", "sea"]  # in the order written
    assert record.liked_by_me and record.likes == 1 and record.has_poster
    assert [r.name for r in record.renditions] == ["240p"]
    assert await following_ids(db, bob.id, limit=10, before=None) == [(video, record.created_at)]
    counted, views = await record_view(db, video, bob.id, "bob", 9000)
    assert counted and views == 1
    assert (await record_view(db, video, bob.id, "bob", 9000)) == (False, 1)
    assert await record_share(db, video, bob.id) == (True, 1)
    assert await record_share(db, video, bob.id) == (False, 1)
    notes = await list_notifications(db, alice.id, limit=10, before=None)
    assert [n["kind"] for n in notes] == ["follow", "like"]
    assert await list_notifications(db, alice.id, limit=10, before=notes[1]["id"]) == []
    assert await video_durations(db, [video, "missing"]) == {video: 10.0}


async def test_comments_events_and_lab(db):
    alice = await create_user(db, "alice", "hash")
    video = await _ready(db, alice.id, "a clip #cooking")
    comment, _ = await add_comment(db, video, alice.id, "50% of 'this' is fine", None)
    reply, _ = await add_comment(db, video, alice.id, "a reply", comment.id)
    assert reply.parent_id == comment.id
    # rows arrive after serving: a video or account deleted meanwhile keeps no impression
    await log_impressions(
        db,
        [(1.0, alice.id, video), (2.0, alice.id, "gone"), (3.0, 10**6, video), (4.0, None, video)],
    )
    events = await viewer_events(db, alice.id, ["impression"], limit=None)
    assert [(e[0], e[1]) for e in events] == [(video, "impression")]
    rows = await db.fetchall("SELECT user_id FROM events WHERE kind = 'impression' ORDER BY ts")
    assert [r[0] for r in rows] == [alice.id, None]
    diet = await feed_diet(db, alice.id, [video], limit=10)
    assert diet["topics"] == [("cooking", 1, 1)]
    assert diet["videos_shown"] == 1 and diet["videos_engaged"] == 1


async def test_search_contract(db):
    chef = await create_user(db, "chef_anna", "hash", "Anna Cooks")
    await create_user(db, "anna", "hash")
    pasta = await _ready(db, chef.id, "Fresh pasta at home #cooking #italy")
    soup = await _ready(db, chef.id, "Winter soup #cooking")
    tagged = await _ready(db, chef.id, "a bowl #pastapasta")
    assert await search_videos(db, "pasta", limit=10) == [tagged, pasta]  # tag beats caption
    assert set(await search_videos(db, "cook", limit=10)) == {pasta, soup}
    assert await search_videos(db, "pasta soup", limit=10) == []  # AND-ed
    assert await search_videos(db, "' OR 1=1 --", limit=10) == []
    assert await search_videos(db, "\x00", limit=10) == []
    users = await search_users(db, "anna", limit=10)
    assert users[0] == (await get_user(db, "anna")).id and len(users) == 2
    assert await search_hashtags(db, "coo", limit=10) == [("cooking", 2)]


async def test_sync_connections_have_the_same_shape(db):
    await create_user(db, "alice", "hash")
    conn = connect_sync(db.path)
    try:
        row = conn.execute("SELECT id, handle FROM users WHERE handle = ?", ("alice",)).fetchone()
        assert row["handle"] == row[1] == "alice"
        assert dict(zip(row.keys(), row, strict=True)) == {"id": row[0], "handle": "alice"}
    finally:
        conn.close()


async def test_two_processes_claim_different_jobs_on_postgres(pg_url):
    """Two API processes (two Databases on one Postgres) never claim one job twice; a job row
    another connection holds is skipped, not waited for."""
    import psycopg

    first, second = Database(pg_url), Database(pg_url)
    await first.open()
    await second.open()
    try:
        author = await create_user(first, "uploader", "hash")
        one = await create_video(first, author.id, "one")
        two = await create_video(first, author.id, "two")
        with psycopg.connect(pg_url) as other:  # a transaction holding job one's row
            other.execute("SELECT id FROM jobs WHERE video_id = %s FOR UPDATE", (one,))
            job = await asyncio.wait_for(jobs.claim(second, 60), timeout=10)
            assert job is not None and job.video_id == two
        claimed = await asyncio.gather(jobs.claim(first, 60), jobs.claim(second, 60))
        assert [j.video_id for j in claimed if j is not None] == [one]
    finally:
        await first.close()
        await second.close()


async def test_postgres_restarting_connections_are_replaced(pg_url):
    """Connections the server dropped (a restart, a failover) are replaced on the next
    transaction: no request fails for it."""
    import psycopg

    db = Database(pg_url, readers=1)
    await db.open()
    try:
        await create_user(db, "before", "hash")
        assert (await get_user(db, "before")).handle == "before"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        await create_user(db, "after", "hash")
        assert (await get_user(db, "after")).handle == "after"
    finally:
        await db.close()


async def test_two_processes_writing_keep_the_one_writer_rules_on_postgres(pg_url):
    """Check-then-insert rules written for SQLite's one writer (one counted share per account,
    one counted view per viewer) hold when two API processes race on one Postgres."""
    first, second = Database(pg_url), Database(pg_url)
    await first.open()
    await second.open()
    try:
        author = await create_user(first, "author", "hash")
        fan = await create_user(first, "fan", "hash")
        video = await _ready(first, author.id, "raced")
        shares = await asyncio.gather(
            *(record_share(db, video, fan.id) for db in (first, second) for _ in range(10))
        )
        assert sum(counted for counted, _ in shares) == 1
        views = await asyncio.gather(
            *(
                record_view(db, video, fan.id, "fan", 9000)
                for db in (first, second)
                for _ in range(10)
            )
        )
        assert sum(counted for counted, _ in views) == 1
        record = await get_video(second, video, None)
        assert (record.shares, record.views) == (1, 1)
    finally:
        await first.close()
        await second.close()
