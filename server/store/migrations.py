"""Schema migrations, applied in order and recorded in the database: one registry with a
step per backend (SQLite through sqlite-utils' registry, Postgres as SQL beside it)."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from .locks import exclusive

migrations = Migrations("shortstack")

#: the Postgres step of each migration, by name, in the same order as the SQLite steps
#: (tests/server/test_store_backends.py checks the two lists match). Text that is sorted
#: or range-searched is COLLATE "C": byte order, as SQLite sorts. Postgres gets the same
#: tables and column names: identity columns where SQLite has INTEGER PRIMARY KEY, double
#: precision for REAL, bytea for BLOB, tsvector + GIN where SQLite has FTS5.
POSTGRES_STEPS: dict[str, str] = {}


def postgres_step(name: str, sql: str) -> None:
    """Register the Postgres side of migration ``name`` (one transaction, with the others)."""
    assert name not in POSTGRES_STEPS, name
    POSTGRES_STEPS[name] = sql


@migrations(name="0001_core")
def m0001_core(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            handle TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            bio TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            is_admin INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            followers INTEGER NOT NULL DEFAULT 0,
            following INTEGER NOT NULL DEFAULT 0,
            videos INTEGER NOT NULL DEFAULT 0,
            likes_received INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE tokens (
            hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE INDEX tokens_user ON tokens(user_id);
        CREATE TABLE videos (
            id TEXT PRIMARY KEY,
            author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            caption TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'processing'
                CHECK (status IN ('processing', 'ready', 'failed')),
            progress REAL NOT NULL DEFAULT 0,
            error TEXT,
            duration_s REAL,
            width INTEGER,
            height INTEGER,
            fps REAL,
            video_codec TEXT,
            audio_codec TEXT,
            source_bytes INTEGER,
            content_hash TEXT,
            created_at REAL NOT NULL,
            likes INTEGER NOT NULL DEFAULT 0,
            comments INTEGER NOT NULL DEFAULT 0,
            shares INTEGER NOT NULL DEFAULT 0,
            views INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX videos_author ON videos(author_id, created_at);
        CREATE INDEX videos_created ON videos(created_at);
        CREATE INDEX videos_hash ON videos(content_hash);
        CREATE TABLE renditions (
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            PRIMARY KEY (video_id, name)
        );
        CREATE TABLE likes (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            PRIMARY KEY (user_id, video_id)
        );
        CREATE INDEX likes_video ON likes(video_id);
        CREATE TABLE views (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            viewer_key TEXT NOT NULL,
            watch_ms INTEGER NOT NULL,
            counted INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE INDEX views_video ON views(video_id);
        CREATE UNIQUE INDEX views_counted_once ON views(video_id, viewer_key) WHERE counted = 1;
        CREATE TABLE shares (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX shares_video ON shares(video_id);
        CREATE TABLE comments (
            id TEXT PRIMARY KEY,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
            body TEXT NOT NULL,
            reply_count INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE INDEX comments_video ON comments(video_id, parent_id, created_at);
        CREATE INDEX comments_parent ON comments(parent_id);
        CREATE TABLE follows (
            follower_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            followee_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            PRIMARY KEY (follower_id, followee_id),
            CHECK (follower_id != followee_id)
        );
        CREATE INDEX follows_followee ON follows(followee_id);
        CREATE TABLE not_interested (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            PRIMARY KEY (user_id, video_id)
        );
        CREATE TABLE hashtags (
            id INTEGER PRIMARY KEY,
            tag TEXT NOT NULL UNIQUE,
            videos INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE video_hashtags (
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            hashtag_id INTEGER NOT NULL REFERENCES hashtags(id) ON DELETE CASCADE,
            PRIMARY KEY (video_id, hashtag_id)
        );
        CREATE INDEX video_hashtags_tag ON video_hashtags(hashtag_id);
        -- Append-only interaction log the recommender learns from. No foreign keys on purpose:
        -- it outlives deleted videos and users; loaders join against what still exists.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            user_id INTEGER,
            video_id TEXT,
            kind TEXT NOT NULL,
            value REAL NOT NULL DEFAULT 1
        );
        CREATE INDEX events_user ON events(user_id, ts);
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            video_id TEXT REFERENCES videos(id) ON DELETE CASCADE,
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 3,
            lease_until REAL,
            heartbeat_at REAL,
            error TEXT,
            payload TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX jobs_status ON jobs(status, created_at);
        """
    )


