"""Helpers for the server tests: ready videos seeded into the database file, problem checks."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator

import httpx
from mediakit import db_connect, seed_video  # noqa: F401 - the server tests import them here


def query(live, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = db_connect(live.db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def assert_problem(r: httpx.Response, status: int | tuple[int, ...]) -> dict:
    """The response is an RFC 9457 problem with this status (or one of these); returns the body."""
    allowed = (status,) if isinstance(status, int) else status
    assert r.status_code in allowed, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == r.status_code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def wait_ready(live, token: str, video_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        video = live.client.get(f"/api/videos/{video_id}", headers=live.auth(token)).json()
        if video["status"] != "processing":
            return video
        assert time.monotonic() < deadline, f"video {video_id} still processing: {video}"
        time.sleep(0.2)


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict | None]]:
    """(event, data) pairs parsed from a Server-Sent Events stream."""
    event, data = None, []
    for line in response.iter_lines():
        if line == "":
            if event is not None or data:
                yield event or "message", json.loads("\n".join(data)) if data else None
            event, data = None, []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
