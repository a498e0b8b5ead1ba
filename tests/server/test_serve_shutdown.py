"""`shortstack serve` stops at once on SIGTERM while clients hold event streams open: uvicorn
waits for open connections and an event stream never ends by itself, so a stop used to hang
until the streams' listeners went away (then, with a grace period, for all of it, and a
traceback per stream in the log)."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest
from servekit import ServeProcess, write_config

pytestmark = pytest.mark.slow


def test_sigterm_stops_the_server_with_event_streams_open(tmp_path):
    server = ServeProcess(tmp_path / "data", write_config(tmp_path / "config.toml")).start()
    opened = threading.Event()

    def listen() -> None:
        try:
            with (
                httpx.Client(base_url=server.url, timeout=httpx.Timeout(120.0)) as client,
                client.stream("GET", "/api/events") as response,
            ):
                opened.set()
                for _ in response.iter_lines():
                    pass
        except httpx.HTTPError:
            pass

    listeners = [threading.Thread(target=listen, daemon=True) for _ in range(3)]
    try:
        for t in listeners:
            t.start()
        assert opened.wait(10)
        time.sleep(0.5)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(40)
        took = time.monotonic() - started
        # uvicorn ends by the signal it caught, after a clean shutdown
        assert code in (0, -signal.SIGTERM), server.log()[-2000:]
        assert took < 5, took  # not the grace period for requests in flight (10 s)
        assert "Traceback" not in server.log(), server.log()[-2000:]
        for t in listeners:
            t.join(5)
            assert not t.is_alive()
    finally:
        server.kill()
