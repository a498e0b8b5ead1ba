"""Helpers shared by the TUI pilot tests: wait for a condition, read a widget's text."""

from __future__ import annotations

import asyncio

from textual.widgets import Static


async def wait_for(pilot, predicate, timeout: float = 15.0, what: str = "condition") -> None:
    """Pause the pilot until predicate() is true (widgets may not exist yet: errors retry)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - widgets may not exist yet
            pass
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def rendered(widget: Static) -> str:
    return str(widget.render())
