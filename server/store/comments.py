"""Threaded comments with reply counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite

from .db import Database
from .errors import Unprocessable
from .events import log_event, notify
from .ids import new_id, now
from .rows import keyset_rows, one_row
from .videos import video_row


@dataclass(slots=True)
class CommentRecord:
    id: str
    video_id: str
    author_id: int | None  # None: a "[deleted]" placeholder of a deleted account
    author_handle: str | None
    author_name: str | None
    body: str
    parent_id: str | None
    created_at: float
    reply_count: int


_SELECT = (
    "SELECT c.id, c.video_id, c.author_id, u.handle, u.display_name, c.body, c.parent_id, c.created_at,"
    " c.reply_count FROM comments c LEFT JOIN users u ON u.id = c.author_id"
)


def _record(row) -> CommentRecord:
    return CommentRecord(*row)


AuthorFilter = Callable[[str], tuple[str, list]]


def _shown(alias: str, author_filter: AuthorFilter, include_moderated: bool) -> tuple[str, list]:
    """SQL: comment ``alias`` (its author joined as ``{alias}u``) is shown to the viewer."""
    sql, params = author_filter(f"{alias}.author_id")
    if not include_moderated:
        sql += f" AND {alias}.removed_at IS NULL AND {alias}u.suspended_at IS NULL"
    return sql, list(params)


async def list_comments(
    db: Database,
    video_id: str,
    *,
    parent_id: str | None,
    limit: int,
    after: tuple[float, str] | None,
    author_filter: AuthorFilter = lambda column: ("TRUE", []),
    include_moderated: bool = False,
) -> list[CommentRecord]:
    """One page of a thread as the viewer sees it. ``author_filter(column)`` is the visibility
    policy's SQL condition on an author column; removed comments and suspended authors' only
    with ``include_moderated``. The replies of a comment the viewer does not see are not
    listed (NotFound, as for an unknown comment), and ``reply_count`` counts only the
    replies the viewer sees."""
    await video_row(db, video_id)
    shown_c, shown_c_params = _shown("c", author_filter, include_moderated)
    if parent_id is not None:
        await one_row(
            db,
            "SELECT c.id FROM comments c LEFT JOIN users cu ON cu.id = c.author_id"
            f" WHERE c.id = ? AND c.video_id = ? AND {shown_c}",
            (parent_id, video_id, *shown_c_params),
            missing=f"no comment {parent_id!r}",
        )
    shown_r, shown_r_params = _shown("r", author_filter, include_moderated)
    select = (
        "SELECT c.id, c.video_id, c.author_id, cu.handle, cu.display_name, c.body, c.parent_id,"
        " c.created_at, (SELECT count(*) FROM comments r LEFT JOIN users ru"
        f" ON ru.id = r.author_id WHERE r.parent_id = c.id AND {shown_r}) AS reply_count"
        " FROM comments c LEFT JOIN users cu ON cu.id = c.author_id"
    )
    if parent_id is None:
        where, params = "c.video_id = ? AND c.parent_id IS NULL", [video_id]
    else:
        where, params = "c.video_id = ? AND c.parent_id = ?", [video_id, parent_id]
    where += f" AND {shown_c}"
    params += shown_c_params
    rows = await keyset_rows(
        db,
        select,
        where,
        [*shown_r_params, *params],
        alias="c",
        after=after,
        limit=limit,
        newest_first=False,
    )
    return [_record(r) for r in rows]


async def get_comment(db: Database, comment_id: str) -> CommentRecord:
    return _record(await _comment_row(db, comment_id, _SELECT))


async def live_comment_video(db: Database, comment_id: str) -> str:
    """The video of a comment that moderation has not removed; NotFound otherwise."""
    row = await one_row(
        db,
        "SELECT video_id FROM comments WHERE id = ? AND removed_at IS NULL",
        (comment_id,),
        missing=f"no comment {comment_id!r}",
    )
    return row["video_id"]


async def _comment_row(
    source: Database | aiosqlite.Connection, comment_id: str, select: str
) -> aiosqlite.Row:
    return await one_row(
        source, f"{select} WHERE c.id = ?", (comment_id,), missing=f"no comment {comment_id!r}"
    )


async def add_comment(
    db: Database, video_id: str, author_id: int, body: str, parent_id: str | None
) -> tuple[CommentRecord, list[tuple[int, str]]]:
    """Insert a comment; returns it and the users to notify with the kind each was notified
    of: "reply" for the parent comment's author (the video's owner included), "comment" for
    the video's owner otherwise. One notification per person, stored and live alike."""
    comment_id = new_id()
    notify_ids: list[tuple[int, str]] = []
    async with db.write() as conn:
        owner = (await video_row(conn, video_id, "SELECT v.author_id FROM videos v"))[0]
        if parent_id is not None:
            async with conn.execute(
                "SELECT video_id, author_id FROM comments WHERE id = ?", (parent_id,)
            ) as cur:
                parent = await cur.fetchone()
            if parent is None or parent[0] != video_id:
                raise Unprocessable(f"parent_id {parent_id!r} is not a comment on this video")
            await conn.execute(
                "UPDATE comments SET reply_count = reply_count + 1 WHERE id = ?", (parent_id,)
            )
        await conn.execute(
            "INSERT INTO comments (id, video_id, author_id, parent_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (comment_id, video_id, author_id, parent_id, body, now()),
        )
        # after the insert: the notification references the new comment (a deleted account's
        # placeholder has no author to tell)
        if parent_id is not None and parent[1] is not None:
            await notify(conn, parent[1], "reply", author_id, video_id, comment_id)
            if parent[1] != author_id:
                notify_ids.append((parent[1], "reply"))
        await conn.execute("UPDATE videos SET comments = comments + 1 WHERE id = ?", (video_id,))
        await log_event(conn, author_id, video_id, "comment")
        replied_to_owner = parent_id is not None and parent[1] == owner
        if not replied_to_owner:  # told of the reply already
            await notify(conn, owner, "comment", author_id, video_id, comment_id)
            if owner != author_id:
                notify_ids.append((owner, "comment"))
    return await get_comment(db, comment_id), notify_ids


async def delete_comment(db: Database, comment_id: str) -> str:
    """Delete a comment and its replies; returns the video id. Counters follow."""
    async with db.write() as conn:
        select = "SELECT c.video_id, c.parent_id FROM comments c"
        video_id, parent_id = await _comment_row(conn, comment_id, select)
        async with conn.execute(
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL SELECT c.id FROM comments c JOIN sub ON c.parent_id = sub.id)"
            " SELECT COUNT(*) FROM sub",
            (comment_id,),
        ) as cur:
            removed = (await cur.fetchone())[0]
        await conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
        await conn.execute(
            "UPDATE videos SET comments = comments - ? WHERE id = ?", (removed, video_id)
        )
        if parent_id is not None:
            await conn.execute(
                "UPDATE comments SET reply_count = reply_count - 1 WHERE id = ?", (parent_id,)
            )
    return video_id
