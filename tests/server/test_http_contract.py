"""Contract gaps: HEAD is answered like GET (posters, HLS, share page), every problem has a
`type`, and a re-upload is a duplicate only with the same edit recipe (checked after it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serverkit import assert_problem, wait_ready


def _upload(live, token: str, path: Path, edit: dict | str | None = None, caption: str = ""):
    data = {"caption": caption}
    if edit is not None:
        data["edit"] = edit if isinstance(edit, str) else json.dumps(edit)
    with open(path, "rb") as fh:
        return live.client.post(
            "/api/videos",
            files={"file": (path.name, fh, "video/mp4")},
            data=data,
            headers=live.auth(token),
        )


@pytest.fixture(scope="module")
def ready(module_server, clip):
    token = module_server.register("contract")
    r = _upload(module_server, token, clip, caption="head me")
    assert r.status_code == 202, r.text
    video = wait_ready(module_server, token, r.json()["id"])
    assert video["status"] == "ready", video
    return token, video


def _head_like_get(live, url: str) -> None:
    got = live.client.get(url)
    assert got.status_code == 200, (url, got.status_code, got.text[:300])
    headed = live.client.head(url)
    assert headed.status_code == 200, (url, headed.status_code)
    assert headed.content == b""
    assert headed.headers["content-type"] == got.headers["content-type"]
    assert int(headed.headers["content-length"]) == len(got.content), url
    if "etag" in got.headers:
        assert headed.headers["etag"] == got.headers["etag"]


def test_head_is_answered_like_get(module_server, ready):
    _, video = ready
    live = module_server
    master = f"/api/videos/{video['id']}/hls/master.m3u8"
    _head_like_get(live, video["poster_url"])
    _head_like_get(live, master)
    rendition = video["renditions"][0]["name"]
    _head_like_get(live, f"/api/videos/{video['id']}/hls/{rendition}/index.m3u8")
    _head_like_get(live, f"/api/videos/{video['id']}/hls/{rendition}/init.mp4")
    _head_like_get(live, f"/v/{video['id']}")
    # a range and an unknown video behave as with GET
    r = live.client.head(video["poster_url"], headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.headers["content-length"] == "10" and r.content == b""
    assert live.client.head("/v/nosuchvideo").status_code == 404
    assert live.client.head("/api/videos/nosuchvideo/poster").status_code == 404
    assert live.client.head(f"/api/videos/{video['id']}/hls/{rendition}/x.ts").status_code == 404


def test_every_problem_has_a_type(module_server, ready):
    token, video = ready
    c, h = module_server.client, module_server.auth(token)
    seeded = _upload(module_server, token, Path(__file__), caption="not a video")
    answers = [
        c.get("/api/videos/nosuchvideo"),  # a store error (NotFound)
        c.get("/api/videos/nosuchvideo/poster"),
        c.get(f"/api/videos/{video['id']}/media/999p"),  # problem() in a handler
        c.get(f"/api/videos/{video['id']}/hls/master.m3u9"),
        c.delete(f"/api/videos/{video['id']}"),  # 401
        c.get("/api/no/such/route"),
        c.patch("/api/videos/nosuchvideo"),  # 405
        c.post("/api/auth/register", json={"handle": "x"}),  # 422 schema
        c.put("/api/users/contract/follow", headers=h),  # 422 from the store
        seeded,
    ]
    for r in answers:
        body = assert_problem(r, tuple(range(400, 500)))
        assert body.get("type") == "about:blank", (r.request.method, r.request.url, body)


def test_same_file_with_another_recipe_is_a_new_video(module_server, ready, clip):
    token, video = ready
    live = module_server
    # an invalid recipe is refused for what it is, not as a duplicate of the unedited upload
    body = assert_problem(_upload(live, token, clip, {"look": "no-such-look"}), 422)
    assert "look" in body["detail"]
    body = assert_problem(_upload(live, token, clip, {"trim": [5, 9]}), 422)
    assert "trim" in body["detail"]
    # the same file re-edited is a new video
    r = _upload(live, token, clip, {"speed": 2})
    assert r.status_code == 202, r.text
    edited = r.json()
    assert edited["id"] != video["id"] and edited["edit"] == {"speed": 2.0}
    # the same file with the same recipe (written differently) is a duplicate
    body = assert_problem(_upload(live, token, clip, '{"speed": 2.0}'), 409)
    assert edited["id"] in body["detail"]
    body = assert_problem(_upload(live, token, clip), 409)
    assert video["id"] in body["detail"]
    assert wait_ready(live, token, edited["id"])["status"] == "ready"
