"""HTTP part of bench/feed.py: load a synthetic world into a real server's SQLite file and time
`GET /api/feed/for-you` (personalised, with a token) against `GET /api/feed/trending` (popularity)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from shortstack.recommender.signals import EVENT_KINDS
from shortstack.server.config import Config
from shortstack.server.embedded import EmbeddedServer
from shortstack.server.store.db import connect_sync
from shortstack.server.store.ids import hash_token
from shortstack.server.store.migrations import migrate


def load_world(db_path: Path, cat, events, n_users: int, now: float) -> list[str]:
    """Insert users, videos (ready, one rendition), hashtags and the event log; return tokens."""
    migrate(str(db_path))
    conn = connect_sync(db_path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    n_creators = int(cat.creators.max()) + 1 if cat.n_items else 0
    # creators are users 1..n_creators, viewers follow them
    conn.executemany(
        "INSERT INTO users (id, handle, display_name, password_hash, created_at) VALUES (?, ?, ?, 'x', ?)",
        [(i + 1, f"creator{i}", f"Creator {i}", now) for i in range(n_creators)]
        + [(n_creators + u + 1, f"viewer{u}", f"Viewer {u}", now) for u in range(n_users)],
    )
    ids = [f"v{i:010d}" for i in range(cat.n_items)]
    conn.executemany(
        "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height, created_at)"
        " VALUES (?, ?, ?, 'ready', 1, ?, 360, 640, ?)",
        [
            (
                ids[i],
                int(cat.creators[i]) + 1,
                cat.captions[i],
                float(cat.duration_s[i]),
                float(cat.created_at[i]),
            )
            for i in range(cat.n_items)
        ],
    )
    conn.executemany(
        "INSERT INTO renditions (video_id, name, width, height, bytes) VALUES (?, '360p', 360, 640, 1000)",
        [(v,) for v in ids],
    )
    tags = sorted({t for ts in cat.hashtags for t in ts})
    conn.executemany("INSERT INTO hashtags (id, tag) VALUES (?, ?)", list(enumerate(tags, 1)))
    tag_id = {t: i for i, t in enumerate(tags, 1)}
    conn.executemany(
        "INSERT OR IGNORE INTO video_hashtags (video_id, hashtag_id) VALUES (?, ?)",
        [(ids[i], tag_id[t]) for i, ts in enumerate(cat.hashtags) for t in ts],
    )
    kinds = set(EVENT_KINDS) - {"implicit"}  # every kind the server logs about a video
    conn.executemany(
        "INSERT INTO events (ts, user_id, video_id, kind, value) VALUES (?, ?, ?, ?, ?)",
        [
            (float(t), n_creators + int(u) + 1, ids[int(i)], str(k), float(v))
            for u, i, k, v, t in zip(
                events.user, events.item, events.kind, events.value, events.ts, strict=True
            )
            if str(k) in kinds and i >= 0
        ],
    )
    tokens = []
    issued = time.time()  # tokens expire by the wall clock, whatever the world's ``now``
    for u in range(min(n_users, 200)):
        token = f"bench-token-{u}"
        conn.execute(
            "INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)",
            (hash_token(token), n_creators + u + 1, issued),
        )
        tokens.append(token)
    conn.execute("COMMIT")
    conn.close()
    return tokens


def bench_http(
    cat, events, n_users: int, now: float, n_requests: int
) -> dict[str, tuple[float, float, float]]:
    data = Path(tempfile.mkdtemp(prefix="shortstack-feed-bench-"))
    try:
        t0 = time.perf_counter()
        tokens = load_world(data / "shortstack.db", cat, events, n_users, now)
        print(f"http: loaded the world into SQLite in {time.perf_counter() - t0:.1f} s", flush=True)
        config = Config()
        config.server.log_requests = False
        config.limits.api_rate_per_minute = 10_000_000
        with EmbeddedServer(config, data) as server:
            engine = server.app.state.engine
            t0 = time.perf_counter()
            while engine.snapshot is None:
                time.sleep(0.2)
            print(f"http: server fitted its model in {time.perf_counter() - t0:.1f} s", flush=True)
            rows: dict[str, tuple[float, float, float]] = {}
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for name, path in (
                    ("for-you (HTTP)", "/api/feed/for-you"),
                    ("trending (HTTP)", "/api/feed/trending"),
                ):
                    samples = []
                    for n in range(n_requests + 20):
                        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                        t0 = time.perf_counter()
                        r = client.get(path, params={"limit": 10}, headers=headers)
                        dt = time.perf_counter() - t0
                        r.raise_for_status()
                        if n >= 20:  # warm-up
                            samples.append(dt)
                    ms = np.asarray(samples) * 1000.0
                    rows[name] = (
                        float(np.percentile(ms, 50)),
                        float(np.percentile(ms, 99)),
                        float(ms.mean()),
                    )
            return rows
    finally:
        shutil.rmtree(data, ignore_errors=True)
