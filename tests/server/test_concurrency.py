"""100 concurrent clients liking, unliking and commenting on one video: no 5xx, counters exact."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from serverkit import query, seed_video

CLIENTS = 100


async def _client(
    url: str,
    n: int,
    video_id: str,
    tokens: dict[int, asyncio.Future],
    statuses: list[int],
    rounds: int,
) -> None:
    rng = random.Random(n)
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        user = n % len(tokens)
        if n < len(tokens):  # the first client of each user registers it, the others wait for it
            r = await c.post(
                "/api/auth/register", json={"handle": f"crowd{n}", "password": "kettle-harbor-58"}
            )
            statuses.append(r.status_code)
            tokens[user].set_result(r.json()["token"])
        headers = {"Authorization": f"Bearer {await tokens[user]}"}
        for i in range(rounds):
            action = rng.choice(["like", "unlike", "comment", "like", "view"])
            if action == "like":
                r = await c.put(f"/api/videos/{video_id}/like", headers=headers)
            elif action == "unlike":
                r = await c.delete(f"/api/videos/{video_id}/like", headers=headers)
            elif action == "comment":
                r = await c.post(
                    f"/api/videos/{video_id}/comments",
                    json={"body": f"comment {n}.{i}"},
                    headers=headers,
                )
            else:
                r = await c.post(
                    f"/api/videos/{video_id}/views", json={"watch_ms": 15_000}, headers=headers
                )
            statuses.append(r.status_code)
        r = await c.get(f"/api/videos/{video_id}", headers=headers)
        statuses.append(r.status_code)
        # everyone comments at least once, and replies to their own comment
        r = await c.post(
            f"/api/videos/{video_id}/comments", json={"body": "last word"}, headers=headers
        )
        statuses.append(r.status_code)
        if r.status_code == 201:
            r = await c.post(
                f"/api/videos/{video_id}/comments",
                json={"body": "reply", "parent_id": r.json()["id"]},
                headers=headers,
            )
            statuses.append(r.status_code)


async def _crowd(url: str, video_id: str, users: int, rounds: int) -> list[int]:
    statuses: list[int] = []
    loop = asyncio.get_running_loop()
    tokens = {u: loop.create_future() for u in range(users)}
    await asyncio.gather(
        *(_client(url, n, video_id, tokens, statuses, rounds) for n in range(CLIENTS))
    )
    return statuses


def test_hundred_concurrent_clients(live_server):
    """25 users, each logged in from four of the 100 clients at once."""
    _crowd_test(live_server, users=25, rounds=2)


@pytest.mark.slow
def test_hundred_concurrent_clients_long(live_server):
    _crowd_test(live_server, users=100, rounds=12)


def _crowd_test(live_server, *, users: int, rounds: int) -> None:
    live_server.register("popular")
    video_id = seed_video(live_server, "popular", "everyone come here")
    statuses = asyncio.run(_crowd(live_server.url, video_id, users, rounds))
    assert len(statuses) == users + CLIENTS * (rounds + 3)
    assert not [s for s in statuses if s >= 500], sorted(set(statuses))
    assert set(statuses) <= {200, 201, 204}, sorted(set(statuses))

    video = live_server.client.get(f"/api/videos/{video_id}").json()
    likes = query(live_server, "SELECT COUNT(*) FROM likes WHERE video_id = ?", (video_id,))[0][0]
    comments = query(live_server, "SELECT COUNT(*) FROM comments WHERE video_id = ?", (video_id,))[
        0
    ][0]
    views = query(
        live_server,
        "SELECT COUNT(*) FROM views WHERE video_id = ? AND counted = 1",
        (video_id,),
    )[0][0]
    assert comments >= 2 * CLIENTS
    assert video["counts"]["likes"] == likes
    assert video["counts"]["comments"] == comments
    assert video["counts"]["views"] == views
    assert live_server.client.get("/api/users/popular").json()["likes_received"] == likes
    (row,) = query(
        live_server,
        "SELECT likes, comments FROM videos WHERE id = ?",
        (video_id,),
    )
    assert tuple(row) == (likes, comments)
    replies = query(
        live_server,
        "SELECT COUNT(*) FROM comments c WHERE parent_id IS NOT NULL",
    )[0][0]
    assert replies == CLIENTS
    drift = query(
        live_server,
        "SELECT COUNT(*) FROM comments p WHERE reply_count !="
        " (SELECT COUNT(*) FROM comments c WHERE c.parent_id = p.id)",
    )[0][0]
    assert drift == 0