postgres_step(
    "0001_core",
    """
CREATE TABLE users (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    followers BIGINT NOT NULL DEFAULT 0,
    following BIGINT NOT NULL DEFAULT 0,
    videos BIGINT NOT NULL DEFAULT 0,
    likes_received BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    revoked_at DOUBLE PRECISION
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE videos (
    id TEXT PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    caption TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'processing'
        CHECK (status IN ('processing', 'ready', 'failed')),
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    error TEXT,
    duration_s DOUBLE PRECISION,
    width INTEGER,
    height INTEGER,
    fps DOUBLE PRECISION,
    video_codec TEXT,
    audio_codec TEXT,
    source_bytes BIGINT,
    content_hash TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    likes BIGINT NOT NULL DEFAULT 0,
    comments BIGINT NOT NULL DEFAULT 0,
    shares BIGINT NOT NULL DEFAULT 0,
    views BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX videos_author ON videos(author_id, created_at);
CREATE INDEX videos_created ON videos(created_at);
CREATE INDEX videos_hash ON videos(content_hash);
CREATE TABLE renditions (
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (video_id, name)
);
CREATE TABLE likes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX likes_video ON likes(video_id);
CREATE TABLE views (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    viewer_key TEXT NOT NULL,
    watch_ms BIGINT NOT NULL,
    counted INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX views_video ON views(video_id);
CREATE UNIQUE INDEX views_counted_once ON views(video_id, viewer_key) WHERE counted = 1;
CREATE TABLE shares (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX shares_video ON shares(video_id);
CREATE TABLE comments (
    id TEXT PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    reply_count BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX comments_video ON comments(video_id, parent_id, created_at);
CREATE INDEX comments_parent ON comments(parent_id);
CREATE TABLE follows (
    follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id != followee_id)
);
CREATE INDEX follows_followee ON follows(followee_id);
CREATE TABLE not_interested (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
CREATE TABLE hashtags (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tag TEXT COLLATE "C" NOT NULL UNIQUE,  -- byte order: the prefix search is a range
    videos BIGINT NOT NULL DEFAULT 0
);
-- rowid: the order tags were attached in (SQLite's implicit rowid; the store orders by it)
CREATE TABLE video_hashtags (
    rowid BIGINT GENERATED BY DEFAULT AS IDENTITY,
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    hashtag_id BIGINT NOT NULL REFERENCES hashtags(id) ON DELETE CASCADE,
    PRIMARY KEY (video_id, hashtag_id)
);
CREATE INDEX video_hashtags_tag ON video_hashtags(hashtag_id);
CREATE TABLE events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    ts DOUBLE PRECISION NOT NULL,
    user_id BIGINT,
    video_id TEXT,
    kind TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL DEFAULT 1
);
CREATE INDEX events_user ON events(user_id, ts);
CREATE TABLE jobs (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    video_id TEXT REFERENCES videos(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    lease_until DOUBLE PRECISION,
    heartbeat_at DOUBLE PRECISION,
    error TEXT,
    payload TEXT NOT NULL DEFAULT '{}',
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX jobs_status ON jobs(status, created_at);
-- SQLite's group_concat(x) and group_concat(x, sep), so the store's SQL runs on both
CREATE FUNCTION shortstack_concat(acc text, val text, sep text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT acc || sep || val $$;
CREATE FUNCTION shortstack_concat(acc text, val text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT acc || ',' || val $$;
CREATE AGGREGATE group_concat(text, text) (SFUNC = shortstack_concat, STYPE = text);
CREATE AGGREGATE group_concat(text) (SFUNC = shortstack_concat, STYPE = text);
-- SQLite's json_each(?) over a JSON array of strings (the store passes id lists so)
CREATE FUNCTION json_each(doc text) RETURNS TABLE (value text)
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT json_array_elements_text(doc::json) $$;
""",
)


@migrations(name="0002_notifications_and_weights")
def m0002_notifications_and_weights(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            actor_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
            video_id TEXT REFERENCES videos(id) ON DELETE CASCADE,
            comment_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            read_at REAL
        );
        CREATE INDEX notifications_user ON notifications(user_id, created_at);
        CREATE TABLE feed_weights (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            weights TEXT NOT NULL
        );
        """
    )


postgres_step(
    "0002_notifications_and_weights",
    """
