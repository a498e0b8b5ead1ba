"""The web pages with media in a bucket (moto's S3 server), in headless Chromium: the share page
and the feed play, the bytes come from the bucket (presigned), the pages' CSP lets them.
Without Chromium or moto these skip with one line."""

from __future__ import annotations

import pytest
import s3kit
from browserkit import CHROMIUM, ENABLE
from serverkit import wait_ready

from shortstack.media.fixture_clips import write_test_video

if CHROMIUM is None:
    pytest.skip(ENABLE, allow_module_level=True)
pytestmark = pytest.mark.slow

moto_endpoint, s3_server = s3kit.moto_endpoint, s3kit.s3_server  # the fixtures


def _playing(page, selector: str) -> None:
    page.wait_for_function(
        """sel => { const v = document.querySelector(sel);
                    return v && !v.paused && v.readyState >= 2 && v.currentTime > 0.05; }""",
        arg=selector,
        timeout=15_000,
    )


def test_share_page_and_feed_play_from_the_bucket(make_server, s3_server, browser, tmp_path):
    s3 = s3_server
    clip = write_test_video(tmp_path / "clip.mp4", width=160, height=120, duration_s=2.0)
    live = make_server(storage=s3.storage_config())
    token = live.register("webbucket")
    with clip.open("rb") as fh:
        r = live.client.post(
            "/api/videos",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={"caption": "from the bucket"},
            headers=live.auth(token),
        )
    assert r.status_code == 202, r.text
    vid = r.json()["id"]
    assert wait_ready(live, token, vid, timeout=120)["status"] == "ready"

    context = browser.new_context(viewport={"width": 412, "height": 915})
    page = context.new_page()
    errors: list[str] = []
    from_bucket: list[tuple[str, int]] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: (
            from_bucket.append((r.url, r.status)) if r.url.startswith(s3.endpoint_url) else None
        ),
    )
    try:
        page.goto(f"{live.url}/v/{vid}", wait_until="load")
        _playing(page, "video")
        assert any(status in (200, 206) and ".mp4" in url for url, status in from_bucket), (
            from_bucket
        )
        from_bucket.clear()
        page.goto(live.url + "/", wait_until="load")
        _playing(page, f"#v-{vid} video")
        assert any(status in (200, 206) for _, status in from_bucket), from_bucket
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()
