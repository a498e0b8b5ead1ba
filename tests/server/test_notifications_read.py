"""Marking notifications read (one, all) and the unread count in GET /api/me, over real HTTP."""

from __future__ import annotations

import pytest
from serverkit import assert_problem


@pytest.fixture(scope="module")
def live_server(module_server):
    return module_server


def _unread(live, token: str) -> int:
    return live.client.get("/api/me", headers=live.auth(token)).json()["unread_notifications"]


def test_read_one_and_all(live_server):
    c, auth = live_server.client, live_server.auth
    me = live_server.register("reader")
    other = live_server.register("nosy")
    for i in range(3):
        fan = live_server.register(f"fan{i}")
        assert c.put("/api/users/reader/follow", headers=auth(fan)).status_code == 204
    assert c.put("/api/users/nosy/follow", headers=auth(me)).status_code == 204
    assert _unread(live_server, me) == 3
    items = c.get("/api/notifications", headers=auth(me)).json()["items"]
    assert [n["read"] for n in items] == [False] * 3
    first = items[0]["id"]
    for _ in range(2):  # idempotent
        assert c.post(f"/api/notifications/{first}/read", headers=auth(me)).status_code == 204
    assert _unread(live_server, me) == 2
    items = c.get("/api/notifications", headers=auth(me)).json()["items"]
    assert [n["read"] for n in items] == [True, False, False]
    # somebody else's notification, an unknown one, no token
    theirs = c.get("/api/notifications", headers=auth(other)).json()["items"][0]["id"]
    assert_problem(c.post(f"/api/notifications/{theirs}/read", headers=auth(me)), 404)
    assert _unread(live_server, other) == 1
    assert_problem(c.post("/api/notifications/999999999/read", headers=auth(me)), 404)
    assert_problem(c.post(f"/api/notifications/{first}/read"), 401)
    assert_problem(c.post("/api/notifications/read-all"), 401)
    for _ in range(2):
        assert c.post("/api/notifications/read-all", headers=auth(me)).status_code == 204
    assert _unread(live_server, me) == 0
    assert all(n["read"] for n in c.get("/api/notifications", headers=auth(me)).json()["items"])
    assert _unread(live_server, other) == 1  # only your own
