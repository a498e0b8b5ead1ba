"""Transcode workers: warm children that start with the server and go with it."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _spawned_children() -> set[int]:
    """Live children of this process started by multiprocessing's spawn (the warm workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(ppid) == os.getpid() and state != "Z" and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def test_workers_start_with_the_server_and_are_gone_after_it_stops(make_server) -> None:
    before = _spawned_children()
    live = make_server(server={"workers": 2}, media={"prestart_workers": True})
    workers = _spawned_children() - before
    assert len(workers) == 2
    live.server.stop()
    deadline = time.monotonic() + 10
    while workers & _spawned_children():
        assert time.monotonic() < deadline, f"workers outlived the server: {workers}"
        time.sleep(0.05)
