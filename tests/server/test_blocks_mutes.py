"""Blocks, mutes and "hide this creator", suspensions, removals and sensitive media: what each
surface shows across each relation (the visibility matrix of issue 15)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from mediakit import make_admin
from serverkit import assert_problem, query, seed_video

#: me -> blocked: me blocked it; blocker: it blocked me; muted: me muted it; suspended: an
#: admin suspended it; removed: an admin removed its video; sensitive: its video is marked
#: sensitive; plain: the control account, seen everywhere
RELATIONS = ["blocked", "blocker", "muted", "suspended", "removed", "sensitive", "plain"]
MODERATED = ("suspended", "removed", "sensitive")

#: surface -> which relations' content `me` still sees there (the rest is hidden)
SHOWN = {
    "for_you": {"plain", "sensitive"},
    "following": {"plain", "sensitive"},
    "trending": {"plain", "sensitive"},
    "search_videos": {"plain", "sensitive"},
    "search_users": {"muted", "removed", "sensitive", "plain"},
    # a suspended account's profile stays readable (its videos and comments do not)
    "profile": {"muted", "suspended", "removed", "sensitive", "plain"},
    "user_videos": {"muted", "sensitive", "plain"},
    "comments": {"removed", "sensitive", "plain"},
    "notifications": {"muted", "suspended", "removed", "sensitive", "plain"},
    # a suspended account cannot act any more (its tokens are revoked)
    "events": {"muted", "removed", "sensitive", "plain"},
    # the video's own URLs: its JSON, a rendition, the poster, the HLS master, the share page
    "video": {"muted", "sensitive", "plain"},
    "media": {"muted", "sensitive", "plain"},
    "poster": {"muted", "sensitive", "plain"},
    "hls": {"muted", "sensitive", "plain"},
    "share_page": {"muted", "sensitive", "plain"},
}


def _wait_in_feed(live, video_ids: set[str], timeout: float = 30.0) -> None:
    """Seeded videos join the feed engine's catalogue at its next poll."""
    deadline = time.monotonic() + timeout
    while True:
        page = live.client.get("/api/feed/for-you", params={"limit": 50}).json()
        if video_ids <= {i["video"]["id"] for i in page["items"]}:
            return
        assert time.monotonic() < deadline, "seeded videos never reached the feed"
        time.sleep(0.3)


def _listen(
    live, token: str, out: list, ready: threading.Event, stop: threading.Event, last: str = ""
) -> None:
    """Collect ``token``'s live notifications until ``stop``, or until one from ``last`` (the
    events of one stream arrive in order: nothing sent before it is still on its way)."""
    with (
        httpx.Client(base_url=live.url, timeout=httpx.Timeout(15.0)) as sse,
        sse.stream("GET", "/api/events", headers=live.auth(token)) as response,
    ):
        event = None
        try:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    if event == "hello":
                        ready.set()
                    elif event == "notification":
                        out.append(json.loads(line[5:]))
                        if last and out[-1].get("actor") == last:
                            return
                if stop.is_set():
                    return
        except httpx.ReadTimeout:
            if not stop.is_set():  # a quiet stream after the test has its answer is fine
                raise


