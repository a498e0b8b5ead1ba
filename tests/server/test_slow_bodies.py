"""Slow request bodies over a raw socket: an upload trickling a byte at a time, a body that
stalls, a trickled JSON body; each ends in a 408 problem, the connection and temp file freed."""

from __future__ import annotations

import itertools
import json
import select
import socket
import time
from urllib.parse import urlsplit

import pytest
from serverkit import wait_ready

BOUNDARY = "slowslowslow"
GIVE_UP_S = 10.0  # the attack goes on at most this long (today's main never answers)


@pytest.fixture
def strict(make_server):
    """A server that wants the next body bytes within 1 s and 1 KiB/s on average after that."""
    return make_server(limits={"body_timeout_s": 1.0, "body_min_kib_per_s": 1.0})


def _connect(live) -> socket.socket:
    url = urlsplit(live.url)
    return socket.create_connection((url.hostname, url.port), timeout=GIVE_UP_S)


def _head(path: str, content_type: str, length: int, token: str | None = None) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: localhost",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    sock.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def _trickle(sock: socket.socket, every_s: float) -> float:
    """Send one byte every ``every_s`` until the server answers; seconds it took."""
    started = time.monotonic()
    while not _answered(sock):
        assert time.monotonic() - started < GIVE_UP_S, "the server kept reading a trickle"
        try:
            sock.sendall(b"x")
        except OSError:
            break  # the server closed its side: the answer is waiting
        time.sleep(every_s)
    return time.monotonic() - started


def _assert_408(sock: socket.socket) -> dict:
    status, headers, body = _read_response(sock)
    assert status == 408, (status, body[:300])
    assert headers["content-type"].startswith("application/problem+json")
    assert headers.get("connection") == "close"
    problem = json.loads(body)
    assert problem["status"] == 408 and problem["type"] and problem["title"]
    # the server hangs up: the trickler's connection is gone
    sock.settimeout(5)
    rest = b""
    while chunk := sock.recv(65536):
        rest += chunk
    return problem


def test_a_trickled_upload_is_408_and_its_temp_file_removed(strict):
    live = strict
    token = live.register("trickler")
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode() + b"\0" * 64
    with _connect(live) as sock:
        sock.sendall(
            _head("/api/videos", f"multipart/form-data; boundary={BOUNDARY}", 1_000_000, token)
            + part
        )
        time.sleep(0.3)
        assert len(list((live.data_dir / "tmp").iterdir())) == 1  # the upload's temp file
        took = _trickle(sock, every_s=0.25)  # never idle for 1 s, but ~4 bytes/s
        problem = _assert_408(sock)
    assert "KiB/s" in problem["detail"]
    assert took < 4, took
    assert list((live.data_dir / "tmp").iterdir()) == []
    assert live.client.get("/healthz").json()["status"] == "ok"


def test_a_stalled_upload_is_408(strict):
    live = strict
    token = live.register("staller")
    with _connect(live) as sock:
        sock.sendall(
            _head("/api/videos", f"multipart/form-data; boundary={BOUNDARY}", 1_000_000, token)
            + f"--{BOUNDARY}\r\n".encode()
        )
        started = time.monotonic()
        while not _answered(sock):
            assert time.monotonic() - started < GIVE_UP_S, "the server waited for ever"
            time.sleep(0.05)
        problem = _assert_408(sock)
    assert "no part of the request body" in problem["detail"]
    assert list((live.data_dir / "tmp").iterdir()) == []


def test_a_trickled_json_body_without_a_token_is_408(strict):
    with _connect(strict) as sock:
        sock.sendall(_head("/api/auth/login", "application/json", 60_000) + b'{"handle": "')
        _trickle(sock, every_s=0.25)
        _assert_408(sock)


def test_bodies_at_a_normal_pace_still_pass(strict, clip):
    live = strict
    token = live.register("normalpace")
    with open(clip, "rb") as fh:
        r = live.client.post(
            "/api/videos",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={"caption": "fast enough"},
            headers=live.auth(token),
        )
    assert r.status_code == 202, r.text
    video_id = r.json()["id"]
    assert wait_ready(live, token, video_id)["status"] == "ready"  # only a published one is liked
    # a body-less request that outlives body_timeout_s (the event stream) is not cut off
    with live.client.stream("GET", "/api/events", timeout=5) as events:
        lines = events.iter_lines()
        assert next(lines).startswith("event: hello")
        time.sleep(1.5)
        r = live.client.put(f"/api/videos/{video_id}/like", headers=live.auth(token))
        assert r.status_code == 200
        assert "event: counts" in itertools.islice(lines, 500)