CREATE TABLE notifications (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    video_id TEXT REFERENCES videos(id) ON DELETE CASCADE,
    comment_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    read_at DOUBLE PRECISION
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);
CREATE TABLE feed_weights (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    weights TEXT NOT NULL
);
""",
)


@migrations(name="0003_search")
def m0003_search(db: Database) -> None:
    # Full-text search over captions, hashtags and handles; rows are kept in step by the store.
    db.executescript(
        """
        CREATE VIRTUAL TABLE videos_fts USING fts5(
            video_id UNINDEXED, caption, hashtags, handle, tokenize = 'unicode61'
        );
        CREATE VIRTUAL TABLE users_fts USING fts5(
            user_id UNINDEXED, handle, display_name, tokenize = 'unicode61'
        );
        INSERT INTO users_fts (user_id, handle, display_name)
            SELECT id, handle, display_name FROM users;
        INSERT INTO videos_fts (video_id, caption, hashtags, handle)
            SELECT v.id, v.caption,
                   COALESCE((SELECT group_concat(h.tag, ' ') FROM video_hashtags vh
                             JOIN hashtags h ON h.id = vh.hashtag_id WHERE vh.video_id = v.id), ''),
                   u.handle
            FROM videos v JOIN users u ON u.id = v.author_id;
        """
    )


postgres_step(
    "0003_search",
    """
-- FTS5 on SQLite; here the same rows with a generated tsvector (GIN-indexed). Weights give
-- the ranking contract of SQLite's bm25(videos_fts, 0, 1.0, 2.0, 1.0): a hashtag counts
-- twice a caption or handle word (A = 1.0 against B = 0.5 in ts_rank).
CREATE TABLE videos_fts (
    video_id TEXT NOT NULL,
    caption TEXT,
    hashtags TEXT,
    handle TEXT,
    doc tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(caption, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(hashtags, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(handle, '')), 'B')
    ) STORED
);
CREATE INDEX videos_fts_video ON videos_fts(video_id);
CREATE INDEX videos_fts_doc ON videos_fts USING GIN (doc);
CREATE TABLE users_fts (
    user_id BIGINT NOT NULL,
    handle TEXT,
    display_name TEXT,
    doc tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(handle, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(display_name, '')), 'B')
    ) STORED
);
CREATE INDEX users_fts_user ON users_fts(user_id);
CREATE INDEX users_fts_doc ON users_fts USING GIN (doc);
INSERT INTO users_fts (user_id, handle, display_name) SELECT id, handle, display_name FROM users;
INSERT INTO videos_fts (video_id, caption, hashtags, handle)
    SELECT v.id, v.caption,
           COALESCE((SELECT string_agg(h.tag, ' ') FROM video_hashtags vh
                     JOIN hashtags h ON h.id = vh.hashtag_id WHERE vh.video_id = v.id), ''),
           u.handle
    FROM videos v JOIN users u ON u.id = v.author_id;
""",
)


@migrations(name="0004_visual_features")
def m0004_visual_features(db: Database) -> None:
    db["videos"].add_column("features", bytes)
    db["videos"].add_column("poster", str)


postgres_step(
    "0004_visual_features",
    """
ALTER TABLE videos ADD COLUMN features BYTEA, ADD COLUMN poster TEXT;
""",
)


@migrations(name="0005_edit_recipes")
def m0005_edit_recipes(db: Database) -> None:
    # The edit recipe (canonical JSON) a video was published with; NULL when unedited.
    db["videos"].add_column("edit", str)


postgres_step(
    "0005_edit_recipes",
    """