@pytest.fixture(scope="module")
def world(module_server):
    """`me` and four accounts, one per relation, each with a video, a comment on plain's
    video, a follow both ways and a notification to me; then the relations are set up."""
    live = module_server
    tag = f"mtx{time.time_ns() % 10**8}"
    tokens = {"me": live.register(f"{tag}_me")}
    handles = {"me": f"{tag}_me"}
    for rel in RELATIONS:
        handles[rel] = f"{tag}_{rel}"
        tokens[rel] = live.register(handles[rel])
    videos = {who: seed_video(live, handles[who], f"{tag}clip by {who}") for who in handles}
    # the thread lives on a video of its own (commenting takes a video out of one's For You)
    thread_video = seed_video(live, handles["plain"], "the thread")
    _wait_in_feed(live, set(videos.values()))
    a = {who: live.auth(t) for who, t in tokens.items()}
    c = live.client
    my_comment = c.post(
        f"/api/videos/{thread_video}/comments", json={"body": "mine"}, headers=a["me"]
    ).json()["id"]
    for rel in RELATIONS:
        assert c.put(f"/api/users/{handles[rel]}/follow", headers=a["me"]).status_code == 204
        assert c.put(f"/api/users/{handles['me']}/follow", headers=a[rel]).status_code == 204
        r = c.post(
            f"/api/videos/{thread_video}/comments", json={"body": f"by {rel}"}, headers=a[rel]
        )
        assert r.status_code == 201
    # the relations
    assert c.put(f"/api/users/{handles['blocked']}/block", headers=a["me"]).status_code == 204
    assert c.put(f"/api/users/{handles['me']}/block", headers=a["blocker"]).status_code == 204
    assert c.put(f"/api/users/{handles['muted']}/mute", headers=a["me"]).status_code == 204
    admin = live.auth(make_admin(live, f"{tag}_admin"))
    r = c.post(
        f"/api/admin/reports/user/{handles['suspended']}/suspend",
        json={"reason": "matrix"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    r = c.post(f"/api/admin/reports/video/{videos['removed']}/remove", headers=admin)
    assert r.status_code == 200, r.text
    r = c.put(f"/api/videos/{videos['sensitive']}/sensitive", headers=a["sensitive"])
    assert r.status_code == 200, r.text

    def owner(video_ids: list[str]) -> set[str]:
        return {who for who in RELATIONS if videos[who] in video_ids}

    seen: dict[str, set[str]] = {}
    items = c.get("/api/feed/for-you", params={"limit": 50}, headers=a["me"]).json()["items"]
    seen["for_you"] = owner([i["video"]["id"] for i in items])
    items = c.get("/api/feed/following", params={"limit": 50}, headers=a["me"]).json()["items"]
    seen["following"] = owner([i["video"]["id"] for i in items])
    items = c.get("/api/feed/trending", params={"limit": 50}, headers=a["me"]).json()["items"]
    seen["trending"] = owner([i["video"]["id"] for i in items])
    found = c.get("/api/search", params={"q": f"{tag}clip", "limit": 50}, headers=a["me"]).json()
    seen["search_videos"] = owner([v["id"] for v in found["videos"]])
    found = c.get("/api/search", params={"q": f"@{tag}", "limit": 50}, headers=a["me"]).json()
    seen["search_users"] = {
        w for w in RELATIONS if handles[w] in {u["handle"] for u in found["users"]}
    }
    seen["profile"] = {
        w
        for w in RELATIONS
        if c.get(f"/api/users/{handles[w]}", headers=a["me"]).status_code == 200
    }
    seen["user_videos"] = set()
    for w in RELATIONS:
        r = c.get(f"/api/users/{handles[w]}/videos", headers=a["me"])
        if r.status_code == 200 and videos[w] in {v["id"] for v in r.json()["items"]}:
            seen["user_videos"].add(w)
    comments = c.get(
        f"/api/videos/{thread_video}/comments", params={"limit": 50}, headers=a["me"]
    ).json()["items"]
    seen["comments"] = {w for w in RELATIONS if f"by {w}" in {x["body"] for x in comments}}
    notes = c.get("/api/notifications", params={"limit": 50}, headers=a["me"]).json()["items"]
    seen["notifications"] = {w for w in RELATIONS if handles[w] in {n["actor"] for n in notes}}
    for surface, path in {
        "video": "/api/videos/{}",
        "media": "/api/videos/{}/media/{}",
        "poster": "/api/videos/{}/poster",
        "hls": "/api/videos/{}/hls/master.m3u8",
        "share_page": "/v/{}",
    }.items():
        seen[surface] = set()
        for w in RELATIONS:
            name = query(live, "SELECT name FROM renditions WHERE video_id = ?", (videos[w],))
            url = path.format(videos[w], name[0]["name"])
            if c.get(url, headers=a["me"]).status_code == 200:
                seen[surface].add(w)
    # live: each one replies to my comment (plain last); which notifications reach me
    got: list[dict] = []
    ready, stop = threading.Event(), threading.Event()
    listener = threading.Thread(
        target=_listen, args=(live, tokens["me"], got, ready, stop, handles["plain"])
    )
    listener.start()
    assert ready.wait(10)
    for rel in RELATIONS:
        c.post(
            f"/api/videos/{thread_video}/comments",
            json={"body": f"reply by {rel}", "parent_id": my_comment},
            headers=a[rel],
        )
    deadline = time.monotonic() + 10
    while not any(n["actor"] == handles["plain"] for n in got) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    seen["events"] = {w for w in RELATIONS if handles[w] in {n["actor"] for n in got}}
    listener.join(20)
    return {"live": live, "seen": seen, "handles": handles, "auth": a, "videos": videos}


@pytest.mark.parametrize("relation", [r for r in RELATIONS if r != "plain"])
@pytest.mark.parametrize("surface", sorted(SHOWN))
def test_matrix(world, surface, relation):
    """What `me` sees of an account it blocked, that blocked it, that it muted, that an admin
    suspended, whose video an admin removed or whose video is marked sensitive."""
    assert "plain" in world["seen"][surface], f"control account missing from {surface}"
    assert (relation in world["seen"][surface]) == (relation in SHOWN[surface])


def test_sensitive_videos_carry_the_flag_wherever_they_are_listed(world):
    """The clients show the notice from the flag: every listing of the video says it."""
    live, h, a, v = world["live"], world["handles"], world["auth"], world["videos"]
    c = live.client
    flagged = v["sensitive"]
    answers = [
        c.get(f"/api/videos/{flagged}").json(),
        *(
            i["video"]
            for kind in ("for-you", "trending")
            for i in c.get(f"/api/feed/{kind}", params={"limit": 50}).json()["items"]
            if i["video"]["id"] == flagged
        ),
        *(
            x
            for x in c.get(f"/api/users/{h['sensitive']}/videos", headers=a["me"]).json()["items"]
            if x["id"] == flagged
        ),
    ]
    assert len(answers) >= 3
    assert all(x["sensitive"] is True for x in answers)
    assert c.get(f"/api/videos/{v['plain']}").json()["sensitive"] is False


def test_blocked_account_cannot_touch_the_blocker(world):
    live, h, a, v = world["live"], world["handles"], world["auth"], world["videos"]
    c = live.client
    for who in ("blocked", "blocker"):  # both ways
        assert_problem(c.get(f"/api/users/{h['me']}", headers=a[who]), 404)
        assert_problem(c.get(f"/api/videos/{v['me']}", headers=a[who]), 404)
        assert_problem(c.put(f"/api/videos/{v['me']}/like", headers=a[who]), 404)
        assert_problem(c.post(f"/api/videos/{v['me']}/share", headers=a[who]), 404)
        r = c.post(f"/api/videos/{v['me']}/comments", json={"body": "hi"}, headers=a[who])
        assert_problem(r, 404)
        assert_problem(c.put(f"/api/users/{h['me']}/follow", headers=a[who]), 404)
    # a muted account sees me as before
    assert c.get(f"/api/users/{h['me']}", headers=a["muted"]).status_code == 200
    # a muted video is still reachable directly
    assert c.get(f"/api/videos/{v['muted']}", headers=a["me"]).status_code == 200


def test_block_ends_follows_both_ways_with_counters(world):
    live, h = world["live"], world["handles"]
    for who in ("blocked", "blocker"):
        rows = query(
            live,
            "SELECT COUNT(*) FROM follows f JOIN users a ON a.id = f.follower_id"
            " JOIN users b ON b.id = f.followee_id WHERE (a.handle = ? AND b.handle = ?)"
            " OR (a.handle = ? AND b.handle = ?)",
            (h["me"], h[who], h[who], h["me"]),
        )
        assert rows[0][0] == 0
        other = query(live, "SELECT followers, following FROM users WHERE handle = ?", (h[who],))
        assert tuple(other[0]) == (0, 0)
    me = query(live, "SELECT followers, following FROM users WHERE handle = ?", (h["me"],))
    assert tuple(me[0]) == (5, 5)  # muted, suspended, removed, sensitive and plain


def test_block_and_mute_lists_idempotence_and_undo(module_server):
    live, c = module_server, module_server.client
    tag = f"lst{time.time_ns() % 10**8}"
    me = live.auth(live.register(f"{tag}_me"))
    others = [f"{tag}_o{i}" for i in range(3)]
    for o in others:
        live.register(o)
        for kind in ("block", "mute"):
            assert c.put(f"/api/users/{o}/{kind}", headers=me).status_code == 204
            assert c.put(f"/api/users/{o}/{kind}", headers=me).status_code == 204  # idempotent
    for kind in ("blocks", "mutes"):
        first = c.get(f"/api/me/{kind}", params={"limit": 2}, headers=me).json()
        assert [x["handle"] for x in first["items"]] == others[::-1][:2]
        rest = c.get(
            f"/api/me/{kind}", params={"limit": 2, "cursor": first["next_cursor"]}, headers=me
        ).json()
        assert [x["handle"] for x in rest["items"]] == [others[0]]
        assert rest["next_cursor"] is None
    for kind in ("block", "mute"):
        assert c.delete(f"/api/users/{others[0]}/{kind}", headers=me).status_code == 204
        assert c.delete(f"/api/users/{others[0]}/{kind}", headers=me).status_code == 204
    for kind in ("blocks", "mutes"):
        items = c.get(f"/api/me/{kind}", params={"limit": 50}, headers=me).json()["items"]
        assert others[0] not in {x["handle"] for x in items}
    assert c.get(f"/api/users/{others[0]}", headers=me).status_code == 200
    body = assert_problem(c.put(f"/api/users/{tag}_me/block", headers=me), 422)
    assert "yourself" in body["detail"]
    assert_problem(c.put(f"/api/users/{tag}_me/mute", headers=me), 422)
    assert_problem(c.put(f"/api/users/{others[1]}/block"), 401)
    assert_problem(c.put(f"/api/users/nobody_{tag}/block", headers=me), 404)


def test_hide_creator_takes_effect_on_the_very_next_for_you_page(module_server):
    live, c = module_server, module_server.client
    tag = f"hid{time.time_ns() % 10**8}"
    me = live.auth(live.register(f"{tag}_me"))
    creators = [f"{tag}_c{i}" for i in range(3)]
    by: dict[str, str] = {}
    for h in creators:
        live.register(h)
        for n in range(3):
            by[seed_video(live, h, f"{tag} clip {n}")] = h
    _wait_in_feed(live, set(by))
    first = c.get("/api/feed/for-you", params={"limit": 2}, headers=me).json()
    target = next(i["video"] for i in first["items"] if i["video"]["id"] in by)
    hidden = target["author"]["handle"]
    assert c.post(f"/api/videos/{target['id']}/hide-creator", headers=me).status_code == 204
    nxt = c.get(
        "/api/feed/for-you", params={"limit": 4, "cursor": first["next_cursor"]}, headers=me
    ).json()
    # excluded by the engine's per-request state, not dropped afterwards: the page is full
    assert len(nxt["items"]) == 4
    rest = c.get(
        "/api/feed/for-you", params={"limit": 50, "cursor": nxt["next_cursor"]}, headers=me
    ).json()
    authors = {i["video"]["author"]["handle"] for i in nxt["items"] + rest["items"]}
    assert authors & set(creators), "the next page is empty of the other creators"
    assert hidden not in authors
    fresh = c.get("/api/feed/for-you", params={"limit": 50}, headers=me).json()
    assert hidden not in {i["video"]["author"]["handle"] for i in fresh["items"]}
    mutes = c.get("/api/me/mutes", headers=me).json()["items"]
    assert [m["handle"] for m in mutes] == [hidden]
    own = seed_video(live, f"{tag}_me", "mine")
    assert_problem(c.post(f"/api/videos/{own}/hide-creator", headers=me), 422)
