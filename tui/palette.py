"""Command-palette provider: every key-bound action of the app and of the current screen."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ActionsProvider(Provider):
    """Offers each Binding (app-wide and of the screen below the palette) as a command."""

    def _actions(self) -> list[tuple[str, str, str, object]]:
        seen: set[str] = set()
        found: list[tuple[str, str, str, object]] = []
        screen = self.screen
        for namespace, bindings in ((screen, screen.BINDINGS), (self.app, self.app.BINDINGS)):
            for binding in bindings:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if binding.action in seen or binding.action == "command_palette":
                    continue
                seen.add(binding.action)
                key = self.app.get_key_display(binding)
                command = partial(self._run, binding.action, namespace)
                found.append((binding.description, binding.tooltip or "", key, command))
        return found

    async def _run(self, action: str, namespace: object) -> None:
        await self.app.run_action(action, namespace)  # type: ignore[arg-type]

    async def discover(self) -> Hits:
        for title, tooltip, key, command in self._actions():
            yield DiscoveryHit(title, command, help=f"{tooltip} (key {key})".strip())  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, tooltip, key, command in self._actions():
            score = max(matcher.match(title), matcher.match(tooltip) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    command,  # type: ignore[arg-type]
                    text=title,
                    help=f"{tooltip} (key {key})".strip(),
                )
