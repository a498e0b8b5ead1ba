"""Server-Sent Events: count changes and notifications arrive live."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from serverkit import sse_events


@pytest.fixture(scope="module")
def live_server(module_server):
    """These tests only touch their own users and videos: the module shares one server."""
    return module_server


def _read_until(stream: Iterator, wanted: set[str], deadline: float) -> dict[str, dict]:
    got: dict[str, dict] = {}
    for event, data in stream:
        if event in wanted and event not in got:
            got[event] = data
        if set(got) == wanted or time.monotonic() > deadline:
            break
    return got


def test_like_sends_counts_and_notification_to_owner(live_server, owner):
    owner_handle, owner_token, video_id = owner
    fan = live_server.register("fan_sse")
    timeout = httpx.Timeout(10.0)
    with (
        httpx.Client(base_url=live_server.url, timeout=timeout) as sse,
        sse.stream("GET", "/api/events", headers=live_server.auth(owner_token)) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = sse_events(response)
        first = next(stream)
        assert first[0] == "hello"
        assert first[1] == {"user": owner_handle}  # subscribed from here on
        r = live_server.client.put(f"/api/videos/{video_id}/like", headers=live_server.auth(fan))
        assert r.status_code == 200
        got = _read_until(stream, {"counts", "notification"}, time.monotonic() + 10)
    assert got["counts"] == {"video_id": video_id, "likes": 1}
    assert got["notification"]["kind"] == "like"
    assert got["notification"]["actor"] == "fan_sse"
    assert got["notification"]["video_id"] == video_id


def test_anonymous_stream_gets_counts_but_not_notifications(live_server, owner):
    _, _, video_id = owner
    fan = live_server.register()
    with (
        httpx.Client(base_url=live_server.url, timeout=10.0) as sse,
        sse.stream("GET", "/api/events") as response,
    ):
        stream = sse_events(response)
        assert next(stream) == ("hello", {"user": None})
        live_server.client.put(f"/api/videos/{video_id}/like", headers=live_server.auth(fan))
        live_server.client.post(
            f"/api/videos/{video_id}/comments",
            json={"body": "nice"},
            headers=live_server.auth(fan),
        )
        seen = []
        for event, data in stream:
            seen.append((event, data))
            if event == "counts" and "comments" in data:
                break
    kinds = [e for e, _ in seen]
    assert "notification" not in kinds
    assert ("counts", {"video_id": video_id, "likes": 1}) in seen
    assert ("counts", {"video_id": video_id, "comments": 1}) in seen


def test_bad_token_on_events_is_401(live_server):
    r = live_server.client.get("/api/events", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_like_comment_and_follow_notifications_carry_their_references(live_server, owner):
    owner_handle, owner_token, video_id = owner
    fan = live_server.register("fan_refs", display_name="Fan Refs")
    c, auth = live_server.client, live_server.auth
    with (
        httpx.Client(base_url=live_server.url, timeout=10.0) as sse,
        sse.stream("GET", "/api/events", headers=auth(owner_token)) as response,
    ):
        stream = sse_events(response)
        assert next(stream) == ("hello", {"user": owner_handle})
        c.put(f"/api/videos/{video_id}/like", headers=auth(fan))
        top = c.post(
            f"/api/videos/{video_id}/comments", json={"body": "hi"}, headers=auth(fan)
        ).json()
        c.put(f"/api/users/{owner_handle}/follow", headers=auth(fan))
        notes = []
        for event, data in stream:
            if event == "notification":
                notes.append(data)
            if len(notes) == 3:
                break
    actor = {"actor": "fan_refs", "actor_name": "Fan Refs"}
    assert notes == [
        {"kind": "like", **actor, "video_id": video_id},
        {"kind": "comment", **actor, "video_id": video_id, "comment_id": top["id"]},
        {"kind": "follow", **actor},
    ]


def test_a_reply_to_the_owners_comment_is_one_reply_notification_live_and_stored(
    live_server, owner
):
    """The owner replied to on their own video is told once, of a reply, and the live event
    and the stored notification agree (they were a live "comment" and two stored rows)."""
    owner_handle, owner_token, video_id = owner
    fan, other = live_server.register("fan_reply"), live_server.register("other_reply")
    c, auth = live_server.client, live_server.auth
    mine = c.post(
        f"/api/videos/{video_id}/comments", json={"body": "mine"}, headers=auth(owner_token)
    ).json()
    theirs = c.post(
        f"/api/videos/{video_id}/comments", json={"body": "theirs"}, headers=auth(other)
    ).json()
    with (
        httpx.Client(base_url=live_server.url, timeout=10.0) as sse,
        sse.stream("GET", "/api/events", headers=auth(owner_token)) as response,
    ):
        stream = sse_events(response)
        assert next(stream)[0] == "hello"
        to_me = c.post(
            f"/api/videos/{video_id}/comments",
            json={"body": "to you", "parent_id": mine["id"]},
            headers=auth(fan),
        ).json()
        to_them = c.post(
            f"/api/videos/{video_id}/comments",
            json={"body": "to them", "parent_id": theirs["id"]},
            headers=auth(fan),
        ).json()
        live = []
        for event, data in stream:
            if event == "notification":
                live.append((data["kind"], data["comment_id"]))
            if len(live) == 2:
                break
    assert live == [("reply", to_me["id"]), ("comment", to_them["id"])]
    stored = c.get("/api/notifications", headers=auth(owner_token)).json()["items"]
    stored = [(n["kind"], n.get("comment_id")) for n in stored if n["actor"] == "fan_reply"]
    assert sorted(stored) == sorted(live)
