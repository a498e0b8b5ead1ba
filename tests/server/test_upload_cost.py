"""What an upload may cost: the duration limit holds for the edited output (a slowed-down
clip), per-user daily quotas (429 + Retry-After), and a memory ceiling on media children."""

from __future__ import annotations

import json
import time
from pathlib import Path

from serverkit import assert_problem, query, wait_ready

from shortstack.media.fixture_clips import write_test_video


def _upload(live, token: str, path: Path, edit: dict | None = None, caption: str = ""):
    data = {"caption": caption}
    if edit is not None:
        data["edit"] = json.dumps(edit)
    with open(path, "rb") as fh:
        return live.client.post(
            "/api/videos",
            files={"file": (path.name, fh, "video/mp4")},
            data=data,
            headers=live.auth(token),
        )


def _nothing_queued(live) -> None:
    assert query(live, "SELECT COUNT(*) FROM jobs")[0][0] == 0
    assert query(live, "SELECT COUNT(*) FROM videos")[0][0] == 0
    assert list((live.data_dir / "tmp").iterdir()) == []
    assert not list((live.data_dir / "media").rglob("*.*"))


def test_a_slowed_down_clip_past_the_duration_limit_is_422_before_any_work(make_server, clip):
    """A 1 s clip under a 1.5 s limit; at speed 0.25 it would become 4 s long."""
    live = make_server(limits={"max_duration_s": 1.5})
    token = live.register("slowmo")
    for edit in ({"speed": 0.25}, {"speed": 0.5}):
        body = assert_problem(_upload(live, token, clip, edit), 422)
        assert "1.5 s" in body["detail"], body
    # the preview refuses it the same way
    with open(clip, "rb") as fh:
        r = live.client.post(
            "/api/edit/preview",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={"edit": json.dumps({"speed": 0.25})},
            headers=live.auth(token),
        )
    assert_problem(r, 422)
    _nothing_queued(live)
    # slowed down within the limit, or trimmed first, it is fine
    r = _upload(live, token, clip, {"speed": 0.75})
    assert r.status_code == 202, r.text
    assert r.json()["duration_s"] <= 1.5


def test_uploads_per_day_is_429_with_retry_after_and_counts_deleted_videos(
    make_server, clip, clip2
):
    live = make_server(limits={"uploads_per_day": 2})
    token = live.register("prolific")
    first = _upload(live, token, clip)
    assert first.status_code == 202, first.text
    r = live.client.delete(f"/api/videos/{first.json()['id']}", headers=live.auth(token))
    assert r.status_code == 204  # deleting does not give the quota back
    assert _upload(live, token, clip2).status_code == 202
    r = _upload(live, token, clip, {"speed": 2})
    body = assert_problem(r, 429)
    assert "2 videos a day" in body["detail"]
    retry = int(r.headers["Retry-After"])
    assert 86_000 < retry <= 86_400, retry
    assert list((live.data_dir / "tmp").iterdir()) == []
    # another user has a quota of their own
    assert _upload(live, live.register("newcomer"), clip).status_code == 202


def test_upload_bytes_per_day_is_429_with_retry_after(make_server, clip):
    live = make_server(limits={"upload_mb_per_day": 1})
    token = live.register("heavy")
    user_id = query(live, "SELECT id FROM users WHERE handle = 'heavy'")[0][0]
    # earlier today, 8 hours ago, this user uploaded 1 MiB less 1 KiB
    from serverkit import db_connect

    conn = db_connect(live.db_path)
    conn.execute(
        "INSERT INTO upload_log (user_id, bytes, created_at) VALUES (?, ?, ?)",
        (user_id, 1024 * 1024 - 1024, time.time() - 8 * 3600),
    )
    conn.close()
    assert clip.stat().st_size > 1024
    r = _upload(live, token, clip)
    body = assert_problem(r, 429)
    assert "1 MiB a day" in body["detail"]
    retry = int(r.headers["Retry-After"])
    assert 16 * 3600 - 60 < retry <= 16 * 3600, retry  # when the earlier upload leaves the window
    _nothing_queued(live)


def test_a_media_child_past_its_memory_ceiling_fails_saying_so(make_server, clip, tmp_path):
    # the probe child cannot work in 50 MiB: the upload is refused
    live = make_server(media={"max_memory_mb": 50})
    token = live.register("tight")
    body = assert_problem(_upload(live, token, clip), 422)
    assert "50 MiB of memory" in body["detail"], body
    _nothing_queued(live)
    # 500 MiB is enough to probe a 720p clip, not to transcode it: the video fails, saying why
    big = write_test_video(tmp_path / "big.mp4", width=1280, height=720, duration_s=1.0)
    live = make_server(media={"max_memory_mb": 500, "renditions": [720, 360]})
    token = live.register("roomy")
    r = _upload(live, token, big)
    assert r.status_code == 202, r.text
    video = wait_ready(live, token, r.json()["id"])
    assert video["status"] == "failed", video
    assert "500 MiB of memory" in video["error"], video
    assert live.client.get("/healthz").json()["status"] == "ok"
