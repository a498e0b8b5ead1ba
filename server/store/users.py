"""Users, passwords, tokens and follows."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass

import aiosqlite
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .db import Database
from .dialect import integrity_errors
from .errors import Conflict, Forbidden, NotFound, Unprocessable
from .events import log_event, notify
from .ids import hash_token, new_token, now
from .rows import from_row, one_row

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    handle: str
    display_name: str
    bio: str
    is_admin: bool
    followers: int
    following: int
    videos: int
    likes_received: int
    created_at: float
    show_sensitive: bool = False  # sensitive media without the notice (a viewer's choice)


USER_COLS = (
    "id, handle, display_name, bio, is_admin, followers, following, videos, likes_received,"
    " created_at, show_sensitive"
)


def user_from_row(row: aiosqlite.Row | sqlite3.Row) -> User:
    return from_row(
        User, row, is_admin=bool(row["is_admin"]), show_sensitive=bool(row["show_sensitive"])
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class TokenLifetime:
    """How long tokens live: ``idle_s`` without use (each use renews it), ``max_age_s`` at most."""

    idle_s: float
    max_age_s: float

    @property
    def renew_every_s(self) -> float:
        """A token's last use is written at most this often (not a write per request)."""
        return min(60.0, self.idle_s / 10)


#: (SQL condition on tokens t, its parameters) of a token that still works at time ``at``
def _alive(life: TokenLifetime, at: float) -> tuple[str, tuple[float, float]]:
    return (
        "t.revoked_at IS NULL AND COALESCE(t.last_used_at, t.created_at) > ? AND t.created_at > ?",
        (at - life.idle_s, at - life.max_age_s),
    )


INVITE_REFUSED = "the invite code is unknown, used up or expired"


async def create_user(
    db: Database,
    handle: str,
    password_hash: str,
    display_name: str | None = None,
    *,
    is_admin: bool = False,
    invite: str | None = None,
) -> User:
    """A new account; with ``invite``, one use of that code is spent in the same transaction."""
    async with db.write() as conn:
        if invite is not None:
            cur = await conn.execute(
                "UPDATE invites SET uses_left = uses_left - 1, uses = uses + 1"
                " WHERE hash = ? AND uses_left > 0 AND expires_at > ?",
                (hash_token(invite), now()),
            )
            if not cur.rowcount:
                raise Forbidden(INVITE_REFUSED)
        try:
            cur = await conn.execute(
                "INSERT INTO users (handle, display_name, password_hash, is_admin, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (handle, display_name or handle, password_hash, int(is_admin), now()),
            )
        except integrity_errors():
            raise Conflict(f"the handle @{handle} is taken") from None
        user_id = (await cur.fetchone())[0]
        await conn.execute(
            "INSERT INTO users_fts (user_id, handle, display_name) VALUES (?, ?, ?)",
            (user_id, handle, display_name or handle),
        )
        async with conn.execute(f"SELECT {USER_COLS} FROM users WHERE id = ?", (user_id,)) as c:
            row = await c.fetchone()
    assert row is not None
    return user_from_row(row)


async def check_login(db: Database, handle: str, password: str) -> User | None:
    row = await db.fetchone(
        f"SELECT {USER_COLS}, password_hash FROM users WHERE handle = ?", (handle,)
    )
    if row is None:
        # same cost whether or not the handle exists; argon2 runs off the event loop
        await asyncio.to_thread(verify_password, _DUMMY_HASH, password)
        return None
    if not await asyncio.to_thread(verify_password, row["password_hash"], password):
        return None
    return user_from_row(row)


async def issue_token(db: Database, user_id: int, user_agent: str | None = None) -> str:
    token, digest = new_token()
    at = now()
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO tokens (hash, user_id, created_at, last_used_at, user_agent)"
            " VALUES (?, ?, ?, ?, ?)",
            (digest, user_id, at, at, (user_agent or "")[:200] or None),
        )
    return token


def session_id(token_hash: str) -> str:
    """The public id of a session: a prefix of its token's hash (never the token itself)."""
    return token_hash[:16]


