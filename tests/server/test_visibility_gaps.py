"""Issue 15, the visibility matrix's last gaps, each replayed over real HTTP:
- replies under a comment the viewer does not see were listed with `?parent_id=`;
- reply counts counted replies the viewer does not see;
- a viewer who blocked anyone lost every deleted-account placeholder (NULL NOT IN ...);
- live counts of a video went to listeners who may not see the video (blocked, removed)."""

from __future__ import annotations

import time

import httpx
from serverkit import assert_problem, seed_video, sse_events


def _comment(live, token: str, video_id: str, body: str, parent: str | None = None) -> str:
    payload = {"body": body, **({"parent_id": parent} if parent else {})}
    r = live.client.post(f"/api/videos/{video_id}/comments", json=payload, headers=live.auth(token))
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def _thread(live, video_id: str, token: str | None = None, parent: str | None = None):
    params = {"parent_id": parent} if parent else {}
    headers = live.auth(token) if token else {}
    return live.client.get(f"/api/videos/{video_id}/comments", params=params, headers=headers)


def test_threads_hide_replies_and_counts_across_a_block(live_server):
    live = live_server
    tok = {h: live.register(h) for h in ("host9", "blocker9", "pest9", "friend9")}
    vid = seed_video(live, "host9", "a thread")
    pest_top = _comment(live, tok["pest9"], vid, "pest says hi")
    _comment(live, tok["friend9"], vid, "reply under the pest", pest_top)
    friend_top = _comment(live, tok["friend9"], vid, "friend says hi")
    _comment(live, tok["pest9"], vid, "pest replies to friend", friend_top)
    _comment(live, tok["host9"], vid, "host replies to friend", friend_top)
    assert live.client.put("/api/users/pest9/block", headers=live.auth(tok["blocker9"])).is_success

    # the blocker: no pest comment, no way into its replies, counts without the pest's reply
    items = _thread(live, vid, tok["blocker9"]).json()["items"]
    assert [c["body"] for c in items] == ["friend says hi"]
    assert items[0]["reply_count"] == 1
    assert_problem(_thread(live, vid, tok["blocker9"], parent=pest_top), 404)
    replies = _thread(live, vid, tok["blocker9"], parent=friend_top).json()["items"]
    assert [c["body"] for c in replies] == ["host replies to friend"]

    # anyone else sees it all, with the stored counts
    items = _thread(live, vid).json()["items"]
    assert {c["body"]: c["reply_count"] for c in items} == {
        "pest says hi": 1,
        "friend says hi": 2,
    }
    assert len(_thread(live, vid, parent=pest_top).json()["items"]) == 1


def test_deleted_account_placeholders_stay_for_viewers_who_block(live_server):
    live = live_server
    tok = {h: live.register(h) for h in ("host8", "leaver8", "replier8", "blocker8", "other8")}
    vid = seed_video(live, "host8", "placeholder thread")
    top = _comment(live, tok["leaver8"], vid, "soon deleted")
    _comment(live, tok["replier8"], vid, "a reply that stays", top)
    r = live.client.request(
        "DELETE",
        "/api/me",
        json={"password": "kettle-harbor-58"},
        headers=live.auth(tok["leaver8"]),
    )
    assert r.status_code == 204, r.text
    assert live.client.put("/api/users/other8/block", headers=live.auth(tok["blocker8"])).is_success
    items = _thread(live, vid, tok["blocker8"]).json()["items"]
    assert [c["author"] for c in items] == [None]  # the placeholder, for a blocker too
    replies = _thread(live, vid, tok["blocker8"], parent=top).json()["items"]
    assert [c["body"] for c in replies] == ["a reply that stays"]


def _counts_seen(live, headers: dict, act, video_id: str, wait_s: float = 3.0) -> list[dict]:
    """Open an event stream, run act(), and collect the counts events about video_id."""
    seen: list[dict] = []
    with (
        httpx.Client(base_url=live.url, timeout=httpx.Timeout(10.0, read=wait_s)) as sse,
        sse.stream("GET", "/api/events", headers=headers) as response,
    ):
        stream = sse_events(response)
        assert next(stream)[0] == "hello"
        act()
        deadline = time.monotonic() + wait_s
        try:
            for event, data in stream:
                if event == "counts" and data.get("video_id") == video_id:
                    seen.append(data)
                if time.monotonic() > deadline or seen:
                    break
        except httpx.ReadTimeout:
            pass
    return seen


def test_live_counts_follow_who_may_see_the_video(live_server):
    live = live_server
    tok = {h: live.register(h) for h in ("author7", "blocker7", "fan7", "fan7b")}
    vid = seed_video(live, "author7", "counted")
    assert live.client.put(
        "/api/users/author7/block", headers=live.auth(tok["blocker7"])
    ).is_success

    def like(fan: str):
        return lambda: live.client.put(f"/api/videos/{vid}/like", headers=live.auth(tok[fan]))

    assert _counts_seen(live, live.auth(tok["blocker7"]), like("fan7"), vid) == []
    assert _counts_seen(live, {}, like("fan7b"), vid) == [{"video_id": vid, "likes": 2}]
