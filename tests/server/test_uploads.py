"""Uploads end to end with real clips: 202 -> ready, renditions streamed with Range/ETag,
rejects leave nothing behind, size and type limits, duplicates, deletes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest
from serverkit import assert_problem, query, wait_ready

from shortstack.media.fixture_clips import write_audio_only, write_png


def _upload(live, token: str, path: Path, caption: str = "", name: str | None = None):
    with open(path, "rb") as fh:
        return live.client.post(
            "/api/videos",
            files={"file": (name or path.name, fh, "video/mp4")},
            data={"caption": caption},
            headers=live.auth(token),
        )


def _leftovers(data_dir: Path) -> tuple[list[str], list[str]]:
    tmp = sorted(p.name for p in (data_dir / "tmp").iterdir())
    media = sorted(str(p.relative_to(data_dir)) for p in (data_dir / "media").rglob("*"))
    return tmp, media


@pytest.fixture(scope="module")
def ready_video(module_server, clip):
    """(token, video) of a real clip uploaded once and transcoded."""
    token = module_server.register("uploader")
    r = _upload(module_server, token, clip, "my first clip #sunset #Beach")
    assert r.status_code == 202, r.text
    video = r.json()
    assert video["status"] == "processing"
    assert video["renditions"] == []
    assert video["hashtags"] == ["sunset", "beach"]
    assert 0.0 <= video["progress"] < 1.0
    video = wait_ready(module_server, token, video["id"])
    assert video["status"] == "ready", video
    return token, video


def test_upload_becomes_ready_with_renditions(module_server, ready_video):
    _, video = ready_video
    assert video["progress"] == 1.0
    assert video["error"] is None
    assert (video["width"], video["height"]) == (160, 120)
    assert 0.8 <= video["duration_s"] <= 1.3
    names = [r["name"] for r in video["renditions"]]
    assert names == ["120p"]  # never upscaled: the ladder drops 360p and 240p for a 120p source
    rendition = video["renditions"][0]
    assert rendition["url"] == f"/api/videos/{video['id']}/media/120p"
    assert rendition["bytes"] > 1000
    path = module_server.data_dir / "media" / video["id"][:2] / video["id"] / "120p.mp4"
    assert path.stat().st_size == rendition["bytes"]
    poster = module_server.client.get(video["poster_url"])
    assert poster.status_code == 200
    assert poster.headers["content-type"].startswith("image/")
    assert poster.content[:3] == b"\xff\xd8\xff"  # JPEG
    # the author's profile counts it, the feed and search will serve it
    assert module_server.client.get("/api/users/uploader").json()["videos"] == 1
    found = module_server.client.get("/api/search", params={"q": "#sunset"}).json()
    assert [v["id"] for v in found["videos"]] == [video["id"]]


def test_media_ranges(module_server, ready_video):
    _, video = ready_video
    c = module_server.client
    url = video["renditions"][0]["url"]
    path = module_server.data_dir / "media" / video["id"][:2] / video["id"] / "120p.mp4"
    data = path.read_bytes()
    size = len(data)

    full = c.get(url)
    assert full.status_code == 200
    assert full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    assert int(full.headers["content-length"]) == size
    assert full.content == data
    etag = full.headers["etag"]
    assert etag

    def get(range_value: str) -> httpx.Response:
        return c.get(url, headers={"Range": range_value})

    r = get("bytes=0-0")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-0/{size}"
    assert r.content == data[:1]
    r = get("bytes=-500")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"
    assert r.content == data[-500:]
    r = get("bytes=100-")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
    assert r.content == data[100:]
    assert int(r.headers["content-length"]) == size - 100
    r = get(f"bytes=10-{size + 1000}")  # end past the file is clamped
    assert r.status_code == 206
    assert r.content == data[10:]
    r = get(f"bytes=-{size * 2}")  # suffix longer than the file: the whole file
    assert r.status_code == 206
    assert r.content == data
    for beyond in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        r = get(beyond)
        assert_problem(r, 416)
        assert r.headers["content-range"] == f"bytes */{size}"
    for malformed in (
        "bytes=abc",
        "items=0-10",
        "bytes=5-2",
        "bytes=0-1,5-6",
        "nonsense",
        "bytes=",
    ):
        r = get(malformed)
        assert r.status_code == 200, malformed
        assert r.content == data
    # conditional requests
    r = c.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert c.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    r = c.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206 and r.content == data[:10]
    r = c.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == data
    # HEAD has the headers and no body
    h = c.head(url)
    assert h.status_code == 200
    assert h.headers["accept-ranges"] == "bytes"
    assert h.headers["etag"] == etag
    assert int(h.headers["content-length"]) == size
    assert h.content == b""
    h = c.head(url, headers={"Range": "bytes=0-99"})
    assert h.status_code == 206
    assert h.headers["content-range"] == f"bytes 0-99/{size}"
    # unknown renditions and videos
    assert_problem(c.get(f"/api/videos/{video['id']}/media/720p"), 404)
    assert_problem(c.get("/api/videos/nosuchvideo1/media/120p"), 404)


def test_duplicate_upload_is_409(module_server, ready_video, clip):
    token, video = ready_video
    r = _upload(module_server, token, clip, "again", name="renamed.mp4")
    body = assert_problem(r, 409)
    assert video["id"] in body["detail"]
    tmp, _ = _leftovers(module_server.data_dir)
    assert tmp == []
    # another user may post the same file
    other = module_server.register("copycat")
    r = _upload(module_server, other, clip, "mine now")
    assert r.status_code == 202, r.text


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    random_bytes = tmp_path / "random.mp4"
    random_bytes.write_bytes(os.urandom(50_000))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    png = write_png(tmp_path / "picture.png")
    renamed = tmp_path / "picture.mp4"
    renamed.write_bytes(png.read_bytes())
    audio = write_audio_only(tmp_path / "song.m4a", duration_s=1.0)
    text = tmp_path / "notes.mp4"
    text.write_text("ftypisom this is not a video at all\n" * 100)
    return {
        "random": random_bytes,
        "empty": empty,
        "png-renamed": renamed,
        "audio-only": audio,
        "text": text,
    }


def test_rejected_uploads_leave_nothing_behind(live_server, bad_files):
    token = live_server.register("rejected")
    for name, path in bad_files.items():
        r = _upload(live_server, token, path, name)
        body = assert_problem(r, 422)
        assert body["detail"], name
        tmp, media = _leftovers(live_server.data_dir)
        assert tmp == [], (name, tmp)
        assert media == [], (name, media)
    assert query(live_server, "SELECT COUNT(*) FROM videos")[0][0] == 0
    assert query(live_server, "SELECT COUNT(*) FROM jobs")[0][0] == 0
    assert live_server.client.get("/api/users/rejected").json()["videos"] == 0


def test_upload_request_errors(live_server, clip):
    c, token = live_server.client, live_server.register("poster")
    h = live_server.auth(token)
    # not multipart
    assert_problem(c.post("/api/videos", content=clip.read_bytes(), headers=h), 415)
    assert_problem(
        c.post("/api/videos", json={"file": "x"}, headers=h),
        415,
    )
    # multipart without a file part
    assert_problem(
        c.post("/api/videos", data={"caption": "no file"}, files={}, headers=h), (415, 422)
    )
    r = c.post(
        "/api/videos",
        files={"caption": (None, b"only a caption")},
        headers=h,
    )
    assert_problem(r, 422)
    # a caption that is too long
    with open(clip, "rb") as fh:
        r = c.post(
            "/api/videos",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={"caption": "x" * 3000},
            headers=h,
        )
    assert_problem(r, 422)
    # two files, or a caption field beyond the form-field limit
    data = clip.read_bytes()
    r = c.post(
        "/api/videos",
        files=[("file", ("a.mp4", data, "video/mp4")), ("file", ("b.mp4", data, "video/mp4"))],
        headers=h,
    )
    assert_problem(r, 422)
    r = c.post(
        "/api/videos",
        files={"file": ("a.mp4", data, "video/mp4")},
        data={"caption": "y" * 40_000},
        headers=h,
    )
    assert_problem(r, 422)
    # truncated multipart body
    r = c.post(
        "/api/videos",
        content=b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc',
        headers=h | {"Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert_problem(r, 422)
    # not logged in
    with open(clip, "rb") as fh:
        r = c.post("/api/videos", files={"file": ("clip.mp4", fh, "video/mp4")})
    assert_problem(r, 401)
    tmp, media = _leftovers(live_server.data_dir)
    assert (tmp, media) == ([], [])
    # a path in the file name is only a name: media paths come from ids
    r = c.post(
        "/api/videos",
        files={"file": ("../../../../evil.mp4", data, "video/mp4")},
        headers=h,
    )
    assert r.status_code == 202, r.text
    video_id = r.json()["id"]
    assert not list(live_server.data_dir.parent.rglob("evil*"))
    _, media = _leftovers(live_server.data_dir)
    assert all(m.startswith(f"media/{video_id[:2]}") for m in media), media


def test_upload_over_the_size_limit_is_413(make_server):
    live = make_server(limits={"max_upload_mb": 1})
    token = live.register("bigfile")
    payload = os.urandom(2 * 1024 * 1024)
    # with a Content-Length the server can refuse early
    r = live.client.post(
        "/api/videos",
        files={"file": ("big.mp4", payload, "video/mp4")},
        headers=live.auth(token),
    )
    assert_problem(r, 413)
    assert _leftovers(live.data_dir) == ([], [])

    # streamed without a Content-Length: the limit is enforced as bytes arrive
    boundary = "streamboundary"

    def body():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for i in range(0, len(payload), 64 * 1024):
            yield payload[i : i + 64 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        r = live.client.post(
            "/api/videos",
            content=body(),
            headers=live.auth(token)
            | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert_problem(r, 413)
    except httpx.WriteError:
        pass  # the server may answer and close before the client finished sending
    assert _leftovers(live.data_dir) == ([], [])
    assert live.client.get("/healthz").status_code == 200


def test_delete_video(module_server, clip2):
    c = module_server.client
    token = module_server.register("deleter")
    # the upload's progress and readiness are announced live over SSE
    with (
        httpx.Client(base_url=module_server.url, timeout=60) as sse,
        sse.stream("GET", "/api/events", headers=module_server.auth(token)) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == "event: hello"
        r = _upload(module_server, token, clip2, "short-lived #gone")
        assert r.status_code == 202, r.text
        video_id = r.json()["id"]
        events = ["hello"]
        for line in lines:
            if line.startswith("event:"):
                events.append(line[6:].strip())
            elif (
                line.startswith("data:")
                and events[-1] in ("video.ready", "video.failed")
                and json.loads(line[5:])["video_id"] == video_id
            ):
                break
    assert events[-1] == "video.ready", events
    assert "video.progress" in events
    video = wait_ready(module_server, token, video_id)
    assert video["status"] == "ready"
    folder = module_server.data_dir / "media" / video["id"][:2] / video["id"]
    assert (folder / f"{video['renditions'][0]['name']}.mp4").exists()
    stranger = module_server.register("stranger")
    assert_problem(
        c.delete(f"/api/videos/{video['id']}", headers=module_server.auth(stranger)), 403
    )
    assert_problem(c.delete(f"/api/videos/{video['id']}"), 401)
    assert folder.exists()
    r = c.delete(f"/api/videos/{video['id']}", headers=module_server.auth(token))
    assert r.status_code == 204
    assert not folder.exists()
    assert_problem(c.get(f"/api/videos/{video['id']}"), 404)
    assert_problem(c.get(video["renditions"][0]["url"]), 404)
    assert c.get("/api/users/deleter").json()["videos"] == 0
    assert c.get("/api/search", params={"q": "#gone"}).json()["videos"] == []
    assert (
        query(module_server, "SELECT COUNT(*) FROM jobs WHERE video_id = ?", (video["id"],))[0][0]
        == 0
    )
    assert_problem(c.delete(f"/api/videos/{video['id']}", headers=module_server.auth(token)), 404)


def test_too_long_or_too_large_video_is_422(make_server, clip):
    live = make_server(limits={"max_duration_s": 0.5, "max_dimension": 1000})
    token = live.register("longclip")
    body = assert_problem(_upload(live, token, clip), 422)
    assert "long" in body["detail"].lower() or "duration" in body["detail"].lower()
    assert _leftovers(live.data_dir) == ([], [])
    live2 = make_server(limits={"max_dimension": 100})
    token = live2.register("bigclip")
    assert_problem(_upload(live2, token, clip), 422)  # 160 px wide
    assert _leftovers(live2.data_dir) == ([], [])


def test_an_upload_too_slow_to_probe_is_422_and_leaves_nothing(make_server, clip):
    """The probe deadline (limits.probe_timeout_s); slow bodies: test_slow_bodies.py."""
    live = make_server(limits={"probe_timeout_s": 0.001})  # no reader finishes in 1 ms
    token = live.register("slowread")
    body = assert_problem(_upload(live, token, clip), 422)
    assert "took longer than" in body["detail"]
    assert _leftovers(live.data_dir) == ([], [])
    assert live.client.get("/healthz").status_code == 200


def test_delete_while_processing_leaves_no_files(module_server, tmp_path):
    """A video deleted mid-transcode: when the worker finishes, nothing of it stays on disk."""
    c = module_server.client
    token = module_server.register("impatient")
    h = module_server.auth(token)
    from shortstack.media.fixture_clips import write_test_video

    slow = write_test_video(tmp_path / "slow.mp4", width=320, height=240, duration_s=2.0)
    later = write_test_video(tmp_path / "later.mp4", width=96, height=64, duration_s=0.5)
    video_id = _upload(module_server, token, slow, "gone soon").json()["id"]
    deadline = time.monotonic() + 30
    while not query(
        module_server, "SELECT 1 FROM jobs WHERE video_id = ? AND status = 'running'", (video_id,)
    ):
        assert time.monotonic() < deadline, "the transcode never started"
        time.sleep(0.02)
    assert c.delete(f"/api/videos/{video_id}", headers=h).status_code == 204
    # the single worker runs jobs in order: once the next upload is ready, the first is over
    next_id = _upload(module_server, token, later, "next").json()["id"]
    assert wait_ready(module_server, token, next_id)["status"] == "ready"
    folder = module_server.data_dir / "media" / video_id[:2] / video_id
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    assert_problem(c.get(f"/api/videos/{video_id}"), 404)


def test_a_transcode_past_its_deadline_is_retried_then_failed(make_server, clip):
    """The worker is killed at the deadline, restarted for the next attempt, and after the last
    attempt the video fails saying why; nothing half-written stays."""
    live = make_server(media={"job_timeout_s": 0.01, "job_max_attempts": 2})
    token = live.register("deadline")
    r = _upload(live, token, clip)
    assert r.status_code == 202, r.text
    video = wait_ready(live, token, r.json()["id"])
    assert video["status"] == "failed", video
    (job,) = query(
        live, "SELECT status, attempts, error FROM jobs WHERE video_id = ?", (video["id"],)
    )
    assert (job["status"], job["attempts"]) == ("failed", 2)
    assert job["error"] == "transcode timed out after 0 s"
    folder = live.data_dir / "media" / video["id"][:2] / video["id"]
    assert [p.name for p in folder.iterdir()] == ["source"]
    assert live.client.get("/healthz").status_code == 200