async def list_sessions(db: Database, user_id: int, life: TokenLifetime) -> list[dict]:
    """The user's working tokens, most recently used first."""
    alive, params = _alive(life, now())
    rows = await db.fetchall(
        "SELECT t.hash, t.created_at, COALESCE(t.last_used_at, t.created_at) AS last_used_at,"
        f" t.user_agent FROM tokens t WHERE t.user_id = ? AND {alive}"
        " ORDER BY last_used_at DESC LIMIT 200",
        (user_id, *params),
    )
    return [
        {
            "id": session_id(r["hash"]),
            "hash": r["hash"],
            "created_at": r["created_at"],
            "last_used_at": r["last_used_at"],
            "expires_at": min(r["last_used_at"] + life.idle_s, r["created_at"] + life.max_age_s),
            "user_agent": r["user_agent"],
        }
        for r in rows
    ]


async def revoke_session(db: Database, user_id: int, sid: str) -> None:
    """Revoke one of the user's own sessions by its public id (404 when none matches)."""
    if len(sid) != 16 or any(c not in "0123456789abcdef" for c in sid):
        raise NotFound(f"no session {sid}")
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND substr(hash, 1, 16) = ?"
            " AND revoked_at IS NULL",
            (now(), user_id, sid),
        )
        if not cur.rowcount:
            raise NotFound(f"no session {sid}")


async def revoke_all_tokens(db: Database, user_id: int, *, keep: str | None = None) -> int:
    """Revoke every token of the user (but ``keep``, a token); how many were revoked."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
            " AND hash != ?",
            (now(), user_id, hash_token(keep) if keep else ""),
        )
        return cur.rowcount


async def password_hash_of(db: Database, user_id: int) -> str:
    row = await one_row(
        db, "SELECT password_hash FROM users WHERE id = ?", (user_id,), missing="no such user"
    )
    return row["password_hash"]


async def set_password(db: Database, user_id: int, password_hash: str, *, keep: str) -> None:
    """Change the password and revoke every other token, in one transaction."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
        )
        await conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
            " AND hash != ?",
            (now(), user_id, hash_token(keep)),
        )


async def create_invite(
    db: Database, created_by: int | None, *, uses: int, expires_in_s: float
) -> dict:
    """A new invite code (shown once; stored hashed)."""
    code, digest = new_token()
    at = now()
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO invites (hash, created_by, uses_left, expires_at, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (digest, created_by, uses, at + expires_in_s, at),
        )
    return {
        "code": code,
        "id": session_id(digest),
        "uses_left": uses,
        "expires_at": at + expires_in_s,
        "created_at": at,
    }