ALTER TABLE videos ADD COLUMN edit TEXT;
""",
)


@migrations(name="0006_upload_log")
def m0006_upload_log(db: Database) -> None:
    # One row per accepted upload, kept when the video is deleted: the daily upload quotas
    # count these. Uploads of the last day are carried over from the videos table.
    db.executescript(
        """
        CREATE TABLE upload_log (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            bytes INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX upload_log_user ON upload_log(user_id, created_at);
        INSERT INTO upload_log (user_id, bytes, created_at)
            SELECT author_id, COALESCE(source_bytes, 0), created_at FROM videos
            WHERE created_at > CAST(strftime('%s', 'now') AS REAL) - 86400;
        """
    )


postgres_step(
    "0006_upload_log",
    """
CREATE TABLE upload_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bytes BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX upload_log_user ON upload_log(user_id, created_at);
INSERT INTO upload_log (user_id, bytes, created_at)
    SELECT author_id, COALESCE(source_bytes, 0), created_at FROM videos
    WHERE created_at > extract(epoch FROM now()) - 86400;
""",
)


@migrations(name="0007_sessions_and_invites")
def m0007_sessions_and_invites(db: Database) -> None:
    # Sessions: a token's last use (sliding expiry) and the client that logged in with it;
    # invite codes (stored hashed, like tokens) for `registration = "invite"`.
    db["tokens"].add_column("last_used_at", float)
    db["tokens"].add_column("user_agent", str)
    db.executescript(
        """
        CREATE TABLE invites (
            hash TEXT PRIMARY KEY,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            uses_left INTEGER NOT NULL,
            uses INTEGER NOT NULL DEFAULT 0,
            expires_at REAL NOT NULL,
            created_at REAL NOT NULL
        );
        """
    )


postgres_step(
    "0007_sessions_and_invites",
    """
ALTER TABLE tokens ADD COLUMN last_used_at DOUBLE PRECISION, ADD COLUMN user_agent TEXT;
CREATE TABLE invites (
    hash TEXT PRIMARY KEY,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    uses_left INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    expires_at DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
""",
)


@migrations(name="0008_deleted_comment_authors", transactional=False)
def m0008_deleted_comment_authors(db: Database) -> None:
    # A deleted account's comment that has replies stays as a "[deleted]" placeholder with no
    # author, so comments.author_id becomes nullable: the table is rebuilt (SQLite's recipe:
    # foreign keys off, copy, swap, check), which cannot run inside a transaction.
    db.execute("PRAGMA foreign_keys=OFF")
    try:
        with db.atomic():
            db.executescript(
                """
                CREATE TABLE comments_new (
                    id TEXT PRIMARY KEY,
                    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
                    author_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                    parent_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
                    body TEXT NOT NULL,
                    reply_count INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL
                );
                INSERT INTO comments_new (id, video_id, author_id, parent_id, body, reply_count,
                    created_at)
                    SELECT id, video_id, author_id, parent_id, body, reply_count, created_at
                    FROM comments;
                DROP TABLE comments;
                ALTER TABLE comments_new RENAME TO comments;
                CREATE INDEX comments_video ON comments(video_id, parent_id, created_at);
                CREATE INDEX comments_parent ON comments(parent_id);
                CREATE INDEX comments_author ON comments(author_id);
                """
            )
            bad = db.execute("PRAGMA foreign_key_check").fetchall()
            if bad:
                raise RuntimeError(f"0008: foreign keys broken after the rebuild: {bad[:5]}")
    finally:
        db.execute("PRAGMA foreign_keys=ON")


postgres_step(
    "0008_deleted_comment_authors",
    """
ALTER TABLE comments ALTER COLUMN author_id DROP NOT NULL;
CREATE INDEX comments_author ON comments(author_id);
""",
)


@migrations(name="0009_blocks_and_mutes")
def m0009_blocks_and_mutes(db: Database) -> None:
    # Blocks (both sides stop seeing each other) and mutes (one side stops seeing the other
    # in feeds and comment threads); the rules are in server/visibility.py.
    db.executescript(
        """
        CREATE TABLE blocks (
            id INTEGER PRIMARY KEY,
            blocker_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            UNIQUE (blocker_id, blocked_id)
        );
        CREATE INDEX blocks_blocked ON blocks(blocked_id);
        CREATE TABLE mutes (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            muted_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            UNIQUE (user_id, muted_id)
        );
        """
    )


postgres_step(
    "0009_blocks_and_mutes",
    """
CREATE TABLE blocks (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    blocker_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks(blocked_id);
CREATE TABLE mutes (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    muted_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (user_id, muted_id)
);
""",
)


@migrations(name="0010_moderation")
def m0010_moderation(db: Database) -> None:
    # Reports, removals (kept 30 days for appeal, then purged), sensitive videos, suspensions,
    # the append-only audit log (triggers refuse UPDATE and DELETE) and the blocked terms.
    db["videos"].add_column("removed_at", float)
    db["videos"].add_column("sensitive", int, not_null_default=0)
    db["comments"].add_column("removed_at", float)
    db["users"].add_column("suspended_at", float)
    db["users"].add_column("suspension_reason", str)
    db.executescript(
        """
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            reporter_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            text TEXT,
            created_at REAL NOT NULL,
            resolved_at REAL,
            resolution TEXT
        );
        CREATE UNIQUE INDEX reports_open ON reports(reporter_id, target_type, target_id)
            WHERE resolved_at IS NULL;
        CREATE INDEX reports_target ON reports(target_type, target_id, created_at);
        CREATE INDEX reports_reporter ON reports(reporter_id, created_at);
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL,
            reason TEXT,
            created_at REAL NOT NULL
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TABLE blocked_terms (
            term TEXT PRIMARY KEY,
            created_at REAL NOT NULL
        );
        """
    )


postgres_step(
    "0010_moderation",
    """
ALTER TABLE videos ADD COLUMN removed_at DOUBLE PRECISION,
    ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE comments ADD COLUMN removed_at DOUBLE PRECISION;
ALTER TABLE users ADD COLUMN suspended_at DOUBLE PRECISION, ADD COLUMN suspension_reason TEXT;
CREATE TABLE reports (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    reporter_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    text TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    resolved_at DOUBLE PRECISION,
    resolution TEXT
);
CREATE UNIQUE INDEX reports_open ON reports(reporter_id, target_type, target_id)
    WHERE resolved_at IS NULL;
CREATE INDEX reports_target ON reports(target_type, target_id, created_at);
CREATE INDEX reports_reporter ON reports(reporter_id, created_at);
CREATE TABLE audit_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TABLE blocked_terms (
    term TEXT COLLATE "C" PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL
);
""",
)


@migrations(name="0011_sensitive_setting_and_instance_settings")
def m0011_sensitive_setting_and_instance_settings(db: Database) -> None:
    # A viewer may choose to see sensitive media without the notice; instance settings an admin
    # changes at run time (registration mode) override config.toml's defaults.
    db["users"].add_column("show_sensitive", int, not_null_default=0)
    db.executescript(
        """
        CREATE TABLE instance_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        """
    )


postgres_step(
    "0011_sensitive_setting_and_instance_settings",
    """
ALTER TABLE users ADD COLUMN show_sensitive INTEGER NOT NULL DEFAULT 0;
CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
""",
)


@migrations(name="0012_captions")
def m0012_captions(db: Database) -> None:
    # Caption tracks (WebVTT text, checked and sanitised on the way in), one per video and
    # language; uploaded by the owner or made by the automatic-captions job.
    db.executescript(
        """
        CREATE TABLE captions (
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            lang TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('uploaded', 'automatic')),
            vtt TEXT NOT NULL,
            cues INTEGER NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (video_id, lang)
        );
        """
    )


postgres_step(
    "0012_captions",
    """
CREATE TABLE captions (
    video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    lang TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('uploaded', 'automatic')),
    vtt TEXT NOT NULL,
    cues INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (video_id, lang)
);
""",
)


@migrations(name="0013_events_user_recent")
def m0013_events_user_recent(db: Database) -> None:
    # Every For You request reads its viewer's most recent events (up to 1,000, newest first):
    # an index holding the columns it reads, in (ts, id) order, answers without a table
    # lookup per row or a sort (a heavy viewer's read: 2.5 -> 1.0 ms). It replaces
    # events_user, which it starts with.
    db.executescript(
        """
        CREATE INDEX events_user_recent ON events(user_id, ts, id, kind, video_id, value);
        DROP INDEX events_user;
        """
    )


postgres_step(
    "0013_events_user_recent",
    """
