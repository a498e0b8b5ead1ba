"""HLS over HTTP: made on first request for every ready video, served with Range, strict names."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from serverkit import assert_problem, wait_ready

from shortstack.media.fixture_clips import write_test_video


@pytest.fixture(scope="module")
def hls_video(module_server, tmp_path_factory: pytest.TempPathFactory):
    """(token, video) of a 480x360 4-second clip: two renditions, 360p and 240p."""
    src = write_test_video(
        tmp_path_factory.mktemp("hls") / "wide.mp4", width=480, height=360, duration_s=4.0
    )
    token = module_server.register("hlsuser")
    with open(src, "rb") as fh:
        r = module_server.client.post(
            "/api/videos",
            files={"file": ("wide.mp4", fh, "video/mp4")},
            data={"caption": "in segments"},
            headers=module_server.auth(token),
        )
    assert r.status_code == 202, r.text
    assert r.json()["hls_url"] is None  # nothing to play yet
    return token, wait_ready(module_server, token, r.json()["id"])


def _lines(r) -> list[str]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    return r.text.splitlines()


def test_a_player_can_follow_the_playlists_to_every_segment(
    module_server, hls_video, tmp_path: Path
) -> None:
    _, video = hls_video
    c = module_server.client
    base = f"/api/videos/{video['id']}/hls/"
    assert video["hls_url"] == base + "master.m3u8"
    master = _lines(c.get(video["hls_url"]))
    variants = [line for line in master if line and not line.startswith("#")]
    assert variants == [f"{r['name']}/index.m3u8" for r in video["renditions"]]
    for rendition, uri in zip(video["renditions"], variants, strict=True):
        playlist = _lines(c.get(base + uri))
        folder = base + uri.rsplit("/", 1)[0] + "/"
        init = c.get(folder + "init.mp4")
        assert init.status_code == 200 and init.headers["content-type"] == "video/mp4"
        data = init.content
        segments = [line for line in playlist if line.startswith("seg")]
        assert segments
        for name in segments:
            seg = c.get(folder + name)
            assert seg.status_code == 200
            assert seg.headers["content-type"] == "video/iso.segment"
            data += seg.content
        joined = tmp_path / f"{rendition['name']}.mp4"
        joined.write_bytes(data)
        with av.open(str(joined)) as container:
            stream = container.streams.video[0]
            assert (stream.width, stream.height) == (rendition["width"], rendition["height"])
            frames = sum(1 for _ in container.decode(stream))
        assert frames == round(video["duration_s"] * video["fps"])
    # segments are files like the renditions: Range and ETag work on them
    first = folder + segments[0]
    part = c.get(first, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    etag = c.get(first).headers["etag"]
    assert c.get(first, headers={"If-None-Match": etag}).status_code == 304


def test_unknown_or_foreign_hls_names_are_404(module_server, hls_video) -> None:
    _, video = hls_video
    c = module_server.client
    base = f"/api/videos/{video['id']}/hls/"
    c.get(base + "master.m3u8")  # packaged
    for path in (
        "999p/index.m3u8",  # no such rendition
        "360p/source",  # not a file HLS names
        "360p/seg1.m4s",
        "360p/..%2F360p.mp4",
        "360p/index.m3u8.bak",
    ):
        assert_problem(c.get(base + path), 404)
    assert_problem(c.get("/api/videos/nosuchvideo1/hls/master.m3u8"), 404)


def test_deleting_the_video_removes_its_hls(module_server, tmp_path: Path) -> None:
    src = write_test_video(tmp_path / "gone.mp4", width=320, height=240, duration_s=1.0)
    token = module_server.register("hlsgone")
    with open(src, "rb") as fh:
        r = module_server.client.post(
            "/api/videos",
            files={"file": ("gone.mp4", fh, "video/mp4")},
            headers=module_server.auth(token),
        )
    video = wait_ready(module_server, token, r.json()["id"])
    assert module_server.client.get(video["hls_url"]).status_code == 200
    folder = module_server.data_dir / "media" / video["id"][:2] / video["id"]
    assert (folder / "hls" / "master.m3u8").exists()
    gone = module_server.client.delete(
        f"/api/videos/{video['id']}", headers=module_server.auth(token)
    )
    assert gone.status_code == 204
    assert not folder.exists()
    assert_problem(module_server.client.get(video["hls_url"]), 404)