async def revoke_invite(db: Database, invite_id: str) -> None:
    """Use an invite code up now (404 when no code has this id)."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE invites SET uses_left = 0 WHERE substr(hash, 1, 16) = ?", (invite_id,)
        )
        if not cur.rowcount:
            raise NotFound(f"no invite {invite_id}")


async def list_invites(db: Database) -> list[dict]:
    rows = await db.fetchall(
        "SELECT i.hash, i.uses, i.uses_left, i.expires_at, i.created_at, u.handle"
        " FROM invites i LEFT JOIN users u ON u.id = i.created_by"
        " ORDER BY i.created_at DESC LIMIT 200"
    )
    return [
        {
            "id": session_id(r["hash"]),
            "uses": r["uses"],
            "uses_left": r["uses_left"],
            "expires_at": r["expires_at"],
            "created_at": r["created_at"],
            "created_by": r["handle"],
        }
        for r in rows
    ]


async def revoke_token(db: Database, token: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL",
            (now(), hash_token(token)),
        )


async def user_for_token(db: Database, token: str, life: TokenLifetime) -> User | None:
    """The user of a token that still works; its use renews it (sliding expiry)."""
    at = now()
    alive, params = _alive(life, at)
    digest = hash_token(token)
    row = await db.fetchone(
        f"SELECT {', '.join('u.' + c.strip() for c in USER_COLS.split(','))},"
        " COALESCE(t.last_used_at, t.created_at) AS token_used_at FROM tokens t"
        f" JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND {alive}"
        " AND u.suspended_at IS NULL",
        (digest, *params),
    )
    if row is None:
        return None
    if row["token_used_at"] < at - life.renew_every_s:
        async with db.write() as conn:
            await conn.execute("UPDATE tokens SET last_used_at = ? WHERE hash = ?", (at, digest))
    return user_from_row(row)


async def get_user(db: Database, handle: str) -> User:
    row = await one_row(
        db,
        f"SELECT {USER_COLS} FROM users WHERE handle = ?",
        (handle,),
        missing=f"no user @{handle}",
    )
    return user_from_row(row)


async def get_user_by_handle(db: Database, handle: str) -> User | None:
    row = await db.fetchone(f"SELECT {USER_COLS} FROM users WHERE handle = ?", (handle,))
    return user_from_row(row) if row else None


async def get_user_by_id(db: Database, user_id: int) -> User | None:
    row = await db.fetchone(f"SELECT {USER_COLS} FROM users WHERE id = ?", (user_id,))
    return user_from_row(row) if row else None


async def is_following(db: Database, follower_id: int, followee_id: int) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?",
        (follower_id, followee_id),
    )
    return row is not None


async def set_follow(db: Database, follower: User, handle: str, follow: bool) -> User:
    """Follow or unfollow @handle (idempotent); counters change in the same transaction."""
    target = await get_user(db, handle)
    if target.id == follower.id:
        raise Unprocessable("you cannot follow yourself")
    async with db.write() as conn:
        if follow:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)",
                (follower.id, target.id, now()),
            )
        else:
            cur = await conn.execute(
                "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                (follower.id, target.id),
            )
        if cur.rowcount:
            delta = 1 if follow else -1
            await conn.execute(
                "UPDATE users SET followers = followers + ? WHERE id = ?", (delta, target.id)
            )
            await conn.execute(
                "UPDATE users SET following = following + ? WHERE id = ?", (delta, follower.id)
            )
            await log_event(
                conn, follower.id, None, "follow" if follow else "unfollow", float(target.id)
            )
            if follow:
                await notify(conn, target.id, "follow", follower.id)
    return target


async def make_admin(db: Database, handle: str) -> User:
    async with db.write() as conn:
        cur = await conn.execute("UPDATE users SET is_admin = 1 WHERE handle = ?", (handle,))
        if not cur.rowcount:
            raise NotFound(f"no user @{handle}")
    return await get_user(db, handle)


#: the body a deleted account's comment keeps when replies hang below it (its author is NULL)
DELETED_BODY = "[deleted]"


async def delete_user(db: Database, user_id: int) -> list[str]:
    """Remove a user and everything of theirs in one transaction; returns the ids of their
    videos, whose media folders the caller removes (``maintenance.delete_account``).

    Goes: their videos (renditions, comments, likes, views, jobs ... cascade), likes, views,
    shares, follows, not-interested marks, tokens, notifications (to and from them), upload
    log, feed weights and every event by them or about them or their videos. A comment of
    theirs that has replies stays as an authorless ``[deleted]`` placeholder so the thread
    still reads; one without replies goes. Every counter on other users, videos and comments
    (likes, comments, replies, views, shares, followers, following, hashtags) is corrected
    in the same transaction."""
    async with db.write() as conn:
        async with conn.execute("SELECT id FROM videos WHERE author_id = ?", (user_id,)) as cur:
            own = [r[0] for r in await cur.fetchall()]
        others = "video_id NOT IN (SELECT id FROM videos WHERE author_id = ?)"
        # likes they gave to other people's videos
        await conn.execute(
            "UPDATE videos SET likes = likes - 1 WHERE id IN"
            f" (SELECT video_id FROM likes WHERE user_id = ? AND {others})",
            (user_id, user_id),
        )
        await conn.execute(
            "UPDATE users SET likes_received = likes_received - (SELECT COUNT(*) FROM likes l"
            " JOIN videos v ON v.id = l.video_id WHERE l.user_id = ? AND v.author_id = users.id)"
            " WHERE id != ? AND id IN (SELECT v.author_id FROM likes l JOIN videos v"
            " ON v.id = l.video_id WHERE l.user_id = ?)",
            (user_id, user_id, user_id),
        )
        # views and shares they counted on other people's videos
        await conn.execute(
            "UPDATE videos SET views = views - (SELECT COUNT(*) FROM views w WHERE w.user_id = ?"
            " AND w.counted = 1 AND w.video_id = videos.id)"
            f" WHERE id IN (SELECT video_id FROM views WHERE user_id = ? AND counted = 1 AND {others})",
            (user_id, user_id, user_id),
        )
        await conn.execute(
            "UPDATE videos SET shares = shares - (SELECT COUNT(*) FROM shares s WHERE s.user_id = ?"
            " AND s.video_id = videos.id)"
            f" WHERE id IN (SELECT video_id FROM shares WHERE user_id = ? AND {others})",
            (user_id, user_id, user_id),
        )
        await conn.execute(
            "DELETE FROM views WHERE user_id = ? OR viewer_key = ?", (user_id, f"u:{user_id}")
        )
        await conn.execute("DELETE FROM shares WHERE user_id = ?", (user_id,))
        await conn.execute("DELETE FROM likes WHERE user_id = ?", (user_id,))
        # their comments on other people's videos: leaves go (round by round, so a chain of
        # their own replies goes whole); what still has replies becomes a placeholder
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS doomed_comments"
            " (id TEXT PRIMARY KEY, video_id TEXT, parent_id TEXT)"
        )
        while True:
            await conn.execute("DELETE FROM doomed_comments")
            cur = await conn.execute(
                "INSERT INTO doomed_comments SELECT c.id, c.video_id, c.parent_id FROM comments c"
                f" WHERE c.author_id = ? AND c.{others}"
                " AND NOT EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = c.id)",
                (user_id, user_id),
            )
            if not cur.rowcount:
                break
            await conn.execute(
                "UPDATE videos SET comments = comments - (SELECT COUNT(*) FROM doomed_comments d"
                " WHERE d.video_id = videos.id) WHERE id IN (SELECT video_id FROM doomed_comments)"
            )
            await conn.execute(
                "UPDATE comments SET reply_count = reply_count - (SELECT COUNT(*)"
                " FROM doomed_comments d WHERE d.parent_id = comments.id)"
                " WHERE id IN (SELECT parent_id FROM doomed_comments)"
            )
            await conn.execute("DELETE FROM comments WHERE id IN (SELECT id FROM doomed_comments)")
        await conn.execute("DELETE FROM doomed_comments")
        await conn.execute(
            f"UPDATE comments SET author_id = NULL, body = ? WHERE author_id = ? AND {others}",
            (DELETED_BODY, user_id, user_id),
        )
        # follows in both directions
        await conn.execute(
            "UPDATE users SET followers = followers - 1 WHERE id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = ?)",
            (user_id,),
        )
        await conn.execute(
            "UPDATE users SET following = following - 1 WHERE id IN"
            " (SELECT follower_id FROM follows WHERE followee_id = ?)",
            (user_id,),
        )
        await conn.execute(
            "DELETE FROM follows WHERE follower_id = ? OR followee_id = ?", (user_id, user_id)
        )
        # their own videos: search rows, hashtag counts, then the rows (children cascade)
        await conn.execute(
            "UPDATE hashtags SET videos = videos - (SELECT COUNT(*) FROM video_hashtags vh"
            " JOIN videos v ON v.id = vh.video_id WHERE v.author_id = ? AND vh.hashtag_id = hashtags.id)"
            " WHERE id IN (SELECT vh.hashtag_id FROM video_hashtags vh JOIN videos v"
            " ON v.id = vh.video_id WHERE v.author_id = ?)",
            (user_id, user_id),
        )
        await conn.execute(
            "DELETE FROM videos_fts WHERE video_id IN (SELECT id FROM videos WHERE author_id = ?)",
            (user_id,),
        )
        # the interaction log: by them, about their videos, or naming them (follow events)
        await conn.execute(
            "DELETE FROM events WHERE user_id = ?"
            " OR video_id IN (SELECT id FROM videos WHERE author_id = ?)"
            " OR (kind IN ('follow', 'unfollow') AND value = ?)",
            (user_id, user_id, float(user_id)),
        )
        await conn.execute(
            "DELETE FROM notifications WHERE user_id = ? OR actor_id = ?", (user_id, user_id)
        )
        await conn.execute("DELETE FROM videos WHERE author_id = ?", (user_id,))
        for table in ("tokens", "upload_log", "not_interested", "feed_weights"):
            await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
        await conn.execute("UPDATE invites SET created_by = NULL WHERE created_by = ?", (user_id,))
        await conn.execute("DELETE FROM users_fts WHERE user_id = ?", (user_id,))
        await conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return own


async def update_profile(
    db: Database,
    user_id: int,
    *,
    display_name: str | None,
    bio: str | None,
    show_sensitive: bool | None = None,
) -> User:
    async with db.write() as conn:
        if show_sensitive is not None:
            await conn.execute(
                "UPDATE users SET show_sensitive = ? WHERE id = ?", (int(show_sensitive), user_id)
            )
        if display_name is not None:
            await conn.execute(
                "UPDATE users SET display_name = ? WHERE id = ?", (display_name, user_id)
            )
            await conn.execute(
                "UPDATE users_fts SET display_name = ? WHERE user_id = ?", (display_name, user_id)
            )
        if bio is not None:
            await conn.execute("UPDATE users SET bio = ? WHERE id = ?", (bio, user_id))
    user = await get_user_by_id(db, user_id)
    assert user is not None
    return user