CREATE INDEX events_user_recent ON events(user_id, ts, id) INCLUDE (kind, video_id, value);
DROP INDEX events_user;
""",
)


def migrate(path: str, *, stop_before: str | None = None) -> list[str]:
    """Apply pending migrations to the database file; returns the names applied.

    Processes starting together on one data dir (``serve --workers N``) take turns (a file
    lock beside the database): the first applies, the others then find nothing to do."""
    if path == ":memory:":
        return _migrate(path, stop_before)
    with exclusive(f"{path}.migrate-lock"):
        return _migrate(path, stop_before)


def _migrate(path: str, stop_before: str | None) -> list[str]:
    db = Database(path)
    try:
        db.execute("PRAGMA busy_timeout=30000")  # before WAL: switching waits for readers
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db, stop_before=stop_before)
        return [name for name in pending if name not in {m.name for m in migrations.pending(db)}]
    finally:
        db.close()


#: one number for the advisory lock that makes concurrent starts (serve --workers N, many
#: machines) apply the migrations once
_PG_LOCK = 0x5357_4D49  # "SSMI"


def postgres_pending(conn: object) -> list[str]:
    """Names of the migrations not yet applied to the Postgres database on ``conn``."""
    exists = conn.execute(  # type: ignore[attr-defined]
        "SELECT to_regclass('shortstack_migrations') IS NOT NULL"
    ).fetchone()[0]
    if not exists:
        return list(POSTGRES_STEPS)
    done = {r[0] for r in conn.execute("SELECT name FROM shortstack_migrations")}  # type: ignore[attr-defined]
    return [name for name in POSTGRES_STEPS if name not in done]


def migrate_postgres(url: str) -> list[str]:
    """Apply pending migrations to the Postgres database at ``url`` in one transaction (under
    an advisory lock: concurrent callers wait, then find nothing to do); the names applied."""
    from .dialect import connect_pg

    conn = connect_pg(url)
    try:
        conn.execute("BEGIN")
        try:
            conn.execute(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS shortstack_migrations ("
                " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            pending = postgres_pending(conn)
            for name in pending:
                conn.executescript(POSTGRES_STEPS[name])
                conn.execute("INSERT INTO shortstack_migrations (name) VALUES (?)", (name,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return pending
    finally:
        conn.close()
