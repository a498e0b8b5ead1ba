"""Event streams are a bounded resource: caps per address and in all, heartbeats, an idle
timeout, logout ends a token's streams, and fd exhaustion logs a line, not a flood."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serverkit import assert_problem


def _open_stream(stack: contextlib.ExitStack, url: str, headers: dict | None = None):
    client = stack.enter_context(httpx.Client(base_url=url, timeout=httpx.Timeout(10.0)))
    response = stack.enter_context(client.stream("GET", "/api/events", headers=headers))
    return response


def test_streams_beyond_the_per_address_cap_are_429_and_uploads_still_work(live_server, clip):
    live = live_server  # the default cap: 8 per address
    token = live.register()
    with contextlib.ExitStack() as stack:
        opened = [_open_stream(stack, live.url) for _ in range(8)]
        assert [r.status_code for r in opened] == [200] * 8
        r = live.client.get("/api/events", timeout=5)  # no cap: an endless stream
        body = assert_problem(r, 429)
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert "event streams" in body["detail"]
        with open(clip, "rb") as fh:  # the rest of the API is untouched
            up = live.client.post(
                "/api/videos", files={"file": ("c.mp4", fh, "video/mp4")}, headers=live.auth(token)
            )
        assert up.status_code == 202, up.text
        assert live.client.get("/healthz").status_code == 200
    # closed streams give their places back
    deadline = time.monotonic() + 5
    while True:
        with live.client.stream("GET", "/api/events") as r:
            if r.status_code == 200:
                break
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_streams_beyond_the_server_cap_are_429(make_server):
    live = make_server(limits={"event_streams_per_address": 50, "event_streams_total": 2})
    with contextlib.ExitStack() as stack:
        assert [_open_stream(stack, live.url).status_code for _ in range(2)] == [200, 200]
        r = live.client.get("/api/events", timeout=5)  # no cap: an endless stream
        assert "server" in assert_problem(r, 429)["detail"]
        assert "Retry-After" in r.headers


def test_heartbeats_come_and_an_idle_stream_ends(make_server):
    live = make_server(limits={"event_heartbeat_s": 0.3, "event_idle_timeout_s": 1.5})
    started = time.monotonic()
    lines = []
    with httpx.Client(base_url=live.url, timeout=httpx.Timeout(5.0)) as sse:
        with sse.stream("GET", "/api/events") as response:
            assert response.status_code == 200
            lines = list(response.iter_lines())  # returns only when the server ends the stream
    took = time.monotonic() - started
    assert 1.2 < took < 4.0, took
    assert sum(line.startswith(": keep-alive") for line in lines) >= 2, lines
    # a heartbeat is a comment alone: with a `data:` line an EventSource would dispatch an
    # empty "message" event to the page at every heartbeat
    blocks = "\n".join(lines).split("\n\n")
    assert all("data:" not in b for b in blocks if b.startswith(": keep-alive")), blocks


def test_logout_ends_the_tokens_stream(make_server):
    live = make_server()
    token = live.register("streamer")
    fan = live.register()
    with httpx.Client(base_url=live.url, timeout=httpx.Timeout(5.0)) as sse:
        with sse.stream("GET", "/api/events", headers=live.auth(token)) as response:
            lines = response.iter_lines()
            assert next(lines) == "event: hello"
            assert live.client.post("/api/auth/logout", headers=live.auth(token)).status_code == 204
            # a private notification for the logged-out user must not reach this socket
            live.client.put("/api/users/streamer/follow", headers=live.auth(fan))
            rest = list(lines)  # ends (a read timeout here would be a failure)
    assert not any("notification" in line for line in rest), rest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_out_of_file_descriptors_logs_one_line_not_a_flood(tmp_path: Path):
    """Plain idle connections fill a server limited to 64 open files: the accept loop's
    EMFILE is logged once per interval, without tracebacks; the server recovers."""
    port = _free_port()
    log_path = tmp_path / "serve.log"

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    env = dict(os.environ, SHORTSTACK_SERVER__LOG_REQUESTS="false")
    env["SHORTSTACK_SERVER__WORKERS"] = "1"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shortstack.cli", "serve", "--port", str(port)]
            + ["--data", str(tmp_path / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=low_fd_limit,
        )
    url = f"http://127.0.0.1:{port}"
    socks: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        for _ in range(120):  # more connections than the server has file descriptors
            s = socket.create_connection(("127.0.0.1", port))
            socks.append(s)
        time.sleep(3.0)
        text = log_path.read_text(errors="replace")
        assert 1 <= text.count("out of system resource") <= 2, text[-3000:]
        assert "_accept_connection" not in text, text[-3000:]  # no accept tracebacks
        assert text.count("Traceback") <= 2, text[-3000:]  # at most one per other condition
        assert len(text) < 20_000, len(text)
        for s in socks:
            s.close()
        socks.clear()
        deadline = time.monotonic() + 10
        while True:  # it recovers once the connections are gone
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        for s in socks:
            s.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
