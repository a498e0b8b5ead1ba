"""The HTTP client against a real server: accounts, uploads, interactions, feeds, search, SSE, errors."""

from __future__ import annotations

import asyncio
import socket

import pytest

from shortstack.tui.api import ApiClient, ApiError, ServerUnavailable
from shortstack.tui.media_cache import MediaCache, pick_rendition

PASSWORD = "kettle-harbor-58"


async def test_accounts_and_errors(live_server) -> None:
    api = ApiClient(live_server.url)
    try:
        answer = await api.register("carol", PASSWORD, "Carol")
        assert answer["user"]["handle"] == "carol" and api.token
        assert (await api.me())["handle"] == "carol"
        with pytest.raises(ApiError) as taken:
            await api.register("carol", PASSWORD)
        assert taken.value.status == 409 and taken.value.title
        await api.logout()
        with pytest.raises(ApiError) as unauthorized:
            await api.me()
        assert unauthorized.value.status == 401
        with pytest.raises(ApiError) as wrong:
            await api.login("carol", "not-the-password")
        assert wrong.value.status == 401
        await api.login("carol", PASSWORD)
        assert (await api.user("carol"))["display_name"] == "Carol"
    finally:
        await api.aclose()


async def test_unreachable_server_raises_server_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = ApiClient(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ServerUnavailable):
        await api.feed("for-you")
    await api.aclose()


async def test_upload_interactions_feed_search_and_events(
    live_server, tmp_path, clip_file, feed_waiter
) -> None:
    author = ApiClient(live_server.url)
    viewer = ApiClient(live_server.url)
    try:
        await author.register("ana", PASSWORD)
        await viewer.register("bob", PASSWORD)
        events = viewer.events()
        hello = await asyncio.wait_for(events.__anext__(), 10)
        assert hello.event == "hello"

        sent: list[tuple[int, int]] = []
        clip = clip_file()
        video = await author.upload(
            clip, "hello #cats", lambda done, total: sent.append((done, total))
        )
        assert video["status"] == "processing" and video["hashtags"] == ["cats"]
        assert sent and sent[-1][0] == sent[-1][1] == clip.stat().st_size
        for _ in range(600):
            video = await author.video(video["id"])
            if video["status"] != "processing":
                break
            await asyncio.sleep(0.1)
        assert video["status"] == "ready", video
        await asyncio.to_thread(feed_waiter, [video["id"]])

        page = await viewer.feed("for-you", limit=5)
        assert page["items"][0]["video"]["id"] == video["id"]
        assert "reasons" in page["items"][0] and "explanation" in page["items"][0]

        liked = await viewer.like(video["id"])
        assert liked == {"liked": True, "likes": 1}
        counts = await asyncio.wait_for(_next_event(events, "counts"), 10)
        assert counts.data["video_id"] == video["id"]
        assert (await viewer.unlike(video["id"]))["likes"] == 0

        comment = await viewer.post_comment(video["id"], "[bold]nice[/]")
        reply = await viewer.post_comment(video["id"], "and a reply", comment["id"])
        top = (await viewer.comments(video["id"]))["items"]
        assert [c["id"] for c in top] == [comment["id"]] and top[0]["reply_count"] == 1
        thread = await viewer.thread(video["id"])
        assert [c["id"] for c in thread] == [comment["id"], reply["id"]]
        await viewer.delete_comment(reply["id"])

        await viewer.follow("ana")
        assert (await viewer.user("ana"))["is_following"] is True
        await viewer.unfollow("ana")

        shared = await viewer.share(video["id"])
        assert video["id"] in shared["url"] and shared["shares"] == 1
        await viewer.view(video["id"], 1500)

        for kind in ("following", "trending"):
            assert "items" in await viewer.feed(kind)

        weights = await viewer.get_weights()
        assert "explore" in weights
        assert (await viewer.put_weights({"explore": 0.3}))["explore"] == pytest.approx(0.3)

        found = await viewer.search("#cats")
        assert [v["id"] for v in found["videos"]] == [video["id"]]
        assert (await viewer.search("@ana"))["users"][0]["handle"] == "ana"

        rendition = pick_rendition(video)
        assert rendition is not None
        head = await viewer.rendition(rendition["url"], 0, 99)
        rest = await viewer.rendition(rendition["url"], 100)
        assert len(head) == 100 and len(head) + len(rest) == rendition["bytes"]

        cache = MediaCache(viewer, tmp_path / "media")
        await cache.prefetch(video)
        path = await cache.rendition(video)
        assert path is not None and path.stat().st_size == rendition["bytes"]
        assert await cache.poster(video)
        cache.close()

        await viewer.not_interested(video["id"])
        await author.delete_video(video["id"])
        with pytest.raises(ApiError) as gone:
            await viewer.video(video["id"])
        assert gone.value.status == 404
        await events.aclose()
    finally:
        await author.aclose()
        await viewer.aclose()


async def _next_event(events, name: str):
    async for event in events:
        if event.event == name:
            return event
    raise AssertionError(f"no {name} event")


async def test_reply_to_someone_elses_comment(live_server, clip_file) -> None:
    ana = ApiClient(live_server.url, live_server.register("ana"))
    bob = ApiClient(live_server.url, live_server.register("bob"))
    try:
        video = await ana.upload(clip_file(), "hi")
        for _ in range(600):  # comments open once the video is published
            if (await ana.video(video["id"]))["status"] != "processing":
                break
            await asyncio.sleep(0.1)
        comment = await bob.post_comment(video["id"], "first")
        reply = await ana.post_comment(video["id"], "thanks", comment["id"])
        assert reply["parent_id"] == comment["id"]
    finally:
        await ana.aclose()
        await bob.aclose()
