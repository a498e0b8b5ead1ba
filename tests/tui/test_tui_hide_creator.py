"""Pilot test: "hide this creator" (x) in the feed mutes the author and clears their videos."""

from __future__ import annotations

from tuikit import APP_SIZE, feed_ready, wait_for

SIZE = APP_SIZE


async def test_hide_creator_binding_mutes_the_author_and_drops_their_videos(
    seeded, make_app
) -> None:
    app = make_app(seeded.url, token=seeded.tokens["bob"])
    async with app.run_test(size=SIZE) as pilot:
        feed = await feed_ready(pilot)
        assert any(b.id == "feed.hide_creator" for b in feed.BINDINGS)
        assert feed.current_video["author"]["handle"] == "ana"
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: [m["handle"] for m in seeded.get("/api/me/mutes")["items"]] == ["ana"],
            what="ana muted",
        )
        await wait_for(
            pilot,
            lambda: all(
                i["video"]["author"]["handle"] != "ana"
                for state in feed.feeds.values()
                for i in state.items
            ),
            what="ana's videos gone from the feeds",
        )
        # the server's next For You page leaves ana out too
        page = seeded.get("/api/feed/for-you?limit=50")
        assert all(i["video"]["author"]["handle"] != "ana" for i in page["items"])
