"""Search videos, #tags and @users; results open a profile or play the videos."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from shortstack.tui.plain_text import clean
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.status_line import StatusLine
from shortstack.tui.widgets.video_list import VideoList


class SearchScreen(BaseScreen):
    """A query box over three result lists: videos, users, hashtags."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="search.back", tooltip="Back to the feed"),
        Binding("ctrl+f", "focus_query", "Query", id="search.query", tooltip="Edit the query"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search: words, #tag or @handle, then enter", id="search-input")
        with Horizontal(id="search-results"):
            with Vertical(id="search-videos-box"):
                yield Label("Videos", classes="search-heading")
                yield VideoList(id="search-videos")
            with Vertical(id="search-side"):
                yield Label("Users", classes="search-heading")
                yield OptionList(id="search-users")
                yield Label("Hashtags", classes="search-heading")
                yield OptionList(id="search-tags")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#search-input", Input).focus()

    def action_focus_query(self) -> None:
        self.query_one("#search-input", Input).focus()

    def action_back(self) -> None:
        self.app.call_later(self.app.switch_mode, "feed")

    def run_search(self, query: str) -> None:
        """Put ``query`` in the box and search."""
        self.query_one("#search-input", Input).value = query
        self.search(query)

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.search(event.value.strip())

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search(self, query: str) -> None:
        """Ask the server and fill the three lists."""
        result = await self.ss_app.call(self.ss_app.api.search(query))
        if not isinstance(result, dict):
            return
        self.results = result
        videos = [
            v.get("video", v) if isinstance(v, dict) else v for v in result.get("videos") or []
        ]
        self.results["videos"] = videos
        self.query_one(VideoList).set_videos(videos)
        users = self.query_one("#search-users", OptionList)
        users.clear_options()
        for user in result.get("users") or []:
            handle = user.get("handle", "?") if isinstance(user, dict) else str(user)
            self.ss_app.known_handles.add(handle)
            line = Text(f"@{clean(handle, single_line=True)}", no_wrap=True, overflow="ellipsis")
            if isinstance(user, dict) and user.get("display_name"):
                line.append(f"  {clean(user['display_name'], single_line=True)}", style="dim")
            users.add_option(Option(line, id=None))
        tags = self.query_one("#search-tags", OptionList)
        tags.clear_options()
        for tag in result.get("hashtags") or []:
            name = tag.get("tag") or tag.get("name") if isinstance(tag, dict) else str(tag)
            count = tag.get("count") or tag.get("videos") if isinstance(tag, dict) else None
            line = Text(f"#{clean(str(name).lstrip('#'), single_line=True)}")
            if count is not None:
                line.append(f"  {count}", style="dim")
            tags.add_option(Option(line))
        total = len(videos) + users.option_count + tags.option_count
        if total == 0:
            self.ss_app.toast(f"Nothing found for {query}")
        elif videos:
            self.query_one(VideoList).focus()

    @on(VideoList.Chosen)
    def _video_chosen(self, message: VideoList.Chosen) -> None:
        from shortstack.tui.screens.feed import FeedScreen

        query = self.query_one("#search-input", Input).value
        self.app.push_screen(
            FeedScreen(message.videos, start=message.index, title=f"Search {query}")
        )

    @on(OptionList.OptionSelected, "#search-users")
    def _user_chosen(self, event: OptionList.OptionSelected) -> None:
        users = self.results.get("users") or []
        if 0 <= event.option_index < len(users):
            user = users[event.option_index]
            handle = user.get("handle") if isinstance(user, dict) else str(user)
            self.ss_app.open_profile(handle)

    @on(OptionList.OptionSelected, "#search-tags")
    def _tag_chosen(self, event: OptionList.OptionSelected) -> None:
        tags = self.results.get("hashtags") or []
        if 0 <= event.option_index < len(tags):
            tag = tags[event.option_index]
            name = tag.get("tag") or tag.get("name") if isinstance(tag, dict) else str(tag)
            self.run_search(f"#{str(name).lstrip('#')}")
