"""HLS cannot be forced on every video: it is made at transcode time, and videos made
before get it on request at most `limits.hls_package_per_minute` times per address."""

from __future__ import annotations

from serverkit import assert_problem, seed_video, wait_ready

from shortstack.media.fixture_clips import write_test_video


def _old_video(live, handle: str) -> str:
    """A ready video as transcodes left them before HLS came with them: MP4 renditions only
    (the seeded row gets a real transcode's renditions and poster, no HLS folder)."""
    video_id = seed_video(live, handle, "from before HLS")
    assert not (live.data_dir / "media" / video_id[:2] / video_id / "hls").exists()
    return video_id


def _rendition(live, video_id: str) -> str:
    return live.client.get(f"/api/videos/{video_id}").json()["renditions"][0]["name"]


def test_on_demand_packaging_is_rate_limited_per_address(live_server, tmp_path):
    live = live_server  # the default: 6 packagings a minute per address
    live.register("oldtimer")
    videos = [_old_video(live, "oldtimer") for _ in range(7)]
    name = _rendition(live, videos[0])
    c = live.client
    for video_id in videos[:6]:
        assert c.get(f"/api/videos/{video_id}/hls/master.m3u8").status_code == 200
    r = c.get(f"/api/videos/{videos[6]}/hls/master.m3u8")
    assert_problem(r, 429)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    folder = live.data_dir / "media" / videos[6][:2] / videos[6]
    assert not (folder / "hls").exists()  # nothing was written for it
    # what is packaged already is served without spending the budget
    for _ in range(3):
        assert c.get(f"/api/videos/{videos[0]}/hls/master.m3u8").status_code == 200
        assert c.get(f"/api/videos/{videos[0]}/hls/{name}/index.m3u8").status_code == 200
    # and the MP4 still plays
    assert c.get(f"/api/videos/{videos[6]}/media/{name}").status_code == 200


def test_the_transcode_makes_hls_so_new_videos_need_no_packaging(live_server, tmp_path):
    live = live_server
    token = live.register()
    src = write_test_video(tmp_path / "new.mp4", width=320, height=240, duration_s=1.0)
    with open(src, "rb") as fh:
        r = live.client.post(
            "/api/videos", files={"file": ("new.mp4", fh, "video/mp4")}, headers=live.auth(token)
        )
    assert r.status_code == 202, r.text
    video = wait_ready(live, token, r.json()["id"])
    folder = live.data_dir / "media" / video["id"][:2] / video["id"]
    assert (folder / "hls" / "master.m3u8").exists()  # before anyone asked for it
    assert live.client.get(video["hls_url"]).status_code == 200


def test_no_on_demand_packaging_when_the_budget_is_zero(make_server, tmp_path):
    live = make_server(limits={"hls_package_per_minute": 0})
    live.register("oldtimer")
    video_id = _old_video(live, "oldtimer")
    assert_problem(live.client.get(f"/api/videos/{video_id}/hls/master.m3u8"), 429)
