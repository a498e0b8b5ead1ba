"""Pilot tests of the Lab screen against a real server: run simulations, curves, feed diet."""

from __future__ import annotations

import tuikit
from textual.widgets import Input, Static
from tuikit import rendered

from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.screens.lab import LabScreen, diet_text, run_label

SIZE = (130, 44)


async def wait_for(pilot, predicate, timeout: float = 60.0, what: str = "condition") -> None:
    """Simulations take a while: a longer default wait."""
    await tuikit.wait_for(pilot, predicate, timeout, what)


async def open_lab(pilot) -> LabScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen), what="feed screen")
    lab = LabScreen()
    await app.push_screen(lab)
    await wait_for(pilot, lambda: app.screen is lab and lab.prefilled, what="lab screen")
    return lab


async def test_run_simulations_and_see_curves(live_server, make_app) -> None:
    token = live_server.register("teacher")
    app = make_app(live_server.url, token=token, events=False)
    async with app.run_test(size=SIZE) as pilot:
        lab = await open_lab(pilot)
        assert rendered(lab.query_one("#lab-plot", Static)) == ""
        lab.query_one("#lab-users", Input).value = "8"
        lab.query_one("#lab-steps", Input).value = "3"
        lab.query_one("#lab-explore", Input).value = "0"
        await pilot.click("#lab-run")
        await wait_for(pilot, lambda: len(lab.runs) == 1, what="first run")
        plot = rendered(lab.query_one("#lab-plot", Static))
        assert "filter-bubble index" in plot and "coverage" in plot
        summary = rendered(lab.query_one("#lab-summary", Static))
        assert "explore=0 seed 0" in summary and "hit rate" in summary  # the legend
        lab.query_one("#lab-explore", Input).value = "0.4"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(lab.runs) == 2, what="second run")
        assert rendered(lab.query_one("#lab-plot", Static)) != plot  # redrawn in place
        summary = rendered(lab.query_one("#lab-summary", Static))
        assert "explore=0.4 seed 0" in summary and "explore=0 seed 0" in summary
        assert all(len(c["bubble"]) == 3 for c in lab.runs.values())
        lab.query_one("#lab-users", Input).value = "1000"
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: "between" in rendered(lab.query_one("#lab-summary", Static)),
            what="bounds message",
        )
        assert len(lab.runs) == 2
        assert "Nothing yet" in rendered(lab.query_one("#lab-diet", Static))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FeedScreen), what="back to feed")


async def test_my_feed_diet(seeded_one, make_app) -> None:
    video_id = seeded_one.videos[0]["id"]
    bob = seeded_one.tokens["bob"]
    seeded_one.get("/api/feed/for-you")  # an impression of the #cats video
    client = seeded_one.server.client
    assert client.put(
        f"/api/videos/{video_id}/like", headers=seeded_one.server.auth(bob)
    ).is_success
    app = make_app(seeded_one.url, token=bob, events=False)
    async with app.run_test(size=SIZE) as pilot:
        lab = await open_lab(pilot)
        await wait_for(pilot, lambda: lab.diet is not None, what="diet")
        text = rendered(lab.query_one("#lab-diet", Static))
        assert "#cats" in text and "100% shown" in text and "100% engaged" in text


def test_diet_text_and_run_label() -> None:
    text = diet_text(
        {
            "topics": [
                {"tag": "[b]x", "shown": 3, "engaged": 1, "shown_share": 0.75, "engaged_share": 1.0}
            ],
            "videos_shown": 3,
            "videos_engaged": 1,
        }
    )
    assert "#[b]x" in text.plain  # user text stays literal, never markup
    assert run_label({"explore": 0.15, "content": 1.0}) == "defaults"
    assert run_label({"content": 2.0, "explore": 0.4}) == "content=2,explore=0.4"
