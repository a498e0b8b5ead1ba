"""The For You feed learns within one session: likes pull a topic up, not-interested pushes one out."""

from __future__ import annotations

import sqlite3
import time

from shortstack.server.store.migrations import migrate

TOPICS = ["cats", "cooking", "skate", "ocean", "synthwave", "forest"]
CREATORS_PER_TOPIC = 4


def _seed(data_dir, per_topic: int = 12) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "shortstack.db"
    migrate(str(db))
    conn = sqlite3.connect(db)
    now = time.time()
    with conn:
        for t, topic in enumerate(TOPICS):
            for c in range(
                CREATORS_PER_TOPIC
            ):  # several creators per topic: the feed caps each one
                uid = t * CREATORS_PER_TOPIC + c + 1
                conn.execute(
                    "INSERT INTO users (id, handle, display_name, password_hash, created_at)"
                    " VALUES (?, ?, ?, 'x', ?)",
                    (uid, f"{topic}_{c}", f"{topic.title()} {c}", now),
                )
            conn.execute(
                "INSERT INTO hashtags (id, tag, videos) VALUES (?, ?, ?)", (t + 1, topic, per_topic)
            )
            for i in range(per_topic):
                vid = f"{topic[:4]}{i:07d}"
                conn.execute(
                    "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
                    " created_at) VALUES (?, ?, ?, 'ready', 1, 6, 360, 640, ?)",
                    (
                        vid,
                        t * CREATORS_PER_TOPIC + i % CREATORS_PER_TOPIC + 1,
                        f"{topic} clip number {i} #{topic}",
                        now - 3600 - i * 60 - t,
                    ),
                )
                conn.execute(
                    "INSERT INTO video_hashtags (video_id, hashtag_id) VALUES (?, ?)", (vid, t + 1)
                )
    conn.close()


def _topics(page: dict) -> list[str]:
    return [item["video"]["hashtags"][0] for item in page["items"]]


def test_likes_pull_a_topic_up_and_not_interested_pushes_one_out(make_server, tmp_path):
    _seed(tmp_path / "feed")
    s = make_server(data_dir=tmp_path / "feed")
    token = s.register("learner")
    auth = s.auth(token)
    c = s.client

    cold = c.get("/api/feed/for-you", params={"limit": 10}, headers=auth).json()
    assert len(cold["items"]) == 10
    assert all(item["explanation"] for item in cold["items"])
    cold_cats = _topics(cold).count("cats")

    # like and fully watch a few cat videos: the very next page leans to cats (no refit needed)
    for i in range(4):
        vid = f"cats{i:07d}"
        assert c.put(f"/api/videos/{vid}/like", headers=auth).status_code == 200
        assert (
            c.post(f"/api/videos/{vid}/views", json={"watch_ms": 6000}, headers=auth).status_code
            == 204
        )
    warm = c.get("/api/feed/for-you", params={"limit": 10}, headers=auth).json()
    warm_cats = _topics(warm).count("cats")
    assert warm_cats >= max(3, 2 * cold_cats), (_topics(cold), _topics(warm))
    liked = {f"cats{i:07d}" for i in range(4)}
    assert not liked & {item["video"]["id"] for item in warm["items"]}, (
        "liked videos are not served again"
    )
    assert any(
        r["kind"] in {"content", "collaborative"} for item in warm["items"] for r in item["reasons"]
    )

    # "not interested" in a cat video: cats leave the next page
    assert c.post("/api/videos/cats0000010/not-interested", headers=auth).status_code == 204
    after = c.get("/api/feed/for-you", params={"limit": 10}, headers=auth).json()
    assert _topics(after).count("cats") < warm_cats
    assert "cats0000010" not in {item["video"]["id"] for item in after["items"]}


def test_a_cursor_chain_never_repeats_and_ends(make_server, tmp_path):
    _seed(tmp_path / "chain", per_topic=4)
    s = make_server(data_dir=tmp_path / "chain")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = s.client.get("/api/feed/for-you", params=params).json()
        seen += [item["video"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4 * len(TOPICS)
    assert cursor is None
