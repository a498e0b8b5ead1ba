"""Threaded comments: post, reply, list, limits, delete permissions and counters."""

from __future__ import annotations

import pytest
from serverkit import assert_problem, query


@pytest.fixture(scope="module")
def live_server(module_server):
    """These tests only touch their own users and videos: the module shares one server."""
    return module_server


def _post(live, token, video_id, body, parent_id=None):
    payload = {"body": body} | ({"parent_id": parent_id} if parent_id else {})
    return live.client.post(
        f"/api/videos/{video_id}/comments", json=payload, headers=live.auth(token)
    )


def _comments_count(live, video_id):
    return live.client.get(f"/api/videos/{video_id}").json()["counts"]["comments"]


def test_post_reply_and_list(live_server, owner):
    _, _, video_id = owner
    c = live_server.client
    alice = live_server.register("alice")
    r = _post(live_server, alice, video_id, "  first!  ")
    assert r.status_code == 201, r.text
    top = r.json()
    assert top["body"] == "first!"
    assert top["parent_id"] is None
    assert top["reply_count"] == 0
    assert top["author"]["handle"] == "alice"
    second = _post(live_server, alice, video_id, "second").json()
    replies = [
        _post(live_server, alice, video_id, f"reply {i}", top["id"]).json() for i in range(3)
    ]
    assert all(rep["parent_id"] == top["id"] for rep in replies)

    listed = c.get(f"/api/videos/{video_id}/comments").json()
    assert [x["id"] for x in listed["items"]] == [top["id"], second["id"]]
    assert listed["items"][0]["reply_count"] == 3
    assert listed["next_cursor"] is None
    sub = c.get(f"/api/videos/{video_id}/comments", params={"parent_id": top["id"]}).json()
    assert [x["id"] for x in sub["items"]] == [x["id"] for x in replies]
    # paging through replies two at a time
    page1 = c.get(
        f"/api/videos/{video_id}/comments", params={"parent_id": top["id"], "limit": 2}
    ).json()
    page2 = c.get(
        f"/api/videos/{video_id}/comments",
        params={"parent_id": top["id"], "limit": 2, "cursor": page1["next_cursor"]},
    ).json()
    assert [x["id"] for x in page1["items"] + page2["items"]] == [x["id"] for x in replies]
    assert page2["next_cursor"] is None
    assert _comments_count(live_server, video_id) == 5


def test_body_length_limits(live_server, owner):
    _, _, video_id = owner
    token = live_server.register()
    assert _post(live_server, token, video_id, "x").status_code == 201
    assert _post(live_server, token, video_id, "y" * 2000).status_code == 201
    assert_problem(_post(live_server, token, video_id, "z" * 2001), 422)
    for empty in ("", "   ", "\n\t"):
        assert_problem(_post(live_server, token, video_id, empty), 422)
    assert_problem(_post(live_server, token, video_id, "w" * 50_000), 422)
    assert _comments_count(live_server, video_id) == 2


def test_reply_to_bad_parent(live_server, owner):
    handle, owner_token, video_id = owner
    token = live_server.register()
    assert_problem(_post(live_server, token, video_id, "hi", "nosuchcomment"), 422)
    assert_problem(_post(live_server, token, "nosuchvideo1", "hi"), 404)
    assert_problem(
        live_server.client.post(f"/api/videos/{video_id}/comments", json={"body": "x"}), 401
    )


def test_delete_permissions(live_server, owner):
    _, owner_token, video_id = owner
    c, auth = live_server.client, live_server.auth
    author = live_server.register()
    stranger = live_server.register()
    a = _post(live_server, author, video_id, "by author").json()
    b = _post(live_server, author, video_id, "by author too").json()
    assert_problem(c.delete(f"/api/comments/{a['id']}"), 401)
    assert_problem(c.delete(f"/api/comments/{a['id']}", headers=auth(stranger)), 403)
    assert c.delete(f"/api/comments/{a['id']}", headers=auth(author)).status_code == 204
    assert c.delete(f"/api/comments/{b['id']}", headers=auth(owner_token)).status_code == 204
    assert_problem(c.delete(f"/api/comments/{a['id']}", headers=auth(author)), 404)
    assert _comments_count(live_server, video_id) == 0


def test_deleting_parent_removes_replies_and_fixes_counts(live_server, owner):
    _, owner_token, video_id = owner
    c, auth = live_server.client, live_server.auth
    u = live_server.register()
    parent = _post(live_server, u, video_id, "parent").json()
    keep = _post(live_server, u, video_id, "keep me").json()
    reply = _post(live_server, u, video_id, "reply", parent["id"]).json()
    _post(live_server, u, video_id, "reply 2", parent["id"])
    _post(live_server, u, video_id, "reply to reply", reply["id"])
    assert _comments_count(live_server, video_id) == 5
    assert c.delete(f"/api/comments/{parent['id']}", headers=auth(u)).status_code == 204
    assert _comments_count(live_server, video_id) == 1
    rows = query(live_server, "SELECT id FROM comments WHERE video_id = ?", (video_id,))
    assert [r[0] for r in rows] == [keep["id"]]
    listed = c.get(f"/api/videos/{video_id}/comments").json()["items"]
    assert [x["id"] for x in listed] == [keep["id"]]
    # deleting a reply decrements its parent's reply_count
    r1 = _post(live_server, u, video_id, "r1", keep["id"]).json()
    _post(live_server, u, video_id, "r2", keep["id"])
    assert c.delete(f"/api/comments/{r1['id']}", headers=auth(u)).status_code == 204
    listed = c.get(f"/api/videos/{video_id}/comments").json()["items"]
    assert listed[0]["reply_count"] == 1
    assert _comments_count(live_server, video_id) == 2
    counted = query(live_server, "SELECT comments FROM videos WHERE id = ?", (video_id,))[0][0]
    actual = query(live_server, "SELECT COUNT(*) FROM comments WHERE video_id = ?", (video_id,))[0][
        0
    ]
    assert counted == actual == 2
